//! The legacy session a request belongs to, as handlers and dispatch see it.

use std::collections::BTreeSet;

use async_trait::async_trait;
use serde_json::Value;

use super::error::HandlerError;
use super::log_level::LogLevel;

/// What handlers and dispatch may do with the legacy session a request belongs to.
///
/// It exists so that the server layer does not know where sessions live: the transport
/// implements it over its session store (as it implements [`super::Outbox`]), and keeps to
/// itself how the session's record and streams are laid out there. Modern-era requests have
/// no session.
#[async_trait]
pub trait Session: Send + Sync {
    /// Sends a notification on the session's standalone (GET) stream: for news not tied to a
    /// request, such as a list change or a subscribed resource's update. A GET held on any
    /// instance delivers it.
    async fn notify(&self, method: &str, params: Value) -> Result<(), SessionError>;

    /// [`Session::notify`], but only if the client has opened the standalone stream (on any
    /// instance, at any time in the session): for news the client also gets by polling, so
    /// nothing is stored for a client that never listens. Returns whether it was sent.
    async fn notify_if_listening(&self, method: &str, params: Value) -> Result<bool, SessionError>;

    /// The resources the client is subscribed to.
    async fn subscriptions(&self) -> Result<BTreeSet<String>, SessionError>;

    /// Adds `uri` to the session's subscriptions.
    async fn subscribe(&self, uri: &str) -> Result<(), SessionError>;

    /// Removes `uri` from the session's subscriptions.
    async fn unsubscribe(&self, uri: &str) -> Result<(), SessionError>;

    /// Records the least severe log level the client wants (`logging/setLevel`).
    async fn set_log_level(&self, level: LogLevel) -> Result<(), SessionError>;

    /// Whether the client subscribed to `uri`.
    async fn is_subscribed(&self, uri: &str) -> Result<bool, SessionError> {
        Ok(self.subscriptions().await?.contains(uri))
    }
}

/// Why a [`Session`] operation failed. The implementation logs what it knows; the client
/// learns only which of these it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The session ended or expired.
    #[error("session has ended")]
    Ended,
    /// The message is larger than the session backend holds (`limit` bytes).
    #[error("the message exceeds the session store's limit of {limit} bytes")]
    TooLarge { limit: usize },
    /// The session backend failed (unreachable, throttled, refused).
    #[error("the session store is unavailable; retry later")]
    Unavailable,
}

/// A session failure as the client sees it: -32602 for an ended session, -32603 otherwise.
impl From<SessionError> for HandlerError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::Ended => Self::invalid_params(e.to_string()),
            SessionError::TooLarge { .. } | SessionError::Unavailable => {
                Self::internal(e.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rmcp::model::ErrorCode;

    use super::*;

    fn rpc(e: SessionError) -> rmcp::model::ErrorData {
        match HandlerError::from(e) {
            HandlerError::Rpc(error) => error,
            other => panic!("an RPC error, got {other:?}"),
        }
    }

    #[test]
    fn session_failures_keep_their_json_rpc_codes_and_messages() {
        let ended = rpc(SessionError::Ended);
        assert_eq!(ended.code, ErrorCode::INVALID_PARAMS);
        assert_eq!(ended.message, "session has ended");
        let large = rpc(SessionError::TooLarge { limit: 400_000 });
        assert_eq!(large.code, ErrorCode::INTERNAL_ERROR);
        assert_eq!(
            large.message,
            "the message exceeds the session store's limit of 400000 bytes"
        );
        let down = rpc(SessionError::Unavailable);
        assert_eq!(down.code, ErrorCode::INTERNAL_ERROR);
        assert_eq!(
            down.message,
            "the session store is unavailable; retry later"
        );
    }
}
