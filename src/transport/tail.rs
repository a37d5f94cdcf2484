//! An SSE body that follows one stream of the session store: it replays what is stored after
//! a position, then waits for more (woken in-process, or by the store's polling across
//! instances) until the stream's last event, a newer connection to the same stream, or the
//! connection's time limit.
//!
//! Every connection to a stream claims it by storing an empty marker event (the priming event
//! of a new stream, or a marker when a client resumes). A connection that meets a marker newer
//! than its own hands the stream over and ends, so no message goes out on two connections,
//! whichever instances serve them.
//!
//! A POST's stream whose writer is gone is ended by its reader (see [`super::lease`]).
//!
//! Waiting is cheap: a reader that keeps finding nothing tells the store how many looks in a
//! row came back empty, and a polling store waits longer each time (see
//! [`crate::store::DynamoStore::idle_poll`]); the first event resets it. A keep-alive comment
//! costs no read: the signal armed before the last read stays armed across it.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::McpService;
use super::lease::LeaseWatch;
use super::sse;
use crate::store::{ChangeSignal, EventSeq, SessionStore, StoredEvent, StreamKey, Topic};

const READ_BATCH: usize = 64;

/// Empty reads a resumed standalone stream starts from: enough for a polling store's longest
/// wait. Hosts reconnect to it whenever a connection reaches its time limit, mostly while
/// nothing happens; starting each connection from the shortest wait would cost a burst of
/// reads every time.
const RESUMED_IDLE: u32 = 16;

/// Follows a stream of the store.
pub(crate) struct Tail {
    store: Arc<dyn SessionStore>,
    key: StreamKey,
    after: Option<EventSeq>,
    /// The marker event this connection stored to claim the stream.
    claimed_at: EventSeq,
    /// Whether the marker is a priming event to send (a new stream), not just a claim.
    sends_priming: bool,
    pending: VecDeque<(EventSeq, StoredEvent)>,
    retry: Duration,
    keep_alive: Duration,
    deadline: Option<Instant>,
    /// Set by the handler of the POST this connection answers, to close it early.
    disconnect: Option<Arc<Notify>>,
    /// When the next keep-alive comment is due: an absolute time, because the store's own
    /// polling wakes this loop far more often than the keep-alive interval.
    next_keep_alive: Instant,
    /// When to ask whether a POST stream's writer is still there; `None` for the standalone
    /// stream, which every instance writes and no request's answer ends.
    lease: Option<LeaseWatch>,
    /// Armed before each read and kept until it fires (a change, or the store's next poll),
    /// so that waking for a keep-alive neither costs a read nor misses a change.
    changed: Option<ChangeSignal>,
    /// Reads in a row that found nothing new: the longer, the longer a polling store waits.
    empty_reads: u32,
    done: bool,
}

/// What ended a wait for news.
enum Woke {
    /// The stream may have changed (or the store's poll came due), or a lease check is due.
    Look,
    KeepAlive,
    /// The handler closed the connection early, or its time limit came.
    Close,
}

impl Tail {
    /// A new stream whose priming event (stored by the caller) is `priming`.
    pub fn opening(service: &McpService, key: StreamKey, priming: EventSeq) -> Self {
        let lease = LeaseWatch::opening(service.config.stream_lease);
        Self::new(service, key, priming.checked_sub(1), priming, true, lease)
    }

    /// A resumed stream: everything after `after`, on a connection that claimed the stream
    /// with the marker event `marker`.
    pub fn resuming(
        service: &McpService,
        key: StreamKey,
        after: EventSeq,
        marker: EventSeq,
    ) -> Self {
        let lease = LeaseWatch::resuming(service.config.stream_lease);
        let idle = key.stream.is_standalone();
        let mut tail = Self::new(service, key, Some(after), marker, false, lease);
        if idle {
            tail.empty_reads = RESUMED_IDLE;
        }
        tail
    }

    fn new(
        service: &McpService,
        key: StreamKey,
        after: Option<EventSeq>,
        claimed_at: EventSeq,
        sends_priming: bool,
        lease: LeaseWatch,
    ) -> Self {
        let config = &service.config;
        let lease = (!key.stream.is_standalone()).then_some(lease);
        Self {
            store: service.store.clone(),
            key,
            after,
            claimed_at,
            sends_priming,
            pending: VecDeque::new(),
            retry: config.sse_retry,
            keep_alive: config.keep_alive,
            deadline: config.max_stream_duration.map(|d| Instant::now() + d),
            disconnect: None,
            next_keep_alive: Instant::now() + config.keep_alive,
            lease,
            changed: None,
            empty_reads: 0,
            done: false,
        }
    }

