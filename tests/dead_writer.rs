//! A stream whose writer died ends. Two `conformance-server` processes share one DynamoDB
//! table (on moto); the one running a tool is killed mid-request; the client resumes on the
//! other and gets what was stored exactly once, then a JSON-RPC error for its request, and the
//! same on every later resume. A writer that is only quiet for longer than its lease keeps
//! its stream: it renews the lease. A writer frozen for longer than its lease loses its stream
//! to the reader that ends it, and once its next renewal tells it so, it renews no more and
//! stores nothing more (in process, on moto, with the writer's store calls held up).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bedrock_usage_mcp::store::dynamodb::create_table;
use bedrock_usage_mcp::store::{
    ChangeSignal, DynamoStore, EventSeq, SessionId, SessionRecord, SessionStore, SessionUpdate,
    StoreError, StoredEvent, StreamKey, StreamLease, TaskStore, Topic,
};
use bedrock_usage_mcp::transport::TransportConfig;
use mcp_testkit::app::{App, call, content_type};
use mcp_testkit::instances::{get, initialize, pair, post};
use mcp_testkit::moto::{Moto, unique_table};
use mcp_testkit::sse::SseReader;
use serde_json::Value;
use tokio::sync::watch;

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

/// What the frozen writer's store was asked to do, in order.
#[derive(Debug, Clone, PartialEq)]
enum Op {
    /// An event append, logged as it starts.
    Append,
    /// A lease renewal, logged with its answer.
    Renew(bool),
}

/// A store whose writes can be held up, as a frozen or cut-off instance's are, logging the
/// appends and renewals it is asked for.
struct Freezable {
    inner: Arc<dyn SessionStore>,
    frozen: watch::Sender<bool>,
    log: Mutex<Vec<Op>>,
}

impl Freezable {
    fn new(inner: Arc<dyn SessionStore>) -> Self {
        Self {
            inner,
            frozen: watch::channel(false).0,
            log: Mutex::new(Vec::new()),
        }
    }

    fn freeze(&self, frozen: bool) {
        self.frozen.send_replace(frozen);
    }

    async fn thawed(&self) {
        let mut frozen = self.frozen.subscribe();
        let _ = frozen.wait_for(|frozen| !frozen).await;
    }

    fn push(&self, op: Op) {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(op);
    }

