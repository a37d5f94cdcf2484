//! Sessions that survive scale-out: two real `conformance-server` processes sharing one
//! DynamoDB table (on moto), so that any request of a session may land on either. The official
//! suite runs through a round-robin nginx in front of them; the six cross-instance semantics of
//! the scale-out issue run against the two instances directly.

use std::time::Duration;

use mcp_testkit::app::call;
use mcp_testkit::instances::{get, http, initialize, pair, post};
use mcp_testkit::jsonrpc::{self, notification, request};
use mcp_testkit::proxy::RoundRobin;
use mcp_testkit::sse::SseReader;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

fn progress_of(message: &Value) -> Option<f64> {
    (message["method"] == "notifications/progress")
        .then(|| message["params"]["progress"].as_f64())
        .flatten()
}

#[test]
fn conformance_suite_passes_through_a_round_robin_proxy() {
    let pair = pair(&[]);
    let proxy = RoundRobin::start(&[&pair.a.url, &pair.b.url]);
    mcp_testkit::suite::assert_both_requirement_sets_pass(&proxy.url);
}

#[tokio::test]
async fn initialize_on_a_and_every_later_request_on_b() {
    let pair = pair(&[]);
    let session = initialize(&pair.a.url).await;
    let note = notification("notifications/initialized", Value::Null);
    assert_eq!(post(&pair.b.url, Some(&session), note).await.status(), 202);
    let listed = post(
        &pair.b.url,
        Some(&session),
        request(1, "tools/list", Value::Null),
    )
    .await
    .text()
    .await
    .expect("a body");
    let listed: Value = serde_json::from_str(&listed).expect("JSON");
    assert!(
        listed["result"]["tools"]
            .as_array()
            .is_some_and(|t| !t.is_empty())
    );
    let level = request(2, "logging/setLevel", json!({ "level": "error" }));
    assert_eq!(post(&pair.b.url, Some(&session), level).await.status(), 200);
    // The level set on B governs a call on A: the logging tool now answers quietly (JSON).
    let quiet = post(
        &pair.a.url,
        Some(&session),
        call(3, "test_tool_with_logging", json!({}), None),
    )
    .await;
    assert_eq!(quiet.headers()["content-type"], "application/json");
}

#[tokio::test]
async fn delete_on_a_ends_the_session_on_b() {
    let pair = pair(&[]);
    let session = initialize(&pair.a.url).await;
    let deleted = http()
        .delete(&pair.a.url)
        .header("mcp-session-id", &session)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(deleted.status(), 200);
    let ping = request(1, "ping", Value::Null);
    assert_eq!(post(&pair.b.url, Some(&session), ping).await.status(), 404);
}

#[tokio::test]
async fn a_stream_cut_on_a_resumes_on_b_exactly_once() {
    let pair = pair(&[]);
    let session = initialize(&pair.a.url).await;
    let args = json!({ "steps": 8, "interval_ms": 150 });
    let response = post(
        &pair.a.url,
        Some(&session),
        call(9, "test_long_operation", args, Some("t")),
    )
    .await;
    let mut stream = SseReader::from_response(response);
    let mut seen = Vec::new();
    let mut last_id = None;
    while seen.len() < 2 {
        let (id, message) = stream.next_message(WAIT).await.expect("progress on A");
        seen.extend(progress_of(&message));
        last_id = id;
    }
    drop(stream); // A keeps producing into the store
    let resumed = get(&pair.b.url, &session, last_id.as_deref()).await;
    assert_eq!(resumed.status(), 200);
    let mut stream = SseReader::from_response(resumed);
    let mut ids = Vec::new();
    let answer = loop {
        let (id, message) = stream.next_message(WAIT).await.expect("events on B");
        ids.push(id);
        if message.get("result").is_some() {
            break message;
        }
        seen.extend(progress_of(&message));
    };
    assert_eq!(answer["id"], 9);
    assert_eq!(answer["result"]["content"][0]["text"], "completed 8 steps");
    assert_eq!(
        seen,
        (1..=8).map(f64::from).collect::<Vec<_>>(),
        "in order, exactly once"
    );
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(ids, unique);
}

