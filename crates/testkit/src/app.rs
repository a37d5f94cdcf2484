//! The conformance fixture app in process (no socket), with a small legacy-session client.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use bedrock_usage_mcp::store::{MemoryStore, SessionStore};
use bedrock_usage_mcp::transport::{McpService, TransportConfig};
use http::{Request, Response};
use http_body_util::BodyExt;
use mcp_conformance::conformance_server;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::jsonrpc;
/// Re-exported where the in-process tests have always taken it from.
pub use crate::jsonrpc::call;

pub struct App {
    router: Router,
}

impl App {
    pub fn new(config: TransportConfig) -> Self {
        Self::with_store(config, Arc::new(MemoryStore::new()))
    }

    /// The fixtures on `store`. Every such app seals `requestState` and server-to-client
    /// request ids with one key, as the instances behind one URL do in a deployment.
    pub fn with_store(config: TransportConfig, store: Arc<dyn SessionStore>) -> Self {
        let key = b"in-process-test-apps-share-this-request-state-key".to_vec();
        Self::serving(conformance_server(Some(key)), store, config)
    }

    /// Any server, on a given store.
    pub fn serving(
        server: bedrock_usage_mcp::server::McpServer,
        store: Arc<dyn SessionStore>,
        config: TransportConfig,
    ) -> Self {
        let service = McpService::new(server, store, config);
        Self {
            router: service.router(),
        }
    }

    pub async fn send(&self, request: Request<Body>) -> Response<Body> {
        self.router
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible")
    }

    /// POSTs a legacy message, in a session if one is given.
    pub async fn post(&self, session: Option<&str>, body: Value) -> Response<Body> {
        let mut request = Request::post("/mcp")
            .header("host", "127.0.0.1")
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream");
        if let Some(session) = session {
            request = request.header("mcp-session-id", session);
        }
        self.send(request.body(Body::from(body.to_string())).expect("request"))
            .await
    }

    /// GETs the session's standalone stream, or resumes one with `Last-Event-ID`.
    pub async fn get(&self, session: &str, last_event_id: Option<&str>) -> Response<Body> {
        let mut request = Request::get("/mcp")
            .header("host", "127.0.0.1")
            .header("accept", "text/event-stream")
            .header("mcp-session-id", session);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        self.send(request.body(Body::empty()).expect("request"))
            .await
    }

    pub async fn delete(&self, session: &str) -> Response<Body> {
        let request = Request::delete("/mcp")
            .header("host", "127.0.0.1")
            .header("mcp-session-id", session);
        self.send(request.body(Body::empty()).expect("request"))
            .await
    }

    /// `initialize` + `notifications/initialized`; returns the session id.
    pub async fn initialize(&self, version: &str) -> String {
        let response = self
            .post(
                None,
                jsonrpc::initialize(
                    0,
                    version,
                    "tests",
                    json!({ "sampling": {}, "elicitation": {}, "roots": {} }),
                ),
            )
            .await;
        assert_eq!(response.status(), 200);
        let session = response
            .headers()
            .get("mcp-session-id")
            .expect("a session id")
            .to_str()
            .expect("ascii")
            .to_owned();
        let note = jsonrpc::notification("notifications/initialized", Value::Null);
        assert_eq!(self.post(Some(&session), note).await.status(), 202);
        session
    }
}

/// The whole body as JSON.
pub async fn body_json(response: Response<Body>) -> Value {
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    serde_json::from_slice(&bytes).unwrap_or_else(|_| json!(String::from_utf8_lossy(&bytes)))
}

/// The response message, whether it came as JSON or on an SSE stream (its last event).
pub async fn response_message(response: Response<Body>) -> Value {
    use crate::sse::{EventJson as _, SseReader};
    if content_type(&response).starts_with("text/event-stream") {
        let mut reader = SseReader::new(response.into_body());
        let events = reader
            .until_response(std::time::Duration::from_secs(30))
            .await;
        return events.last().and_then(|e| e.json()).expect("a response");
    }
    body_json(response).await
}

pub fn content_type(response: &Response<Body>) -> String {
    response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The `_meta` every 2026-07-28 request carries, with `capabilities`.
pub fn modern_meta(capabilities: Value) -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": { "name": "tests", "version": "1" },
        "io.modelcontextprotocol/clientCapabilities": capabilities,
    })
}

impl App {
    /// The JSON-RPC `result` of a 2026-07-28 `tools/call` of `name` with `arguments`
    /// (`Null` when the server answered with an error instead).
    pub async fn call_tool(&self, id: u64, name: &str, arguments: Value) -> Value {
        let params = json!({ "name": name, "arguments": arguments });
        let response = self.modern(id, "tools/call", params, json!({})).await;
        body_json(response).await["result"].clone()
    }

    /// POSTs a well-formed 2026-07-28 request: `_meta` merged into `params`, and the
    /// `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers set from the body.
    pub async fn modern(
        &self,
        id: u64,
        method: &str,
        mut params: Value,
        meta: Value,
    ) -> Response<Body> {
        let mut merged = modern_meta(json!({ "sampling": {}, "elicitation": {}, "roots": {} }));
        if let (Some(target), Some(extra)) = (merged.as_object_mut(), meta.as_object()) {
            target.extend(extra.clone());
        }
        params["_meta"] = merged;
        let name = params
            .get("name")
            .or_else(|| params.get("uri"))
            .or_else(|| params.get("taskId"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let body = jsonrpc::request(id, method, params);
        let mut request = Request::post("/mcp")
            .header("host", "127.0.0.1")
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", method);
        if let Some(name) = name {
            request = request.header("mcp-name", name);
        }
        self.send(request.body(Body::from(body.to_string())).expect("request"))
            .await
    }
}
