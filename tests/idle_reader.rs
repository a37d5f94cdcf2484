//! Where a stream is on, waiting is cheap: an idle reader backs off. A standalone GET stream
//! is held through the real router on a memory store made to behave like a DynamoDB store on
//! another instance than every writer: its signals resolve only when a poll comes due, on
//! `DynamoStore::idle_poll`'s own schedule, and it counts the stream reads.
//!
//! The schedule runs ten times faster than production (10 ms doubling to 1 s instead of
//! 100 ms to 10 s), so "a minute" here is 6 s of real time: the counts per 6 s are the
//! production counts per minute (a slow machine only makes them smaller). Tokio's paused clock
//! would need the `test-util` feature, which would build every crate above tokio twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bedrock_usage_mcp::store::{
    ChangeSignal, DynamoStore, EventSeq, MemoryStore, SessionId, SessionRecord, SessionStore,
    SessionUpdate, StoreError, StoredEvent, StreamKey, Topic, dynamodb,
};
use bedrock_usage_mcp::transport::TransportConfig;
use mcp_conformance::conformance_server;
use mcp_testkit::app::{App, body_json, call};
use mcp_testkit::moto::dynamodb_at;
use mcp_testkit::sse::{EventJson as _, SseReader};
use serde_json::Value;
use tokio::time::Instant;

/// A memory store whose readers learn of changes only by polling, as a reader on a DynamoDB
/// store does when the writer is another instance. Counts every call that may read the table
/// (an append may query a stream's last number).
struct PollingStore {
    inner: MemoryStore,
    schedule: DynamoStore,
    reads: AtomicUsize,
}

/// A DynamoDB store with the default settings that never reaches a table (it makes no request
/// unless asked to; its endpoint, port 1 on loopback, would refuse one).
fn offline_dynamo_store() -> DynamoStore {
    DynamoStore::new(dynamodb_at("http://127.0.0.1:1"), "unused")
}

impl PollingStore {
    /// The production schedule, ten times faster.
    fn new() -> Self {
        Self {
            inner: MemoryStore::new(),
            // Never called: only its polling schedule is used.
            schedule: offline_dynamo_store()
                .with_poll_interval(dynamodb::DEFAULT_POLL_INTERVAL / 10)
                .with_max_poll_interval(dynamodb::DEFAULT_MAX_POLL_INTERVAL / 10),
            reads: AtomicUsize::new(0),
        }
    }

    fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl SessionStore for PollingStore {
    async fn create_session(&self, record: &SessionRecord) -> Result<(), StoreError> {
        self.inner.create_session(record).await
    }
    async fn load_session(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.load_session(id).await
    }
    async fn update_session(
        &self,
        id: &SessionId,
        update: SessionUpdate,
    ) -> Result<(), StoreError> {
        self.inner.update_session(id, update).await
    }
    async fn terminate_session(&self, id: &SessionId) -> Result<bool, StoreError> {
        self.inner.terminate_session(id).await
    }
    async fn append_event(
        &self,
        key: &StreamKey,
        event: StoredEvent,
    ) -> Result<EventSeq, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.append_event(key, event).await
    }
    async fn read_events(
        &self,
        key: &StreamKey,
        after: Option<EventSeq>,
        limit: usize,
    ) -> Result<Vec<(EventSeq, StoredEvent)>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.read_events(key, after, limit).await
    }
    async fn has_event(&self, key: &StreamKey, seq: EventSeq) -> Result<bool, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.has_event(key, seq).await
    }
    async fn put_reply(
        &self,
        session: &SessionId,
        key: &str,
        message: &str,
    ) -> Result<bool, StoreError> {
        self.inner.put_reply(session, key, message).await
    }
    async fn get_reply(
        &self,
        session: &SessionId,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.get_reply(session, key).await
    }
    fn subscribe(&self, topic: &Topic) -> ChangeSignal {
        self.subscribe_idle(topic, 0)
    }
    fn subscribe_idle(&self, _: &Topic, empty_reads: u32) -> ChangeSignal {
        Box::pin(tokio::time::sleep(self.schedule.idle_poll(empty_reads)))
    }
    fn poll_interval(&self) -> Option<Duration> {
        Some(self.schedule.idle_poll(0))
    }
}

