//! Raw HTTP exchanges with the in-process router: any method, path, header bytes (repeated, or
//! not UTF-8) and body framing, and the whole answer read back within a time limit, so that a
//! server panic or hang becomes a reported failure instead of a stuck or aborted test.

use std::convert::Infallible;
use std::time::Duration;

use ::http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use ::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// How the body travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// One chunk, no `Content-Length` header (what a test builder gives by default).
    Unframed,
    /// A `Content-Length` header with the body's true length.
    ContentLength,
    /// No `Content-Length`; chunks of this many bytes, as `Transfer-Encoding: chunked` arrives.
    Chunked(usize),
}

/// A request as bytes on the wire would describe it, built without validation.
#[derive(Debug, Clone)]
pub struct RawRequest {
    pub method: Method,
    pub path: String,
    /// In order; a name may repeat.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
    pub framing: Framing,
}

impl RawRequest {
    /// `method /mcp` with `Host: 127.0.0.1` (allowed by the default host guard) and no body.
    pub fn new(method: Method) -> Self {
        Self {
            method,
            path: "/mcp".to_owned(),
            headers: Vec::new(),
            body: Bytes::new(),
            framing: Framing::Unframed,
        }
        .header("host", "127.0.0.1")
    }

    /// A POST to `/mcp` with the headers a well-behaved client sends: `Host`, `Accept` (JSON
    /// and SSE) and `Content-Type: application/json`.
    pub fn post(body: impl Into<Bytes>) -> Self {
        let mut request = Self::new(Method::POST)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json");
        request.body = body.into();
        request
    }

    pub fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    pub fn path(mut self, path: &str) -> Self {
        self.path = path.to_owned();
        self
    }

    /// Adds a header line (another line if `name` is already there). `value` may hold any
    /// bytes a header can carry, including `obs-text` (0x80-0xFF) that is not UTF-8.
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        let name = HeaderName::from_bytes(name.as_bytes())
            .unwrap_or_else(|e| panic!("bad header name {name:?}: {e}"));
        let value = HeaderValue::from_bytes(value.as_ref())
            .unwrap_or_else(|e| panic!("bad value for header {name}: {e}"));
        self.headers.push((name, value));
        self
    }

    /// Replaces every line of `name` with one line.
    pub fn set(self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.without(name).header(name, value)
    }

    /// Removes every line of `name`.
    pub fn without(mut self, name: &str) -> Self {
        self.headers
            .retain(|(n, _)| !n.as_str().eq_ignore_ascii_case(name));
        self
    }

    pub fn framing(mut self, framing: Framing) -> Self {
        self.framing = framing;
        self
    }

    pub fn into_request(self) -> Request<Body> {
        let mut builder = Request::builder()
            .method(self.method)
            .uri(self.path.as_str());
        for (name, value) in self.headers {
            builder = builder.header(name, value);
        }
        let body = match self.framing {
            Framing::Unframed => Body::from(self.body),
            Framing::ContentLength => {
                builder = builder.header("content-length", self.body.len());
                Body::from(self.body)
            }
            Framing::Chunked(size) => {
                let chunks: Vec<Result<Bytes, Infallible>> = self
                    .body
                    .chunks(size.max(1))
                    .map(|c| Ok(Bytes::copy_from_slice(c)))
                    .collect();
                Body::from_stream(futures_util::stream::iter(chunks))
            }
        };
        builder.body(body).expect("a request from valid parts")
    }
}

/// A whole answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn content_type(&self) -> &str {
        self.header(CONTENT_TYPE.as_str()).unwrap_or_default()
    }

    /// The start of the body, for failure messages.
    pub fn excerpt(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        match text.char_indices().nth(200) {
            Some((end, _)) => format!("{}… ({} bytes)", &text[..end], self.body.len()),
            None => text.into_owned(),
        }
    }
}

/// Sends `request` through a clone of `router` and reads the whole answer. Fails, instead of
/// hanging or unwinding into the caller, when the server panics or does not finish in `limit`.
pub async fn exchange(
    router: &Router,
    request: RawRequest,
    limit: Duration,
) -> Result<Reply, String> {
    let router = router.clone();
    let task = tokio::spawn(async move {
        let response = match router.oneshot(request.into_request()).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| format!("reading the response body failed: {e}"))?
            .to_bytes();
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    });
    let abort = task.abort_handle();
    match tokio::time::timeout(limit, task).await {
        Ok(Ok(reply)) => reply,
        Ok(Err(join)) if join.is_panic() => {
            let payload = join.into_panic();
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            Err(format!("the server panicked: {message}"))
        }
        Ok(Err(join)) => Err(format!("the request task failed: {join}")),
        Err(_) => {
            abort.abort();
            Err(format!("no complete answer within {limit:?} (hang)"))
        }
    }
}
