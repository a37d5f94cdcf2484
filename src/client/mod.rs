//! An MCP client over Streamable HTTP for both eras: the engine of `mcp-client` and of its
//! `smoke` check. It speaks a legacy version (session, SSE with resumption) or 2026-07-28
//! (stateless requests with `_meta` and metadata headers).

pub mod oauth;
pub mod proxy;
mod send;
mod sigv4;
mod smoke;
pub mod sse;
mod task;
pub use task::TaskStatus;

pub use oauth::{BearerAuth, ClientCredentials, SharedBearer};
pub(crate) use sigv4::SharedSigner;
pub use sigv4::{EXECUTE_API, SigV4Signer};
pub use smoke::{SmokeCheck, run_smoke};
pub use sse::{SseDecoder, SseEvent};

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};

use crate::protocol::version;

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
    #[error("HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("JSON-RPC error {code}: {message}")]
    Rpc {
        code: i64,
        message: String,
        data: Option<Value>,
    },
    #[error("protocol: {0}")]
    Protocol(String),
    #[error("invalid option: {0}")]
    Option(String),
    #[error("SigV4: {0}")]
    Signing(String),
    /// A 401 no token could answer; the message says where the server's metadata is.
    #[error("{0}")]
    Unauthorized(String),
    #[error("OAuth: {0}")]
    OAuth(String),
    #[error(
        "OAuth: the token endpoint {endpoint} refused client {client_id:?} (HTTP {status}): \
         {error} {description}"
    )]
    TokenRefused {
        endpoint: String,
        client_id: String,
        status: u16,
        error: String,
        description: String,
    },
}

/// Connection settings.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The MCP endpoint URL.
    pub url: String,
    /// Extra headers on every request (`x-api-key`, `Authorization`, …).
    pub headers: Vec<(String, String)>,
    /// A legacy version to negotiate, or `2026-07-28` for stateless requests.
    pub protocol: String,
    /// Per-request timeout (a streaming answer may take longer as long as events flow).
    pub timeout: Duration,
    /// Signs every request with SigV4 (IAM-protected endpoints), when set.
    pub signer: Option<SharedSigner>,
    /// Sends a bearer token (OAuth-protected endpoints), when set.
    pub bearer: Option<SharedBearer>,
}

/// Something the server sent before the response of a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    Notification(Value),
    /// A server-to-client request and how this client answered it.
    ServerRequest(Value),
}

/// A connection to one MCP endpoint.
pub struct McpClient {
    http: reqwest::Client,
    options: ClientOptions,
    headers: HeaderMap,
    session: Option<String>,
    negotiated: Option<String>,
    next_id: u64,
    /// The id of the last SSE event seen on the current request's stream.
    last_event_id: Option<String>,
}

/// The HTTP client every request of `options` goes through, and the extra headers
/// (`--header NAME:VALUE`) each request carries.
pub(crate) fn http_client(
    options: &ClientOptions,
) -> Result<(reqwest::Client, HeaderMap), ClientError> {
    let mut headers = HeaderMap::new();
    for (name, value) in &options.headers {
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| ClientError::Option(format!("bad header name {name:?}")))?;
        let value = HeaderValue::from_str(value.trim())
            .map_err(|_| ClientError::Option(format!("bad header value for {name}")))?;
        headers.append(name, value);
    }
    // `--timeout` bounds each wait for bytes, not a whole answer: a stream that carries
    // progress or keep-alives may run as long as its tool does.
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(options.timeout)
        .build()?;
    Ok((http, headers))
}

impl McpClient {
    pub fn new(options: ClientOptions) -> Result<Self, ClientError> {
        if !version::is_supported(&options.protocol) {
            return Err(ClientError::Option(format!(
                "unsupported --protocol {}; use one of {}",
                options.protocol,
                version::supported().join(", ")
            )));
        }
        let (http, headers) = http_client(&options)?;
        Ok(Self {
            http,
            options,
            headers,
            session: None,
            negotiated: None,
            next_id: 1,
            last_event_id: None,
        })
    }

    pub(crate) fn is_modern(&self) -> bool {
        self.options.protocol == version::MODERN
    }

    pub fn session_id(&self) -> Option<&str> {
        self.session.as_deref()
    }

    /// Adopts an existing legacy session (to resume or terminate it).
    pub fn use_session(&mut self, session: &str, negotiated: &str) {
        self.session = Some(session.to_owned());
        self.negotiated = Some(negotiated.to_owned());
    }

    pub fn last_event_id(&self) -> Option<&str> {
        self.last_event_id.as_deref()
    }

    /// Legacy: `initialize` + `notifications/initialized`. Modern: `server/discover`.
    /// Returns the initialize or discover result.
    pub async fn connect(&mut self) -> Result<Value, ClientError> {
        if self.is_modern() {
            return self
                .request("server/discover", json!({}), &mut |_| {})
                .await;
        }
        let params = json!({
            "protocolVersion": self.options.protocol,
            "capabilities": {},
            "clientInfo": { "name": "mcp-client", "version": env!("CARGO_PKG_VERSION") },
        });
        let body = self.envelope("initialize", params);
        let response = self.post(&body, "initialize", None).await?;
        let session = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let result = self.read_answer(response, &body["id"], &mut |_| {}).await?;
        self.session = session;
        self.negotiated = result["protocolVersion"].as_str().map(str::to_owned);
        self.notify("notifications/initialized", json!({})).await?;
        Ok(result)
    }

