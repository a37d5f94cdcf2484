//! `initialize`: negotiating a legacy version and creating the session.

use std::collections::BTreeSet;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use rmcp::model::ErrorCode;
use serde_json::{Value, json};

use crate::protocol::headers;
use crate::protocol::message;
use crate::protocol::version;
use crate::store::{SessionId, SessionRecord, unix_now};
use crate::transport::McpService;
use crate::transport::http_error::HttpError;
use crate::transport::legacy::session::log_tag;
use crate::transport::response;

/// The most bytes of `capabilities` and `clientInfo` (as JSON, together) a session keeps for
/// its lifetime. Real clients send a few hundred; without a bound, forty 3.9 MiB `clientInfo`
/// values held 175 MiB for an hour, and on DynamoDB an item over 400 KB failed with a 500.
pub(crate) const MAX_CLIENT_DESCRIPTION_BYTES: usize = 16 * 1024;

/// Creates a session and answers with its id in `Mcp-Session-Id`.
pub async fn initialize(service: &McpService, id: Value, params: Option<Value>) -> Response {
    let params = params.unwrap_or_else(|| json!({}));
    let Some(requested) = params.get("protocolVersion").and_then(Value::as_str) else {
        return HttpError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::INVALID_PARAMS,
            "Invalid params: initialize requires protocolVersion",
        )
        .with_id(Some(id))
        .into_response();
    };
    let capabilities = params.get("capabilities").cloned().unwrap_or(json!({}));
    if !capabilities.is_object() {
        return HttpError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::INVALID_PARAMS,
            "Invalid params: capabilities must be an object",
        )
        .with_id(Some(id))
        .into_response();
    }
    let client_info = params.get("clientInfo").cloned().unwrap_or(json!({}));
    let kept = capabilities.to_string().len() + client_info.to_string().len();
    if kept > MAX_CLIENT_DESCRIPTION_BYTES {
        return HttpError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::INVALID_PARAMS,
            format!(
                "Invalid params: capabilities and clientInfo take {kept} bytes; a session keeps \
                 at most {MAX_CLIENT_DESCRIPTION_BYTES}"
            ),
        )
        .with_id(Some(id))
        .into_response();
    }
    let negotiated = version::negotiate(requested);
    let record = SessionRecord {
        id: SessionId::generate(),
        protocol_version: negotiated.to_owned(),
        client_capabilities: capabilities,
        client_info,
        log_level: None,
        subscriptions: BTreeSet::new(),
        initialized: false,
        terminated: false,
        expires_at: unix_now() + service.config.session_ttl.as_secs(),
        principal: service.caller.as_ref().map(|p| p.as_str().to_owned()),
    };
    if let Err(e) = service.store.create_session(&record).await {
        return HttpError::store(e).with_id(Some(id)).into_response();
    }
    let server = &service.server;
    let mut result = json!({
        "protocolVersion": negotiated,
        "capabilities": server.capabilities_for(version::Era::Legacy, negotiated),
        "serverInfo": server.info(),
    });
    if let Some(instructions) = server.instructions() {
        result["instructions"] = json!(instructions);
    }
    tracing::info!(session = %log_tag(&record.id), version = negotiated, "session created");
    let mut response = response::json(StatusCode::OK, &message::response(&id, result));
    if let Ok(value) = HeaderValue::from_str(record.id.as_str()) {
        response.headers_mut().insert(headers::SESSION_ID, value);
    }
    response
}
