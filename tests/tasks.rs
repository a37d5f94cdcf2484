//! Tasks in both eras, in process on the conformance fixtures: the 2025-11-25 shapes
//! (`params.task`, `{task}`, `tasks/get|result|cancel`, `ttl`/`pollInterval`), and the error
//! cases of both eras (unknown, cancelled, expired, another session's task, the extension
//! not declared, methods an era does not have). The 2026-07-28 shapes are the official
//! suite's (`tests/conformance.rs`).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use axum::body::Body;
use bedrock_usage_mcp::transport::TransportConfig;
use http::Response;
use mcp_testkit::app::{App, body_json, content_type};
use mcp_testkit::jsonrpc::request;
use mcp_testkit::sse::{EventJson as _, SseReader};
use serde_json::{Value, json};

const TASKS: &str = "io.modelcontextprotocol/tasks";

/// The response message, whether it came as JSON or on an SSE stream.
async fn message(response: Response<Body>) -> Value {
    if content_type(&response).starts_with("text/event-stream") {
        let mut reader = SseReader::new(response.into_body());
        let events = reader.until_response(Duration::from_secs(30)).await;
        return events.last().and_then(|e| e.json()).expect("a response");
    }
    body_json(response).await
}

async fn legacy(app: &App, session: &str, id: u64, method: &str, params: Value) -> Value {
    message(app.post(Some(session), request(id, method, params)).await).await
}

async fn modern(app: &App, id: u64, method: &str, params: Value, with_tasks: bool) -> Value {
    let mut caps = json!({ "elicitation": {} });
    if with_tasks {
        caps["extensions"] = json!({ TASKS: {} });
    }
    let meta = json!({ "io.modelcontextprotocol/clientCapabilities": caps });
    message(app.modern(id, method, params, meta).await).await
}

/// Starts a 60-second `slow_compute` task with `task` as its `params.task`; returns its id.
async fn slow_task(app: &App, session: &str, task: Value) -> String {
    let params = json!({ "name": "slow_compute", "arguments": { "seconds": 60 }, "task": task });
    let created = legacy(app, session, 1, "tools/call", params).await;
    created["result"]["task"]["taskId"]
        .as_str()
        .unwrap_or_else(|| panic!("a task: {created}"))
        .to_owned()
}

