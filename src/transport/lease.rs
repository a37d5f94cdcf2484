//! Leases of POST streams: the writer keeps one while its handlers run, and a reader ends a
//! stream whose lease has lapsed with an error for the requests still unanswered.
//!
//! A legacy POST that streams is answered by the instance running its handlers, while its
//! client may follow the stream on any instance. If that instance dies, nobody else would ever
//! store the stream's final event, and every resume would wait in vain. So the writer stores a
//! lease (an expiry time and the POST's request ids) with the stream's priming event, renews it
//! every third of [`crate::transport::TransportConfig::stream_lease`] while its handlers run,
//! and stops once the last response is stored. A reader that finds nothing new looks at the
//! lease (at once on a resumed stream, a lease period after opening on the writer's own
//! connection, then whenever the lease it saw would lapse). Once the lease is more than
//! [`CLOCK_SKEW`] past, the reader stores the final event itself: [`ABANDONED`], a JSON-RPC
//! internal error (-32603), for each request of the POST that has no response in the stream.
//!
//! The first final event in the stream wins. A reader first ends the lease, only if it still
//! has the expiry the reader found lapsed ([`SessionStore::end_lease`]: a renewal in between
//! wins, and the reader looks again later), then stores its terminator only as the event
//! right after the last one it read ([`SessionStore::append_event_after`]), so two readers on
//! two instances end a stream once, and anything the writer stored first is read before the
//! reader tries again. A writer that was only slow (frozen, cut off from the store) for longer
//! than the lease has lost the stream: its next renewal fails, and it stops renewing, cancels
//! its handlers and stores nothing more, as no reader would deliver it: the client has
//! already been told to retry. What it stored before that renewal lands after the
//! terminator, unread.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::protocol::message;
use crate::store::{
    EventSeq, SessionStore, StoreError, StoredEvent, StreamKey, StreamLease, unix_now_ms,
};

/// How far apart the clocks of two instances may be: a lease counts as lapsed only this long
/// after its expiry time, and a cancellation recorded on another instance up to this long
/// before its request began still counts.
pub(crate) const CLOCK_SKEW: Duration = Duration::from_secs(1);

/// The message of the error that ends a stream whose writer is gone.
pub(crate) const ABANDONED: &str =
    "the server handling this request stopped before answering; retry the request";

/// How many events a reader reads at once while looking for the answered requests of a batch.
const SCAN_BATCH: usize = 64;

/// A new lease of `length` from now for the requests `ids`.
pub(crate) fn new_lease(length: Duration, ids: &[Value]) -> StreamLease {
    StreamLease::new(unix_now_ms().saturating_add(millis(length)), ids)
}

/// Renews the lease of `key` every third of `length` until the returned guard is dropped, or
/// until a renewal finds that a reader ended the lease: then the writer has lost the stream,
/// and `lost` is cancelled.
pub fn keep(
    store: Arc<dyn SessionStore>,
    key: StreamKey,
    length: Duration,
    lost: CancellationToken,
) -> DropGuard {
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    tokio::spawn(async move {
        let every = length / 3;
        loop {
            tokio::select! {
                () = stopped.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
            let until = unix_now_ms().saturating_add(millis(length));
            match store.renew_lease(&key, until).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(
                        stream = key.stream.as_str(),
                        "a reader ended this stream after its lease lapsed; its requests are \
                         cancelled and the rest of their output dropped"
                    );
                    lost.cancel();
                    return;
                }
                Err(StoreError::SessionNotFound) => return,
                Err(e) => tracing::warn!(
                    error = %e,
                    stream = key.stream.as_str(),
                    "could not renew a stream's lease; readers may end the stream if this lasts"
                ),
            }
        }
    });
    stop.drop_guard()
}

/// A reader's view of a POST stream's lease: when to look at it next.
#[derive(Debug)]
pub(crate) struct LeaseWatch {
    length: Duration,
    /// `None` once the stream turned out to have no lease: then only its writer ends it.
    next_check: Option<Instant>,
}

impl LeaseWatch {
    /// For the connection that opened the stream, on the writer's instance: the lease cannot
    /// lapse before its first length has passed.
    pub fn opening(length: Duration) -> Self {
        Self {
            length,
            next_check: Some(Instant::now() + length),
        }
    }

    /// For a resumed stream, whose writer may be long gone: look at once.
    pub fn resuming(length: Duration) -> Self {
        Self {
            length,
            next_check: Some(Instant::now()),
        }
    }

    /// When the lease should be looked at next, if ever.
    pub(crate) fn next_check(&self) -> Option<Instant> {
        self.next_check
    }

    fn is_due(&self) -> bool {
        self.next_check.is_some_and(|at| at <= Instant::now())
    }

