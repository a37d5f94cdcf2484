//! Error responses of the HTTP transport: an HTTP status plus a JSON-RPC error body.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use rmcp::model::{ErrorCode, ErrorData};
use serde_json::{Value, json};

use crate::store::StoreError;

/// Seconds a client is asked to wait (`Retry-After`) when the session store is unavailable.
pub(crate) const STORE_RETRY_AFTER_SECS: u32 = 5;

/// An answer that ends the request with an error status.
#[derive(Debug, Clone)]
pub(crate) struct HttpError {
    pub status: StatusCode,
    pub error: ErrorData,
    /// The JSON-RPC id of the request, when it could be read.
    pub id: Option<Value>,
    /// Seconds for a `Retry-After` header, when the client should try again later.
    pub retry_after: Option<u32>,
}

impl HttpError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            error: ErrorData::new(code, message.into(), None),
            id: None,
            retry_after: None,
        }
    }

    pub(crate) fn with_data(mut self, data: Value) -> Self {
        self.error.data = Some(data);
        self
    }

    pub fn with_id(mut self, id: Option<Value>) -> Self {
        self.id = id;
        self
    }

    /// -32600 with 400: a request the transport cannot accept.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::INVALID_REQUEST, message)
    }

    pub(crate) fn parse_error(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::PARSE_ERROR, message)
    }

    pub(crate) fn session_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorCode(-32001),
            "Session not found: it expired or was terminated; initialize a new session",
        )
    }

    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::INVALID_REQUEST, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::INTERNAL_ERROR,
            message,
        )
    }

    /// The answer to a store operation that failed. A backend failure (unreachable, timed
    /// out, throttled, refused) is 503 with `Retry-After` and a generic message: the details
    /// go to the log, never to the client. A session that is gone is 404, as everywhere.
    pub fn store(e: StoreError) -> Self {
        match e {
            StoreError::SessionNotFound => Self::session_not_found(),
            StoreError::TooLarge { limit, .. } => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::INVALID_REQUEST,
                format!(
                    "Payload Too Large: the message exceeds the session store's limit of {limit} bytes"
                ),
            ),
            // Its text names the session, whose id never goes to a log.
            StoreError::AlreadyExists(_) => {
                tracing::error!("a freshly generated session id was already taken");
                Self::store_unavailable()
            }
            StoreError::Backend(_) | StoreError::Full(_) => {
                tracing::error!(error = %e, "session store unavailable");
                Self::store_unavailable()
            }
        }
    }

    /// 503 with `Retry-After`: the session store did not answer in time or failed.
    pub(crate) fn store_unavailable() -> Self {
        let mut error = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::INTERNAL_ERROR,
            "Service Unavailable: the session store is not answering; retry later",
        );
        error.retry_after = Some(STORE_RETRY_AFTER_SECS);
        error
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
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// 405 with the methods the endpoint does take.
pub(crate) fn method_not_allowed(allow: &'static str) -> Response {
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
