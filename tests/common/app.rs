//! The conformance fixture app in process (no socket), with a small legacy-session client.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use bedrock_usage_mcp::fixtures::conformance_server;
use bedrock_usage_mcp::store::{MemoryStore, SessionStore};
use bedrock_usage_mcp::transport::{McpService, TransportConfig};
use http::{Request, Response};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

pub struct App {
    router: Router,
}

impl App {
    pub fn new(config: TransportConfig) -> Self {
        Self::with_store(config, Arc::new(MemoryStore::new()))
    }

    pub fn with_store(config: TransportConfig, store: Arc<dyn SessionStore>) -> Self {
        let service = McpService::new(conformance_server(None), store, config);
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
                json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                    "protocolVersion": version,
                    "capabilities": { "sampling": {}, "elicitation": {}, "roots": {} },
                    "clientInfo": { "name": "tests", "version": "1" },
                } }),
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
        let note = json!({ "jsonrpc": "2.0", "method": "notifications/initialized" });
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

pub fn content_type(response: &Response<Body>) -> String {
    response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// A `tools/call` request.
pub fn call(id: u64, tool: &str, arguments: Value, progress_token: Option<&str>) -> Value {
    let mut params = json!({ "name": tool, "arguments": arguments });
    if let Some(token) = progress_token {
        params["_meta"] = json!({ "progressToken": token });
    }
    json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params })
}
