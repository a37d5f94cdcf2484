//! A stream whose writer died ends. Two `conformance-server` processes share one DynamoDB
//! table (on moto); the one running a tool is killed mid-request; the client resumes on the
//! other and gets what was stored exactly once, then a JSON-RPC error for its request, and the
//! same on every later resume. A writer that is only quiet for longer than its lease keeps
//! its stream: it renews the lease.

use std::time::{Duration, Instant};

use mcp_testkit::app::call;
use mcp_testkit::instances::{get, initialize, pair, post};
use mcp_testkit::sse::SseReader;
use serde_json::Value;

/// How long an event may take to arrive through one instance.
const WAIT: Duration = Duration::from_secs(10);

/// The lease of the killed writer's test: short, so the test is quick.
const SHORT_LEASE_SECS: u64 = 2;

/// How long after the kill the error may come: the bound the README documents (the lease, 1 s
/// of clock skew, a poll) is about 3 s here; the rest is room for a busy machine. Without
/// leases the error never comes.
const END_WITHIN: Duration = Duration::from_secs(30);

fn progress_of(message: &Value) -> Option<f64> {
    (message["method"] == "notifications/progress")
        .then(|| message["params"]["progress"].as_f64())
        .flatten()
}

/// Reads a resumed stream to its end: its events' ids and messages. Fails if it does not end
/// within `within`.
async fn read_to_end(mut events: SseReader, within: Duration) -> Vec<(String, Value)> {
    let deadline = Instant::now() + within;
    let mut read = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "the stream did not end within {within:?}: {read:?}"
        );
        match events.next_message(left).await {
            Some((id, message)) => read.push((id.expect("resumable events have ids"), message)),
            None if events.ended() => return read,
            None => {}
        }
    }
}

#[tokio::test]
async fn a_resume_after_the_writer_died_ends_with_an_error_for_the_request() {
    let lease = SHORT_LEASE_SECS.to_string();
    let mut pair = pair(&["--stream-lease-secs", &lease]);
    let session = initialize(&pair.a.url).await;
    let args = serde_json::json!({ "steps": 1000, "interval_ms": 100 });
    let response = post(
        &pair.a.url,
        Some(&session),
        call(7, "test_long_operation", args, Some("dw")),
    )
    .await;
    let mut stream = SseReader::from_response(response);
    let priming = stream.next(WAIT).await.expect("priming");
    let priming_id = priming.id.expect("the priming event's id");
    let mut sent = Vec::new();
    while sent.len() < 3 {
        let (_, message) = stream.next_message(WAIT).await.expect("progress from A");
        sent.extend(progress_of(&message));
    }
    pair.a.kill();
    let killed = Instant::now();

    let resumed = get(&pair.b.url, &session, Some(&priming_id)).await;
    assert_eq!(resumed.status(), 200);
    let events = read_to_end(SseReader::from_response(resumed), END_WITHIN).await;
    let ended_after = killed.elapsed();
    let ((end_id, end), replayed) = events.split_last().expect("an error at least");
    assert_eq!(end["id"], 7, "the error answers the request: {end}");
    assert_eq!(end["error"]["code"], -32603, "{end}");
    let why = end["error"]["message"].as_str().unwrap_or_default();
    assert!(why.contains("retry the request"), "{why}");
    assert!(
        ended_after < END_WITHIN,
        "ended {ended_after:?} after the kill"
    );

    // Everything A stored, each once and in order, and nothing else.
    let progress: Vec<f64> = replayed
        .iter()
        .filter_map(|(_, m)| progress_of(m))
        .collect();
    assert_eq!(
        progress.len(),
        replayed.len(),
        "only progress: {replayed:?}"
    );
    let expected: Vec<f64> = (1..=progress.len()).map(|n| n as f64).collect();
    assert_eq!(progress, expected, "each stored event once, in order");
    assert_eq!(progress[..sent.len()], sent[..], "what A sent comes first");

    // The error is stored, once: a second resume from the start gets the same events and the
    // same error event, and one after the error gets nothing and ends.
    let again = get(&pair.b.url, &session, Some(&priming_id)).await;
    let again = read_to_end(SseReader::from_response(again), WAIT).await;
    assert_eq!(again, events, "every resume reads the same ended stream");
    let after_end = get(&pair.b.url, &session, Some(end_id)).await;
    assert_eq!(after_end.status(), 200);
    assert!(
        read_to_end(SseReader::from_response(after_end), WAIT)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_writer_quiet_for_longer_than_its_lease_is_not_cut() {
    // A lease of 4 s renewed every 1.3 s; the tool is silent for 8 s twice: without renewals
    // a reader would end the stream after 5 s of silence.
    let mut pair = pair(&["--stream-lease-secs", "4"]);
    let session = initialize(&pair.a.url).await;
    let args = serde_json::json!({ "steps": 2, "interval_ms": 8000 });
    let response = post(
        &pair.a.url,
        Some(&session),
        call(8, "test_long_operation", args, Some("slow")),
    )
    .await;
    let mut stream = SseReader::from_response(response);
    let priming = stream.next(WAIT).await.expect("priming");
    drop(stream); // A keeps running the tool, writing to the store.

    let resumed = get(&pair.b.url, &session, priming.id.as_deref()).await;
    let events = read_to_end(SseReader::from_response(resumed), Duration::from_secs(60)).await;
    let messages: Vec<&Value> = events.iter().map(|(_, m)| m).collect();
    let progress: Vec<f64> = messages.iter().filter_map(|m| progress_of(m)).collect();
    assert_eq!(progress, [1.0, 2.0], "{messages:?}");
    let answer = messages.last().expect("the answer");
    assert_eq!(answer["id"], 8);
    assert_eq!(
        answer["result"]["content"][0]["text"], "completed 2 steps",
        "{answer}"
    );
    pair.a.kill();
}
