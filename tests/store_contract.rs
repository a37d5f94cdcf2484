//! The [`SessionStore`] contract, run against both implementations: the in-memory store, and
//! the DynamoDB store on a local moto server (each test on its own table). Every case gets two
//! handles, `a` and `b`: the same object for the memory store, two store objects on one table
//! (as two Lambda instances would hold) for DynamoDB.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use bedrock_usage_mcp::store::dynamodb::{MAX_ITEM_BYTES, create_table};
use bedrock_usage_mcp::store::{
    DynamoStore, EventSeq, MemoryStore, SessionId, SessionRecord, SessionStore, SessionUpdate,
    StoreError, StoredEvent, StreamId, StreamKey, StreamLease, Topic, unix_now, unix_now_ms,
};
use bedrock_usage_mcp::transport::TransportConfig;
use mcp_testkit::app::{App, body_json, call, content_type};
use mcp_testkit::jsonrpc;
use mcp_testkit::moto::{Moto, calls_during, unique_table};
use mcp_testkit::sse::{EventJson as _, SseReader};
use serde_json::{Value, json};

/// The poll interval of the DynamoDB stores in these tests.
const POLL: Duration = Duration::from_millis(50);

#[derive(Debug, Clone, Copy)]
enum Backend {
    Memory,
    DynamoDb,
}

/// Two handles on one store.
struct Stores {
    a: Arc<dyn SessionStore>,
    b: Arc<dyn SessionStore>,
    /// The same two, typed, for DynamoDB-only checks.
    dynamo: Option<(Arc<DynamoStore>, Arc<DynamoStore>)>,
    _moto: Option<Arc<Moto>>,
}

impl Backend {
    async fn stores(self) -> Stores {
        self.stores_polling(POLL).await
    }

    async fn stores_polling(self, poll: Duration) -> Stores {
        match self {
            Backend::Memory => {
                let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
                Stores {
                    a: store.clone(),
                    b: store,
                    dynamo: None,
                    _moto: None,
                }
            }
            Backend::DynamoDb => {
                let moto = Moto::shared();
                let client = moto.dynamodb();
                let table = unique_table("contract");
                assert!(create_table(&client, &table).await.unwrap(), "a new table");
                let a = Arc::new(DynamoStore::new(client.clone(), &table).with_poll_interval(poll));
                let b = Arc::new(DynamoStore::new(client, &table).with_poll_interval(poll));
                Stores {
                    a: a.clone(),
                    b: b.clone(),
                    dynamo: Some((a, b)),
                    _moto: Some(moto),
                }
            }
        }
    }
}

/// A session record expiring `ttl` seconds from now (in the past if negative), bound to a
/// principal, so that every comparison of a record read back also checks that it is kept.
fn record(ttl: i64) -> SessionRecord {
    SessionRecord {
        id: SessionId::generate(),
        protocol_version: "2025-11-25".to_owned(),
        client_capabilities: json!({ "sampling": {}, "elicitation": { "form": {} } }),
        client_info: json!({ "name": "contract", "version": "1.0" }),
        log_level: None,
        subscriptions: BTreeSet::new(),
        initialized: false,
        terminated: false,
        expires_at: unix_now().saturating_add_signed(ttl),
        principal: Some("c0ffee".repeat(8)),
    }
}

async fn live_session(store: &Arc<dyn SessionStore>) -> SessionRecord {
    let record = record(3600);
    store.create_session(&record).await.unwrap();
    record
}

fn not_found<T: std::fmt::Debug>(result: Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::SessionNotFound))
}

async fn sessions_are_created_once(backend: Backend) {
    let s = backend.stores().await;
    let record = live_session(&s.a).await;
    assert_eq!(
        s.b.load_session(&record.id).await.unwrap(),
        Some(record.clone())
    );
    let again = s.b.create_session(&record).await;
    assert!(
        matches!(again, Err(StoreError::AlreadyExists(_))),
        "{again:?}"
    );
}

async fn loads_tell_missing_expired_and_terminated_apart(backend: Backend) {
    let s = backend.stores().await;
    assert_eq!(
        s.a.load_session(&SessionId::generate()).await.unwrap(),
        None
    );

    let expired = record(-10);
    s.a.create_session(&expired).await.unwrap();
    assert_eq!(s.b.load_session(&expired.id).await.unwrap(), None);

    let live = live_session(&s.a).await;
    assert!(s.a.terminate_session(&live.id).await.unwrap());
    let loaded =
        s.b.load_session(&live.id)
            .await
            .unwrap()
            .expect("terminated still loads");
    // Terminated sessions read back as such (what the transport needs to answer 404); a
    // store may drop their other fields at once (the memory store keeps only a tombstone).
    assert!(loaded.terminated);
    assert_eq!(loaded.id, live.id);
}

async fn updates_apply_to_live_sessions_only(backend: Backend) {
    let s = backend.stores().await;
    let live = live_session(&s.a).await;
    let id = &live.id;
    let updates = [
        SessionUpdate::MarkInitialized,
        SessionUpdate::SetLogLevel("warning".into()),
        SessionUpdate::Subscribe("test://a".into()),
        SessionUpdate::Subscribe("test://b".into()),
        SessionUpdate::Unsubscribe("test://a".into()),
        SessionUpdate::Unsubscribe("test://never".into()),
        SessionUpdate::ExtendTo(live.expires_at + 100),
        // Never backwards.
        SessionUpdate::ExtendTo(live.expires_at + 50),
    ];
    for (i, update) in updates.into_iter().enumerate() {
        let store = if i % 2 == 0 { &s.a } else { &s.b };
        store.update_session(id, update).await.unwrap();
    }
    let loaded = s.a.load_session(id).await.unwrap().unwrap();
    assert!(loaded.initialized);
    assert_eq!(loaded.log_level.as_deref(), Some("warning"));
    assert_eq!(
        loaded.subscriptions,
        BTreeSet::from(["test://b".to_owned()])
    );
    assert_eq!(loaded.expires_at, live.expires_at + 100);

    s.b.update_session(id, SessionUpdate::Unsubscribe("test://b".into()))
        .await
        .unwrap();
    let loaded = s.a.load_session(id).await.unwrap().unwrap();
    assert!(loaded.subscriptions.is_empty());

    let missing = SessionId::generate();
    assert!(not_found(
        s.a.update_session(&missing, SessionUpdate::MarkInitialized)
            .await
    ));
    let expired = record(-10);
    s.a.create_session(&expired).await.unwrap();
    assert!(not_found(
        s.a.update_session(&expired.id, SessionUpdate::ExtendTo(unix_now() + 3600))
            .await
    ));
    assert!(s.a.terminate_session(id).await.unwrap());
    for update in [
        SessionUpdate::MarkInitialized,
        SessionUpdate::SetLogLevel("debug".into()),
        SessionUpdate::Subscribe("test://c".into()),
        SessionUpdate::ExtendTo(unix_now() + 7200),
    ] {
        assert!(
            not_found(s.b.update_session(id, update.clone()).await),
            "{update:?}"
        );
    }
    let loaded = s.a.load_session(id).await.unwrap().unwrap();
    assert!(loaded.terminated);
    assert_ne!(
        loaded.log_level.as_deref(),
        Some("debug"),
        "a refused update was applied"
    );
}