    fn log(&self) -> Vec<Op> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl SessionStore for Freezable {
    async fn create_session(&self, record: &SessionRecord) -> Result<(), StoreError> {
        self.inner.create_session(record).await
    }
    async fn load_session(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        self.inner.load_session(id).await
    }
    async fn update_session(&self, id: &SessionId, u: SessionUpdate) -> Result<(), StoreError> {
        self.inner.update_session(id, u).await
    }
    async fn terminate_session(&self, id: &SessionId) -> Result<bool, StoreError> {
        self.inner.terminate_session(id).await
    }
    async fn append_event(&self, key: &StreamKey, e: StoredEvent) -> Result<EventSeq, StoreError> {
        self.push(Op::Append);
        self.thawed().await;
        self.inner.append_event(key, e).await
    }
    async fn read_events(
        &self,
        key: &StreamKey,
        after: Option<EventSeq>,
        limit: usize,
    ) -> Result<Vec<(EventSeq, StoredEvent)>, StoreError> {
        self.inner.read_events(key, after, limit).await
    }
    async fn open_stream(&self, key: &StreamKey, l: &StreamLease) -> Result<EventSeq, StoreError> {
        self.thawed().await;
        self.inner.open_stream(key, l).await
    }
    async fn renew_lease(&self, key: &StreamKey, until_ms: u64) -> Result<bool, StoreError> {
        self.thawed().await;
        let renewed = self.inner.renew_lease(key, until_ms).await?;
        self.push(Op::Renew(renewed));
        Ok(renewed)
    }
    async fn read_lease(&self, key: &StreamKey) -> Result<Option<StreamLease>, StoreError> {
        self.inner.read_lease(key).await
    }
    async fn end_lease(&self, key: &StreamKey, until_ms: u64) -> Result<bool, StoreError> {
        self.inner.end_lease(key, until_ms).await
    }
    async fn append_event_after(
        &self,
        key: &StreamKey,
        after: EventSeq,
        e: StoredEvent,
    ) -> Result<bool, StoreError> {
        self.push(Op::Append);
        self.thawed().await;
        self.inner.append_event_after(key, after, e).await
    }
    async fn has_event(&self, key: &StreamKey, seq: EventSeq) -> Result<bool, StoreError> {
        self.inner.has_event(key, seq).await
    }
    async fn put_reply(&self, s: &SessionId, key: &str, m: &str) -> Result<bool, StoreError> {
        self.inner.put_reply(s, key, m).await
    }
    async fn get_reply(&self, s: &SessionId, key: &str) -> Result<Option<String>, StoreError> {
        self.inner.get_reply(s, key).await
    }
    async fn remove_reply(&self, s: &SessionId, key: &str) -> Result<(), StoreError> {
        self.inner.remove_reply(s, key).await
    }
    async fn shared_secret(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.shared_secret(name).await
    }
    fn subscribe(&self, topic: &Topic) -> ChangeSignal {
        self.inner.subscribe(topic)
    }
    fn subscribe_idle(&self, topic: &Topic, empty_reads: u32) -> ChangeSignal {
        self.inner.subscribe_idle(topic, empty_reads)
    }
    fn poll_interval(&self) -> Option<Duration> {
        self.inner.poll_interval()
    }
    fn tasks(&self) -> Option<&dyn TaskStore> {
        self.inner.tasks()
    }
}

/// On one thread, so that nothing of the writer runs between a renewal's answer and what
/// the writer does about it: the log shows exactly what it did after it learnt that it lost.
#[tokio::test]
async fn a_frozen_writer_that_lost_its_stream_renews_and_stores_nothing_more() {
    let moto = Moto::shared();
    let client = moto.dynamodb();
    let table = unique_table("lost-writer");
    assert!(create_table(&client, &table).await.expect("table"));
    let poll = Duration::from_millis(50);
    let store_a: Arc<dyn SessionStore> =
        Arc::new(DynamoStore::new(client.clone(), &table).with_poll_interval(poll));
    let store_b: Arc<dyn SessionStore> =
        Arc::new(DynamoStore::new(client, &table).with_poll_interval(poll));
    let writer = Arc::new(Freezable::new(store_a));
    // A 1.5 s lease, renewed every 0.5 s.
    let config = TransportConfig {
        stream_lease: Duration::from_millis(1_500),
        ..TransportConfig::default()
    };
    let a = App::with_store(config.clone(), writer.clone());
    let b = App::with_store(config, store_b.clone());
    let session = a.initialize("2025-11-25").await;
    let args = serde_json::json!({ "steps": 1000, "interval_ms": 100 });
    let response = a
        .post(
            Some(&session),
            call(7, "test_long_operation", args, Some("frozen")),
        )
        .await;
    assert_eq!(content_type(&response), "text/event-stream");
    let mut stream = SseReader::new(response.into_body());
    stream.next(WAIT).await.expect("priming");
    let mut last = None;
    while writer
        .log()
        .iter()
        .filter(|op| **op == Op::Renew(true))
        .count()
        < 2
    {
        let (id, _) = stream.next_message(WAIT).await.expect("progress");
        last = id;
    }
    drop(stream);
    writer.freeze(true);

    // The reader on B finds the lease lapsed and ends the stream with an error.
    let resumed = b.get(&session, last.as_deref()).await;
    assert_eq!(resumed.status(), 200);
    let mut events = SseReader::new(resumed.into_body());
    let mut read = Vec::new();
    let deadline = Instant::now() + END_WITHIN;
    while !events.ended() {
        assert!(
            Instant::now() < deadline,
            "no end within {END_WITHIN:?}: {read:?}"
        );
        read.extend(events.next_message(WAIT).await);
    }
    let (_, end) = read.last().expect("the error");
    assert_eq!(end["id"], 7, "{end}");
    assert_eq!(end["error"]["code"], -32603, "{end}");

    // Thawed, the writer's held-up renewal finds it lost; then it renews and stores nothing.
    let lost_at = writer.log().len();
    writer.freeze(false);
    let deadline = Instant::now() + END_WITHIN;
    while !writer.log().contains(&Op::Renew(false)) {
        assert!(Instant::now() < deadline, "no renewal: {:?}", writer.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Three renewal periods and fifteen of the tool's steps.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let log = writer.log();
    let learnt = log
        .iter()
        .position(|op| *op == Op::Renew(false))
        .expect("the renewal that failed");
    assert!(learnt >= lost_at, "{log:?}");
    // Between the thaw and that answer, only appends the writer had under way or began before
    // it knew; after it, nothing at all.
    assert!(
        log[lost_at..learnt].iter().all(|op| *op == Op::Append),
        "{log:?}"
    );
    assert_eq!(
        log[learnt + 1..],
        [],
        "what the writer did after it lost: {log:?}"
    );
}