fn error_code(message: &Value) -> i64 {
    message["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("an error: {message}"))
}

#[tokio::test]
async fn a_2025_11_25_task_runs_to_its_result() {
    let app = App::new(TransportConfig::default());
    let session = app.initialize("2025-11-25").await;

    let init_caps = {
        let other = app
            .post(
                None,
                mcp_testkit::jsonrpc::initialize(1, "2025-11-25", "t", json!({})),
            )
            .await;
        body_json(other).await["result"]["capabilities"].clone()
    };
    assert_eq!(
        init_caps["tasks"],
        json!({ "list": {}, "cancel": {}, "requests": { "tools": { "call": {} } } })
    );
    assert!(init_caps.get("extensions").is_none(), "{init_caps}");

    let tools = legacy(&app, &session, 2, "tools/list", json!({})).await;
    let support = |name: &str| {
        tools["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .map(|t| t["execution"]["taskSupport"].clone())
    };
    assert_eq!(support("slow_compute"), Some(json!("optional")));
    assert_eq!(support("failing_job"), Some(json!("required")));
    assert_eq!(support("greet"), Some(json!("forbidden")));

    let created = legacy(&app, &session, 3, "tools/call", json!({
        "name": "slow_compute", "arguments": { "seconds": 0, "label": "x" }, "task": { "ttl": 60000 },
    })).await;
    let task = &created["result"]["task"];
    let id = task["taskId"].as_str().expect("a task id").to_owned();
    assert_eq!(task["status"], "working");
    assert_eq!(task["ttl"], 60000);
    assert!(task["pollInterval"].as_u64().is_some(), "{task}");
    assert!(created["result"].get("resultType").is_none(), "{created}");

    let got = legacy(&app, &session, 4, "tasks/get", json!({ "taskId": id })).await;
    assert_eq!(got["result"]["status"], "completed", "{got}");
    assert_eq!(got["result"]["taskId"], id.as_str());

    let result = legacy(&app, &session, 5, "tasks/result", json!({ "taskId": id })).await;
    assert_eq!(
        result["result"]["content"][0]["text"], "Computed x after 0s",
        "{result}"
    );
    assert_eq!(
        result["result"]["_meta"]["io.modelcontextprotocol/related-task"]["taskId"],
        id.as_str()
    );

    // 2025-11-25: cancelling a task that has ended is -32602.
    let cancel = legacy(&app, &session, 6, "tasks/cancel", json!({ "taskId": id })).await;
    assert_eq!(error_code(&cancel), -32602);
    // This era has no tasks/update.
    let update = legacy(
        &app,
        &session,
        7,
        "tasks/update",
        json!({ "taskId": id, "inputResponses": {} }),
    )
    .await;
    assert_eq!(error_code(&update), -32601);
}

#[tokio::test]
async fn a_2025_11_25_task_waits_in_tasks_result_and_is_cancelled() {
    let app = App::new(TransportConfig::default());
    let session = app.initialize("2025-11-25").await;
    let id = slow_task(&app, &session, json!({})).await;
    let cancelled = legacy(&app, &session, 2, "tasks/cancel", json!({ "taskId": id })).await;
    assert_eq!(cancelled["result"]["status"], "cancelled", "{cancelled}");
    let got = legacy(&app, &session, 3, "tasks/get", json!({ "taskId": id })).await;
    assert_eq!(got["result"]["status"], "cancelled");
    let result = legacy(&app, &session, 4, "tasks/result", json!({ "taskId": id })).await;
    assert_eq!(error_code(&result), -32602, "{result}");
}

#[tokio::test]
async fn another_sessions_task_is_unknown_and_a_required_task_needs_the_task_param() {
    let app = App::new(TransportConfig::default());
    let mine = app.initialize("2025-11-25").await;
    let theirs = app.initialize("2025-11-25").await;
    let id = slow_task(&app, &mine, json!({})).await;
    for method in ["tasks/get", "tasks/result", "tasks/cancel"] {
        let answer = legacy(&app, &theirs, 2, method, json!({ "taskId": id })).await;
        assert_eq!(error_code(&answer), -32602, "{method}: {answer}");
    }
    // Still working for its owner: the stranger's cancel did nothing.
    let got = legacy(&app, &mine, 3, "tasks/get", json!({ "taskId": id })).await;
    assert_eq!(got["result"]["status"], "working");

    let required = legacy(
        &app,
        &mine,
        4,
        "tools/call",
        json!({ "name": "failing_job", "arguments": {} }),
    )
    .await;
    assert_eq!(error_code(&required), -32601, "{required}");
}

#[tokio::test]
async fn a_working_task_outlives_a_tiny_ttl() {
    // A task still working is kept at least an hour after its step whatever its ttl (its
    // outside work may still run, and only the task can stop it): known and cancellable past
    // its ttl. That an expired task reads as gone is pinned on the stores (tasks_store.rs).
    let app = App::new(TransportConfig::default());
    let session = app.initialize("2025-11-25").await;
    let id = slow_task(&app, &session, json!({ "ttl": 1 })).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let got = legacy(&app, &session, 2, "tasks/get", json!({ "taskId": id })).await;
    assert_eq!(got["result"]["status"], "working", "{got}");
    let cancelled = legacy(&app, &session, 3, "tasks/cancel", json!({ "taskId": id })).await;
    assert!(cancelled.get("error").is_none(), "{cancelled}");
    let got = legacy(&app, &session, 4, "tasks/get", json!({ "taskId": id })).await;
    assert_eq!(got["result"]["status"], "cancelled", "{got}");
}

#[tokio::test]
async fn versions_before_2025_11_25_have_no_tasks() {
    let app = App::new(TransportConfig::default());
    let session = app.initialize("2025-06-18").await;
    let created = legacy(
        &app,
        &session,
        1,
        "tools/call",
        json!({
            "name": "slow_compute", "arguments": { "seconds": 0 }, "task": {},
        }),
    )
    .await;
    assert!(
        created["result"]["content"].is_array(),
        "ran within the call: {created}"
    );
    let got = legacy(
        &app,
        &session,
        2,
        "tasks/get",
        json!({ "taskId": "0".repeat(64) }),
    )
    .await;
    assert_eq!(error_code(&got), -32601);
}

#[tokio::test]
async fn modern_error_cases() {
    let app = App::new(TransportConfig::default());
    let unknown = modern(
        &app,
        1,
        "tasks/get",
        json!({ "taskId": "f".repeat(64) }),
        true,
    )
    .await;
    assert_eq!(error_code(&unknown), -32602);
    let malformed = modern(&app, 2, "tasks/get", json!({ "taskId": "nope" }), true).await;
    assert_eq!(error_code(&malformed), -32602);
    let undeclared = modern(
        &app,
        3,
        "tasks/get",
        json!({ "taskId": "f".repeat(64) }),
        false,
    )
    .await;
    assert_eq!(error_code(&undeclared), -32021);
    assert!(undeclared["error"]["data"]["requiredCapabilities"]["extensions"][TASKS].is_object());

    let created = modern(
        &app,
        4,
        "tools/call",
        json!({ "name": "confirm_delete", "arguments": { "filename": "f" } }),
        true,
    )
    .await;
    assert_eq!(created["result"]["resultType"], "task", "{created}");
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();
    let waiting = modern(&app, 5, "tasks/get", json!({ "taskId": id }), true).await;
    assert_eq!(waiting["result"]["status"], "input_required");
    assert!(waiting["result"]["inputRequests"]["confirm"]["method"] == "elicitation/create");

    let ack = modern(&app, 6, "tasks/cancel", json!({ "taskId": id }), true).await;
    assert_eq!(ack["result"]["resultType"], "complete");
    assert!(ack["result"].get("status").is_none(), "{ack}");
    // Answers to a cancelled task are acknowledged and change nothing.
    let answer = json!({ "confirm": { "action": "accept", "content": { "confirm": true } } });
    let late = modern(
        &app,
        7,
        "tasks/update",
        json!({ "taskId": id, "inputResponses": answer }),
        true,
    )
    .await;
    assert_eq!(late["result"]["resultType"], "complete");
    let cancelled = modern(&app, 8, "tasks/get", json!({ "taskId": id }), true).await;
    assert_eq!(cancelled["result"]["status"], "cancelled", "{cancelled}");
    assert!(cancelled["result"].get("result").is_none());

    let bad_update = modern(
        &app,
        9,
        "tasks/update",
        json!({ "taskId": id, "inputResponses": 3 }),
        true,
    )
    .await;
    assert_eq!(error_code(&bad_update), -32602);
    for removed in ["tasks/result", "tasks/list"] {
        let answer = modern(&app, 10, removed, json!({ "taskId": id }), true).await;
        assert_eq!(error_code(&answer), -32601, "{removed}");
    }
}

/// A 2026-07-28 request to `url` with `token`, declaring the tasks extension.
async fn modern_as(url: &str, token: &str, method: &str, mut params: Value) -> Value {
    params["_meta"] = mcp_testkit::app::modern_meta(json!({ "extensions": { TASKS: {} } }));
    let name = params
        .get("name")
        .or_else(|| params.get("taskId"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let response = mcp_testkit::instances::http()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", method)
        .header("mcp-name", name)
        .bearer_auth(token)
        .body(request(1, method, params).to_string())
        .send()
        .await
        .expect("the server answers");
    let text = response.text().await.expect("a body");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("a JSON answer: {text}"))
}

#[tokio::test]
async fn a_modern_task_belongs_to_its_principal() {
    let issuer = mcp_testkit::oauth::LocalIssuer::start().await;
    let server = mcp_testkit::oauth::OAuthServer::start(&issuer, &[]).await;
    let alice = issuer.token_for(&server.url, "alice");
    let bob = issuer.token_for(&server.url, "bob");
    let call = json!({ "name": "slow_compute", "arguments": { "seconds": 60 } });
    let created = modern_as(&server.url, &alice, "tools/call", call).await;
    let id = created["result"]["taskId"]
        .as_str()
        .expect("a task")
        .to_owned();
    for method in ["tasks/get", "tasks/cancel"] {
        let answer = modern_as(&server.url, &bob, method, json!({ "taskId": id })).await;
        assert_eq!(
            error_code(&answer),
            -32602,
            "{method} by another principal: {answer}"
        );
    }
    let mine = modern_as(&server.url, &alice, "tasks/get", json!({ "taskId": id })).await;
    assert_eq!(mine["result"]["status"], "working", "{mine}");
}
