//! Legacy-session semantics beyond the conformance suite: resumption exactly once,
//! cancellation, the standalone stream, subscriptions, log levels, batches, server-to-client
//! requests, SSE polling and expiry. In process, on the memory store.

use std::sync::Arc;
use std::time::Duration;

use bedrock_usage_mcp::store::{MemoryStore, SessionId, SessionStore};
use bedrock_usage_mcp::transport::TransportConfig;
use http_body_util::BodyExt;
use mcp_testkit::app::{App, body_json, call, content_type};
use mcp_testkit::jsonrpc::{self, initialize, notification, request};
use mcp_testkit::sse::{EventJson as _, SseReader};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(5);

/// The next message on a standalone stream that is not a log message (the trigger tools log
/// what they announce).
async fn next_announcement(stream: &mut SseReader, wait: Duration) -> Option<Value> {
    while let Some(event) = stream.next(wait).await {
        if let Some(message) = event.json()
            && message["method"] != "notifications/message"
        {
            return Some(message);
        }
    }
    None
}

fn progress_values(events: &[mcp_testkit::sse::SseEvent]) -> Vec<f64> {
    events
        .iter()
        .filter_map(|e| e.json())
        .filter(|m| m["method"] == "notifications/progress")
        .map(|m| m["params"]["progress"].as_f64().expect("progress"))
        .collect()
}

/// With the standalone stream on (the local default) and off (the Lambda default): resuming a
/// POST's stream does not need it.
#[tokio::test]
async fn a_cut_stream_resumes_with_every_remaining_event_exactly_once() {
    for standalone_stream in [true, false] {
        let config = TransportConfig {
            standalone_stream,
            ..TransportConfig::default()
        };
        a_cut_stream_resumes(App::new(config)).await;
    }
}

async fn a_cut_stream_resumes(app: App) {
    let session = app.initialize("2025-11-25").await;
    let args = json!({ "steps": 6, "interval_ms": 30 });
    let response = app
        .post(
            Some(&session),
            call(1, "test_long_operation", args, Some("p1")),
        )
        .await;
    assert_eq!(content_type(&response), "text/event-stream");
    let mut stream = SseReader::new(response.into_body());
    let priming = stream.next(WAIT).await.expect("priming event");
    assert!(priming.data.is_empty() && priming.id.is_some() && priming.retry_ms.is_some());
    let first = stream.next(WAIT).await.expect("first progress");
    let second = stream.next(WAIT).await.expect("second progress");
    assert_eq!(progress_values(&[first, second.clone()]), vec![1.0, 2.0]);
    drop(stream); // the client's connection breaks; the tool keeps running

    tokio::time::sleep(Duration::from_millis(250)).await;
    let resumed = app.get(&session, second.id.as_deref()).await;
    assert_eq!(resumed.status(), 200);
    let events = SseReader::new(resumed.into_body())
        .until_response(WAIT)
        .await;
    assert_eq!(progress_values(&events), vec![3.0, 4.0, 5.0, 6.0]);
    let last = events
        .last()
        .and_then(|e| e.json())
        .expect("final response");
    assert_eq!(last["id"], 1);
    assert_eq!(last["result"]["content"][0]["text"], "completed 6 steps");
    let ids: Vec<_> = events.iter().map(|e| e.id.clone()).collect();
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(ids, unique, "an event was delivered twice");
}

#[tokio::test]
async fn cancelled_requests_stop_and_send_no_response() {
    let app = App::new(TransportConfig::default());
    let session = app.initialize("2025-11-25").await;
    let args = json!({ "steps": 100, "interval_ms": 20 });
    let response = app
        .post(
            Some(&session),
            call(7, "test_long_operation", args, Some("p7")),
        )
        .await;
    let mut stream = SseReader::new(response.into_body());
    stream.next(WAIT).await.expect("priming");
    stream.next(WAIT).await.expect("first progress");
    let cancel = notification(
        "notifications/cancelled",
        json!({ "requestId": 7, "reason": "test" }),
    );
    assert_eq!(app.post(Some(&session), cancel).await.status(), 202);
    let rest = stream.until_response(Duration::from_secs(2)).await;
    assert!(
        rest.iter()
            .all(|e| e.json().is_none_or(|m| m.get("result").is_none())),
        "a cancelled request answered: {rest:?}"
    );
    assert!(progress_values(&rest).len() < 20, "the tool kept running");
}

