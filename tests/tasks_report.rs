//! `get_bedrock_usage_report` as a task, in both eras, on the sample source: the task's
//! result is the report the direct call gives.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bedrock_usage_mcp::store::MemoryStore;
use bedrock_usage_mcp::tools::{FixedSource, usage_server};
use bedrock_usage_mcp::transport::TransportConfig;
use bedrock_usage_mcp::usage::source::SampleSource;
use http::Response;
use mcp_testkit::app::{App, body_json, content_type};
use mcp_testkit::jsonrpc::request;
use mcp_testkit::sse::{EventJson as _, SseReader};
use serde_json::{Value, json};

const TOOL: &str = "get_bedrock_usage_report";

fn app() -> App {
    let source = Arc::new(FixedSource(Arc::new(SampleSource::default())));
    App::serving(
        usage_server(source, None, None),
        Arc::new(MemoryStore::new()),
        TransportConfig::default(),
    )
}

async fn message(response: Response<Body>) -> Value {
    if content_type(&response).starts_with("text/event-stream") {
        let mut reader = SseReader::new(response.into_body());
        let events = reader.until_response(Duration::from_secs(30)).await;
        return events.last().and_then(|e| e.json()).expect("a response");
    }
    body_json(response).await
}

/// The parts of a report that do not depend on when it was made.
fn numbers(result: &Value) -> Value {
    let report = &result["structuredContent"];
    json!({ "totals": report["totals"], "by_model": report["by_model"], "by_day": report["by_day"] })
}

#[tokio::test]
async fn a_2025_11_25_report_task_gives_the_direct_calls_report() {
    let app = app();
    let session = app.initialize("2025-11-25").await;
    let post = |id: u64, method: &str, params: Value| {
        let body = request(id, method, params);
        let app = &app;
        let session = session.clone();
        async move { message(app.post(Some(&session), body).await).await }
    };
    let tools = post(1, "tools/list", json!({})).await;
    assert_eq!(
        tools["result"]["tools"][0]["execution"]["taskSupport"],
        "optional"
    );
    let arguments = json!({ "days": 7 });
    let direct = post(
        2,
        "tools/call",
        json!({ "name": TOOL, "arguments": arguments }),
    )
    .await;
    let created = post(
        3,
        "tools/call",
        json!({ "name": TOOL, "arguments": arguments, "task": {} }),
    )
    .await;
    let id = created["result"]["task"]["taskId"]
        .as_str()
        .unwrap()
        .to_owned();
    let result = post(4, "tasks/result", json!({ "taskId": id })).await;
    assert!(
        numbers(&direct["result"])["totals"]["requests"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert_eq!(numbers(&result["result"]), numbers(&direct["result"]));
}

#[tokio::test]
async fn a_2026_07_28_report_task_gives_the_direct_calls_report() {
    let app = app();
    let arguments = json!({ "days": 7 });
    let with_tasks = json!({ "io.modelcontextprotocol/clientCapabilities": {
        "extensions": { "io.modelcontextprotocol/tasks": {} } } });
    let call = json!({ "name": TOOL, "arguments": arguments });
    let direct = message(app.modern(1, "tools/call", call.clone(), json!({})).await).await;
    assert_eq!(direct["result"]["resultType"], "complete");
    let created = message(app.modern(2, "tools/call", call, with_tasks.clone()).await).await;
    assert_eq!(created["result"]["resultType"], "task", "{created}");
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();
    let got = message(
        app.modern(3, "tasks/get", json!({ "taskId": id }), with_tasks)
            .await,
    )
    .await;
    assert_eq!(got["result"]["status"], "completed", "{got}");
    assert_eq!(
        numbers(&got["result"]["result"]),
        numbers(&direct["result"])
    );
}