async fn the_first_terminator_wins(backend: Backend) {
    let s = backend.stores().await;
    let live = live_session(&s.a).await;
    assert!(s.a.terminate_session(&live.id).await.unwrap());
    assert!(!s.b.terminate_session(&live.id).await.unwrap());
    assert!(!s.a.terminate_session(&live.id).await.unwrap());
    assert!(not_found(
        s.a.terminate_session(&SessionId::generate()).await
    ));
    let expired = record(-10);
    s.a.create_session(&expired).await.unwrap();
    assert!(not_found(s.b.terminate_session(&expired.id).await));

    // Two instances racing: exactly one ends the session.
    for _ in 0..5 {
        let live = live_session(&s.a).await;
        let (x, y) = tokio::join!(
            s.a.terminate_session(&live.id),
            s.b.terminate_session(&live.id)
        );
        assert!(x.unwrap() ^ y.unwrap());
    }
}

async fn events_replay_in_order_with_limits(backend: Backend) {
    let s = backend.stores().await;
    let live = live_session(&s.a).await;
    let key = StreamKey::new(live.id.clone(), StreamId::generate());
    let other = StreamKey::new(live.id.clone(), StreamId::generate());
    let mut expected = Vec::new();
    let first =
        s.a.append_event(&key, StoredEvent::priming())
            .await
            .unwrap();
    assert_eq!(first, 0, "a stream's first event is its first number");
    expected.push((first, StoredEvent::priming()));
    for i in 0..8 {
        let event = StoredEvent::message(json!({ "i": i, "text": "héllo ✓" }).to_string());
        let seq = s.a.append_event(&key, event.clone()).await.unwrap();
        assert!(seq > expected.last().unwrap().0);
        expected.push((seq, event));
        s.b.append_event(&other, StoredEvent::message(format!("other {i}")))
            .await
            .unwrap();
    }
    let last = StoredEvent::final_message(json!({ "result": {} }).to_string());
    expected.push((s.a.append_event(&key, last.clone()).await.unwrap(), last));

    assert_eq!(s.b.read_events(&key, None, 100).await.unwrap(), expected);
    assert_eq!(s.b.read_events(&key, None, 3).await.unwrap(), expected[..3]);
    let after = expected[2].0;
    assert_eq!(
        s.a.read_events(&key, Some(after), 3).await.unwrap(),
        expected[3..6]
    );
    let end = expected.last().unwrap().0;
    assert!(
        s.a.read_events(&key, Some(end), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(s.a.read_events(&key, None, 0).await.unwrap().is_empty());
    assert_eq!(s.a.read_events(&other, None, 100).await.unwrap().len(), 8);
    // A stream of a session that does not exist holds nothing. A store that can tell cheaply
    // (the memory store) says the session is gone, so that a waiting reader stops.
    let missing = StreamKey::new(SessionId::generate(), StreamId::generate());
    match s.a.read_events(&missing, None, 10).await {
        Ok(events) => assert!(events.is_empty()),
        Err(e) => assert!(matches!(e, StoreError::SessionNotFound), "{e:?}"),
    }
}

async fn replay_crosses_pages(backend: Backend) {
    let s = backend.stores().await;
    let live = live_session(&s.a).await;
    let key = StreamKey::new(live.id.clone(), StreamId::standalone());
    // 40 events of 40 KB: 1.6 MB, more than one 1 MB DynamoDB page.
    let mut seqs = Vec::new();
    for i in 0..40 {
        let data = format!("{i:04}{}", "x".repeat(40 * 1024));
        seqs.push(
            s.a.append_event(&key, StoredEvent::message(data))
                .await
                .unwrap(),
        );
    }
    let before = s.dynamo.as_ref().map(|(_, b)| b.calls());
    let all = s.b.read_events(&key, None, 1000).await.unwrap();
    if let (Some(before), Some((_, b))) = (before, &s.dynamo) {
        let queries = b.calls().since(&before).query;
        assert!(queries >= 2, "one read crossed pages: {queries} queries");
    }
    assert_eq!(all.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(), seqs);
    for (i, (_, event)) in all.iter().enumerate() {
        assert!(event.data.starts_with(&format!("{i:04}")));
        assert_eq!(event.data.len(), 4 + 40 * 1024);
    }
    let some = s.b.read_events(&key, Some(seqs[4]), 30).await.unwrap();
    assert_eq!(
        some.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
        seqs[5..35]
    );
}

async fn has_event_knows_exact_positions(backend: Backend) {
    let s = backend.stores().await;
    let live = live_session(&s.a).await;
    let key = StreamKey::new(live.id.clone(), StreamId::generate());
    let zero =
        s.a.append_event(&key, StoredEvent::priming())
            .await
            .unwrap();
    let one =
        s.a.append_event(&key, StoredEvent::message("{}".into()))
            .await
            .unwrap();
    assert!(s.b.has_event(&key, zero).await.unwrap());
    assert!(s.b.has_event(&key, one).await.unwrap());
    assert!(!s.b.has_event(&key, one + 1).await.unwrap());
    let other = StreamKey::new(live.id.clone(), StreamId::generate());
    assert!(!s.b.has_event(&other, zero).await.unwrap());
    let elsewhere = StreamKey::new(SessionId::generate(), key.stream.clone());
    assert!(!s.b.has_event(&elsewhere, zero).await.unwrap());
}

async fn writes_need_a_live_session(backend: Backend) {
    let s = backend.stores().await;
    let live = live_session(&s.a).await;
    let key = StreamKey::new(live.id.clone(), StreamId::standalone());
    s.a.append_event(&key, StoredEvent::priming())
        .await
        .unwrap();
    assert!(s.a.put_reply(&live.id, "s:1", "{}").await.unwrap());
    assert!(s.a.terminate_session(&live.id).await.unwrap());
    assert!(not_found(
        s.a.append_event(&key, StoredEvent::priming()).await
    ));
    assert!(not_found(s.a.put_reply(&live.id, "s:2", "{}").await));

    let missing = SessionId::generate();
    let key = StreamKey::new(missing.clone(), StreamId::generate());
    assert!(not_found(
        s.b.append_event(&key, StoredEvent::priming()).await
    ));
    assert!(not_found(s.b.put_reply(&missing, "s:1", "{}").await));
}

async fn the_first_reply_wins(backend: Backend) {
    let s = backend.stores().await;
    let live = live_session(&s.a).await;
    let id = &live.id;
    assert_eq!(s.a.get_reply(id, "s:srv-1").await.unwrap(), None);
    assert!(
        s.a.put_reply(id, "s:srv-1", r#"{"result":1}"#)
            .await
            .unwrap()
    );
    assert!(
        !s.b.put_reply(id, "s:srv-1", r#"{"result":2}"#)
            .await
            .unwrap()
    );
    assert_eq!(
        s.b.get_reply(id, "s:srv-1").await.unwrap().as_deref(),
        Some(r#"{"result":1}"#)
    );
    // A cancellation is recorded with an empty message.
    assert!(s.b.put_reply(id, "cancel:n:7", "").await.unwrap());
    assert_eq!(
        s.a.get_reply(id, "cancel:n:7").await.unwrap().as_deref(),
        Some("")
    );
    // Request ids are the client's choice, however long.
    let long = format!("s:{}", "k".repeat(4000));
    let longer = format!("{long}k");
    assert!(s.a.put_reply(id, &long, "long").await.unwrap());
    assert!(s.a.put_reply(id, &longer, "longer").await.unwrap());
    assert_eq!(
        s.b.get_reply(id, &long).await.unwrap().as_deref(),
        Some("long")
    );
    assert_eq!(
        s.b.get_reply(id, &longer).await.unwrap().as_deref(),
        Some("longer")
    );
    // Replies belong to their session.
    let other = live_session(&s.a).await;
    assert_eq!(s.a.get_reply(&other.id, "s:srv-1").await.unwrap(), None);

    // Two instances racing: exactly one reply is recorded, and it is the one read back.
    for n in 0..5 {
        let key = format!("race:{n}");
        let (x, y) = tokio::join!(
            s.a.put_reply(id, &key, "from a"),
            s.b.put_reply(id, &key, "from b")
        );
        let (x, y) = (x.unwrap(), y.unwrap());
        assert!(x ^ y);
        let winner = if x { "from a" } else { "from b" };
        assert_eq!(
            s.a.get_reply(id, &key).await.unwrap().as_deref(),
            Some(winner)
        );
    }
}

async fn wake_ups_within_one_instance_are_immediate(backend: Backend) {
    // A poll interval far longer than the test may wait: only an in-process wake-up can pass.
    let s = backend.stores_polling(Duration::from_secs(60)).await;
    let live = live_session(&s.a).await;
    let key = StreamKey::new(live.id.clone(), StreamId::generate());
    let topics = [
        Topic::Stream(key.clone()),
        Topic::Reply {
            session: live.id.clone(),
            key: "s:1".into(),
        },
    ];
    for topic in topics {
        let signal = s.a.subscribe(&topic);
        let writer = s.a.clone();
        let (id, key) = (live.id.clone(), key.clone());
        let write = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            match topic {
                Topic::Stream(_) => writer
                    .append_event(&key, StoredEvent::priming())
                    .await
                    .map(|_| ()),
                Topic::Reply { key, .. } => writer.put_reply(&id, &key, "{}").await.map(|_| ()),
            }
        });
        let started = Instant::now();
        tokio::time::timeout(Duration::from_secs(5), signal)
            .await
            .expect("woken in-process");
        assert!(started.elapsed() < Duration::from_secs(5));
        write.await.unwrap().unwrap();
    }
}

/// Follows `key` as the transport's SSE tail does (subscribe, read, wait) until it holds an
/// event after `after`; returns how long that took.
async fn follow_until_event(
    store: &Arc<dyn SessionStore>,
    key: &StreamKey,
    after: Option<EventSeq>,
) -> Instant {
    loop {
        let changed = store.subscribe(&Topic::Stream(key.clone()));
        if !store.read_events(key, after, 10).await.unwrap().is_empty() {
            return Instant::now();
        }
        tokio::time::timeout(Duration::from_secs(10), changed)
            .await
            .expect("a signal within 10 s");
    }
}

/// How much later than one poll interval a reader may see a write and still pass. The reader
/// would never see it if polling were broken (it waits on no in-process signal), so the bound
/// only has to tell "one poll" from "never", not measure latency: a tight bound here fails on a
/// loaded machine. The latency itself is measured by `bench/cross_instance_latency.rs`.
const LOAD_MARGIN: Duration = Duration::from_secs(5);

async fn readers_see_other_instances_by_polling(backend: Backend) {
    let poll = Duration::from_millis(200);
    let s = backend.stores_polling(poll).await;
    let live = live_session(&s.a).await;
    let key = StreamKey::new(live.id.clone(), StreamId::standalone());
    let first =
        s.a.append_event(&key, StoredEvent::priming())
            .await
            .unwrap();
    for _ in 0..3 {
        let reader = s.b.clone();
        let (read_key, after) = (key.clone(), s.b.read_events(&key, None, 100).await.unwrap());
        let after = after.last().map(|(seq, _)| *seq).or(Some(first));
        let follower =
            tokio::spawn(async move { follow_until_event(&reader, &read_key, after).await });
        // Let the reader settle into waiting.
        tokio::time::sleep(Duration::from_millis(120)).await;
        s.a.append_event(&key, StoredEvent::message("{}".into()))
            .await
            .unwrap();
        let written = Instant::now();
        let seen = follower.await.unwrap();
        let lag = seen.saturating_duration_since(written);
        assert!(
            lag < poll + LOAD_MARGIN,
            "seen {lag:?} after the write (poll interval {poll:?})"
        );
    }

    // Replies, as a tool waiting for the client's answer reads them.
    let waiter = s.b.clone();
    let id = live.id.clone();
    let wait = tokio::spawn(async move {
        let topic = Topic::Reply {
            session: id.clone(),
            key: "s:srv-9".into(),
        };
        loop {
            let changed = waiter.subscribe(&topic);
            if let Some(reply) = waiter.get_reply(&id, "s:srv-9").await.unwrap() {
                return (reply, Instant::now());
            }
            tokio::time::timeout(Duration::from_secs(10), changed)
                .await
                .expect("a signal within 10 s");
        }
    });
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert!(s.a.put_reply(&live.id, "s:srv-9", "answer").await.unwrap());
    let written = Instant::now();
    let (reply, seen) = wait.await.unwrap();
    assert_eq!(reply, "answer");
    assert!(seen.saturating_duration_since(written) < poll + LOAD_MARGIN);
}

async fn concurrent_appends_get_unique_increasing_numbers(backend: Backend) {
    let s = backend.stores().await;
    let live = live_session(&s.a).await;
    // The standalone stream: every instance may write it, and none has it cached yet.
    let key = StreamKey::new(live.id.clone(), StreamId::standalone());
    let writers = [("a", s.a.clone()), ("b", s.b.clone()), ("c", s.a.clone())];
    let tasks: Vec<_> = writers
        .into_iter()
        .map(|(name, store)| {
            let key = key.clone();
            tokio::spawn(async move {
                let mut seqs = Vec::new();
                for i in 0..25 {
                    let data = format!("{name}-{i:02}");
                    seqs.push((
                        store
                            .append_event(&key, StoredEvent::message(data.clone()))
                            .await
                            .unwrap(),
                        data,
                    ));
                }
                seqs
            })
        })
        .collect();
    let mut written = Vec::new();
    for task in tasks {
        let seqs = task.await.unwrap();
        assert!(
            seqs.windows(2).all(|w| w[0].0 < w[1].0),
            "one writer's numbers increase"
        );
        written.extend(seqs);
    }
    written.sort();
    let unique: BTreeSet<EventSeq> = written.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(unique.len(), 75, "no number was given twice");
    let stored: Vec<(EventSeq, String)> =
        s.b.read_events(&key, None, 1000)
            .await
            .unwrap()
            .into_iter()
            .map(|(seq, event)| (seq, event.data))
            .collect();
    assert_eq!(
        stored, written,
        "every event stored once, under the number returned"
    );
}

async fn leases_are_kept_with_the_stream_and_renewed(backend: Backend) {
    let s = backend.stores().await;
    let live = live_session(&s.a).await;
    let key = StreamKey::new(live.id.clone(), StreamId::generate());
    let lease = StreamLease::new(unix_now_ms() + 30_000, &[json!(7), json!("eight")]);
    assert_eq!(s.a.open_stream(&key, &lease).await.unwrap(), 0);
    // The priming event reads back as any other; the lease is beside it.
    assert_eq!(
        s.b.read_events(&key, None, 10).await.unwrap(),
        [(0, StoredEvent::priming())]
    );
    assert_eq!(s.b.read_lease(&key).await.unwrap(), Some(lease.clone()));
    assert!(
        s.b.renew_lease(&key, lease.until_ms + 10_000)
            .await
            .unwrap()
    );
    let renewed = s.a.read_lease(&key).await.unwrap().expect("a lease");
    assert_eq!(renewed.until_ms, lease.until_ms + 10_000);
    assert_eq!(renewed.request_ids, lease.request_ids);
    // Events after the priming one leave the lease alone.
    s.a.append_event(&key, StoredEvent::message("{}".into()))
        .await
        .unwrap();
    assert_eq!(s.b.read_lease(&key).await.unwrap(), Some(renewed));

    // Streams opened without a lease have none, and renewing does not give them one.
    let plain = StreamKey::new(live.id.clone(), StreamId::generate());
    s.a.append_event(&plain, StoredEvent::priming())
        .await
        .unwrap();
    assert!(!s.a.renew_lease(&plain, unix_now_ms()).await.unwrap());
    let standalone = StreamKey::new(live.id.clone(), StreamId::standalone());
    s.a.append_event(&standalone, StoredEvent::priming())
        .await
        .unwrap();
    let unknown = StreamKey::new(live.id.clone(), StreamId::generate());
    assert!(!s.a.renew_lease(&unknown, unix_now_ms()).await.unwrap());
    assert!(!s.a.end_lease(&plain, 0).await.unwrap());
    for key in [&plain, &standalone, &unknown] {
        assert_eq!(s.b.read_lease(key).await.unwrap(), None, "{key:?}");
    }
    assert!(
        s.b.read_events(&unknown, None, 10)
            .await
            .unwrap()
            .is_empty()
    );

    assert!(s.a.terminate_session(&live.id).await.unwrap());
    let gone = StreamKey::new(live.id.clone(), StreamId::generate());
    assert!(not_found(s.a.open_stream(&gone, &lease).await));
}

async fn the_first_terminator_of_a_stream_wins(backend: Backend) {
    let s = backend.stores().await;
    let live = live_session(&s.a).await;
    let key = StreamKey::new(live.id.clone(), StreamId::generate());
    let lease = StreamLease::new(unix_now_ms(), &[json!(1)]);
    s.a.open_stream(&key, &lease).await.unwrap();
    let progress =
        s.a.append_event(&key, StoredEvent::message("progress".into()))
            .await
            .unwrap();
    // A reader that saw only the priming event is too late: the progress event follows it.
    let stale = StoredEvent::final_message("stale".into());
    assert!(!s.b.append_event_after(&key, 0, stale).await.unwrap());
    let end = StoredEvent::final_message("end".into());
    assert!(
        s.b.append_event_after(&key, progress, end.clone())
            .await
            .unwrap()
    );
    let second = StoredEvent::final_message("second".into());
    assert!(
        !s.a.append_event_after(&key, progress, second)
            .await
            .unwrap()
    );
    // A writer that was only slow appends after the terminator; readers stop at the first.
    let late = StoredEvent::final_message("late answer".into());
    let late_seq = s.a.append_event(&key, late.clone()).await.unwrap();
    assert_eq!(
        s.b.read_events(&key, Some(0), 10).await.unwrap(),
        [
            (progress, StoredEvent::message("progress".into())),
            (progress + 1, end),
            (late_seq, late),
        ]
    );
    assert_eq!(late_seq, progress + 2);

    // Two readers on two instances racing: exactly one terminator is stored.
    for n in 0..5 {
        let key = StreamKey::new(live.id.clone(), StreamId::generate());
        s.a.open_stream(&key, &lease).await.unwrap();
        let (x, y) = tokio::join!(
            s.a.append_event_after(&key, 0, StoredEvent::final_message(format!("a{n}"))),
            s.b.append_event_after(&key, 0, StoredEvent::final_message(format!("b{n}")))
        );
        let (x, y) = (x.unwrap(), y.unwrap());
        assert!(x ^ y);
        let events = s.a.read_events(&key, None, 10).await.unwrap();
        let winner = if x { format!("a{n}") } else { format!("b{n}") };
        assert_eq!(events.len(), 2);
        assert_eq!(events[1], (1, StoredEvent::final_message(winner)));
    }

    assert!(s.a.terminate_session(&live.id).await.unwrap());
    let end = StoredEvent::final_message("end".into());
    // (On the instance that ended the session: another notices within its liveness cache.)
    assert!(not_found(s.a.append_event_after(&key, late_seq, end).await));
}

async fn a_writer_loses_its_lease_once_a_reader_ends_it(backend: Backend) {
    let s = backend.stores().await;
    let live = live_session(&s.a).await;
    let key = StreamKey::new(live.id.clone(), StreamId::generate());
    // Lapsed a minute ago, as a reader on `b` finds it.
    let lapsed = StreamLease::new(unix_now_ms() - 60_000, &[json!(1)]);
    s.a.open_stream(&key, &lapsed).await.unwrap();
    let seen = s.b.read_lease(&key).await.unwrap().expect("a lease");
    // The writer on `a` renews before the reader acts: the reader's end fails, the writer's
    // lease stands.
    let renewed = unix_now_ms() + 30_000;
    assert!(s.a.renew_lease(&key, renewed).await.unwrap());
    assert!(!s.b.end_lease(&key, seen.until_ms).await.unwrap());
    assert_eq!(
        s.a.read_lease(&key).await.unwrap().map(|l| l.until_ms),
        Some(renewed)
    );
    // A reader acting on what it read last ends the lease; from then on the writer's
    // renewals fail and change nothing, and another reader finds it ended.
    assert!(s.b.end_lease(&key, renewed).await.unwrap());
    for _ in 0..2 {
        assert!(!s.a.renew_lease(&key, unix_now_ms() + 30_000).await.unwrap());
    }
    let ended = s.a.read_lease(&key).await.unwrap().expect("a lease");
    assert!(ended.is_ended(), "{ended:?}");
    assert_eq!(ended.request_ids, [json!(1)]);
    assert!(s.a.end_lease(&key, renewed).await.unwrap(), "already ended");
    assert!(s.a.end_lease(&key, ended.until_ms).await.unwrap());
    assert!(s.b.read_lease(&key).await.unwrap().unwrap().is_ended());
}

async fn replies_can_be_removed_and_recorded_again(backend: Backend) {
    let s = backend.stores().await;
    let live = live_session(&s.a).await;
    let id = &live.id;
    assert!(s.a.put_reply(id, "cancel:n:3", "100").await.unwrap());
    assert!(!s.b.put_reply(id, "cancel:n:3", "200").await.unwrap());
    s.b.remove_reply(id, "cancel:n:3").await.unwrap();
    assert_eq!(s.a.get_reply(id, "cancel:n:3").await.unwrap(), None);
    assert!(s.a.put_reply(id, "cancel:n:3", "300").await.unwrap());
    assert_eq!(
        s.b.get_reply(id, "cancel:n:3").await.unwrap().as_deref(),
        Some("300")
    );
    // Only that key goes; a key never recorded, or of a session gone, is no error.
    assert!(s.a.put_reply(id, "cancel:n:4", "400").await.unwrap());
    s.a.remove_reply(id, "cancel:n:3").await.unwrap();
    s.a.remove_reply(id, "cancel:n:never").await.unwrap();
    s.a.remove_reply(&SessionId::generate(), "cancel:n:4")
        .await
        .unwrap();
    assert_eq!(
        s.b.get_reply(id, "cancel:n:4").await.unwrap().as_deref(),
        Some("400")
    );
    let long = format!("cancel:s:{}", "k".repeat(4000));
    assert!(s.a.put_reply(id, &long, "long").await.unwrap());
    s.b.remove_reply(id, &long).await.unwrap();
    assert_eq!(s.a.get_reply(id, &long).await.unwrap(), None);
}

/// A `notifications/cancelled` for request `id`.
fn cancel(id: u64) -> Value {
    jsonrpc::notification("notifications/cancelled", json!({ "requestId": id }))
}

/// Starts a long tool call `id` on `app` with a progress token, and returns its stream once
/// the tool runs (its first progress has arrived).
async fn running_call(app: &App, session: &str, id: u64) -> SseReader {
    let args = json!({ "steps": 300, "interval_ms": 20 });
    let response = app
        .post(
            Some(session),
            call(id, "test_long_operation", args, Some("running")),
        )
        .await;
    assert_eq!(content_type(&response), "text/event-stream");
    let mut stream = SseReader::new(response.into_body());
    stream.next(WAIT).await.expect("priming");
    stream.next(WAIT).await.expect("first progress");
    stream
}

/// Reads a cancelled call's stream to its end: it ends without a response, long before the
/// tool's 6 s would be up.
async fn ends_unanswered(mut stream: SseReader) {
    let rest = stream.until_response(WAIT).await;
    let last = rest.last().map(|e| e.data.clone());
    assert!(
        rest.iter()
            .all(|e| e.json().is_none_or(|m| m.get("result").is_none())),
        "a cancelled request answered, after {} events: {last:?}",
        rest.len()
    );
    assert!(stream.ended(), "the stream goes on: {last:?}");
}

async fn a_cancelled_request_id_is_served_when_reused(backend: Backend) {
    let s = backend.stores().await;
    let a = App::with_store(TransportConfig::default(), s.a.clone());
    let b = App::with_store(TransportConfig::default(), s.b.clone());
    let session = a.initialize("2025-11-25").await;
    let stream = running_call(&a, &session, 5).await;
    assert_eq!(b.post(Some(&session), cancel(5)).await.status(), 202);
    ends_unanswered(stream).await;
    // At once, well within the 1 s allowed between two instances' clocks: a request reusing
    // the id after the cancelled one ended is answered (it lasts past the first cancellation
    // check of a polling store).
    let args = json!({ "steps": 3, "interval_ms": 150 });
    let reused = a
        .post(Some(&session), call(5, "test_long_operation", args, None))
        .await;
    assert_eq!(reused.status(), 200);
    let answer = body_json(reused).await;
    assert_eq!(answer["id"], 5, "{answer}");
    assert_eq!(
        answer["result"]["content"][0]["text"], "completed 3 steps",
        "{answer}"
    );
    // And it can be cancelled in its turn.
    let stream = running_call(&b, &session, 5).await;
    assert_eq!(a.post(Some(&session), cancel(5)).await.status(), 202);
    ends_unanswered(stream).await;
}

async fn a_cancellation_replaces_a_stale_mark(backend: Backend) {
    let s = backend.stores().await;
    let a = App::with_store(TransportConfig::default(), s.a.clone());
    let b = App::with_store(TransportConfig::default(), s.b.clone());
    let session = a.initialize("2025-11-25").await;
    // A cancellation for an id not in flight stays behind, and is stale once the allowance
    // for clocks (1 s) has passed.
    assert_eq!(b.post(Some(&session), cancel(9)).await.status(), 202);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let stream = running_call(&a, &session, 9).await;
    // The request's own cancellation still stops it.
    assert_eq!(b.post(Some(&session), cancel(9)).await.status(), 202);
    ends_unanswered(stream).await;
}

async fn expiry_needs_no_deletion(backend: Backend) {
    let s = backend.stores().await;
    let soon = record(2);
    s.a.create_session(&soon).await.unwrap();
    let key = StreamKey::new(soon.id.clone(), StreamId::generate());
    s.a.append_event(&key, StoredEvent::priming())
        .await
        .unwrap();
    assert!(s.b.load_session(&soon.id).await.unwrap().is_some());
    while unix_now() < soon.expires_at {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(s.a.load_session(&soon.id).await.unwrap(), None);
    assert_eq!(s.b.load_session(&soon.id).await.unwrap(), None);
    assert!(not_found(
        s.a.append_event(&key, StoredEvent::priming()).await
    ));
    assert!(not_found(s.b.put_reply(&soon.id, "s:1", "{}").await));
    assert!(not_found(
        s.a.update_session(&soon.id, SessionUpdate::MarkInitialized)
            .await
    ));
    assert!(not_found(s.a.terminate_session(&soon.id).await));
    // An expired leftover does not block the id.
    let again = SessionRecord {
        expires_at: unix_now() + 60,
        ..soon.clone()
    };
    s.b.create_session(&again).await.unwrap();
    assert_eq!(s.a.load_session(&soon.id).await.unwrap(), Some(again));
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::Backend::Memory).await;
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::Backend::DynamoDb).await;
                }
            )*
        }
    };
}

