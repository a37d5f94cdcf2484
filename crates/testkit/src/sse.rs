//! Reading SSE responses in tests as they arrive, with the client's parser
//! (`bedrock_usage_mcp::client::sse`), from an in-process body or a real HTTP response.

use std::collections::VecDeque;
use std::time::Duration;

use axum::body::Body;
use bedrock_usage_mcp::client::SseDecoder;
pub use bedrock_usage_mcp::client::SseEvent;
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use serde_json::Value;

/// The JSON message an event carries.
pub trait EventJson {
    /// The `data` parsed as JSON; `None` for a priming event or data that is not JSON.
    fn json(&self) -> Option<Value>;
}

impl EventJson for SseEvent {
    fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.data).ok()
    }
}

/// Reads events from a streaming body.
pub struct SseReader {
    body: BoxStream<'static, Option<Bytes>>,
    decoder: SseDecoder,
    ready: VecDeque<SseEvent>,
    ended: bool,
}

impl SseReader {
    /// An in-process (axum) body. A body error fails the test: in process there is no network
    /// to blame.
    pub fn new(body: Body) -> Self {
        Self::from_stream(
            body.into_data_stream()
                .map(|chunk| Some(chunk.unwrap_or_else(|e| panic!("body error: {e}"))))
                .boxed(),
        )
    }

    /// A real HTTP response. A connection that breaks ends the stream (a server that was
    /// killed ends its streams that way), which [`SseReader::ended`] tells.
    pub fn from_response(response: reqwest::Response) -> Self {
        Self::from_stream(response.bytes_stream().map(Result::ok).boxed())
    }

    fn from_stream(body: BoxStream<'static, Option<Bytes>>) -> Self {
        Self {
            body,
            decoder: SseDecoder::default(),
            ready: VecDeque::new(),
            ended: false,
        }
    }

    /// The next event (comments skipped; priming and `retry`-only events included), or `None`
    /// when the stream ends or `wait` passes.
    pub async fn next(&mut self, wait: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(event);
            }
            if self.ended {
                return None;
            }
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Err(_) => return None,
                Ok(Some(Some(chunk))) => self.ready.extend(self.decoder.push(&chunk)),
                Ok(None | Some(None)) => self.ended = true,
            }
        }
    }

    /// The next event carrying a JSON message, with its id.
    pub async fn next_message(&mut self, wait: Duration) -> Option<(Option<String>, Value)> {
        while let Some(event) = self.next(wait).await {
            if let Some(message) = event.json() {
                return Some((event.id, message));
            }
        }
        None
    }

    /// Whether the server ended the body (rather than a wait timing out) and every event
    /// before the end was read.
    pub fn ended(&self) -> bool {
        self.ended && self.ready.is_empty()
    }

    /// Whether the stream ended (the server closed it) within `wait`, ignoring events without
    /// data (priming, `retry`); an event with data fails the test.
    pub async fn ends_within(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if self.ended() {
                return true;
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            if let Some(event) = self.next(left).await
                && !event.data.is_empty()
            {
                panic!("expected the stream to end, got {event:?}");
            }
        }
    }

    /// Events until one carrying a JSON-RPC response (`result` or `error`) arrives.
    pub async fn until_response(&mut self, wait: Duration) -> Vec<SseEvent> {
        let mut events = Vec::new();
        while let Some(event) = self.next(wait).await {
            let done = event
                .json()
                .is_some_and(|m| m.get("result").is_some() || m.get("error").is_some());
            events.push(event);
            if done {
                break;
            }
        }
        events
    }
}
