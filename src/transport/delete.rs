//! DELETE: the client ends its legacy session.

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};

use super::McpService;
use super::http_error::{self, HttpError};
use super::legacy;
use super::legacy::log_tag;
use crate::protocol::headers;
use crate::store::{SessionId, StoreError};

pub async fn handle(service: &McpService, headers: &HeaderMap) -> Response {
    let raw = match headers::single(headers, headers::SESSION_ID) {
        Ok(Some(raw)) => raw,
        // Nothing to end: 2026-07-28 clients have no sessions.
        Ok(None) => return http_error::method_not_allowed("POST"),
        Err(e) => return HttpError::bad_request(format!("Bad Request: {e}")).into_response(),
    };
    let Some(id) = SessionId::parse(raw) else {
        return HttpError::session_not_found().into_response();
    };
    if let Err(e) = legacy::check_version_header(headers) {
        return e.into_response();
    }
    // With authorization on, only the session's own principal ends it (one more read).
    if service.caller.is_some() {
        match service.store.load_session(&id).await {
            Ok(Some(record)) if legacy::belongs_to_caller(service, &record) => {}
            Ok(_) => return HttpError::session_not_found().into_response(),
            Err(e) => return HttpError::store(e).into_response(),
        }
    }
    match service.store.terminate_session(&id).await {
        Ok(true) => {
            tracing::info!(session = %log_tag(&id), "session terminated by the client");
            StatusCode::OK.into_response()
        }
        Ok(false) | Err(StoreError::SessionNotFound) => {
            HttpError::session_not_found().into_response()
        }
        Err(e) => HttpError::store(e).into_response(),
    }
}
