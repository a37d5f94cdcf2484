//! A bug in a handler still ends its request with a JSON-RPC error for that request's id, in
//! both eras, whether the answer was going to be JSON or had already become an SSE stream, and
//! the server goes on serving.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bedrock_usage_mcp::server::{HandlerError, McpServer, RequestContext, ToolHandler};
use bedrock_usage_mcp::store::MemoryStore;
use bedrock_usage_mcp::transport::TransportConfig;
use mcp_testkit::app::{App, body_json, call, content_type};
use mcp_testkit::sse::{EventJson as _, SseReader};
use rmcp::model::{CallToolResult, JsonObject, Tool};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

/// A tool with a bug: it panics, after a progress notification when asked to.
struct Buggy;

#[async_trait]
impl ToolHandler for Buggy {
    fn definition(&self) -> Tool {
        Tool::new("buggy", "panics", Arc::new(JsonObject::new()))
    }

    async fn call(
        &self,
        ctx: &RequestContext,
        arguments: JsonObject,
    ) -> Result<CallToolResult, HandlerError> {
        if arguments.get("progress_first") == Some(&json!(true)) {
            ctx.progress(1.0, None, None).await?;
        }
        panic!("a bug in the tool");
    }
}

/// A tool that works, to show the server still serves after a panic.
struct Fine;

#[async_trait]
impl ToolHandler for Fine {
    fn definition(&self) -> Tool {
        Tool::new("fine", "works", Arc::new(JsonObject::new()))
    }

    async fn call(
        &self,
        _ctx: &RequestContext,
        _arguments: JsonObject,
    ) -> Result<CallToolResult, HandlerError> {
        Ok(
            serde_json::from_value(json!({ "content": [{ "type": "text", "text": "ok" }] }))
                .expect("a text result"),
        )
    }
}

fn app() -> App {
    let server = McpServer::builder("t", "1").tool(Buggy).tool(Fine).build();
    App::serving(
        server,
        Arc::new(MemoryStore::new()),
        TransportConfig::default(),
    )
}

/// The error a panic must become: internal error (-32603) for `id`, nothing from the panic.
fn assert_internal_error(message: &Value, id: u64) {
    assert_eq!(message["id"], id, "{message}");
    assert_eq!(message["error"]["code"], -32603, "{message}");
    assert!(
        !message.to_string().contains("panicked"),
        "the panic text leaked: {message}"
    );
}

#[tokio::test]
async fn legacy_json_answer() {
    let app = app();
    let session = app.initialize("2025-11-25").await;
    let response = tokio::time::timeout(
        WAIT,
        app.post(Some(&session), call(7, "buggy", json!({}), None)),
    )
    .await
    .expect("an answer, not a request left waiting");
    assert_eq!(response.status(), 200);
    assert_eq!(content_type(&response), "application/json");
    assert_internal_error(&body_json(response).await, 7);
    let after = app
        .post(Some(&session), call(8, "fine", json!({}), None))
        .await;
    assert_eq!(body_json(after).await["result"]["content"][0]["text"], "ok");
}

#[tokio::test]
async fn legacy_stream_ends_with_the_error() {
    let app = app();
    let session = app.initialize("2025-11-25").await;
    let response = app
        .post(
            Some(&session),
            call(9, "buggy", json!({ "progress_first": true }), Some("p")),
        )
        .await;
    assert_eq!(content_type(&response), "text/event-stream");
    let events = SseReader::new(response.into_body())
        .until_response(WAIT)
        .await;
    let last = events
        .last()
        .and_then(|e| e.json())
        .expect("a final message");
    assert_internal_error(&last, 9);
}

#[tokio::test]
async fn modern_json_answer() {
    let app = app();
    let response = app
        .modern(11, "tools/call", json!({ "name": "buggy" }), json!({}))
        .await;
    assert_eq!(content_type(&response), "application/json");
    assert_internal_error(&body_json(response).await, 11);
}

#[tokio::test]
async fn modern_stream_ends_with_the_error() {
    let app = app();
    let response = app
        .modern(
            12,
            "tools/call",
            json!({ "name": "buggy", "arguments": { "progress_first": true } }),
            json!({ "progressToken": "p" }),
        )
        .await;
    assert_eq!(content_type(&response), "text/event-stream");
    let events = SseReader::new(response.into_body())
        .until_response(WAIT)
        .await;
    let last = events
        .last()
        .and_then(|e| e.json())
        .expect("a final message");
    assert_internal_error(&last, 12);
    let after = app
        .modern(13, "tools/call", json!({ "name": "fine" }), json!({}))
        .await;
    assert_eq!(body_json(after).await["result"]["content"][0]["text"], "ok");
}