contract!(
    sessions_are_created_once,
    loads_tell_missing_expired_and_terminated_apart,
    updates_apply_to_live_sessions_only,
    the_first_terminator_wins,
    events_replay_in_order_with_limits,
    replay_crosses_pages,
    has_event_knows_exact_positions,
    writes_need_a_live_session,
    the_first_reply_wins,
    wake_ups_within_one_instance_are_immediate,
    readers_see_other_instances_by_polling,
    concurrent_appends_get_unique_increasing_numbers,
    expiry_needs_no_deletion,
    leases_are_kept_with_the_stream_and_renewed,
    the_first_terminator_of_a_stream_wins,
    a_writer_loses_its_lease_once_a_reader_ends_it,
    replies_can_be_removed_and_recorded_again,
    a_cancelled_request_id_is_served_when_reused,
    a_cancellation_replaces_a_stale_mark,
);

// DynamoDB only.

async fn dynamo_stores() -> (Arc<Moto>, Arc<DynamoStore>, Arc<DynamoStore>) {
    dynamo_stores_polling(POLL).await
}

async fn dynamo_stores_polling(poll: Duration) -> (Arc<Moto>, Arc<DynamoStore>, Arc<DynamoStore>) {
    let s = Backend::DynamoDb.stores_polling(poll).await;
    let (a, b) = s.dynamo.expect("dynamodb stores");
    (s._moto.expect("moto"), a, b)
}

