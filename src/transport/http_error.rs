//! Error responses of the HTTP transport: an HTTP status plus a JSON-RPC error body.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use rmcp::model::{ErrorCode, ErrorData};
use serde_json::{Value, json};

/// An answer that ends the request with an error status.
#[derive(Debug, Clone)]
pub struct HttpError {
    pub status: StatusCode,
    pub error: ErrorData,
    /// The JSON-RPC id of the request, when it could be read.
    pub id: Option<Value>,
}

impl HttpError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            error: ErrorData::new(code, message.into(), None),
            id: None,
        }
    }

    pub fn with_data(mut self, data: Value) -> Self {
        self.error.data = Some(data);
        self
    }

    pub fn with_id(mut self, id: Option<Value>) -> Self {
        self.id = id;
        self
    }

    pub fn from_error(status: StatusCode, error: ErrorData, id: Option<Value>) -> Self {
        Self { status, error, id }
    }

    /// -32600 with 400: a request the transport cannot accept.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::INVALID_REQUEST, message)
    }

    pub fn parse_error(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::PARSE_ERROR, message)
    }

    pub fn session_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorCode(-32001),
            "Session not found: it expired or was terminated; initialize a new session",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::INVALID_REQUEST, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::INTERNAL_ERROR,
            message,
        )
    }

    pub fn body(&self) -> Value {
        let mut body = json!({ "jsonrpc": "2.0", "error": self.error });
        if let Some(id) = &self.id {
            body["id"] = id.clone();
        } else {
            body["id"] = Value::Null;
        }
        body
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body().to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

/// 405 with the methods the endpoint does take.
pub fn method_not_allowed(allow: &'static str) -> Response {
    let mut response = HttpError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::INVALID_REQUEST,
        format!("Method not allowed; use {allow}"),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}
