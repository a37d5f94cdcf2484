//! The session store: everything a legacy (session-based) MCP session needs between two HTTP
//! requests.
//!
//! On Lambda, each request of one session may land on a different instance, so no request may
//! depend on state that only the process that served an earlier one holds. The [`SessionStore`]
//! trait is that state's only home. It is shaped for a key-value store with TTL and conditional
//! writes (DynamoDB): every method touches one session's items, writes that two instances could
//! race on are conditional, and waiting is expressed as a [`ChangeSignal`] that an implementation
//! may satisfy by an in-process wake-up, by polling, or both.

mod config;
pub mod dynamodb;
mod lease;
mod memory;
mod records;
mod signal;
pub mod tasks;

pub use config::{StoreArgs, StoreConfigError, StoreKind};
pub use dynamodb::DynamoStore;
pub use lease::StreamLease;
pub use memory::MemoryStore;
pub use records::{
    EventSeq, SessionId, SessionRecord, SessionUpdate, StoredEvent, StreamId, StreamKey, unix_now,
    unix_now_ms,
};
pub use signal::{ChangeSignal, Topic};
pub use tasks::{MAX_TASKS_PER_OWNER, TaskId, TaskRecord, TaskStore};

use async_trait::async_trait;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional create found an item already there.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// The session is unknown, expired or terminated.
    #[error("session not found")]
    SessionNotFound,
    /// The item is larger than the backend accepts.
    #[error("message of {size} bytes exceeds the store's limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    /// A bound on how many items are held is reached (say, an owner's live tasks): the
    /// text says which, for the caller.
    #[error("{0}")]
    Full(String),
    /// The backend failed (network, throttling, permissions).
    #[error("session store backend error: {0}")]
    Backend(String),
}