#[tokio::test]
async fn messages_over_the_item_limit_are_refused() {
    let (_moto, a, _) = dynamo_stores().await;
    let store: Arc<dyn SessionStore> = a.clone();
    let live = live_session(&store).await;
    let key = StreamKey::new(live.id.clone(), StreamId::generate());
    let too_big = "x".repeat(MAX_ITEM_BYTES);
    let Err(StoreError::TooLarge { size, limit }) = store
        .append_event(&key, StoredEvent::message(too_big))
        .await
    else {
        panic!("a 400 KB message must be refused");
    };
    assert_eq!(size, MAX_ITEM_BYTES);
    assert!(
        limit < MAX_ITEM_BYTES && limit > MAX_ITEM_BYTES - 200,
        "{limit}"
    );
    // The largest message the limit names is stored and read back whole.
    let largest = "y".repeat(limit);
    let seq = store
        .append_event(&key, StoredEvent::message(largest.clone()))
        .await
        .unwrap();
    let read = store.read_events(&key, None, 10).await.unwrap();
    assert_eq!(read, vec![(seq, StoredEvent::message(largest))]);

    let reply = "z".repeat(MAX_ITEM_BYTES);
    assert!(matches!(
        store.put_reply(&live.id, "s:1", &reply).await,
        Err(StoreError::TooLarge { .. })
    ));
    let mut huge = record(3600);
    huge.client_info = json!({ "name": "n".repeat(MAX_ITEM_BYTES) });
    assert!(matches!(
        store.create_session(&huge).await,
        Err(StoreError::TooLarge { .. })
    ));
}

