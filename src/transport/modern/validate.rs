//! Validation of a 2026-07-28 request: `_meta`, the metadata headers, the version, the method.

use http::{HeaderMap, StatusCode};
use rmcp::model::ErrorCode;
use serde_json::{Map, Value, json};

use crate::protocol::headers::{self, HeaderError};
use crate::protocol::message::params_meta;
use crate::protocol::version;
use crate::server::LogLevel;
use crate::transport::http_error::HttpError;

pub(crate) const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
pub(crate) const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
pub const META_LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";

/// The methods of the 2026-07-28 revision. Everything else, including the legacy-only
/// `initialize`, `ping`, `logging/setLevel` and `resources/(un)subscribe`, is 404 + -32601.
pub const MODERN_METHODS: [&str; 13] = [
    "server/discover",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "subscriptions/listen",
    // The `io.modelcontextprotocol/tasks` extension (dispatch answers -32021 to a client
    // that did not declare it).
    "tasks/get",
    "tasks/update",
    "tasks/cancel",
];

/// What a valid modern request says about its client.
#[derive(Debug, Clone)]
pub(crate) struct ModernMeta {
    pub client_capabilities: Value,
    pub log_level: Option<LogLevel>,
    pub progress_token: Option<Value>,
}

/// Checks a modern request in the order the conformance suite expects: required `_meta`
/// (-32602), header agreement (-32020), version support (-32022), method existence (-32601).
pub fn validate(
    headers: &HeaderMap,
    id: &Value,
    method: &str,
    params: Option<&Value>,
) -> Result<ModernMeta, HttpError> {
    let fail = |e: HttpError| e.with_id(Some(id.clone()));
    let empty = Map::new();
    let meta = params_meta(params).unwrap_or(&empty);
    let meta_version = meta.get(META_PROTOCOL_VERSION).and_then(Value::as_str);
    let capabilities = meta.get(META_CLIENT_CAPABILITIES).filter(|c| c.is_object());
    let (Some(meta_version), Some(capabilities)) = (meta_version, capabilities) else {
        return Err(fail(HttpError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::INVALID_PARAMS,
            format!(
                "Invalid params: _meta must carry {META_PROTOCOL_VERSION} and {META_CLIENT_CAPABILITIES}"
            ),
        )));
    };

    let header_version = header(headers, headers::PROTOCOL_VERSION).map_err(fail)?;
    if header_version != Some(meta_version) {
        return Err(fail(mismatch(format!(
            "MCP-Protocol-Version header {:?} does not match _meta protocolVersion {meta_version:?}",
            header_version.unwrap_or("(missing)")
        ))));
    }
    check_method_headers(headers, method, params).map_err(fail)?;

    if meta_version != version::MODERN {
        return Err(fail(
            HttpError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::UNSUPPORTED_PROTOCOL_VERSION,
                format!(
                    "Unsupported protocol version {meta_version}; versions before {} are negotiated with initialize",
                    version::MODERN
                ),
            )
            .with_data(json!({ "supported": version::supported(), "requested": meta_version })),
        ));
    }

    let log_level = match meta.get(META_LOG_LEVEL) {
        None => None,
        Some(level) => Some(
            level
                .as_str()
                .and_then(|l| l.parse::<LogLevel>().ok())
                .ok_or_else(|| {
                    fail(HttpError::new(
                        StatusCode::BAD_REQUEST,
                        ErrorCode::INVALID_PARAMS,
                        format!("Invalid params: {META_LOG_LEVEL} is not a log level"),
                    ))
                })?,
        ),
    };

    if !MODERN_METHODS.contains(&method) {
        return Err(fail(HttpError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::METHOD_NOT_FOUND,
            format!("Method not found: {method}"),
        )));
    }

    Ok(ModernMeta {
        client_capabilities: capabilities.clone(),
        log_level,
        progress_token: meta.get("progressToken").cloned(),
    })
}

/// `Mcp-Method` must equal the body's method; `Mcp-Name` the target's name or URI.
fn check_method_headers(
    headers: &HeaderMap,
    method: &str,
    params: Option<&Value>,
) -> Result<(), HttpError> {
    let header_method = header(headers, headers::METHOD)?;
    if header_method != Some(method) {
        return Err(mismatch(format!(
            "Mcp-Method header {:?} does not match body method {method:?}",
            header_method.unwrap_or("(missing)")
        )));
    }
    let name_field = match method {
        "tools/call" | "prompts/get" => "name",
        "resources/read" => "uri",
        "tasks/get" | "tasks/update" | "tasks/cancel" => "taskId",
        _ => return Ok(()),
    };
    let body_name = params
        .and_then(|p| p.get(name_field))
        .and_then(Value::as_str);
    let header_name = header(headers, headers::NAME)?
        .map(|raw| headers::decode_value(raw, "Mcp-Name"))
        .transpose()
        .map_err(|e| mismatch(e.to_string()))?;
    match (header_name.as_deref(), body_name) {
        (Some(h), Some(b)) if h == b => Ok(()),
        (h, b) => Err(mismatch(format!(
            "Mcp-Name header {:?} does not match body {name_field} {:?}",
            h.unwrap_or("(missing)"),
            b.unwrap_or("(missing)")
        ))),
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<Option<&'a str>, HttpError> {
    headers::single(headers, name).map_err(|e: HeaderError| mismatch(e.to_string()))
}

fn mismatch(message: String) -> HttpError {
    HttpError::new(
        StatusCode::BAD_REQUEST,
        ErrorCode::HEADER_MISMATCH,
        format!("Header mismatch: {message}"),
    )
}