#[tokio::test]
async fn a_cancelled_json_request_ends_its_post_without_a_body() {
    let app = App::new(TransportConfig::default());
    let session = app.initialize("2025-11-25").await;
    // No progress token: the tool sends nothing, so its POST would be answered as JSON.
    let args = json!({ "steps": 1000, "interval_ms": 20 });
    let post = app.post(Some(&session), call(5, "test_long_operation", args, None));
    let cancel = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let cancel = notification("notifications/cancelled", json!({ "requestId": 5 }));
        app.post(Some(&session), cancel).await.status()
    };
    let (response, cancelled) = tokio::join!(post, cancel);
    assert_eq!(cancelled, 202);
    assert_eq!(
        response.status(),
        202,
        "a cancelled request is not answered"
    );
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert!(body.is_empty(), "a body that is not JSON-RPC: {body:?}");
}

#[tokio::test]
async fn a_cancellation_for_an_id_not_in_flight_is_dropped() {
    let app = App::new(TransportConfig::default());
    let session = app.initialize("2025-11-25").await;
    let cancel = notification("notifications/cancelled", json!({ "requestId": 42 }));
    assert_eq!(app.post(Some(&session), cancel).await.status(), 202);
    // Past the allowance for clocks of two instances: the cancellation is stale by now.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let args = json!({ "steps": 3, "interval_ms": 300 });
    let response = app
        .post(Some(&session), call(42, "test_long_operation", args, None))
        .await;
    assert_eq!(response.status(), 200);
    let answer = body_json(response).await;
    assert_eq!(answer["id"], 42, "{answer}");
    assert_eq!(
        answer["result"]["content"][0]["text"], "completed 3 steps",
        "{answer}"
    );
}

#[tokio::test]
async fn responses_that_answer_no_server_request_are_not_kept() {
    let store = Arc::new(MemoryStore::new());
    let app = App::with_store(TransportConfig::default(), store.clone());
    let session = app.initialize("2025-11-25").await;
    let id = SessionId::parse(&session).expect("a session id");
    let big = "x".repeat(256 * 1024);
    for fake in [json!("srv-made-up"), json!(7), json!("anything")] {
        let reply = jsonrpc::response(fake.clone(), json!({ "padding": big }));
        assert_eq!(app.post(Some(&session), reply).await.status(), 202);
        let kept = store
            .get_reply(&id, &fake.to_string())
            .await
            .expect("store");
        assert_eq!(kept, None, "a response for {fake} was kept");
    }
}

#[tokio::test]
async fn standalone_stream_carries_session_notifications_and_a_new_get_replaces_it() {
    let app = App::new(TransportConfig::default());
    let session = app.initialize("2025-11-25").await;
    let get = app.get(&session, None).await;
    assert_eq!(get.status(), 200);
    let mut standalone = SseReader::new(get.into_body());
    assert!(
        standalone
            .next(WAIT)
            .await
            .expect("priming")
            .data
            .is_empty()
    );

    let trigger = app
        .post(
            Some(&session),
            call(2, "test_trigger_tool_change", json!({}), None),
        )
        .await;
    assert_eq!(
        body_json(trigger).await["result"]["content"][0]["text"],
        "Mutation triggered"
    );
    let note = next_announcement(&mut standalone, WAIT)
        .await
        .expect("notification");
    assert_eq!(note["method"], "notifications/tools/list_changed");

    let newer = app.get(&session, None).await;
    assert_eq!(newer.status(), 200);
    assert!(
        standalone.ends_within(WAIT).await,
        "the older standalone stream should end when a newer one opens"
    );
    let mut newer = SseReader::new(newer.into_body());
    newer.next(WAIT).await.expect("priming of the newer stream");
    app.post(
        Some(&session),
        call(3, "test_trigger_prompt_change", json!({}), None),
    )
    .await;
    let note = next_announcement(&mut newer, WAIT)
        .await
        .expect("notification");
    assert_eq!(note["method"], "notifications/prompts/list_changed");
}