/// A production minute, on the schedule ten times faster.
#[tokio::test]
async fn the_dynamodb_store_waits_longer_the_longer_a_reader_finds_nothing() {
    let store = offline_dynamo_store();
    let schedule: Vec<u128> = (0..10).map(|n| store.idle_poll(n).as_millis()).collect();
    assert_eq!(
        schedule,
        [100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000, 10_000]
    );
    assert_eq!(store.idle_poll(u32::MAX), Duration::from_secs(10));
    // The signal keeps to it: one for a reader that found nothing 7 times does not resolve
    // at the first poll interval (a busy machine can only make it later).
    let topic = Topic::Stream(StreamKey::new(
        SessionId::generate(),
        bedrock_usage_mcp::store::StreamId::standalone(),
    ));
    let idle = store.subscribe_idle(&topic, 7);
    let early = tokio::time::timeout(Duration::from_millis(500), idle).await;
    assert!(early.is_err(), "resolved within 500 ms instead of 10 s");
    let fresh = store.subscribe_idle(&topic, 0);
    let on_time = tokio::time::timeout(Duration::from_secs(10), fresh).await;
    assert!(on_time.is_ok(), "the first poll never came");
}

const MINUTE: Duration = Duration::from_secs(6);

/// Room for a busy machine's late timers, on top of the longest poll.
const LATE: Duration = Duration::from_secs(2);

/// A session on `store` with its standalone stream held by a task that, as the SDK clients
/// do, reconnects with `Last-Event-ID` whenever a connection ends (at `time_limit`, if any).
/// Returns the app, the session, and the stream's messages as they arrive (with the time).
async fn idle_stream(
    store: Arc<PollingStore>,
    time_limit: Option<Duration>,
) -> (
    Arc<App>,
    String,
    tokio::sync::mpsc::UnboundedReceiver<(Instant, Value)>,
) {
    let config = TransportConfig {
        standalone_stream: true,
        max_stream_duration: time_limit,
        ..TransportConfig::default()
    };
    let app = Arc::new(App::serving(conformance_server(None), store, config));
    let session = app.initialize("2025-11-25").await;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let (host, id) = (app.clone(), session.clone());
    tokio::spawn(async move {
        let mut last_id: Option<String> = None;
        loop {
            let get = host.get(&id, last_id.as_deref()).await;
            assert_eq!(get.status(), 200);
            let mut stream = SseReader::new(get.into_body());
            while let Some(event) = stream.next(Duration::from_secs(3600)).await {
                last_id = event.id.clone().or(last_id);
                if let Some(message) = event.json()
                    && tx.send((Instant::now(), message)).is_err()
                {
                    return;
                }
            }
        }
    });
    (app, session, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_stream_reads_at_most_10_times_a_minute_after_its_first() {
    let store = Arc::new(PollingStore::new());
    // Connections end after 240 s, as `serve` limits them, so the host reconnects once.
    let (_app, _session, _messages) = idle_stream(store.clone(), Some(4 * MINUTE)).await;
    let opened = store.reads();
    tokio::time::sleep(MINUTE).await;
    let mut per_minute = vec![store.reads() - opened];
    for _ in 1..6 {
        let before = store.reads();
        tokio::time::sleep(MINUTE).await;
        per_minute.push(store.reads() - before);
    }
    eprintln!("stream reads per minute while idle: {per_minute:?}");
    assert!(
        per_minute[1..].iter().all(|&n| n <= 10),
        "reads per minute: {per_minute:?}"
    );
    assert!(per_minute[1..].iter().sum::<usize>() >= 1, "{per_minute:?}");
    // Without the back-off the reader polled at every poll interval: 600 reads a minute.
    assert!(per_minute[0] <= 20, "first minute: {per_minute:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_idle_spell_the_first_event_arrives_within_the_longest_poll() {
    let store = Arc::new(PollingStore::new());
    let longest = store.schedule.idle_poll(u32::MAX);
    let (app, session, mut messages) = idle_stream(store.clone(), None).await;
    for spell in [MINUTE / 60, MINUTE / 3, 2 * MINUTE] {
        tokio::time::sleep(spell).await;
        let sent = Instant::now();
        let trigger = call(1, "test_trigger_tool_change", serde_json::json!({}), None);
        let answer = body_json(app.post(Some(&session), trigger).await).await;
        assert!(answer["result"].is_object(), "{answer}");
        let arrived = loop {
            let (at, message) = messages.recv().await.expect("the stream is open");
            if message["method"] == "notifications/tools/list_changed" {
                break at;
            }
        };
        let latency = arrived - sent;
        eprintln!("after {spell:?} idle, the event took {latency:?} (longest poll {longest:?})");
        assert!(latency <= longest + LATE, "{latency:?} after {spell:?}");
    }
}
