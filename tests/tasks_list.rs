//! 2025-11-25 `tasks/list`: a session sees its own tasks and only those, a page of at most
//! ten at a time with an opaque cursor, every task exactly once across the pages; a cursor
//! that is not one of ours is -32602; the capability says `list`.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use bedrock_usage_mcp::transport::TransportConfig;
use mcp_testkit::app::{App, body_json, response_message};
use mcp_testkit::jsonrpc::{initialize, request};
use serde_json::{Value, json};

async fn legacy(app: &App, session: &str, method: &str, params: Value) -> Value {
    response_message(app.post(Some(session), request(1, method, params)).await).await
}

/// Starts a 60-second `slow_compute` task; returns its id.
async fn slow_task(app: &App, session: &str) -> String {
    let params =
        json!({ "name": "slow_compute", "arguments": { "seconds": 60 }, "task": { "ttl": 60000 } });
    let created = legacy(app, session, "tools/call", params).await;
    created["result"]["task"]["taskId"]
        .as_str()
        .unwrap_or_else(|| panic!("a task: {created}"))
        .to_owned()
}

/// Every page of the session's `tasks/list`, in order.
async fn pages(app: &App, session: &str) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut params = json!({});
    loop {
        let page = legacy(app, session, "tasks/list", params).await;
        let result = page["result"].clone();
        assert!(result["tasks"].is_array(), "{page}");
        pages.push(result.clone());
        match result.get("nextCursor") {
            Some(cursor) => params = json!({ "cursor": cursor }),
            None => return pages,
        }
        assert!(pages.len() <= 10, "tasks/list does not end");
    }
}

fn ids(pages: &[Value]) -> Vec<String> {
    (pages.iter())
        .flat_map(|p| p["tasks"].as_array().unwrap().iter())
        .map(|t| t["taskId"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_session_lists_its_own_tasks_a_page_at_a_time() {
    let app = App::new(TransportConfig::default());
    let caps = body_json(
        app.post(None, initialize(1, "2025-11-25", "t", json!({})))
            .await,
    )
    .await;
    assert_eq!(caps["result"]["capabilities"]["tasks"]["list"], json!({}));

    let mine = app.initialize("2025-11-25").await;
    let other = app.initialize("2025-11-25").await;
    assert_eq!(ids(&pages(&app, &mine).await), Vec::<String>::new());

    let mut created = BTreeSet::new();
    for _ in 0..23 {
        created.insert(slow_task(&app, &mine).await);
    }
    let theirs = slow_task(&app, &other).await;

    let listed = pages(&app, &mine).await;
    assert_eq!(listed.len(), 3, "23 tasks in pages of 10: {listed:?}");
    for page in &listed[..2] {
        assert_eq!(page["tasks"].as_array().unwrap().len(), 10, "{page}");
    }
    assert!(listed[2].get("nextCursor").is_none());
    let seen = ids(&listed);
    assert_eq!(seen.len(), 23, "each task once: {seen:?}");
    assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), created);
    assert!(!seen.contains(&theirs));

    // Each entry is a 2025-11-25 Task, without related-task metadata.
    let first = &listed[0]["tasks"][0];
    assert_eq!(first["status"], "working", "{first}");
    assert_eq!(first["ttl"], 60000);
    for field in ["createdAt", "lastUpdatedAt", "pollInterval"] {
        assert!(first.get(field).is_some(), "{field}: {first}");
    }
    assert!(first.get("_meta").is_none() && listed[0].get("_meta").is_none());

    // The other session sees only its own.
    assert_eq!(ids(&pages(&app, &other).await), vec![theirs]);

    // A cancelled task is still listed, with its status.
    let cancelled = created.first().unwrap().clone();
    legacy(&app, &mine, "tasks/cancel", json!({ "taskId": cancelled })).await;
    let again = pages(&app, &mine).await;
    let entry = (again.iter())
        .flat_map(|p| p["tasks"].as_array().unwrap().clone())
        .find(|t| t["taskId"] == cancelled.as_str())
        .unwrap();
    assert_eq!(entry["status"], "cancelled");
}

#[tokio::test]
async fn a_cursor_that_is_not_ours_is_invalid_params() {
    let app = App::new(TransportConfig::default());
    let session = app.initialize("2025-11-25").await;
    for cursor in [json!("not-a-cursor"), json!(7), json!("AB".repeat(32))] {
        let answer = legacy(&app, &session, "tasks/list", json!({ "cursor": cursor })).await;
        assert_eq!(answer["error"]["code"], -32602, "{cursor}: {answer}");
    }
    // A well-formed cursor is a position: after the last possible id, nothing is left.
    let end = legacy(
        &app,
        &session,
        "tasks/list",
        json!({ "cursor": "f".repeat(64) }),
    )
    .await;
    assert_eq!(end["result"], json!({ "tasks": [] }));
}

#[tokio::test]
async fn versions_before_2025_11_25_have_no_tasks_list() {
    let app = App::new(TransportConfig::default());
    let session = app.initialize("2025-06-18").await;
    let answer = legacy(&app, &session, "tasks/list", json!({})).await;
    assert_eq!(answer["error"]["code"], -32601, "{answer}");
}
