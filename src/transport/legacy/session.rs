//! Finding the session a legacy request belongs to.

use http::{HeaderMap, StatusCode};
use rmcp::model::ErrorCode;
use sha2::{Digest, Sha256};

use crate::protocol::headers;
use crate::protocol::version;
use crate::store::{SessionId, SessionRecord, SessionUpdate, unix_now};
use crate::transport::McpService;
use crate::transport::http_error::HttpError;

/// How logs name a session: the first 12 hex digits of its id's SHA-256. The id itself is a
/// bearer credential and never goes to a log; the tag still ties one session's lines together.
pub(crate) fn log_tag(id: &SessionId) -> String {
    Sha256::digest(id.as_str().as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// In a session, `MCP-Protocol-Version` (when sent) must name a session-based version: 400
/// otherwise.
pub(crate) fn check_version_header(headers: &HeaderMap) -> Result<(), HttpError> {
    let requested = headers::single(headers, headers::PROTOCOL_VERSION)
        .map_err(|e| HttpError::bad_request(format!("Bad Request: {e}")))?;
    match requested {
        Some(v) if !version::LEGACY.contains(&v) => Err(HttpError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::INVALID_REQUEST,
            format!(
                "Bad Request: unsupported MCP-Protocol-Version {v}; sessions speak {}",
                version::LEGACY.join(", ")
            ),
        )),
        _ => Ok(()),
    }
}

/// Whether `record` may serve this request: with authorization on, only to the principal
/// it was created for (a session made before authorization was turned on belongs to no one).
///
/// A request of another principal gets 404 "session not found", as if the id named nothing,
/// not 403: a 403 would confirm to someone who holds a leaked or guessed id that it names a
/// live session of another user, and 404 is also what tells a legitimate client to start a
/// session of its own (MCP Streamable HTTP). The owner's session is left as it was: nothing
/// is read from it, extended or ended on such a request.
pub(crate) fn belongs_to_caller(service: &McpService, record: &SessionRecord) -> bool {
    match &service.caller {
        None => true,
        Some(caller) => record.principal.as_deref() == Some(caller.as_str()),
    }
}

/// Loads the live session named by `Mcp-Session-Id`: 400 if the header is missing, 404 if the
/// session is unknown, expired, terminated or another principal's (see
/// [`belongs_to_caller`]), 400 if `MCP-Protocol-Version` names a version this endpoint cannot
/// serve in a session. Extends the session's life when half of it is used.
pub async fn load(service: &McpService, headers: &HeaderMap) -> Result<SessionRecord, HttpError> {
    let raw = headers::single(headers, headers::SESSION_ID)
        .map_err(|e| HttpError::bad_request(format!("Bad Request: {e}")))?
        .ok_or_else(|| HttpError::bad_request("Bad Request: Mcp-Session-Id header is required"))?;
    let id = SessionId::parse(raw).ok_or_else(HttpError::session_not_found)?;
    let record = service
        .store
        .load_session(&id)
        .await
        .map_err(HttpError::store)?
        .filter(|r| !r.terminated && belongs_to_caller(service, r))
        .ok_or_else(HttpError::session_not_found)?;

    check_version_header(headers)?;

    let ttl = service.config.session_ttl.as_secs();
    let now = unix_now();
    if record.expires_at.saturating_sub(now) < ttl / 2 {
        // Best effort: a failure here only shortens the session's life.
        let _ = service
            .store
            .update_session(&id, SessionUpdate::ExtendTo(now + ttl))
            .await;
    }
    Ok(record)
}