#[tokio::test]
async fn a_reply_posted_to_b_reaches_the_tool_on_a() {
    let pair = pair(&[]);
    let session = initialize(&pair.a.url).await;
    let response = post(
        &pair.a.url,
        Some(&session),
        call(4, "test_elicitation", json!({ "message": "Name?" }), None),
    )
    .await;
    let mut stream = SseReader::from_response(response);
    let (_, request) = stream
        .next_message(WAIT)
        .await
        .expect("the elicitation request");
    assert_eq!(request["method"], "elicitation/create");
    let reply = jsonrpc::response(
        request["id"].clone(),
        json!({ "action": "accept", "content": { "response": "from B" } }),
    );
    assert_eq!(post(&pair.b.url, Some(&session), reply).await.status(), 202);
    let (_, answer) = stream
        .next_message(WAIT)
        .await
        .expect("the tool's answer on A");
    let text = answer["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(text.contains("from B"), "{answer}");
}

#[tokio::test]
async fn a_standalone_stream_on_b_hears_what_happens_on_a() {
    let pair = pair(&[]);
    let session = initialize(&pair.a.url).await;
    let mut standalone = SseReader::from_response(get(&pair.b.url, &session, None).await);
    assert!(
        standalone
            .next(WAIT)
            .await
            .expect("priming")
            .data
            .is_empty()
    );
    let subscribe = request(
        1,
        "resources/subscribe",
        json!({ "uri": "test://watched-resource" }),
    );
    assert_eq!(
        post(&pair.a.url, Some(&session), subscribe).await.status(),
        200
    );
    for (id, tool) in [
        (2, "test_trigger_resource_update"),
        (3, "test_trigger_tool_change"),
    ] {
        let answer = post(&pair.a.url, Some(&session), call(id, tool, json!({}), None)).await;
        assert_eq!(answer.status(), 200);
    }
    let mut methods = Vec::new();
    while methods.len() < 4 {
        let (_, message) = standalone
            .next_message(WAIT)
            .await
            .expect("notifications on B");
        methods.push(message["method"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(
        methods,
        [
            "notifications/message",
            "notifications/resources/updated",
            "notifications/message",
            "notifications/tools/list_changed"
        ]
    );
}

#[tokio::test]
async fn a_killed_instance_loses_nothing_it_had_sent() {
    let mut pair = pair(&["--max-stream-secs", "2"]);
    let session = initialize(&pair.a.url).await;
    let args = json!({ "steps": 100, "interval_ms": 50 });
    let response = post(
        &pair.a.url,
        Some(&session),
        call(5, "test_long_operation", args, Some("k")),
    )
    .await;
    let mut stream = SseReader::from_response(response);
    let priming = stream.next(WAIT).await.expect("priming");
    let mut sent = Vec::new();
    while sent.len() < 3 {
        let (_, message) = stream.next_message(WAIT).await.expect("progress from A");
        sent.extend(progress_of(&message));
    }
    pair.a.kill();
    let mut replay =
        SseReader::from_response(get(&pair.b.url, &session, priming.id.as_deref()).await);
    let mut replayed = Vec::new();
    while let Some((_, message)) = replay.next_message(Duration::from_secs(4)).await {
        replayed.extend(progress_of(&message));
    }
    assert!(replayed.len() >= sent.len(), "{replayed:?} vs {sent:?}");
    assert_eq!(
        replayed[..sent.len()],
        sent[..],
        "everything A sent is replayed by B"
    );
}

#[tokio::test]
async fn an_expired_session_answers_404_on_both() {
    let pair = pair(&["--session-ttl", "10"]);
    let session = initialize(&pair.a.url).await;
    let ping = request(1, "ping", Value::Null);
    assert_eq!(
        post(&pair.b.url, Some(&session), ping.clone())
            .await
            .status(),
        200
    );
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert_eq!(
        post(&pair.a.url, Some(&session), ping.clone())
            .await
            .status(),
        404
    );
    assert_eq!(post(&pair.b.url, Some(&session), ping).await.status(), 404);
}