#[tokio::test]
async fn a_burst_of_writes_checks_its_session_once() {
    let (_moto, a, b) = dynamo_stores().await;
    let record = record(3600);
    a.create_session(&record).await.unwrap();
    // An instance that loaded the session (as every request does) appends without reading it
    // again, and a POST stream's first event needs no query for its number.
    assert!(b.load_session(&record.id).await.unwrap().is_some());
    let before = b.calls();
    let key = StreamKey::new(record.id.clone(), StreamId::generate());
    for _ in 0..5 {
        b.append_event(&key, StoredEvent::message("{}".into()))
            .await
            .unwrap();
    }
    b.put_reply(&record.id, "s:1", "{}").await.unwrap();
    let spent = b.calls().since(&before);
    assert_eq!(spent.reads(), 0, "{spent:?}");
    assert_eq!(spent.put_item, 6, "{spent:?}");

    // The standalone stream on an instance that has not written it: one query for its number.
    let standalone = StreamKey::new(record.id.clone(), StreamId::standalone());
    a.append_event(&standalone, StoredEvent::priming())
        .await
        .unwrap();
    let before = b.calls();
    let seq = b
        .append_event(&standalone, StoredEvent::priming())
        .await
        .unwrap();
    assert_eq!(seq, 1);
    let spent = b.calls().since(&before);
    assert_eq!((spent.query, spent.put_item), (1, 1), "{spent:?}");
}

