//! What a handler can answer instead of a result.

use rmcp::model::{ErrorCode, ErrorData};
use serde_json::Value;

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

    /// A resource URI that names nothing. Sent as -32002 to legacy clients and as -32602 to
    /// 2026-07-28 clients (SEP-2164); the protocol layer does the mapping.
    pub fn resource_not_found(uri: &str) -> Self {
        Self::Rpc(ErrorData::new(
            ErrorCode::RESOURCE_NOT_FOUND,
            format!("Resource not found: {uri}"),
            Some(serde_json::json!({ "uri": uri })),
        ))
    }

    pub(crate) fn method_not_found(method: &str) -> Self {
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

impl From<ErrorData> for HandlerError {
    fn from(error: ErrorData) -> Self {
        Self::Rpc(error)
    }
}