    /// Sends a notification (legacy only; 2026-07-28 defines none over HTTP).
    pub async fn notify(&mut self, method: &str, params: Value) -> Result<(), ClientError> {
        let body = json!({ "jsonrpc": "2.0", "method": method, "params": params });
        let response = self.post(&body, method, None).await?;
        expect_status(response, 202).await
    }

    /// Sends a request and returns its result, passing notifications to `on_incoming` as they
    /// stream. Resumes with `Last-Event-ID` if the server closes the stream before answering.
    pub async fn request(
        &mut self,
        method: &str,
        params: Value,
        on_incoming: &mut dyn FnMut(Incoming),
    ) -> Result<Value, ClientError> {
        let body = self.envelope(method, params);
        let name = body["params"]
            .get("name")
            .or_else(|| body["params"].get("uri"))
            .or_else(|| body["params"].get("taskId"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let response = self.post(&body, method, name.as_deref()).await?;
        self.read_answer(response, &body["id"], on_incoming).await
    }

    /// Resumes a cut stream with `Last-Event-ID` and returns the response it carries, if any.
    pub async fn resume(
        &mut self,
        last_event_id: &str,
        on_incoming: &mut dyn FnMut(Incoming),
    ) -> Result<Option<Value>, ClientError> {
        let response = self.get_stream(last_event_id).await?;
        self.read_stream(response, None, on_incoming).await
    }

    /// Ends the legacy session (DELETE); returns the HTTP status.
    pub async fn terminate(&mut self) -> Result<u16, ClientError> {
        let session = self
            .session
            .clone()
            .ok_or_else(|| ClientError::Protocol("no session to terminate".into()))?;
        let request = self
            .http
            .delete(&self.options.url)
            .headers(self.headers.clone())
            .header("mcp-session-id", session);
        let response = self.send(request).await?;
        Ok(response.status().as_u16())
    }

    /// Sends a raw POST of one JSON-RPC message with this client's headers.
    pub(crate) async fn post_raw(
        &mut self,
        body: &Value,
    ) -> Result<reqwest::Response, ClientError> {
        let method = body["method"].as_str().unwrap_or_default().to_owned();
        let name = body["params"]
            .get("name")
            .or_else(|| body["params"].get("uri"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        self.post(body, &method, name.as_deref()).await
    }

    /// A JSON-RPC request with a fresh id (and, for 2026-07-28, the `_meta` it needs).
    pub(crate) fn envelope(&mut self, method: &str, mut params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        if self.is_modern() {
            let meta = params
                .as_object_mut()
                .map(|p| p.entry("_meta").or_insert_with(|| json!({})));
            if let Some(Value::Object(meta)) = meta {
                meta.insert(
                    "io.modelcontextprotocol/protocolVersion".into(),
                    json!(version::MODERN),
                );
                meta.entry("io.modelcontextprotocol/clientCapabilities")
                    .or_insert_with(|| json!({}));
                meta.insert(
                    "io.modelcontextprotocol/clientInfo".into(),
                    json!({ "name": "mcp-client", "version": env!("CARGO_PKG_VERSION") }),
                );
            }
        }
        json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })
    }

    async fn post(
        &self,
        body: &Value,
        method: &str,
        name: Option<&str>,
    ) -> Result<reqwest::Response, ClientError> {
        let mut request = self
            .http
            .post(&self.options.url)
            .headers(self.headers.clone())
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body.to_string());
        if self.is_modern() {
            request = request
                .header("mcp-protocol-version", version::MODERN)
                .header("mcp-method", method);
            if let Some(name) = name {
                request = request.header("mcp-name", encode_header_value(name));
            }
        } else if let Some(session) = &self.session {
            request = request.header("mcp-session-id", session);
            if let Some(negotiated) = &self.negotiated {
                request = request.header("mcp-protocol-version", negotiated);
            }
        }
        self.send(request).await
    }

    /// Sends `request` with the options' token or signature ([`send::send`]).
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ClientError> {
        send::send(&self.http, &self.options, request).await
    }

    async fn get_stream(&self, last_event_id: &str) -> Result<reqwest::Response, ClientError> {
        let session = self
            .session
            .clone()
            .ok_or_else(|| ClientError::Protocol("resuming needs a session".into()))?;
        let mut request = self
            .http
            .get(&self.options.url)
            .headers(self.headers.clone())
            .header("accept", "text/event-stream")
            .header("mcp-session-id", session)
            .header("last-event-id", last_event_id);
        if let Some(negotiated) = &self.negotiated {
            request = request.header("mcp-protocol-version", negotiated);
        }
        let response = self.send(request).await?;
        if !response.status().is_success() {
            return Err(status_error(response).await);
        }
        Ok(response)
    }

    /// Reads the answer to request `id`: a JSON body, or an SSE stream (resumed as needed).
    async fn read_answer(
        &mut self,
        response: reqwest::Response,
        id: &Value,
        on_incoming: &mut dyn FnMut(Incoming),
    ) -> Result<Value, ClientError> {
        let status = response.status();
        let is_sse = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if !is_sse {
            let text = response.text().await?;
            // A legacy error status is about the transport (404: the session is gone); a
            // modern one carries a JSON-RPC error worth showing as such.
            if !status.is_success() && !self.is_modern() {
                return Err(ClientError::Status {
                    status: status.as_u16(),
                    body: text,
                });
            }
            let message: Value = serde_json::from_str(&text).map_err(|_| ClientError::Status {
                status: status.as_u16(),
                body: text.clone(),
            })?;
            return outcome(&message);
        }
        self.last_event_id = None;
        let mut response = response;
        let mut attempts = 0;
        loop {
            if let Some(message) = self.read_stream(response, Some(id), on_incoming).await? {
                return outcome(&message);
            }
            let Some(last) = self.last_event_id.clone() else {
                return Err(ClientError::Protocol(
                    "the stream ended without a response and without an event id to resume from"
                        .into(),
                ));
            };
            attempts += 1;
            if attempts > 100 {
                return Err(ClientError::Protocol(
                    "gave up resuming after 100 attempts".into(),
                ));
            }
            response = self.get_stream(&last).await?;
        }
    }

    /// Reads SSE events until the response to `id` (or any response when `id` is `None`);
    /// `Ok(None)` when the stream ends first. Answers server-to-client requests by declining.
    async fn read_stream(
        &mut self,
        response: reqwest::Response,
        id: Option<&Value>,
        on_incoming: &mut dyn FnMut(Incoming),
    ) -> Result<Option<Value>, ClientError> {
        let mut decoder = SseDecoder::default();
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            for event in decoder.push(&chunk?) {
                if event.id.is_some() {
                    self.last_event_id = decoder.last_event_id().map(str::to_owned);
                }
                if event.data.trim().is_empty() {
                    continue;
                }
                let Ok(message) = serde_json::from_str::<Value>(&event.data) else {
                    continue;
                };
                let is_response = message.get("result").is_some() || message.get("error").is_some();
                if is_response && id.is_none_or(|id| &message["id"] == id) {
                    return Ok(Some(message));
                }
                if message.get("method").is_some() && message.get("id").is_some() {
                    self.decline(&message).await?;
                    on_incoming(Incoming::ServerRequest(message));
                } else if message.get("method").is_some() {
                    on_incoming(Incoming::Notification(message));
                }
            }
        }
        if let Some(ms) = decoder.retry_ms() {
            tokio::time::sleep(Duration::from_millis(ms.min(10_000))).await;
        }
        Ok(None)
    }

