//! Building HTTP answers: JSON bodies, SSE streams, 202.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::Stream;
use http::{HeaderValue, StatusCode, header};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::DropGuard;

/// A JSON body with `status`.
pub fn json(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, crate::protocol::message::encode(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// 202 with no body: a notification or response was accepted.
pub fn accepted() -> Response {
    StatusCode::ACCEPTED.into_response()
}

/// An SSE response over `body`. Proxies are told not to buffer it.
pub fn sse(body: Body) -> Response {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-transform"),
    );
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// SSE frames from a channel. Dropping it (the client went away) fires the guard, which
/// cancels the request it streams.
pub(crate) struct ChannelBody {
    rx: mpsc::UnboundedReceiver<Bytes>,
    _guard: Option<DropGuard>,
}

impl ChannelBody {
    pub fn new(rx: mpsc::UnboundedReceiver<Bytes>, guard: Option<DropGuard>) -> Self {
        Self { rx, _guard: guard }
    }

    pub fn into_body(self) -> Body {
        Body::from_stream(self)
    }
}

impl Stream for ChannelBody {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx).map(|frame| frame.map(Ok))
    }
}
