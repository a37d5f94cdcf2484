//! `mcp-client proxy`: a stdio MCP server for hosts that only launch local commands, which
//! forwards every message to a Streamable HTTP endpoint (with an API-key header, a bearer token
//! or SigV4), as `mcp-proxy-for-aws` does.
//!
//! - Each line of stdin is one JSON-RPC message (or batch). It is POSTed to the URL; the
//!   answer (JSON, or every message of an SSE stream: notifications, server-to-client
//!   requests, the response) is written to stdout, one message per line.
//! - The `Mcp-Session-Id` of the `initialize` answer is kept and sent on every later request,
//!   with the negotiated `MCP-Protocol-Version`; a stream cut before its response is resumed
//!   with `Last-Event-ID`. When stdin closes, the session is ended (DELETE).
//! - Stdio hosts speak the session era (`initialize` first). A host that speaks 2026-07-28
//!   puts the version in each request's `_meta`; the proxy then adds the headers that era
//!   requires (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`).
//! - Requests run concurrently (a host can cancel a running call); notifications and
//!   `initialize` are sent in order. A request the endpoint cannot answer (network, HTTP
//!   error without a JSON-RPC body) gets a JSON-RPC error with its id, so the host never
//!   waits forever. Nothing is written to stdout but JSON-RPC messages; diagnostics go to
//!   stderr.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::{ClientError, ClientOptions, SseDecoder, encode_header_value};

/// Error code for an answer the endpoint could not give (implementation-defined range).
const UPSTREAM_ERROR: i64 = -32000;
/// The `_meta` key of a 2026-07-28 request's protocol version.
const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// How many times a cut stream is resumed before the request is given up.
const MAX_RESUMES: u32 = 100;

/// What the proxy learned from `initialize`.
#[derive(Debug, Default, Clone)]
struct Session {
    id: Option<String>,
    version: Option<String>,
}

/// The proxy's connection to the endpoint.
struct Upstream {
    http: reqwest::Client,
    options: ClientOptions,
    headers: HeaderMap,
    session: Mutex<Session>,
    out: mpsc::UnboundedSender<String>,
}

/// Runs the proxy until `input` ends: messages from `input` go to `options.url`, everything
/// the endpoint sends back goes to `output`, one JSON message per line.
pub async fn run_proxy<R, W>(options: ClientOptions, input: R, output: W) -> Result<(), ClientError>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (http, headers) = super::http_client(&options)?;
    let (out, lines) = mpsc::unbounded_channel();
    let writer = tokio::spawn(write_lines(lines, output));
    let upstream = Arc::new(Upstream {
        http,
        options,
        headers,
        session: Mutex::new(Session::default()),
        out,
    });

    let mut running = JoinSet::new();
    let mut input = input.lines();
    while let Some(line) = input
        .next_line()
        .await
        .map_err(|e| ClientError::Protocol(format!("reading stdin: {e}")))?
    {
        if line.trim().is_empty() {
            continue;
        }
        let message: Value = match serde_json::from_str(&line) {
            Ok(message) => message,
            Err(e) => {
                upstream.emit(&json!({ "jsonrpc": "2.0", "id": null,
                    "error": { "code": -32700, "message": format!("Parse error: {e}") } }));
                continue;
            }
        };
        // In order: initialize (everything after needs its session) and notifications
        // (cheap, and the server expects notifications/initialized before the rest).
        let in_order = message.get("id").is_none() || message["method"] == "initialize";
        if in_order {
            upstream.forward(message).await;
        } else {
            let upstream = upstream.clone();
            running.spawn(async move { upstream.forward(message).await });
        }
        // Reap finished requests as we go.
        while running.try_join_next().is_some() {}
    }
    // The host is gone: what is still running has no one to answer.
    running.abort_all();
    upstream.end_session().await;
    drop(upstream);
    let _ = writer.await;
    Ok(())
}

