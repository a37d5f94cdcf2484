//! How a task ends and who hears of it. A tool error (`isError`) fails a 2025-11-25 task
//! (`tasks/result` still gives the tool's result) and completes a 2026-07-28 one (`failed`
//! is for JSON-RPC errors there). 2025-11-25 status notifications: a change `tasks/result`
//! sees while it waits goes on its stream before the result; a change a `tasks/get` makes
//! goes to the session's standalone stream when the client has one open, and nowhere else.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use bedrock_usage_mcp::store::{MemoryStore, SessionId, SessionStore, StreamId, StreamKey};
use bedrock_usage_mcp::transport::TransportConfig;
use mcp_testkit::app::{App, response_message};
use mcp_testkit::jsonrpc::request;
use mcp_testkit::sse::{EventJson as _, SseReader};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

async fn legacy(app: &App, session: &str, method: &str, params: Value) -> Value {
    response_message(app.post(Some(session), request(1, method, params)).await).await
}

async fn task(app: &App, session: &str, name: &str, arguments: Value) -> String {
    let params = json!({ "name": name, "arguments": arguments, "task": {} });
    let created = legacy(app, session, "tools/call", params).await;
    created["result"]["task"]["taskId"]
        .as_str()
        .unwrap_or_else(|| panic!("a task: {created}"))
        .to_owned()
}

/// Polls `tasks/get` until the task is terminal (the fixtures end within about a second).
async fn until_terminal(app: &App, session: &str, id: &str) -> Value {
    for _ in 0..60 {
        let got = legacy(app, session, "tasks/get", json!({ "taskId": id })).await;
        let status = got["result"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if ["completed", "failed", "cancelled"].contains(&status.as_str()) {
            return got["result"].clone();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("task {id} did not end");
}

#[tokio::test]
async fn a_tool_error_fails_a_2025_11_25_task_and_tasks_result_gives_the_tools_result() {
    let app = App::new(TransportConfig::default());
    let session = app.initialize("2025-11-25").await;
    let id = task(&app, &session, "failing_job", json!({})).await;
    let ended = until_terminal(&app, &session, &id).await;
    assert_eq!(ended["status"], "failed", "{ended}");
    assert_eq!(
        ended["statusMessage"], "Tool execution failed: the job failed",
        "{ended}"
    );
    // "tasks/result MUST return exactly what the underlying request would have returned."
    let result = legacy(&app, &session, "tasks/result", json!({ "taskId": id })).await;
    assert_eq!(result["result"]["isError"], true, "{result}");
    assert_eq!(result["result"]["content"][0]["text"], "the job failed");
    assert_eq!(
        result["result"]["_meta"]["io.modelcontextprotocol/related-task"]["taskId"],
        id.as_str()
    );
    // A task that ended cannot be cancelled.
    let cancel = legacy(&app, &session, "tasks/cancel", json!({ "taskId": id })).await;
    assert_eq!(cancel["error"]["code"], -32602, "{cancel}");

    // A successful result still completes.
    let fine = task(&app, &session, "slow_compute", json!({ "seconds": 0 })).await;
    assert_eq!(
        until_terminal(&app, &session, &fine).await["status"],
        "completed"
    );
}

#[tokio::test]
async fn a_tool_error_completes_a_2026_07_28_task_with_the_result() {
    let app = App::new(TransportConfig::default());
    let caps = json!({ "io.modelcontextprotocol/clientCapabilities": {
        "extensions": { "io.modelcontextprotocol/tasks": {} } } });
    let call = json!({ "name": "failing_job", "arguments": {} });
    let created = response_message(app.modern(1, "tools/call", call, caps.clone()).await).await;
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();
    let mut got = Value::Null;
    for _ in 0..60 {
        let params = json!({ "taskId": id });
        got = response_message(app.modern(2, "tasks/get", params, caps.clone()).await).await;
        if got["result"]["status"] != "working" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(got["result"]["status"], "completed", "{got}");
    assert_eq!(got["result"]["result"]["isError"], true, "{got}");
    assert!(got["result"].get("error").is_none(), "{got}");
}

#[tokio::test]
async fn tasks_result_sends_the_status_changes_it_sees_before_the_result() {
    let app = App::new(TransportConfig::default());
    let session = app.initialize("2025-11-25").await;
    let id = task(&app, &session, "slow_compute", json!({ "seconds": 1 })).await;
    let response = app
        .post(
            Some(&session),
            request(2, "tasks/result", json!({ "taskId": id })),
        )
        .await;
    let mut reader = SseReader::new(response.into_body());
    let messages: Vec<Value> = (reader.until_response(WAIT).await.iter())
        .filter_map(|e| e.json())
        .collect();
    let (last, before) = messages.split_last().unwrap();
    assert_eq!(
        last["result"]["content"][0]["text"], "Computed  after 1s",
        "{last}"
    );
    let statuses: Vec<&Value> = (before.iter())
        .filter(|m| m["method"] == "notifications/tasks/status")
        .map(|m| &m["params"])
        .collect();
    assert_eq!(statuses.len(), 1, "{before:?}");
    assert_eq!(statuses[0]["taskId"], id.as_str());
    assert_eq!(statuses[0]["status"], "completed");
    assert!(statuses[0]["createdAt"].is_string() && statuses[0]["ttl"].is_u64());
    // "SHOULD NOT include the io.modelcontextprotocol/related-task metadata".
    assert!(statuses[0].get("_meta").is_none(), "{}", statuses[0]);
}

#[tokio::test]
async fn a_change_made_by_tasks_get_goes_to_the_standalone_stream_when_one_is_open() {
    let app = App::new(TransportConfig::default());
    let session = app.initialize("2025-11-25").await;
    let get = app.get(&session, None).await;
    assert_eq!(get.status(), 200);
    let mut standalone = SseReader::new(get.into_body());

    let id = task(&app, &session, "slow_compute", json!({ "seconds": 1 })).await;
    let ended = until_terminal(&app, &session, &id).await;
    assert_eq!(ended["status"], "completed");

    let (_, note) = standalone.next_message(WAIT).await.expect("a notification");
    assert_eq!(note["method"], "notifications/tasks/status", "{note}");
    assert_eq!(note["params"], ended, "the same Task tasks/get answered");
    // Polls that change nothing send nothing.
    legacy(&app, &session, "tasks/get", json!({ "taskId": id })).await;
    assert!(
        standalone
            .next_message(Duration::from_millis(500))
            .await
            .is_none(),
        "only one change"
    );
}

#[tokio::test]
async fn without_a_standalone_stream_tasks_get_stores_no_notification() {
    let store = Arc::new(MemoryStore::new());
    let app = App::with_store(TransportConfig::default(), store.clone());
    let session = app.initialize("2025-11-25").await;
    let id = task(&app, &session, "slow_compute", json!({ "seconds": 1 })).await;
    assert_eq!(
        until_terminal(&app, &session, &id).await["status"],
        "completed"
    );
    let key = StreamKey::new(SessionId::parse(&session).unwrap(), StreamId::standalone());
    let stored = store.read_events(&key, None, 10).await.unwrap();
    assert!(
        stored.is_empty(),
        "nothing is stored for a client that is not listening: {stored:?}"
    );
}