/// The store of legacy MCP sessions, their streams' events and the client's replies to
/// server-to-client requests.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Creates a session; fails with [`StoreError::AlreadyExists`] if the id is taken.
    async fn create_session(&self, record: &SessionRecord) -> Result<(), StoreError>;

    /// Loads a session. Expired sessions read as `None`; terminated ones are returned with
    /// `terminated` set (their other fields may be gone), so the caller can tell them apart.
    async fn load_session(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError>;

    /// Applies `update` to a live session; [`StoreError::SessionNotFound`] if it is missing,
    /// expired or terminated.
    async fn update_session(&self, id: &SessionId, update: SessionUpdate)
    -> Result<(), StoreError>;

    /// Marks a session terminated. Returns `true` if this call ended it, `false` if it was
    /// already terminated; [`StoreError::SessionNotFound`] if it never existed or expired.
    async fn terminate_session(&self, id: &SessionId) -> Result<bool, StoreError>;

    /// Appends one event to a stream and returns its sequence number, which is greater than
    /// every earlier one of that stream. The first event of a stream is its priming event.
    async fn append_event(
        &self,
        key: &StreamKey,
        event: StoredEvent,
    ) -> Result<EventSeq, StoreError>;

    /// Reads up to `limit` events of a stream with a sequence number greater than `after`,
    /// in order. `after = None` reads from the start. A store that knows cheaply that the
    /// stream's session is gone (ended, expired, evicted) answers
    /// [`StoreError::SessionNotFound`], and a reader waiting on the stream then stops.
    async fn read_events(
        &self,
        key: &StreamKey,
        after: Option<EventSeq>,
        limit: usize,
    ) -> Result<Vec<(EventSeq, StoredEvent)>, StoreError>;

    /// Stores the priming event of a POST's new stream together with its writer's lease (see
    /// [`StreamLease`]), and returns the event's sequence number. A store that keeps no leases
    /// stores the priming event alone.
    async fn open_stream(
        &self,
        key: &StreamKey,
        lease: &StreamLease,
    ) -> Result<EventSeq, StoreError> {
        let _ = lease;
        self.append_event(key, StoredEvent::priming()).await
    }

    /// Moves the lease of a stream opened by [`SessionStore::open_stream`] forward to
    /// `until_ms`, if the stream is still its writer's. Returns `false`, renewing nothing, once
    /// a reader has ended the lease ([`SessionStore::end_lease`]) or when the stream has no
    /// lease (never had one, or is gone): the writer has lost the stream, and what it stores
    /// from then on is never delivered. A store that keeps no leases answers `true`.
    async fn renew_lease(&self, key: &StreamKey, until_ms: u64) -> Result<bool, StoreError> {
        let _ = (key, until_ms);
        Ok(true)
    }

    /// Ends the lease of a stream whose writer seems gone, if its expiry is still `until_ms`
    /// (what the caller read and found lapsed) or it is already ended; afterwards every
    /// renewal fails, and the lease reads as ended ([`StreamLease::is_ended`]). Returns
    /// whether the lease is ended: `false` if the writer renewed it since it was read (the
    /// writer is alive) or the stream has no lease. A reader ends the lease before storing the
    /// stream's terminator, so the writer learns at its next renewal that it lost. A store
    /// that keeps leases must implement it; the default ends nothing.
    async fn end_lease(&self, key: &StreamKey, until_ms: u64) -> Result<bool, StoreError> {
        let _ = (key, until_ms);
        Ok(false)
    }

    /// The stream's lease, or `None` if it has none (the standalone stream, a stream opened by
    /// an older version, a store that keeps no leases).
    async fn read_lease(&self, key: &StreamKey) -> Result<Option<StreamLease>, StoreError> {
        let _ = key;
        Ok(None)
    }

    /// Appends `event` as the event right after `after`, only if no event follows `after`
    /// yet; returns whether it was stored. A reader ends a stream whose writer is gone this
    /// way: of two readers racing, one stores its terminator and the other finds it, and an
    /// event the writer stores first wins over the reader's. A store that keeps leases must
    /// implement it; the default stores nothing.
    async fn append_event_after(
        &self,
        key: &StreamKey,
        after: EventSeq,
        event: StoredEvent,
    ) -> Result<bool, StoreError> {
        let _ = (key, after, event);
        Ok(false)
    }

    /// Whether the stream has an event with exactly this sequence number (used to validate a
    /// client's `Last-Event-ID`).
    async fn has_event(&self, key: &StreamKey, seq: EventSeq) -> Result<bool, StoreError>;

    /// Records the client's reply to a server-to-client request (or a cancellation, under a
    /// key of the caller's choosing). The first write wins; returns `false` for a duplicate.
    async fn put_reply(
        &self,
        session: &SessionId,
        key: &str,
        message: &str,
    ) -> Result<bool, StoreError>;

    /// Reads a reply recorded by [`SessionStore::put_reply`].
    async fn get_reply(&self, session: &SessionId, key: &str)
    -> Result<Option<String>, StoreError>;

    /// Forgets the reply (or cancellation) under `key`, if any, so that the key can be
    /// recorded afresh: a request's cancellation mark is removed when the request ends. A
    /// missing key or session is no error. The default forgets nothing: the reply stays until
    /// its session ends.
    async fn remove_reply(&self, session: &SessionId, key: &str) -> Result<(), StoreError> {
        let _ = (session, key);
        Ok(())
    }

    /// The secret `name` that every instance on this store shares, created on first use by
    /// whichever instance asks first (atomically: all instances get the same value), or
    /// `None` for a store that no other process shares (the caller makes its own). It never
    /// expires. The key that seals `requestState` lives here when no key is configured.
    async fn shared_secret(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let _ = name;
        Ok(None)
    }

    /// A signal that resolves when `topic` may have changed. Create it *before* reading, then
    /// await it only if the read found nothing new: a change between the two still wakes it.
    fn subscribe(&self, topic: &Topic) -> ChangeSignal;

    /// [`SessionStore::subscribe`] for a reader whose last `empty_reads` reads in a row found
    /// nothing new: a store that polls waits longer before resolving without a change, the
    /// longer nothing arrives (see [`DynamoStore::idle_poll`]), so that an idle reader costs a
    /// few reads a minute. A change made through this store object still wakes it at once.
    fn subscribe_idle(&self, topic: &Topic, empty_reads: u32) -> ChangeSignal {
        let _ = empty_reads;
        self.subscribe(topic)
    }

    /// How often [`SessionStore::subscribe`] signals resolve without a change, because writes
    /// by other instances cannot announce themselves; `None` for a store whose signals are
    /// purely in-process. Callers that wait for something rare (a cancellation) use it to
    /// read less often than a streaming reader does.
    fn poll_interval(&self) -> Option<std::time::Duration> {
        None
    }

    /// Where this store keeps MCP tasks, or `None` for a store that keeps none (the server
    /// then offers no tasks).
    fn tasks(&self) -> Option<&dyn TaskStore> {
        None
    }
}
