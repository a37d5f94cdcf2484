//! Reading SSE responses in tests, frame by frame, as they arrive.

use std::time::Duration;

use axum::body::Body;
use http_body_util::BodyExt;
use serde_json::Value;

/// One SSE event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: Option<String>,
    pub retry: Option<u64>,
    /// The joined `data:` lines; empty for a priming event.
    pub data: String,
}

impl Event {
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.data).ok()
    }
}

/// Reads events from a streaming body.
pub struct SseReader {
    body: Body,
    buffer: String,
    ended: bool,
}

impl SseReader {
    pub fn new(body: Body) -> Self {
        Self {
            body,
            buffer: String::new(),
            ended: false,
        }
    }

    /// The next event (comments skipped), or `None` when the stream ends or `wait` passes.
    pub async fn next(&mut self, wait: Duration) -> Option<Event> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse(&block) {
                    return Some(event);
                }
                continue;
            }
            if self.ended {
                return None;
            }
            match tokio::time::timeout_at(deadline, self.body.frame()).await {
                Err(_) => return None,
                Ok(None) => self.ended = true,
                Ok(Some(Err(e))) => panic!("body error: {e}"),
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.buffer.push_str(&String::from_utf8_lossy(&data));
                    }
                }
            }
        }
    }

    /// Whether the stream ended (the server closed it) within `wait`, ignoring comments.
    pub async fn ends_within(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if self.ended && !self.buffer.contains("\n\n") {
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
    pub async fn until_response(&mut self, wait: Duration) -> Vec<Event> {
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

fn parse(block: &str) -> Option<Event> {
    let mut event = Event {
        id: None,
        retry: None,
        data: String::new(),
    };
    let mut seen = false;
    for line in block.lines() {
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "id" => event.id = Some(value.to_owned()),
            "retry" => event.retry = value.parse().ok(),
            "data" => {
                if seen {
                    event.data.push('\n');
                }
                event.data.push_str(value);
                seen = true;
            }
            _ => {}
        }
    }
    (seen || event.id.is_some() || event.retry.is_some()).then_some(event)
}
