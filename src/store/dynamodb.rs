//! The DynamoDB [`SessionStore`]: sessions that survive scale-out, for Lambda.
//!
//! Any instance can serve any request of a session: everything lives in one table, races
//! between instances are settled by conditional writes, and a reader waiting for a change is
//! woken in-process when the writer is on its own instance, or else finds the change by
//! polling while (and only while) it waits: every `poll_interval` at first, then, while its
//! looks find nothing, at doubling intervals up to `max_poll_interval` (see
//! [`DynamoStore::idle_poll`]).
//!
//! # Table layout
//!
//! One table, on-demand capacity, string keys `pk` (partition) and `sk` (sort), TTL on the
//! number attribute `expires_at` of every item. One partition per session:
//!
//! | `pk`        | `sk`                           | other attributes                        |
//! |-------------|--------------------------------|-----------------------------------------|
//! | `S#<sid>`   | `SESSION`                      | `protocol_version`, `client_capabilities` and `client_info` (JSON text), `log_level`, `subscriptions` (string set, absent when empty), `initialized`, `terminated`, `terminated_by`, `writer`, `expires_at` |
//! | `S#<sid>`   | `E#<stream>#<seq, 20 digits>`  | `data` (the JSON-RPC message, empty for a priming event or marker), `last`, `writer`, `expires_at`; on a POST stream's priming event (number 0) also its lease: `lease_until` (ms since the epoch) and `request_ids` (JSON) |
//! | `S#<sid>`   | `R#<reply key>`                | `message`, `expires_at`                 |
//! | `K#<name>`  | `SECRET`                       | `secret` (64 hex digits), `created_at`; no `expires_at`: never expires |
//! | `T#<task>`  | `TASK`                         | `owner`, `version`, `data` (the task's JSON), `expires_at_ms`, `writer`, `expires_at` (see `task`) |
//! | `TO#<owner>` | `TASKS`                        | `live` (a map of the owner's task ids to their expiry in ms), `version`, `writer`, `expires_at` (see `task_owner`: creating a task costs 1 R and 1 W more, to count the owner's live tasks, and 1 R and 1 W more again to give the place back if the task write fails; 2025-11-25 `tasks/list` reads it once a page, then each listed task) |
//!
//! A `K#` item holds a secret every instance on the table shares, such as the key that seals
//! `requestState` (see [`SessionStore::shared_secret`]); the first instance that needs it
//! creates it with a conditional write.
//!
//! Zero-padded sequence numbers make a stream one contiguous, ordered key range, so a `Query`
//! with `sk BETWEEN E#<stream>#<from> AND E#<stream>#~` replays it in pages and one with
//! `begins_with` descending, `Limit 1`, finds its last number. Reply keys over 256 bytes are
//! stored as `R#sha256:<hex>` (the client chooses request ids; sort keys stop at 1 KB).
//!
//! DynamoDB deletes expired items lazily (within days), so every read checks `expires_at`
//! itself. Events and replies expire `DEFAULT_ITEM_GRACE` (a day) after
//! their session's expiry as it stood when they were written; the session item's own
//! `expires_at` slides forward with use.
//!
//! `writer` (and `terminated_by`) hold a random token per write, so that a conditional write
//! the SDK retried after it had in fact succeeded recognises its own item instead of
//! reporting a lost race.
//!
//! Writes two instances could race on are conditional: creating a session
//! (`attribute_not_exists`), changing a live one (not terminated, not expired), terminating
//! (the first terminator wins and is told so), the first reply (`attribute_not_exists(sk)`),
//! and every event (`attribute_not_exists(sk)`, so none is overwritten; see `stream` for how
//! sequence numbers are claimed). A message that would make its item larger than
//! [`MAX_ITEM_BYTES`] (DynamoDB's 400 KB, with a margin) is refused with
//! [`StoreError::TooLarge`], naming the largest message that item could carry.
//!
//! Reads that decide correctness are strongly consistent: loading a session, reading and
//! checking events, reading replies. Appends and replies check that their session is live,
//! using what this instance saw within the last `DEFAULT_LIVENESS_CACHE`
//! (1 s; `load_session` fills it), so a burst of events costs one session read, not one each.
//!
//! # What each MCP operation costs
//!
//! Counted from the transport (`src/transport`) with the default settings, and pinned by the
//! `operations_cost_what_the_docs_say` test (`tests/store_contract.rs`) where the count does
//! not depend on timing.
//! R = one strongly consistent read request (`GetItem`, or one `Query` page): 1 read unit per
//! 4 KB read, at least 1. W = one write request (`PutItem`, `UpdateItem`, `DeleteItem`): 1
//! write unit per KB written, also when its condition fails. `d` is how long the operation runs or waits, `p`
//! the poll interval (100 ms). Every request in a session starts by loading it (the "load"
//! below); one request per half session TTL also extends it (+1 W).
//!
//! | operation (legacy session)             | reads                                                   | writes |
//! |----------------------------------------|---------------------------------------------------------|--------|
//! | `initialize`                           | 0                                                       | 1: create |
//! | `notifications/initialized`            | 1: load                                                 | 1: update |
//! | `tools/call` answered as JSON          | 1: load; up to 1 + d/p: watch for cancellation          | 0 |
//! | `tools/call` streaming N notifications | 1: load; 1 + d/p: watch for cancellation; 1 per further second: session still live; 1 to 2N + 3 + d/p: the reader's queries, one per wake-up and one finding nothing before each wait; from d = L on, 1 per 2L/3 + 1 s: the lease, when the reader finds nothing new | N + 2: priming (carrying the lease), N events, response; 1 per L/3 of d: lease renewals |
//! | resume (`GET` + `Last-Event-ID`)       | 1: load; 1: the resumed event; 1: the stream's last number; 1 per 64 events (or 1 MB) replayed; d/p while another instance still writes the stream; 1 the first time it finds nothing new, then 1 per 2L/3 + 1 s: the lease | 1: marker claiming the stream (none if the resumed event was the last) |
//! | resume of a stream whose writer died   | as a resume, then 1: the lapsed lease; 1: the query that reads the terminator (for a batch: 1 per 64 events, to find the requests answered) | 1: marker; 1: the lease ended (a conditional `UpdateItem`); 1: the terminator, a JSON-RPC error (+1 failed, if another reader stored one first) |
//! | standalone `GET` stream                | 1: load; 1: the stream's last number (none on the instance that wrote it last; if another did since, the failed write below costs this query after all); d/p for as long as it is open | 1: priming (+1 failed, see left) |
//! | server-to-client request round trip, within a streaming `tools/call` | 1 + d/p: waiting for the reply; 1: load by the reply's POST (any instance); 1: the reader's query | 2: request event, reply |
//! | `notifications/cancelled`              | 1: load                                                 | 1: recorded like a reply (3 if a mark for the id is there: the failed put, a `DeleteItem`, the put); +1 `DeleteItem` of the mark when the cancelled request ends |
//! | `DELETE`                               | 0 (1 if the session is unknown)                         | 1: conditional update, also when already ended |
//!
//! Waiting is what costs. A stream reader that finds nothing waits p, then twice as long after
//! each look that finds nothing, up to P = `--store-poll-max-ms` (10 s), and starts again at p
//! when something arrives: so d/p above is, for a reader idle that long, 8 reads in its first
//! 13 s and then 1 per P (6 a minute, 360 an hour instead of 36,000). A resumed standalone
//! stream starts at P: hosts reconnect to it at every connection's time limit, so each
//! reconnection costs its 3 or 4 reads (the resume row) and no burst: at most 10 in the minute
//! of a reconnection. An event another instance writes after an
//! idle spell reaches the reader up to P later. A running tool call
//! looks for a cancellation 250 ms after it starts and then once a second. A longer
//! `--store-poll-ms` or `--store-poll-max-ms` trades latency across instances for fewer
//! reads; wake-ups within one instance are immediate either way.
//!
//! Leases (L = `--stream-lease-secs`, default 30 s; see `transport::lease`) cost little by
//! comparison: a POST answered over SSE renews its lease every L/3, 6 `UpdateItem`s a minute
//! while it runs, each of 1 write unit (2 if the POST's request ids fill most of the 1 KiB a
//! lease keeps: an update is billed by the whole item); a reader finding nothing new reads the
//! lease at most once per 2L/3 + 1 s, under 3 `GetItem`s a minute.

