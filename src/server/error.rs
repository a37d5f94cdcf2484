//! What a handler can answer instead of a result.

use rmcp::model::{ErrorCode, ErrorData};
use serde_json::Value;

use crate::store::StoreError;

/// A handler's failure, or its request for more input.
#[derive(Debug, Clone, PartialEq)]
pub enum HandlerError {
    /// A JSON-RPC error for the client.
    Rpc(ErrorData),
    /// The handler asked for input the client has not given yet (2026-07-28 multi-round-trip
    /// requests): the dispatcher answers with an `input_required` result built from the
    /// context's pending input requests.
    InputRequired,
    /// The client cancelled the request; nothing is sent back.
    Cancelled,
}

impl HandlerError {
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::Rpc(ErrorData::new(
            ErrorCode::INVALID_PARAMS,
            message.into(),
            None,
        ))
    }

    pub fn invalid_params_with(message: impl Into<String>, data: Value) -> Self {
        Self::Rpc(ErrorData::new(
            ErrorCode::INVALID_PARAMS,
            message.into(),
            Some(data),
        ))
    }

    /// A resource URI that names nothing. Sent as -32002 to legacy clients and as -32602 to
    /// 2026-07-28 clients (SEP-2164); the protocol layer does the mapping.
    pub fn resource_not_found(uri: &str) -> Self {
        Self::Rpc(ErrorData::new(
            ErrorCode::RESOURCE_NOT_FOUND,
            format!("Resource not found: {uri}"),
            Some(serde_json::json!({ "uri": uri })),
        ))
    }

    pub fn method_not_found(method: &str) -> Self {
        Self::Rpc(ErrorData::new(
            ErrorCode::METHOD_NOT_FOUND,
            format!("Method not found: {method}"),
            None,
        ))
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::Rpc(ErrorData::new(
            ErrorCode::INTERNAL_ERROR,
            message.into(),
            None,
        ))
    }

    pub fn missing_capability(required: Value) -> Self {
        Self::Rpc(ErrorData::new(
            ErrorCode::MISSING_REQUIRED_CLIENT_CAPABILITY,
            "Missing required client capability",
            Some(serde_json::json!({ "requiredCapabilities": required })),
        ))
    }
}

impl HandlerError {
    /// A session-store failure as the client sees it. The store's own text can carry SDK
    /// internals, table names and session ids, so it goes to the log only; the client learns
    /// what kind of failure it was.
    pub fn store(e: StoreError) -> Self {
        match e {
            StoreError::TooLarge { limit, .. } => Self::internal(format!(
                "the message exceeds the session store's limit of {limit} bytes"
            )),
            StoreError::SessionNotFound => Self::invalid_params("session has ended"),
            other => {
                tracing::error!(error = %other, "session store failed during a request");
                Self::internal("the session store is unavailable; retry later")
            }
        }
    }
}

impl From<ErrorData> for HandlerError {
    fn from(error: ErrorData) -> Self {
        Self::Rpc(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_failures_keep_their_details_out_of_the_client_message() {
        let details = "dispatch failure: table mcp-sessions, session 0123abcd";
        let HandlerError::Rpc(error) = HandlerError::store(StoreError::Backend(details.into()))
        else {
            panic!("an RPC error");
        };
        assert_eq!(error.code, ErrorCode::INTERNAL_ERROR);
        assert!(!error.message.contains("mcp-sessions"), "{}", error.message);
        assert!(!error.message.contains("0123abcd"), "{}", error.message);
        let HandlerError::Rpc(error) = HandlerError::store(StoreError::TooLarge {
            size: 500_000,
            limit: 400_000,
        }) else {
            panic!("an RPC error");
        };
        assert!(error.message.contains("400000"), "{}", error.message);
    }
}