/// Writes each queued message as one line, flushing after each.
async fn write_lines<W: AsyncWrite + Unpin>(
    mut lines: mpsc::UnboundedReceiver<String>,
    mut out: W,
) {
    while let Some(line) = lines.recv().await {
        if out.write_all(line.as_bytes()).await.is_err()
            || out.write_all(b"\n").await.is_err()
            || out.flush().await.is_err()
        {
            return;
        }
    }
}

impl Upstream {
    /// Queues `message` for stdout.
    fn emit(&self, message: &Value) {
        let _ = self.out.send(message.to_string());
    }

    fn session(&self) -> Session {
        self.session
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// POSTs `message` and writes what comes back; on failure, answers each request in it
    /// with a JSON-RPC error.
    async fn forward(&self, message: Value) {
        let ids = request_ids(&message);
        if let Err(e) = self.exchange(&message).await {
            tracing::warn!(error = %e, "proxy: the endpoint did not answer");
            for id in ids {
                self.emit(&error_for(&id, &e));
            }
        }
    }

    async fn exchange(&self, message: &Value) -> Result<(), ClientError> {
        let session = self.session();
        let modern = message["params"]["_meta"][META_VERSION].as_str();
        let mut request = self
            .http
            .post(&self.options.url)
            .headers(self.headers.clone())
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(message.to_string());
        if let Some(version) = modern {
            request = request.header("mcp-protocol-version", version);
            if let Some(method) = message["method"].as_str() {
                request = request.header("mcp-method", method);
            }
            let name = message["params"]
                .get("name")
                .or_else(|| message["params"].get("uri"))
                .and_then(Value::as_str);
            if let Some(name) = name {
                request = request.header("mcp-name", encode_header_value(name));
            }
        } else {
            if let Some(id) = &session.id {
                request = request.header("mcp-session-id", id);
            }
            if let Some(version) = &session.version {
                request = request.header("mcp-protocol-version", version);
            }
        }
        let response = self.send(request).await?;
        let status = response.status();
        if message["method"] == "initialize"
            && let Some(id) = response
                .headers()
                .get("mcp-session-id")
                .and_then(|v| v.to_str().ok())
        {
            self.session.lock().unwrap_or_else(|e| e.into_inner()).id = Some(id.to_owned());
        }
        if status.as_u16() == 202 {
            return Ok(());
        }
        let is_sse = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if is_sse {
            return self.relay_stream(response, message).await;
        }
        let text = response.text().await?;
        match serde_json::from_str::<Value>(&text) {
            // A JSON-RPC answer, also under an error status (2026-07-28 errors).
            Ok(answer) if answer.get("jsonrpc").is_some() || answer.is_array() => {
                self.note_initialize(message, &answer);
                self.emit(&answer);
                Ok(())
            }
            _ if status.is_success() && text.trim().is_empty() => Ok(()),
            _ => Err(ClientError::Status {
                status: status.as_u16(),
                body: text,
            }),
        }
    }

    /// Writes every message of an SSE answer; resumes the stream (legacy sessions) when it
    /// ends before the responses of `request`.
    async fn relay_stream(
        &self,
        response: reqwest::Response,
        request: &Value,
    ) -> Result<(), ClientError> {
        let mut waiting = request_ids(request);
        let mut response = response;
        let mut last_event_id = None;
        for _ in 0..=MAX_RESUMES {
            let mut decoder = SseDecoder::default();
            let mut body = response.bytes_stream();
            while let Some(chunk) = body.next().await {
                for event in decoder.push(&chunk?) {
                    if event.id.is_some() {
                        last_event_id = decoder.last_event_id().map(str::to_owned);
                    }
                    let Ok(message) = serde_json::from_str::<Value>(&event.data) else {
                        continue;
                    };
                    let is_response =
                        message.get("result").is_some() || message.get("error").is_some();
                    if is_response {
                        waiting.retain(|id| *id != message["id"]);
                        self.note_initialize(request, &message);
                    }
                    self.emit(&message);
                }
            }
            if waiting.is_empty() {
                return Ok(());
            }
            let (Some(last), Some(session)) = (last_event_id.clone(), self.session().id) else {
                return Err(ClientError::Protocol(
                    "the stream ended before the response".into(),
                ));
            };
            if let Some(ms) = decoder.retry_ms() {
                tokio::time::sleep(Duration::from_millis(ms.min(10_000))).await;
            }
            let mut resume = self
                .http
                .get(&self.options.url)
                .headers(self.headers.clone())
                .header("accept", "text/event-stream")
                .header("mcp-session-id", session)
                .header("last-event-id", last);
            if let Some(version) = self.session().version {
                resume = resume.header("mcp-protocol-version", version);
            }
            response = self.send(resume).await?;
            if !response.status().is_success() {
                let status = response.status().as_u16();
                let body = response.text().await.unwrap_or_default();
                return Err(ClientError::Status { status, body });
            }
        }
        Err(ClientError::Protocol(format!(
            "gave up resuming after {MAX_RESUMES} attempts"
        )))
    }

    /// Keeps the version an `initialize` answer negotiated.
    fn note_initialize(&self, request: &Value, answer: &Value) {
        if request["method"] == "initialize"
            && let Some(version) = answer["result"]["protocolVersion"].as_str()
        {
            self.session
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .version = Some(version.to_owned());
        }
    }

    /// Ends the session, if there is one (the endpoint may answer 405: nothing to do then).
    async fn end_session(&self) {
        let Some(id) = self.session().id else {
            return;
        };
        let request = self
            .http
            .delete(&self.options.url)
            .headers(self.headers.clone())
            .header("mcp-session-id", id);
        if let Err(e) = self.send(request).await {
            tracing::debug!(error = %e, "proxy: ending the session failed");
        }
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ClientError> {
        // No total deadline: the client's read timeout bounds each wait, so a long answer
        // (a report, a person filling in an elicitation form) is not cut while bytes flow.
        super::send::send(&self.http, &self.options, request).await
    }
}

/// The ids of the requests in `message` (a message or a batch); responses and notifications
/// have none that need answering.
fn request_ids(message: &Value) -> Vec<Value> {
    let one = |m: &Value| {
        (m.get("method").is_some())
            .then(|| m.get("id").cloned())
            .flatten()
    };
    match message {
        Value::Array(batch) => batch.iter().filter_map(one).collect(),
        m => one(m).into_iter().collect(),
    }
}

/// The JSON-RPC error a host gets for request `id` when the endpoint could not answer it.
fn error_for(id: &Value, error: &ClientError) -> Value {
    let message = match error {
        ClientError::Status { status: 404, .. } => {
            "the MCP session ended or expired at the endpoint (HTTP 404); restart this server \
             to connect again"
                .to_owned()
        }
        ClientError::Status { status, body } => {
            let body: String = body.chars().take(300).collect();
            format!("the endpoint answered HTTP {status}: {body}")
        }
        other => format!("the request could not be sent to the endpoint: {other}"),
    };
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": UPSTREAM_ERROR, "message": message } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_requests_wait_for_answers() {
        assert_eq!(
            request_ids(&json!({"jsonrpc": "2.0", "id": 3, "method": "ping"})),
            vec![json!(3)]
        );
        assert!(
            request_ids(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
                .is_empty()
        );
        assert!(request_ids(&json!({"jsonrpc": "2.0", "id": 3, "result": {}})).is_empty());
        assert_eq!(
            request_ids(&json!([{"jsonrpc": "2.0", "id": "a", "method": "ping"},
                               {"jsonrpc": "2.0", "method": "x"}])),
            vec![json!("a")]
        );
        let error = error_for(
            &json!(7),
            &ClientError::Status {
                status: 403,
                body: "{\"message\":\"Missing Authentication Token\"}".into(),
            },
        );
        assert_eq!(error["id"], 7);
        assert_eq!(error["error"]["code"], UPSTREAM_ERROR);
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains("HTTP 403")
        );
    }
}