    /// Lets the request's handler close this connection early (SSE polling).
    pub(crate) fn with_disconnect(mut self, signal: Arc<Notify>) -> Self {
        self.disconnect = Some(signal);
        self
    }

    pub fn into_body(self) -> Body {
        let frames = futures_util::stream::unfold(self, |mut tail| async move {
            let frame = tail.next_frame().await?;
            Some((Ok::<Bytes, Infallible>(frame), tail))
        });
        Body::from_stream(frames)
    }

    /// The next SSE frame, or `None` when the stream is over.
    async fn next_frame(&mut self) -> Option<Bytes> {
        loop {
            if self.done {
                return None;
            }
            if let Some((seq, event)) = self.pending.pop_front() {
                if let Some(frame) = self.frame(seq, event) {
                    self.next_keep_alive = Instant::now() + self.keep_alive;
                    return Some(frame);
                }
                continue;
            }
            if self.changed.is_none() {
                let topic = Topic::Stream(self.key.clone());
                self.changed = Some(self.store.subscribe_idle(&topic, self.empty_reads));
                match self
                    .store
                    .read_events(&self.key, self.after, READ_BATCH)
                    .await
                {
                    Ok(events) if !events.is_empty() => {
                        // Markers of connections claiming the stream are not news: after a
                        // batch of only those, this read saw the end, and the signal armed
                        // before it stays armed, as after a read that found nothing.
                        let news = events.iter().any(|(_, e)| e.last || !e.data.is_empty());
                        if news || events.len() == READ_BATCH {
                            self.changed = None;
                        }
                        if news {
                            self.empty_reads = 0;
                        } else {
                            self.empty_reads = self.empty_reads.saturating_add(1);
                        }
                        self.pending.extend(events);
                        continue;
                    }
                    Ok(_) => {
                        self.empty_reads = self.empty_reads.saturating_add(1);
                        if let (Some(lease), Some(after)) = (&mut self.lease, self.after)
                            && lease.end_if_lapsed(&*self.store, &self.key, after).await
                        {
                            self.changed = None;
                            continue;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "stream read failed; closing so the client resumes");
                        self.done = true;
                        return Some(sse::retry(self.retry.as_millis() as u64));
                    }
                }
            }
            let disconnect = self.disconnect.clone();
            let disconnected = async move {
                match disconnect {
                    Some(signal) => signal.notified().await,
                    None => std::future::pending().await,
                }
            };
            let until_deadline = self.deadline.map_or(Duration::MAX, |d| {
                d.saturating_duration_since(Instant::now())
            });
            let lease_check = self.lease.as_ref().and_then(LeaseWatch::next_check);
            let until_lease_check = lease_check.map_or(Duration::MAX, |at| {
                at.saturating_duration_since(Instant::now())
            });
            let Some(changed) = self.changed.as_mut() else {
                continue;
            };
            let woke = tokio::select! {
                () = changed => Woke::Look,
                () = disconnected => Woke::Close,
                () = tokio::time::sleep_until(self.next_keep_alive) => Woke::KeepAlive,
                // A lease check is a read: it follows one that finds nothing new.
                () = tokio::time::sleep(until_lease_check) => Woke::Look,
                // SSE polling: close the connection, not the stream; the client resumes.
                () = tokio::time::sleep(until_deadline) => Woke::Close,
            };
            match woke {
                Woke::Look => self.changed = None,
                Woke::KeepAlive => {
                    self.next_keep_alive = Instant::now() + self.keep_alive;
                    return Some(sse::keep_alive());
                }
                Woke::Close => {
                    self.done = true;
                    return Some(sse::retry(self.retry.as_millis() as u64));
                }
            }
        }
    }

    /// Frames one stored event; `None` for events that produce no frame.
    fn frame(&mut self, seq: EventSeq, event: StoredEvent) -> Option<Bytes> {
        self.after = Some(seq);
        let id = self.key.event_id(seq);
        if event.last {
            self.done = true;
            return (!event.data.is_empty()).then(|| sse::event(&id, &event.data));
        }
        if event.data.is_empty() {
            // A marker: ours, an older connection's (skipped), or a newer connection's, which
            // now owns the stream.
            if seq == self.claimed_at && self.sends_priming {
                return Some(sse::priming(&id, Some(self.retry.as_millis() as u64)));
            }
            if seq > self.claimed_at {
                self.done = true;
            }
            return None;
        }
        Some(sse::event(&id, &event.data))
    }
}