#[tokio::test]
async fn resource_updates_reach_subscribers_only() {
    let app = App::new(TransportConfig::default());
    let session = app.initialize("2025-11-25").await;
    let mut standalone = SseReader::new(app.get(&session, None).await.into_body());
    standalone.next(WAIT).await.expect("priming");
    let uri = "test://watched-resource";
    let subscribe = request(1, "resources/subscribe", json!({ "uri": uri }));
    assert_eq!(
        body_json(app.post(Some(&session), subscribe).await).await["result"],
        json!({})
    );
    app.post(
        Some(&session),
        call(2, "test_trigger_resource_update", json!({}), None),
    )
    .await;
    let note = next_announcement(&mut standalone, WAIT)
        .await
        .expect("update");
    assert_eq!(note["method"], "notifications/resources/updated");
    assert_eq!(note["params"]["uri"], uri);

    let unsubscribe = request(3, "resources/unsubscribe", json!({ "uri": uri }));
    app.post(Some(&session), unsubscribe).await;
    app.post(
        Some(&session),
        call(4, "test_trigger_resource_update", json!({}), None),
    )
    .await;
    assert!(
        next_announcement(&mut standalone, Duration::from_millis(300))
            .await
            .is_none(),
        "an unsubscribed session got an update"
    );
}

#[tokio::test]
async fn log_level_filters_messages_and_quiet_calls_answer_as_json() {
    let app = App::new(TransportConfig::default());
    let session = app.initialize("2025-06-18").await;
    let chatty = app
        .post(
            Some(&session),
            call(1, "test_tool_with_logging", json!({}), None),
        )
        .await;
    assert_eq!(content_type(&chatty), "text/event-stream");
    let events = SseReader::new(chatty.into_body())
        .until_response(WAIT)
        .await;
    let logs = events
        .iter()
        .filter_map(|e| e.json())
        .filter(|m| m["method"] == "notifications/message")
        .count();
    assert_eq!(logs, 3);

    let set_level = request(2, "logging/setLevel", json!({ "level": "error" }));
    assert_eq!(
        body_json(app.post(Some(&session), set_level).await).await["result"],
        json!({})
    );
    let quiet = app
        .post(
            Some(&session),
            call(3, "test_tool_with_logging", json!({}), None),
        )
        .await;
    assert_eq!(content_type(&quiet), "application/json");
    let answer = body_json(quiet).await;
    assert_eq!(
        answer["result"]["content"][0]["text"],
        "Tool with logging executed successfully"
    );
    assert!(
        answer["result"].get("resultType").is_none(),
        "legacy results carry no resultType"
    );
}