    /// This client has no user or model to ask: it declines elicitations and refuses other
    /// server-to-client requests, so the server's tool can carry on.
    async fn decline(&mut self, request: &Value) -> Result<(), ClientError> {
        let reply = match request["method"].as_str() {
            Some("elicitation/create") => {
                json!({ "jsonrpc": "2.0", "id": request["id"], "result": { "action": "decline" } })
            }
            Some("ping") => json!({ "jsonrpc": "2.0", "id": request["id"], "result": {} }),
            _ => json!({ "jsonrpc": "2.0", "id": request["id"],
                         "error": { "code": -32601, "message": "mcp-client does not support this request" } }),
        };
        let response = self.post(&reply, "", None).await?;
        expect_status(response, 202).await
    }
}

/// A `result`, or the JSON-RPC error as [`ClientError::Rpc`].
fn outcome(message: &Value) -> Result<Value, ClientError> {
    if let Some(result) = message.get("result") {
        return Ok(result.clone());
    }
    match message.get("error") {
        Some(error) => Err(ClientError::Rpc {
            code: error["code"].as_i64().unwrap_or(0),
            message: error["message"].as_str().unwrap_or_default().to_owned(),
            data: error.get("data").cloned(),
        }),
        None => Err(ClientError::Protocol(format!(
            "not a JSON-RPC response: {message}"
        ))),
    }
}

async fn expect_status(response: reqwest::Response, expected: u16) -> Result<(), ClientError> {
    if response.status().as_u16() == expected {
        Ok(())
    } else {
        Err(status_error(response).await)
    }
}

async fn status_error(response: reqwest::Response) -> ClientError {
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    ClientError::Status { status, body }
}

/// `Mcp-Name` values that are not plain visible ASCII (or look like the sentinel) travel as
/// `=?base64?…?=`.
fn encode_header_value(value: &str) -> String {
    use base64::Engine;
    let plain = value.bytes().all(|b| (0x21..=0x7e).contains(&b))
        && !(value.starts_with("=?base64?") && value.ends_with("?="));
    if plain {
        value.to_owned()
    } else {
        format!(
            "=?base64?{}?=",
            base64::engine::general_purpose::STANDARD.encode(value)
        )
    }
}
