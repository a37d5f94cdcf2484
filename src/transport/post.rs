//! POST: read and parse the body, decide its era, hand it on.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use serde_json::Value;

use super::McpService;
use super::body;
use super::guard;
use super::http_error::HttpError;
use super::legacy;
use super::modern;
use crate::protocol::headers;
use crate::protocol::message::{Incoming, params_meta};
use crate::protocol::version;

pub async fn handle(service: &McpService, headers: &HeaderMap, body: Body) -> Response {
    if let Err(e) =
        guard::check_post_accept(headers).and_then(|()| guard::check_content_type(headers))
    {
        return e.into_response();
    }
    let bytes = match body::read(headers, body, service.config.max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(e) => return e.into_response(),
    };
    let value: Value = match serde_json::from_slice(&bytes) {
        Ok(value) => value,
        Err(e) => return HttpError::parse_error(format!("Parse error: {e}")).into_response(),
    };
    if is_modern(headers, &value) {
        match Incoming::classify(value) {
            Ok(incoming) => modern::handle(service, headers, incoming).await,
            Err(e) => HttpError::bad_request(format!("Invalid Request: {}", e.reason))
                .with_id(e.id)
                .into_response(),
        }
    } else {
        legacy::handle(service, headers, value).await
    }
}

/// Whether a POST body belongs to the stateless era. Modern `_meta` decides first (even for
/// `initialize`, which 2026-07-28 does not have); then `initialize` and a session id mean
/// legacy; then a 2026-07-28 (or unknown) `MCP-Protocol-Version` header means modern.
fn is_modern(headers: &HeaderMap, value: &Value) -> bool {
    let Value::Object(object) = value else {
        // Batches are legacy (2025-03-26); 2026-07-28 rejects them as invalid requests.
        return !headers.contains_key(headers::SESSION_ID) && header_is_modern(headers);
    };
    let has_modern_meta = params_meta(object.get("params"))
        .is_some_and(|meta| meta.contains_key("io.modelcontextprotocol/protocolVersion"));
    if has_modern_meta {
        return true;
    }
    if object.get("method").and_then(Value::as_str) == Some("initialize") {
        return false;
    }
    if headers.contains_key(headers::SESSION_ID) {
        return false;
    }
    header_is_modern(headers)
}

/// A version header that no session-based revision uses.
fn header_is_modern(headers: &HeaderMap) -> bool {
    headers::single(headers, headers::PROTOCOL_VERSION)
        .ok()
        .flatten()
        .is_some_and(|v| !version::LEGACY.contains(&v))
}
