//! 2026-07-28 (stateless) behaviour beyond the conformance suite: result shape, JSON versus
//! SSE answers, disconnect as cancellation, multi-round-trip state, listen streams.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bedrock_usage_mcp::server::{HandlerError, McpServer, RequestContext, ToolHandler};
use bedrock_usage_mcp::store::MemoryStore;
use bedrock_usage_mcp::transport::TransportConfig;
use mcp_testkit::app::{App, body_json, content_type};
use mcp_testkit::sse::{EventJson as _, SseReader};
use rmcp::model::{CallToolResult, JsonObject, Tool};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn quiet_calls_answer_json_with_result_type_and_server_info() {
    let app = App::new(TransportConfig::default());
    let response = app
        .modern(
            1,
            "tools/call",
            json!({ "name": "test_simple_text" }),
            json!({}),
        )
        .await;
    assert_eq!(content_type(&response), "application/json");
    assert!(response.headers().get("mcp-session-id").is_none());
    let answer = body_json(response).await;
    assert_eq!(answer["result"]["resultType"], "complete");
    assert_eq!(
        answer["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "mcp-conformance-test-server"
    );
    let list = body_json(app.modern(2, "tools/list", json!({}), json!({})).await).await;
    assert!(list["result"]["ttlMs"].is_u64());
    assert!(["public", "private"].contains(&list["result"]["cacheScope"].as_str().unwrap_or("")));
}

#[tokio::test]
async fn progress_streams_without_event_ids_and_logs_only_when_asked() {
    let app = App::new(TransportConfig::default());
    let response = app
        .modern(
            1,
            "tools/call",
            json!({ "name": "test_tool_with_logging" }),
            json!({ "io.modelcontextprotocol/logLevel": "info", "progressToken": "t" }),
        )
        .await;
    assert_eq!(content_type(&response), "text/event-stream");
    let events = SseReader::new(response.into_body())
        .until_response(WAIT)
        .await;
    assert_eq!(
        events.len(),
        4,
        "three log messages then the answer: {events:?}"
    );
    assert!(
        events.iter().all(|e| e.id.is_none()),
        "2026-07-28 streams carry no ids"
    );
    let quiet = app
        .modern(
            2,
            "tools/call",
            json!({ "name": "test_tool_with_logging" }),
            json!({}),
        )
        .await;
    assert_eq!(content_type(&quiet), "application/json");
}

#[tokio::test]
async fn input_required_round_trip_carries_sealed_state() {
    let app = App::new(TransportConfig::default());
    let call = |responses, state| {
        let mut params = json!({ "name": "test_input_required_result_multi_round" });
        if let Some(r) = responses {
            params["inputResponses"] = r;
        }
        if let Some(s) = state {
            params["requestState"] = s;
        }
        params
    };
    let first = body_json(
        app.modern(1, "tools/call", call(None, None), json!({}))
            .await,
    )
    .await;
    assert_eq!(first["result"]["resultType"], "input_required");
    assert!(first["result"]["inputRequests"]["step1"].is_object());
    let state1 = first["result"]["requestState"].clone();

    let name = json!({ "step1": { "action": "accept", "content": { "name": "Ada" } } });
    let second = body_json(
        app.modern(
            2,
            "tools/call",
            call(Some(name), Some(state1.clone())),
            json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(second["result"]["resultType"], "input_required");
    let state2 = second["result"]["requestState"].clone();
    assert_ne!(state1, state2);

    let color = json!({ "step2": { "action": "accept", "content": { "color": "green" } } });
    let third = body_json(
        app.modern(
            3,
            "tools/call",
            call(Some(color.clone()), Some(state2.clone())),
            json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(
        third["result"]["content"][0]["text"],
        "Multi-round complete for Ada who likes green"
    );

    // State is bound to its tool: replaying it into another tool fails verification.
    let replay = json!({ "name": "test_input_required_result_request_state",
                         "inputResponses": color, "requestState": state2 });
    let rejected = body_json(app.modern(4, "tools/call", replay, json!({})).await).await;
    assert_eq!(rejected["error"]["code"], -32602);
}

/// A tool that streams progress until it is stopped, and records that it was stopped.
struct Endless {
    stopped: Arc<AtomicBool>,
}

/// Sets its flag when dropped: the tool's future was dropped, i.e. cancelled.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[async_trait]
impl ToolHandler for Endless {
    fn definition(&self) -> Tool {
        Tool::new(
            "endless",
            "runs until cancelled",
            Arc::new(JsonObject::new()),
        )
    }

    async fn call(
        &self,
        ctx: &RequestContext,
        _: JsonObject,
    ) -> Result<CallToolResult, HandlerError> {
        let _flag = SetOnDrop(self.stopped.clone());
        for step in 0.. {
            ctx.progress(f64::from(step), None, None).await?;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        unreachable!()
    }
}

#[tokio::test]
async fn closing_the_stream_cancels_the_request() {
    let stopped = Arc::new(AtomicBool::new(false));
    let server = McpServer::builder("t", "1")
        .tool(Endless {
            stopped: stopped.clone(),
        })
        .build();
    let app = App::serving(
        server,
        Arc::new(MemoryStore::new()),
        TransportConfig::default(),
    );
    let response = app
        .modern(
            1,
            "tools/call",
            json!({ "name": "endless" }),
            json!({ "progressToken": "t" }),
        )
        .await;
    let mut stream = SseReader::new(response.into_body());
    assert!(stream.next(WAIT).await.is_some());
    assert!(!stopped.load(Ordering::SeqCst));
    drop(stream);
    for _ in 0..100 {
        if stopped.load(Ordering::SeqCst) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the tool kept running after the client closed the stream");
}

#[tokio::test]
async fn listen_streams_acknowledge_and_deliver_only_what_was_asked() {
    let app = App::new(TransportConfig::default());
    let listen = |id, filter| {
        let app = &app;
        async move {
            let response = app
                .modern(
                    id,
                    "subscriptions/listen",
                    json!({ "notifications": filter }),
                    json!({}),
                )
                .await;
            assert_eq!(content_type(&response), "text/event-stream");
            SseReader::new(response.into_body())
        }
    };
    let mut tools = listen(10, json!({ "toolsListChanged": true })).await;
    let mut prompts = listen(11, json!({ "promptsListChanged": true })).await;
    let ack = tools.next(WAIT).await.and_then(|e| e.json()).expect("ack");
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
    assert_eq!(
        ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        10
    );
    assert_eq!(
        ack["params"]["notifications"],
        json!({ "toolsListChanged": true })
    );
    prompts.next(WAIT).await.expect("ack");

    let trigger = app
        .modern(
            1,
            "tools/call",
            json!({ "name": "test_trigger_tool_change" }),
            json!({}),
        )
        .await;
    assert_eq!(trigger.status(), 200);
    let note = tools
        .next(WAIT)
        .await
        .and_then(|e| e.json())
        .expect("change");
    assert_eq!(note["method"], "notifications/tools/list_changed");
    assert_eq!(
        note["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        10
    );
    assert!(
        prompts.next(Duration::from_millis(300)).await.is_none(),
        "a prompts-only listener got a tools change"
    );
}
