//! Reading one call's SSE stream, over however many connections it takes, and checking every
//! event against what came before: event ids unique and increasing within one stream,
//! progress exactly 1, 2, 3… (nothing lost, nothing twice), messages only for this request,
//! and at most one answer, carrying the request's id.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use anyhow::{Result, bail, ensure};
use bedrock_usage_mcp::client::{SseDecoder, SseEvent};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use serde_json::Value;

/// One connection's events, as they arrive.
pub struct Connection {
    body: BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    decoder: SseDecoder,
    ready: VecDeque<SseEvent>,
    /// Whether the last frame was a bare `retry:` (the server closes to be resumed).
    pub ends_with_retry: bool,
}

/// What reading a connection gave.
pub enum Read {
    Event(SseEvent),
    /// The server ended the body.
    End,
    /// The connection broke (reset, or a body cut short).
    Broken(String),
    /// Nothing arrived (not even a keep-alive) for the whole wait.
    Silent,
}

impl Connection {
    pub fn new(response: reqwest::Response) -> Self {
        Self {
            body: response.bytes_stream().boxed(),
            decoder: SseDecoder::default(),
            ready: VecDeque::new(),
            ends_with_retry: false,
        }
    }

    /// The next event, waiting at most `wait` for bytes (keep-alive comments count).
    pub async fn next(&mut self, wait: Duration) -> Read {
        loop {
            if let Some(event) = self.ready.pop_front() {
                self.ends_with_retry =
                    event.id.is_none() && event.data.is_empty() && event.retry_ms.is_some();
                return Read::Event(event);
            }
            match tokio::time::timeout(wait, self.body.next()).await {
                Ok(Some(Ok(chunk))) => self.ready.extend(self.decoder.push(&chunk)),
                Ok(Some(Err(e))) => return Read::Broken(e.to_string()),
                Ok(None) => return Read::End,
                Err(_) => return Read::Silent,
            }
        }
    }
}

/// Everything seen of one request's answer stream, across connections.
pub struct CallStream {
    pub id: Value,
    token: String,
    /// Legacy streams carry event ids; 2026-07-28 streams carry none.
    with_ids: bool,
    stream: Option<String>,
    last_seq: Option<u64>,
    seen_ids: HashSet<String>,
    pub last_event_id: Option<String>,
    /// Progress values, in order of arrival.
    pub progress: Vec<u64>,
    pub answer: Option<Value>,
    pub messages: u64,
}

impl CallStream {
    pub fn new(id: Value, token: String, with_ids: bool) -> Self {
        Self {
            id,
            token,
            with_ids,
            stream: None,
            last_seq: None,
            seen_ids: HashSet::new(),
            last_event_id: None,
            progress: Vec::new(),
            answer: None,
            messages: 0,
        }
    }

    /// Checks and records one event. A bare `retry:` frame carries nothing to check.
    pub fn observe(&mut self, event: &SseEvent) -> Result<()> {
        if event.id.is_none() && event.data.is_empty() {
            return Ok(());
        }
        match (&event.id, self.with_ids) {
            (Some(id), true) => self.observe_id(id)?,
            (None, true) => bail!("request {}: an event without an id: {event:?}", self.id),
            (Some(id), false) => bail!("request {}: a stateless event with id {id}", self.id),
            (None, false) => {}
        }
        if event.data.is_empty() {
            return Ok(()); // the priming event
        }
        let message: Value = serde_json::from_str(&event.data)
            .map_err(|e| anyhow::anyhow!("request {}: not JSON ({e}): {event:?}", self.id))?;
        self.message(message)
    }

    fn observe_id(&mut self, raw: &str) -> Result<()> {
        let (stream, seq) = raw
            .split_once('.')
            .and_then(|(s, n)| Some((s.to_owned(), n.parse::<u64>().ok()?)))
            .ok_or_else(|| anyhow::anyhow!("request {}: event id {raw:?}", self.id))?;
        ensure!(
            self.seen_ids.insert(raw.to_owned()),
            "request {}: event {raw} delivered twice",
            self.id
        );
        match &self.stream {
            None => self.stream = Some(stream),
            Some(first) => ensure!(
                *first == stream,
                "request {}: event {raw} of another stream than {first}",
                self.id
            ),
        }
        if let Some(last) = self.last_seq {
            ensure!(
                seq > last,
                "request {}: event {raw} after event number {last}",
                self.id
            );
        }
        self.last_seq = Some(seq);
        self.last_event_id = Some(raw.to_owned());
        Ok(())
    }

    /// Checks one JSON-RPC message on this request's stream.
    pub fn message(&mut self, message: Value) -> Result<()> {
        self.messages += 1;
        ensure!(
            self.answer.is_none(),
            "request {}: a message after the answer: {message}",
            self.id
        );
        if message.get("method").is_some() {
            ensure!(
                message["method"] == "notifications/progress"
                    && message["params"]["progressToken"] == self.token.as_str(),
                "request {}: a message that is not this request's progress: {message}",
                self.id
            );
            let value = message["params"]["progress"].as_f64();
            let expected = self.progress.len() as u64 + 1;
            ensure!(
                value == Some(expected as f64),
                "request {}: progress {value:?} where {expected} was due (lost or repeated): \
                 {:?} so far",
                self.id,
                self.progress
            );
            self.progress.push(expected);
            return Ok(());
        }
        ensure!(
            message["id"] == self.id,
            "an answer for id {} on the stream of request {}: {message}",
            message["id"],
            self.id
        );
        ensure!(
            message.get("result").is_some() != message.get("error").is_some(),
            "request {}: an answer with neither or both of result and error: {message}",
            self.id
        );
        self.answer = Some(message);
        Ok(())
    }
}