mod cache;
mod calls;
mod error;
mod item;
mod lease;
mod reply;
mod secret;
mod session;
mod stream;
mod table;
mod task;
mod task_owner;

pub use calls::CallCounts;
pub use item::MAX_ITEM_BYTES;
pub use table::create_table;

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;

use super::lease::StreamLease;
use super::records::{EventSeq, SessionId, SessionRecord, SessionUpdate, StoredEvent, StreamKey};
use super::signal::{ChangeSignal, Topic, Wakeups};
use super::{SessionStore, StoreError};
use cache::{Liveness, NextSeq};
use calls::Calls;

/// How often a waiting reader polls by default.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(100);
/// The longest a reader that keeps finding nothing waits between polls, by default.
pub const DEFAULT_MAX_POLL_INTERVAL: Duration = Duration::from_secs(10);
/// How long a session seen live is trusted to be, before an append or reply checks again.
pub(crate) const DEFAULT_LIVENESS_CACHE: Duration = Duration::from_secs(1);
/// How long events and replies outlive their session's expiry.
pub(crate) const DEFAULT_ITEM_GRACE: Duration = Duration::from_secs(24 * 3600);

/// Sessions, streams and replies in one DynamoDB table (layout in the module docs).
#[derive(Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
    poll_interval: Duration,
    max_poll_interval: Duration,
    item_grace: Duration,
    liveness: Liveness,
    next_seq: NextSeq,
    wakeups: Wakeups,
    calls: Calls,
}