#[tokio::test]
async fn batches_are_answered_for_2025_03_26_sessions() {
    let app = App::new(TransportConfig::default());
    let session = app.initialize("2025-03-26").await;
    let batch = json!([
        request("a", "ping", Value::Null),
        notification("notifications/cancelled", json!({ "requestId": "zzz" })),
        request("b", "tools/call", json!({ "name": "test_simple_text" })),
    ]);
    let answer = body_json(app.post(Some(&session), batch).await).await;
    let answers = answer.as_array().expect("a JSON array");
    assert_eq!(answers.len(), 2);
    let by_id = |id: &str| {
        answers
            .iter()
            .find(|a| a["id"] == id)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(by_id("a")["result"], json!({}));
    assert_eq!(
        by_id("b")["result"]["content"][0]["text"],
        "This is a simple text response for testing."
    );
    let notifications_only = json!([notification("notifications/initialized", Value::Null)]);
    assert_eq!(
        app.post(Some(&session), notifications_only).await.status(),
        202
    );
}

#[tokio::test]
async fn server_to_client_requests_complete_with_the_clients_reply() {
    let app = App::new(TransportConfig::default());
    let session = app.initialize("2025-11-25").await;
    let response = app
        .post(
            Some(&session),
            call(
                5,
                "test_elicitation",
                json!({ "message": "Your name?" }),
                None,
            ),
        )
        .await;
    let mut stream = SseReader::new(response.into_body());
    stream.next(WAIT).await.expect("priming");
    let request = stream
        .next(WAIT)
        .await
        .and_then(|e| e.json())
        .expect("request");
    assert_eq!(request["method"], "elicitation/create");
    assert_eq!(request["params"]["message"], "Your name?");
    let reply = jsonrpc::response(
        request["id"].clone(),
        json!({ "action": "accept", "content": { "response": "Ada" } }),
    );
    assert_eq!(app.post(Some(&session), reply.clone()).await.status(), 202);
    let answer = stream.until_response(WAIT).await;
    let answer = answer.last().and_then(|e| e.json()).expect("answer");
    let text = answer["result"]["content"][0]["text"]
        .as_str()
        .expect("text");
    assert!(
        text.contains("action=accept") && text.contains("Ada"),
        "{text}"
    );
    // A duplicate reply is accepted and ignored.
    assert_eq!(app.post(Some(&session), reply).await.status(), 202);
}

#[tokio::test]
async fn streams_close_early_for_polling_and_resume_from_the_store() {
    let config = TransportConfig {
        max_stream_duration: Some(Duration::from_millis(150)),
        ..TransportConfig::default()
    };
    let app = App::new(config);
    let session = app.initialize("2025-11-25").await;
    let args = json!({ "steps": 5, "interval_ms": 80 });
    let response = app
        .post(
            Some(&session),
            call(9, "test_long_operation", args, Some("p9")),
        )
        .await;
    let mut stream = SseReader::new(response.into_body());
    let mut seen = Vec::new();
    let mut last_id = None;
    let mut rounds = 0;
    loop {
        while let Some(event) = stream.next(WAIT).await {
            if event.id.is_some() {
                last_id = event.id.clone();
            }
            seen.push(event);
        }
        if seen.iter().any(|e| e.json().is_some_and(|m| m["id"] == 9)) {
            break;
        }
        rounds += 1;
        assert!(rounds < 20, "never finished: {seen:?}");
        assert!(
            seen.last().is_some_and(|e| e.retry_ms.is_some()),
            "closed without retry"
        );
        stream = SseReader::new(app.get(&session, last_id.as_deref()).await.into_body());
    }
    assert!(rounds >= 1, "the stream was never closed early");
    assert_eq!(progress_values(&seen), vec![1.0, 2.0, 3.0, 4.0, 5.0]);
}

#[tokio::test]
async fn deleted_sessions_answer_404() {
    // The default TTL (an hour): nothing here depends on how fast the machine is.
    let app = App::new(TransportConfig::default());
    let deleted = app.initialize("2025-11-25").await;
    let kept = app.initialize("2025-11-25").await;
    assert_eq!(app.delete(&deleted).await.status(), 200);
    let ping = request(1, "ping", Value::Null);
    assert_eq!(app.post(Some(&deleted), ping.clone()).await.status(), 404);
    assert_eq!(app.delete(&deleted).await.status(), 404);
    assert_eq!(app.post(Some(&kept), ping).await.status(), 200);
}

#[tokio::test]
async fn expired_sessions_answer_404() {
    let ttl = Duration::from_secs(1);
    let app = App::new(TransportConfig {
        session_ttl: ttl,
        ..TransportConfig::default()
    });
    // Only `initialize`: whatever the session is asked before it expires would race the
    // clock on a busy machine. Expiry is kept in whole seconds, so a session made at second N
    // with a 1 s TTL is gone from second N + 1; waiting TTL + 1 s passes that whatever the load
    // (a slow machine only waits longer).
    let response = app
        .post(None, initialize(0, "2025-11-25", "tests", json!({})))
        .await;
    assert_eq!(response.status(), 200);
    let session = response.headers()["mcp-session-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    tokio::time::sleep(ttl + Duration::from_secs(1)).await;
    let ping = request(1, "ping", Value::Null);
    assert_eq!(app.post(Some(&session), ping).await.status(), 404);
    assert_eq!(app.delete(&session).await.status(), 404);
}

/// A memory store that, like a shared store, also wakes its waiters every few milliseconds.
struct PollingStore(bedrock_usage_mcp::store::MemoryStore);

#[async_trait::async_trait]
impl bedrock_usage_mcp::store::SessionStore for PollingStore {
    async fn create_session(
        &self,
        r: &bedrock_usage_mcp::store::SessionRecord,
    ) -> Result<(), bedrock_usage_mcp::store::StoreError> {
        self.0.create_session(r).await
    }
    async fn load_session(
        &self,
        id: &bedrock_usage_mcp::store::SessionId,
    ) -> Result<Option<bedrock_usage_mcp::store::SessionRecord>, bedrock_usage_mcp::store::StoreError>
    {
        self.0.load_session(id).await
    }
    async fn update_session(
        &self,
        id: &bedrock_usage_mcp::store::SessionId,
        u: bedrock_usage_mcp::store::SessionUpdate,
    ) -> Result<(), bedrock_usage_mcp::store::StoreError> {
        self.0.update_session(id, u).await
    }
    async fn terminate_session(
        &self,
        id: &bedrock_usage_mcp::store::SessionId,
    ) -> Result<bool, bedrock_usage_mcp::store::StoreError> {
        self.0.terminate_session(id).await
    }
    async fn append_event(
        &self,
        k: &bedrock_usage_mcp::store::StreamKey,
        e: bedrock_usage_mcp::store::StoredEvent,
    ) -> Result<u64, bedrock_usage_mcp::store::StoreError> {
        self.0.append_event(k, e).await
    }
    async fn read_events(
        &self,
        k: &bedrock_usage_mcp::store::StreamKey,
        after: Option<u64>,
        limit: usize,
    ) -> Result<
        Vec<(u64, bedrock_usage_mcp::store::StoredEvent)>,
        bedrock_usage_mcp::store::StoreError,
    > {
        self.0.read_events(k, after, limit).await
    }
    async fn has_event(
        &self,
        k: &bedrock_usage_mcp::store::StreamKey,
        seq: u64,
    ) -> Result<bool, bedrock_usage_mcp::store::StoreError> {
        self.0.has_event(k, seq).await
    }
    async fn put_reply(
        &self,
        s: &bedrock_usage_mcp::store::SessionId,
        k: &str,
        m: &str,
    ) -> Result<bool, bedrock_usage_mcp::store::StoreError> {
        self.0.put_reply(s, k, m).await
    }
    async fn get_reply(
        &self,
        s: &bedrock_usage_mcp::store::SessionId,
        k: &str,
    ) -> Result<Option<String>, bedrock_usage_mcp::store::StoreError> {
        self.0.get_reply(s, k).await
    }
    fn subscribe(
        &self,
        topic: &bedrock_usage_mcp::store::Topic,
    ) -> bedrock_usage_mcp::store::ChangeSignal {
        let local = self.0.subscribe(topic);
        Box::pin(async move {
            tokio::select! {
                () = local => {}
                () = tokio::time::sleep(Duration::from_millis(10)) => {}
            }
        })
    }
    fn poll_interval(&self) -> Option<Duration> {
        Some(Duration::from_millis(10))
    }
}

#[tokio::test]
async fn idle_streams_get_keep_alives_even_when_the_store_polls() {
    use http_body_util::BodyExt;
    let config = TransportConfig {
        keep_alive: Duration::from_millis(100),
        ..TransportConfig::default()
    };
    let store = std::sync::Arc::new(PollingStore(bedrock_usage_mcp::store::MemoryStore::new()));
    let app = App::serving(mcp_conformance::conformance_server(None), store, config);
    let session = app.initialize("2025-11-25").await;
    let mut body = app.get(&session, None).await.into_body();
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(450);
    while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(deadline, body.frame()).await {
        if let Ok(data) = frame.into_data() {
            text.push_str(&String::from_utf8_lossy(&data));
        }
    }
    let comments = text.matches(": keep-alive").count();
    assert!(
        (3..=5).contains(&comments),
        "{comments} keep-alives in 450 ms: {text:?}"
    );
}

#[tokio::test]
async fn browsers_on_allowed_origins_can_read_the_session_header() {
    let app = App::new(TransportConfig::default());
    let request = http::Request::post("/mcp")
        .header("host", "127.0.0.1")
        .header("origin", "http://localhost:5173")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(axum::body::Body::from(
            initialize(1, "2025-11-25", "browser", json!({})).to_string(),
        ))
        .expect("request");
    let response = app.send(request).await;
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "http://localhost:5173"
    );
    assert!(
        headers["access-control-expose-headers"]
            .to_str()
            .unwrap_or_default()
            .contains("mcp-session-id")
    );
}