    /// If a look is due and the lease has lapsed, tries to end the stream after `after` (the
    /// last event this reader read). Returns whether it tried: the caller reads again, and
    /// finds the stream's final event, its own or whichever came first.
    pub(crate) async fn end_if_lapsed(
        &mut self,
        store: &dyn SessionStore,
        key: &StreamKey,
        after: EventSeq,
    ) -> bool {
        if !self.is_due() {
            return false;
        }
        let retry_later = Some(Instant::now() + self.length / 3);
        let lease = match store.read_lease(key).await {
            Ok(Some(lease)) => lease,
            Ok(None) => {
                self.next_check = None;
                return false;
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not read a stream's lease");
                self.next_check = retry_later;
                return false;
            }
        };
        self.next_check = retry_later;
        // A lease already ended was ended by a reader that has not stored its terminator yet
        // (the writer stored an event first, or that reader is gone): this one stores it.
        if !lease.is_ended() {
            let lapses_at = lease.until_ms.saturating_add(millis(CLOCK_SKEW));
            let now = unix_now_ms();
            if now <= lapses_at {
                self.next_check = Some(Instant::now() + Duration::from_millis(lapses_at - now + 1));
                return false;
            }
            match store.end_lease(key, lease.until_ms).await {
                Ok(true) => tracing::warn!(
                    stream = key.stream.as_str(),
                    lapsed_ms = now - lease.until_ms,
                    "ending a stream whose writer stopped renewing its lease"
                ),
                // Renewed since it was read: the writer is alive after all.
                Ok(false) => return false,
                Err(e) => {
                    tracing::warn!(error = %e, "could not end the lease of a stream");
                    return false;
                }
            }
        }
        let data = match terminator(store, key, &lease.request_ids).await {
            Ok(data) => data,
            Err(e) => {
                tracing::warn!(error = %e, "could not read a stream whose writer is gone");
                return false;
            }
        };
        match store
            .append_event_after(key, after, StoredEvent::final_message(data))
            .await
        {
            Ok(true) => {}
            // An event came first (the writer's, before it learnt that it lost, or another
            // reader's terminator): the caller reads it, and at its next look, tries again.
            Ok(false) => self.next_check = Some(Instant::now()),
            Err(e) => tracing::warn!(error = %e, "could not end a stream whose writer is gone"),
        }
        true
    }
}

/// The final event for a stream whose writer is gone: an error for each of `ids` without a
/// response in the stream (a batch of them if several, as only a 2025-03-26 batch POST has),
/// or one error with a `null` id if the lease kept no ids.
async fn terminator(
    store: &dyn SessionStore,
    key: &StreamKey,
    ids: &[Value],
) -> Result<String, StoreError> {
    let mut open = ids.to_vec();
    if open.len() > 1 {
        let answered = answered_ids(store, key).await?;
        open.retain(|id| !answered.contains(id));
    }
    let error = rmcp::model::ErrorData::internal_error(ABANDONED, None);
    let mut errors: Vec<Value> = open
        .iter()
        .map(|id| message::error_response(id, &error))
        .collect();
    Ok(match errors.len() {
        0 => message::error_response(&Value::Null, &error).to_string(),
        1 => errors.remove(0).to_string(),
        _ => Value::Array(errors).to_string(),
    })
}

/// The ids of the responses stored in the stream.
async fn answered_ids(store: &dyn SessionStore, key: &StreamKey) -> Result<Vec<Value>, StoreError> {
    let mut answered = Vec::new();
    let mut after = None;
    loop {
        let events = store.read_events(key, after, SCAN_BATCH).await?;
        let Some((last, _)) = events.last() else {
            return Ok(answered);
        };
        after = Some(*last);
        for (_, event) in events {
            let Ok(message) = serde_json::from_str::<Value>(&event.data) else {
                continue;
            };
            let is_response = message.get("method").is_none()
                && (message.get("result").is_some() || message.get("error").is_some());
            if let (true, Some(id)) = (is_response, message.get("id")) {
                answered.push(id.clone());
            }
        }
    }
}

