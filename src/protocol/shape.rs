//! The differences between eras in the shape of results and errors.

use rmcp::model::{ErrorCode, ErrorData, Implementation};
use serde_json::{Value, json};

use super::version::Era;

pub(crate) const SERVER_INFO_META: &str = "io.modelcontextprotocol/serverInfo";

/// Cache hints (2026-07-28) for discover, list and read results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheHints {
    /// How long a client may reuse a result, in milliseconds.
    pub ttl_ms: u64,
    /// Whether any user's client may share a cached result (`public`) or only this user's.
    pub public: bool,
}

impl Default for CacheHints {
    fn default() -> Self {
        Self {
            ttl_ms: 60_000,
            public: false,
        }
    }
}

/// Methods whose complete results carry cache hints (2026-07-28).
const CACHEABLE: [&str; 6] = [
    "server/discover",
    "tools/list",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
    "resources/read",
];

/// Gives a result the fields its era expects.
///
/// Modern: `resultType` (default `complete`), `_meta.serverInfo`, and cache hints on cacheable
/// complete results. Legacy: no `resultType` (rmcp's types add `complete`; older peers may
/// reject unknown fields).
pub(crate) fn shape_result(
    era: Era,
    method: &str,
    mut result: Value,
    server: &Implementation,
    cache: CacheHints,
) -> Value {
    let Some(object) = result.as_object_mut() else {
        return result;
    };
    match era {
        Era::Legacy => {
            if object.get("resultType").and_then(Value::as_str) == Some("complete") {
                object.remove("resultType");
            }
        }
        Era::Modern => {
            let complete = object
                .entry("resultType")
                .or_insert_with(|| json!("complete"))
                == "complete";
            if complete && CACHEABLE.contains(&method) {
                object.entry("ttlMs").or_insert_with(|| json!(cache.ttl_ms));
                object
                    .entry("cacheScope")
                    .or_insert_with(|| json!(if cache.public { "public" } else { "private" }));
            }
            let meta = object.entry("_meta").or_insert_with(|| json!({}));
            if let Some(meta) = meta.as_object_mut() {
                meta.entry(SERVER_INFO_META)
                    .or_insert_with(|| json!(server));
            }
        }
    }
    result
}

/// Maps an error to its era: "resource not found" is -32002 before 2026-07-28 and -32602 from
/// it on (SEP-2164).
pub(crate) fn shape_error(era: Era, mut error: ErrorData) -> ErrorData {
    if era == Era::Modern && error.code == ErrorCode::RESOURCE_NOT_FOUND {
        error.code = ErrorCode::INVALID_PARAMS;
    }
    error
}

/// The HTTP status of a JSON-RPC error on the modern path. Legacy errors always travel with
/// 200, because a legacy 404 means "session gone".
pub(crate) fn modern_status(error: &ErrorData) -> http::StatusCode {
    match error.code.0 {
        -32601 => http::StatusCode::NOT_FOUND,
        -32022..=-32020 | -32700 | -32600 => http::StatusCode::BAD_REQUEST,
        _ => http::StatusCode::OK,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modern_results_get_type_meta_and_cache_hints() {
        let info = Implementation::new("s", "1");
        let shaped = shape_result(
            Era::Modern,
            "tools/list",
            json!({"tools": []}),
            &info,
            CacheHints::default(),
        );
        assert_eq!(shaped["resultType"], "complete");
        assert_eq!(shaped["cacheScope"], "private");
        assert_eq!(shaped["_meta"][SERVER_INFO_META]["name"], "s");
        let legacy = shape_result(
            Era::Legacy,
            "tools/call",
            json!({"resultType": "complete", "content": []}),
            &info,
            CacheHints::default(),
        );
        assert!(legacy.get("resultType").is_none());
    }
}