#[tokio::test]
async fn a_lease_costs_one_request_per_operation() {
    let (_moto, a, b) = dynamo_stores().await;
    let record = record(3600);
    a.create_session(&record).await.unwrap();
    let key = StreamKey::new(record.id.clone(), StreamId::generate());
    let lease = StreamLease::new(unix_now_ms() + 30_000, &[json!(1)]);
    // Opening a stream on the instance that loaded the session: the priming event's write,
    // which carries the lease.
    let (seq, cost) = calls_during(&a, a.open_stream(&key, &lease)).await;
    assert_eq!(seq.unwrap(), 0);
    assert_eq!(
        (cost.reads(), cost.put_item, cost.writes()),
        (0, 1, 1),
        "open: {cost:?}"
    );
    let (renewed, cost) = calls_during(&a, a.renew_lease(&key, lease.until_ms + 10_000)).await;
    renewed.unwrap();
    assert_eq!(
        (cost.reads(), cost.update_item, cost.writes()),
        (0, 1, 1),
        "renew: {cost:?}"
    );
    let (read, cost) = calls_during(&b, b.read_lease(&key)).await;
    assert_eq!(
        read.unwrap().map(|l| l.until_ms),
        Some(lease.until_ms + 10_000)
    );
    assert_eq!(
        (cost.get_item, cost.reads(), cost.writes()),
        (1, 1, 0),
        "check: {cost:?}"
    );
    let (ended, cost) = calls_during(&b, b.end_lease(&key, lease.until_ms + 10_000)).await;
    assert!(ended.unwrap());
    assert_eq!(
        (cost.reads(), cost.update_item, cost.writes()),
        (0, 1, 1),
        "end: {cost:?}"
    );
}