/// A duration in whole milliseconds, as the store keeps times.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::store::{MemoryStore, SessionId, SessionRecord, StreamId, unix_now};

    async fn stream(store: &MemoryStore, ids: &[Value], length: Duration) -> StreamKey {
        let record = SessionRecord {
            id: SessionId::generate(),
            protocol_version: "2025-03-26".into(),
            client_capabilities: json!({}),
            client_info: json!({}),
            log_level: None,
            subscriptions: Default::default(),
            initialized: true,
            terminated: false,
            expires_at: unix_now() + 600,
            principal: None,
        };
        store.create_session(&record).await.unwrap();
        let key = StreamKey::new(record.id, StreamId::generate());
        let lease = StreamLease::new(unix_now_ms().saturating_sub(millis(length)), ids);
        store.open_stream(&key, &lease).await.unwrap();
        key
    }

    /// Ends the lease of `key` as a reader that found it lapsed does.
    async fn end_lease(store: &MemoryStore, key: &StreamKey) {
        let seen = store.read_lease(key).await.unwrap().expect("a lease");
        assert!(store.end_lease(key, seen.until_ms).await.unwrap());
    }

    #[tokio::test]
    async fn a_lapsed_lease_ends_the_stream_with_an_error_for_each_open_request() {
        let store = MemoryStore::new();
        // Lapsed 10 s ago: well past the allowed clock skew.
        let key = stream(
            &store,
            &[json!(1), json!("b"), json!(3)],
            Duration::from_secs(10),
        )
        .await;
        let answered = json!({ "jsonrpc": "2.0", "id": "b", "result": {} }).to_string();
        store
            .append_event(&key, StoredEvent::message(answered))
            .await
            .unwrap();
        let mut watch = LeaseWatch::resuming(Duration::from_secs(3));
        assert!(watch.end_if_lapsed(&store, &key, 1).await);
        let events = store.read_events(&key, Some(1), 10).await.unwrap();
        assert_eq!(events.len(), 1);
        assert!(events[0].1.last);
        let errors: Value = serde_json::from_str(&events[0].1.data).unwrap();
        let ids: Vec<&Value> = errors
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["id"])
            .collect();
        assert_eq!(ids, [&json!(1), &json!(3)]);
        assert_eq!(errors[0]["error"]["code"], -32603);
        assert_eq!(errors[0]["error"]["message"], ABANDONED);
        // Not due again at once, and a stale reader cannot add a second terminator.
        assert!(!watch.end_if_lapsed(&store, &key, 1).await);
        let mut late = LeaseWatch::resuming(Duration::from_secs(3));
        assert!(late.end_if_lapsed(&store, &key, 1).await);
        assert_eq!(store.read_events(&key, Some(1), 10).await.unwrap().len(), 1);
        // The lease is ended: the writer, were it only frozen, cannot renew it any more.
        let lease = store.read_lease(&key).await.unwrap().expect("a lease");
        assert!(lease.is_ended(), "{lease:?}");
        assert!(
            !store
                .renew_lease(&key, unix_now_ms() + 60_000)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_lease_renewed_after_it_was_read_is_not_ended() {
        let store = MemoryStore::new();
        let key = stream(&store, &[json!(4)], Duration::from_secs(10)).await;
        let seen = store.read_lease(&key).await.unwrap().expect("a lease");
        assert!(
            store
                .renew_lease(&key, unix_now_ms() + 60_000)
                .await
                .unwrap()
        );
        // What a reader that read the lapsed expiry just before the renewal would try.
        assert!(!store.end_lease(&key, seen.until_ms).await.unwrap());
        let mut watch = LeaseWatch::resuming(Duration::from_secs(3));
        assert!(!watch.end_if_lapsed(&store, &key, 0).await);
        assert!(
            store
                .read_events(&key, Some(0), 10)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn a_lease_ended_without_a_terminator_is_ended_by_the_next_reader() {
        let store = MemoryStore::new();
        let key = stream(&store, &[json!(5)], Duration::from_secs(10)).await;
        // A reader that ended the lease and died before storing its terminator.
        end_lease(&store, &key).await;
        let mut watch = LeaseWatch::resuming(Duration::from_secs(3));
        assert!(watch.end_if_lapsed(&store, &key, 0).await);
        let events = store.read_events(&key, Some(0), 10).await.unwrap();
        assert_eq!(events.len(), 1);
        let error: Value = serde_json::from_str(&events[0].1.data).unwrap();
        assert_eq!(error["id"], 5, "{error}");
    }

    #[tokio::test]
    async fn a_writer_whose_lease_was_ended_stops_renewing_and_is_told() {
        let store = Arc::new(MemoryStore::new());
        let key = stream(&store, &[json!(6)], Duration::ZERO).await;
        end_lease(&store, &key).await;
        let lost = CancellationToken::new();
        let _guard = keep(
            store.clone(),
            key.clone(),
            Duration::from_millis(300),
            lost.clone(),
        );
        // The first renewal, 100 ms in, finds the lease ended.
        tokio::time::timeout(Duration::from_secs(60), lost.cancelled())
            .await
            .expect("the writer learns that it lost");
        let lease = store.read_lease(&key).await.unwrap().expect("a lease");
        assert!(lease.is_ended(), "no renewal revived it: {lease:?}");
    }

    #[tokio::test]
    async fn a_live_lease_is_looked_at_again_when_it_would_lapse() {
        let store = MemoryStore::new();
        let key = stream(&store, &[json!(7)], Duration::ZERO).await;
        store
            .renew_lease(&key, unix_now_ms() + 60_000)
            .await
            .unwrap();
        let mut watch = LeaseWatch::resuming(Duration::from_secs(3));
        assert!(!watch.end_if_lapsed(&store, &key, 0).await);
        let next = watch.next_check().expect("a next look");
        assert!(next > Instant::now() + Duration::from_secs(59), "{next:?}");
        assert!(
            store
                .read_events(&key, Some(0), 10)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
