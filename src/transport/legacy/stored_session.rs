//! The [`Session`] handlers see, kept in the session store.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use crate::protocol::message;
use crate::server::{LogLevel, Session, SessionError};
use crate::store::{
    SessionId, SessionStore, SessionUpdate, StoreError, StoredEvent, StreamId, StreamKey,
};

/// One legacy session in the store, as a request's handlers reach it.
pub(crate) struct StoredSession {
    pub id: SessionId,
    pub store: Arc<dyn SessionStore>,
}

impl StoredSession {
    async fn update(&self, update: SessionUpdate) -> Result<(), SessionError> {
        self.store
            .update_session(&self.id, update)
            .await
            .map_err(session_error)
    }
}

#[async_trait]
impl Session for StoredSession {
    /// Stored as an event of the standalone stream, which a GET on any instance tails.
    async fn notify(&self, method: &str, params: Value) -> Result<(), SessionError> {
        let key = StreamKey::new(self.id.clone(), StreamId::standalone());
        let message = message::notification(method, params);
        self.store
            .append_event(&key, StoredEvent::message(message.to_string()))
            .await
            .map(|_| ())
            .map_err(session_error)
    }

    /// One read of the standalone stream's first event (its priming event, stored when a GET
    /// opened it), then the notification if there is one.
    async fn notify_if_listening(&self, method: &str, params: Value) -> Result<bool, SessionError> {
        let key = StreamKey::new(self.id.clone(), StreamId::standalone());
        let opened = self.store.read_events(&key, None, 1).await;
        if opened.map_err(session_error)?.is_empty() {
            return Ok(false);
        }
        self.notify(method, params).await.map(|()| true)
    }

    async fn subscriptions(&self) -> Result<BTreeSet<String>, SessionError> {
        let record = self
            .store
            .load_session(&self.id)
            .await
            .map_err(session_error)?;
        Ok(record.map(|r| r.subscriptions).unwrap_or_default())
    }

    async fn subscribe(&self, uri: &str) -> Result<(), SessionError> {
        self.update(SessionUpdate::Subscribe(uri.to_owned())).await
    }

    async fn unsubscribe(&self, uri: &str) -> Result<(), SessionError> {
        self.update(SessionUpdate::Unsubscribe(uri.to_owned()))
            .await
    }

    async fn set_log_level(&self, level: LogLevel) -> Result<(), SessionError> {
        self.update(SessionUpdate::SetLogLevel(level.as_str().to_owned()))
            .await
    }
}

/// A store failure as handlers see it. The store's own text can carry SDK internals, table
/// names and session ids, so it goes to the log only; the client learns what kind of failure
/// it was.
pub(crate) fn session_error(e: StoreError) -> SessionError {
    match e {
        StoreError::TooLarge { limit, .. } => SessionError::TooLarge { limit },
        StoreError::SessionNotFound => SessionError::Ended,
        other => {
            tracing::error!(error = %other, "session store failed during a request");
            SessionError::Unavailable
        }
    }
}

#[cfg(test)]
mod tests {
    use rmcp::model::ErrorCode;

    use super::*;
    use crate::server::HandlerError;

    #[test]
    fn store_failures_keep_their_details_out_of_the_client_message() {
        let details = "dispatch failure: table mcp-sessions, session 0123abcd";
        let HandlerError::Rpc(error) = session_error(StoreError::Backend(details.into())).into()
        else {
            panic!("an RPC error");
        };
        assert_eq!(error.code, ErrorCode::INTERNAL_ERROR);
        assert!(!error.message.contains("mcp-sessions"), "{}", error.message);
        assert!(!error.message.contains("0123abcd"), "{}", error.message);
        let HandlerError::Rpc(error) = session_error(StoreError::TooLarge {
            size: 500_000,
            limit: 400_000,
        })
        .into() else {
            panic!("an RPC error");
        };
        assert!(error.message.contains("400000"), "{}", error.message);
        assert_eq!(
            session_error(StoreError::SessionNotFound),
            SessionError::Ended
        );
        assert_eq!(
            session_error(StoreError::AlreadyExists("x".into())),
            SessionError::Unavailable
        );
    }
}