#[tokio::test]
async fn a_second_create_table_leaves_the_table_alone() {
    let moto = Moto::shared();
    let client = moto.dynamodb();
    let table = unique_table("twice");
    assert!(create_table(&client, &table).await.unwrap());
    assert!(!create_table(&client, &table).await.unwrap());
    let ttl = client
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let description = ttl.time_to_live_description().expect("a TTL description");
    assert_eq!(description.attribute_name(), Some("expires_at"));
}

#[tokio::test]
async fn a_missing_table_is_a_backend_error() {
    let moto = Moto::shared();
    let store = DynamoStore::new(moto.dynamodb(), unique_table("missing"));
    let result = store.load_session(&SessionId::generate()).await;
    assert!(matches!(result, Err(StoreError::Backend(_))), "{result:?}");
}

// The transport on two instances sharing one table: every request of a session may land on
// either, as on Lambda.

const WAIT: Duration = Duration::from_secs(5);

/// Two apps, each with its own DynamoDB store object on one table.
async fn two_instances() -> (Arc<Moto>, App, App, Arc<DynamoStore>, Arc<DynamoStore>) {
    two_instances_polling(POLL).await
}

/// Two apps on one table whose stores poll every `poll`.
async fn two_instances_polling(
    poll: Duration,
) -> (Arc<Moto>, App, App, Arc<DynamoStore>, Arc<DynamoStore>) {
    let (moto, a, b) = dynamo_stores_polling(poll).await;
    let app_a = App::with_store(TransportConfig::default(), a.clone());
    let app_b = App::with_store(TransportConfig::default(), b.clone());
    (moto, app_a, app_b, a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_moves_between_instances() {
    let (_moto, a, b, _, _) = two_instances().await;
    let session = a.initialize("2025-11-25").await;
    let listed = b
        .post(
            Some(&session),
            jsonrpc::request(1, "tools/list", Value::Null),
        )
        .await;
    assert_eq!(listed.status(), 200);
    assert!(body_json(listed).await["result"]["tools"].is_array());

    // A stream cut on one instance resumes on the other while the first still writes it.
    let args = json!({ "steps": 6, "interval_ms": 40 });
    let response = a
        .post(
            Some(&session),
            call(2, "test_long_operation", args, Some("p2")),
        )
        .await;
    assert_eq!(content_type(&response), "text/event-stream");
    let mut stream = SseReader::new(response.into_body());
    stream.next(WAIT).await.expect("priming");
    let first = stream.next(WAIT).await.expect("first progress");
    drop(stream);
    let resumed = b.get(&session, first.id.as_deref()).await;
    assert_eq!(resumed.status(), 200);
    let rest = SseReader::new(resumed.into_body())
        .until_response(WAIT)
        .await;
    let progress: Vec<f64> = std::iter::once(&first)
        .chain(&rest)
        .filter_map(|e| e.json())
        .filter(|m| m["method"] == "notifications/progress")
        .map(|m| m["params"]["progress"].as_f64().expect("progress"))
        .collect();
    assert_eq!(progress, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let answer = rest.last().and_then(|e| e.json()).expect("the response");
    assert_eq!(answer["id"], 2);

    // A server-to-client request answered through the other instance.
    let response = a
        .post(
            Some(&session),
            call(3, "test_elicitation", json!({ "message": "Name?" }), None),
        )
        .await;
    let mut stream = SseReader::new(response.into_body());
    stream.next(WAIT).await.expect("priming");
    let request = stream
        .next(WAIT)
        .await
        .and_then(|e| e.json())
        .expect("request");
    let reply = jsonrpc::response(
        request["id"].clone(),
        json!({ "action": "accept", "content": { "response": "Ada" } }),
    );
    assert_eq!(b.post(Some(&session), reply).await.status(), 202);
    let answer = stream.until_response(WAIT).await;
    let answer = answer.last().and_then(|e| e.json()).expect("answer");
    assert!(
        answer["result"]["content"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("Ada"))
    );

    // Ended on one instance, gone on both.
    assert_eq!(b.delete(&session).await.status(), 200);
    let after = a
        .post(
            Some(&session),
            jsonrpc::request(4, "tools/list", Value::Null),
        )
        .await;
    assert_eq!(after.status(), 404);
    assert_eq!(a.delete(&session).await.status(), 404);
}

// The server binary on DynamoDB, configured the standard AWS way.

/// Starts the conformance server with `env`, and returns it with its endpoint URL.
fn start_server(env: &[(&str, String)]) -> (ChildGuard, String) {
    let mut child = Command::new(mcp_testkit::cargo_bin("conformance-server"))
        .args(["--bind", "127.0.0.1:0"])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting conformance-server");
    let stdout = child.stdout.take().expect("piped stdout");
    let guard = ChildGuard(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the server's first line");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_owned();
    (guard, url)
}

struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// POSTs `body` over a fresh connection; returns the status, the session id header and the
/// body.
fn post(
    url: &str,
    session: Option<&str>,
    body: &serde_json::Value,
) -> (u16, Option<String>, String) {
    let authority = url
        .strip_prefix("http://")
        .and_then(|rest| rest.split('/').next())
        .expect("an http URL");
    let body = body.to_string();
    let mut stream = TcpStream::connect(authority).expect("connecting to the server");
    let session_header = session.map_or(String::new(), |s| format!("Mcp-Session-Id: {s}\r\n"));
    write!(
        stream,
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nContent-Length: {}\r\n\
         Connection: close\r\n{session_header}\r\n{body}",
        body.len()
    )
    .expect("sending");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("reading");
    let (head, body) = answer.split_once("\r\n\r\n").expect("a response head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    let session = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("mcp-session-id")
            .then(|| value.trim().to_owned())
    });
    (status, session, body.to_owned())
}

#[tokio::test]
async fn the_server_binary_runs_on_dynamodb() {
    let moto = Moto::shared();
    let table = unique_table("binary");
    let mut env = moto.env();
    env.push(("MCP_SESSION_STORE", "dynamodb".to_owned()));
    env.push(("MCP_SESSION_TABLE", table.clone()));
    // The first instance creates the table; the second only uses it.
    let (_first, first_url) = {
        let mut env = env.clone();
        env.push(("MCP_CREATE_TABLE", "true".to_owned()));
        start_server(&env)
    };
    let (_second, second_url) = start_server(&env);

    let init = jsonrpc::initialize(0, "2025-06-18", "binary", json!({}));
    let (status, session, _) = post(&first_url, None, &init);
    assert_eq!(status, 200);
    let session = session.expect("a session id");
    let stored = moto
        .dynamodb()
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S(format!("S#{session}")))
        .key("sk", AttributeValue::S("SESSION".to_owned()))
        .send()
        .await
        .unwrap();
    assert!(stored.item.is_some(), "the session is in the table");

    let note = jsonrpc::notification("notifications/initialized", Value::Null);
    assert_eq!(post(&second_url, Some(&session), &note).0, 202);
    let (status, _, body) = post(
        &second_url,
        Some(&session),
        &call(1, "test_simple_text", json!({}), None),
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"result\""), "{body}");
}

#[test]
fn the_server_binary_refuses_dynamodb_without_a_table() {
    let output = Command::new(mcp_testkit::cargo_bin("conformance-server"))
        .args(["--bind", "127.0.0.1:0", "--session-store", "dynamodb"])
        .env_remove("MCP_SESSION_TABLE")
        .output()
        .expect("running conformance-server");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--dynamodb-table"), "{stderr}");
}