impl DynamoStore {
    /// A store on `table`, with default settings. Makes no request.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            poll_interval: DEFAULT_POLL_INTERVAL,
            max_poll_interval: DEFAULT_MAX_POLL_INTERVAL,
            item_grace: DEFAULT_ITEM_GRACE,
            liveness: Liveness::new(DEFAULT_LIVENESS_CACHE),
            next_seq: NextSeq::default(),
            wakeups: Wakeups::default(),
            calls: Calls::default(),
        }
    }

    /// How often a waiting reader looks for changes made by other instances.
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// The longest a reader that keeps finding nothing waits between looks.
    pub fn with_max_poll_interval(mut self, interval: Duration) -> Self {
        self.max_poll_interval = interval;
        self
    }

    /// How long a reader whose last `empty_reads` looks found nothing waits before the next:
    /// the poll interval, doubled per empty look, at most the longest poll interval.
    pub fn idle_poll(&self, empty_reads: u32) -> Duration {
        let doubled = self.poll_interval.saturating_mul(1 << empty_reads.min(20));
        doubled.min(self.max_poll_interval).max(self.poll_interval)
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn poll_interval(&self) -> Duration {
        self.poll_interval
    }

    /// The requests this store has sent so far.
    pub fn calls(&self) -> CallCounts {
        self.calls.snapshot()
    }
}

/// A DynamoDB client configured the standard AWS way ([`crate::aws::load_config`]), without
/// network I/O: the region must come from `AWS_REGION` (set on Lambda) or the profile, and
/// credentials load on first use.
pub(crate) async fn client_from_env() -> Result<Client, StoreError> {
    let config = crate::aws::load_config().await;
    if config.region().is_none() {
        return Err(StoreError::Backend(
            "no AWS region: set AWS_REGION (or a region in the AWS profile)".to_owned(),
        ));
    }
    Ok(Client::new(&config))
}

#[async_trait]
impl SessionStore for DynamoStore {
    async fn create_session(&self, record: &SessionRecord) -> Result<(), StoreError> {
        self.put_session(record).await
    }

    async fn load_session(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        self.get_session(id).await
    }

    async fn update_session(
        &self,
        id: &SessionId,
        update: SessionUpdate,
    ) -> Result<(), StoreError> {
        self.change_session(id, update).await
    }

    async fn terminate_session(&self, id: &SessionId) -> Result<bool, StoreError> {
        self.end_session(id).await
    }

    async fn append_event(
        &self,
        key: &StreamKey,
        event: StoredEvent,
    ) -> Result<EventSeq, StoreError> {
        self.append(key, event).await
    }

    async fn read_events(
        &self,
        key: &StreamKey,
        after: Option<EventSeq>,
        limit: usize,
    ) -> Result<Vec<(EventSeq, StoredEvent)>, StoreError> {
        self.read(key, after, limit).await
    }

    async fn has_event(&self, key: &StreamKey, seq: EventSeq) -> Result<bool, StoreError> {
        self.event_exists(key, seq).await
    }

    async fn open_stream(
        &self,
        key: &StreamKey,
        lease: &StreamLease,
    ) -> Result<EventSeq, StoreError> {
        self.open(key, lease).await
    }

    async fn renew_lease(&self, key: &StreamKey, until_ms: u64) -> Result<bool, StoreError> {
        self.renew(key, until_ms).await
    }

    async fn end_lease(&self, key: &StreamKey, until_ms: u64) -> Result<bool, StoreError> {
        self.end(key, until_ms).await
    }

    async fn read_lease(&self, key: &StreamKey) -> Result<Option<StreamLease>, StoreError> {
        self.lease(key).await
    }

    async fn append_event_after(
        &self,
        key: &StreamKey,
        after: EventSeq,
        event: StoredEvent,
    ) -> Result<bool, StoreError> {
        self.append_after(key, after, event).await
    }

    async fn put_reply(
        &self,
        session: &SessionId,
        key: &str,
        message: &str,
    ) -> Result<bool, StoreError> {
        self.put_reply_item(session, key, message).await
    }

    async fn get_reply(
        &self,
        session: &SessionId,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        self.get_reply_item(session, key).await
    }

    async fn remove_reply(&self, session: &SessionId, key: &str) -> Result<(), StoreError> {
        self.remove_reply_item(session, key).await
    }

    async fn shared_secret(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.shared_secret_item(name).await.map(Some)
    }

    /// Resolves on an in-process change (a write through this store object), or after the poll
    /// interval, since writes by other instances announce nothing.
    fn subscribe(&self, topic: &Topic) -> ChangeSignal {
        self.subscribe_idle(topic, 0)
    }

    /// Like `subscribe`, polling after [`DynamoStore::idle_poll`] of `empty_reads`.
    fn subscribe_idle(&self, topic: &Topic, empty_reads: u32) -> ChangeSignal {
        let local = self.wakeups.subscribe(topic);
        let poll = self.idle_poll(empty_reads);
        Box::pin(async move {
            tokio::select! {
                () = local => {}
                () = tokio::time::sleep(poll) => {}
            }
        })
    }

    fn poll_interval(&self) -> Option<Duration> {
        Some(self.poll_interval)
    }

    fn tasks(&self) -> Option<&dyn super::TaskStore> {
        Some(self)
    }
}
