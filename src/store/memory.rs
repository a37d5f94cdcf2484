//! The in-memory [`SessionStore`]: one process, no polling, for local runs and tests.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::limited_log::RateLimitedWarning;

use super::lease::StreamLease;
use super::records::{
    EventSeq, SessionId, SessionRecord, SessionUpdate, StoredEvent, StreamKey, unix_now,
};
use super::signal::{ChangeSignal, Topic, Wakeups};
use super::{SessionStore, StoreError};

/// Sessions, streams and replies in process memory, with in-process wake-ups.
///
/// Expired sessions are purged lazily, together with their streams and replies, whenever a
/// session is created; a terminated session's streams and replies go at once. A completed
/// stream (its final response stored) stays readable for 30 s, and at most 512 of them are
/// kept, so memory is bounded by the streams in flight rather than by the requests served.
///
/// Anyone who can reach the endpoint can create sessions, so their number is capped
/// (`DEFAULT_MAX_SESSIONS`): a new session beyond the
/// cap evicts the one closest to expiry, which with the sliding TTL is the one idle longest.
/// Its client gets 404 and, as the specification says, initializes again. A flood thus costs
/// old idle sessions, never the server's memory. Tombstones of ended sessions and the replies a
/// session keeps are capped too.
#[derive(Debug)]
pub struct MemoryStore {
    state: Mutex<State>,
    wakeups: Wakeups,
    max_sessions: usize,
    evictions: RateLimitedWarning,
    tasks: super::tasks::MemoryTasks,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            state: Mutex::default(),
            wakeups: Wakeups::default(),
            max_sessions: DEFAULT_MAX_SESSIONS,
            evictions: RateLimitedWarning::new(Duration::from_secs(10)),
            tasks: Default::default(),
        }
    }
}

/// The most live sessions one memory store keeps (and the most tombstones of ended ones).
pub(crate) const DEFAULT_MAX_SESSIONS: usize = 10_000;

/// The most replies (client answers and cancellation marks) one session keeps; a new one
/// beyond it pushes out the oldest, which was read long ago. Real sessions have a handful in
/// flight.
pub(crate) const MAX_REPLIES_PER_SESSION: usize = 1_000;

#[derive(Debug, Default)]
struct State {
    sessions: HashMap<SessionId, SessionRecord>,
    streams: HashMap<StreamKey, Stream>,
    replies: HashMap<SessionId, Replies>,
    /// Streams whose last event is stored, oldest first: kept a little while for a client
    /// that resumes after a cut, then freed.
    completed: VecDeque<(Instant, StreamKey)>,
    /// Ended sessions, by id, until they would have expired: a few bytes each instead of a
    /// whole record, so a busy server does not hold every session it ever ended.
    terminated: HashMap<SessionId, u64>,
    last_purge: Option<Instant>,
    /// Streams dropped with their session whose readers have not been woken yet.
    orphaned: Vec<StreamKey>,
}

/// How often expired sessions are looked for (on session creation).
const PURGE_EVERY: Duration = Duration::from_secs(1);

/// How long a completed stream stays readable for a resuming client.
const COMPLETED_GRACE: Duration = Duration::from_secs(30);
/// The most completed streams kept at once, whatever their age: memory stays bounded under
/// any load.
const COMPLETED_KEPT: usize = 512;

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A store that keeps at most `max` live sessions (at least one), for tests of the cap.
    #[cfg(test)]
    pub(crate) fn with_max_sessions(max: usize) -> Self {
        Self {
            max_sessions: max.max(1),
            ..Self::default()
        }
    }

    /// Wakes the readers of streams dropped with their session: each reads again, finds the
    /// session gone, and ends instead of waiting for events that will never come.
    fn wake_orphans(&self) {
        let orphaned = std::mem::take(&mut self.state().orphaned);
        for key in orphaned {
            self.wakeups.notify(&Topic::Stream(key));
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One stream's events, in order (an event's number is its index), and its writer's lease.
#[derive(Debug, Default)]
struct Stream {
    events: Vec<StoredEvent>,
    lease: Option<StreamLease>,
}

/// One session's replies, oldest first.
#[derive(Debug, Default)]
struct Replies {
    by_key: HashMap<String, String>,
    order: VecDeque<String>,
}

impl Replies {
    /// Keeps `message` under `key` unless the key is taken (first reply wins); returns
    /// whether it was kept.
    fn insert(&mut self, key: &str, message: &str) -> bool {
        if self.by_key.contains_key(key) {
            return false;
        }
        while self.order.len() >= MAX_REPLIES_PER_SESSION {
            if let Some(oldest) = self.order.pop_front() {
                self.by_key.remove(&oldest);
            }
        }
        self.order.push_back(key.to_owned());
        self.by_key.insert(key.to_owned(), message.to_owned());
        true
    }

    /// Forgets the reply under `key`, if any.
    fn remove(&mut self, key: &str) {
        if self.by_key.remove(key).is_some() {
            self.order.retain(|k| k != key);
        }
    }
}

impl State {
    /// Stores `event` at the end of a live session's stream and returns its number; with
    /// `only_after`, only if the stream ends at that number (`None` if it does not).
    fn push_event(
        &mut self,
        key: &StreamKey,
        event: StoredEvent,
        only_after: Option<EventSeq>,
    ) -> Result<Option<EventSeq>, StoreError> {
        self.live_session(&key.session)?;
        let last = event.last;
        let stream = self.streams.entry(key.clone()).or_default();
        let next = stream.events.len() as EventSeq;
        if only_after.is_some_and(|after| after.checked_add(1) != Some(next)) {
            return Ok(None);
        }
        stream.events.push(event);
        if last {
            self.completed.push_back((Instant::now(), key.clone()));
        }
        self.forget_old_streams();
        Ok(Some(next))
    }

    /// Frees completed streams past their grace period or beyond the kept count.
    fn forget_old_streams(&mut self) {
        while let Some((at, _)) = self.completed.front() {
            if self.completed.len() <= COMPLETED_KEPT && at.elapsed() < COMPLETED_GRACE {
                break;
            }
            if let Some((_, key)) = self.completed.pop_front() {
                self.streams.remove(&key);
            }
        }
    }

    fn live_session(&mut self, id: &SessionId) -> Result<&mut SessionRecord, StoreError> {
        let now = unix_now();
        match self.sessions.get_mut(id) {
            Some(record) if record.is_live(now) => Ok(record),
            _ => Err(StoreError::SessionNotFound),
        }
    }

    /// Makes room for one more live session and one more tombstone under `max`; returns how
    /// many live sessions were evicted.
    fn make_room(&mut self, max: usize) -> usize {
        let mut evicted = 0;
        while self.sessions.len() >= max {
            let Some(idlest) = self
                .sessions
                .values()
                .min_by_key(|r| r.expires_at)
                .map(|r| r.id.clone())
            else {
                break;
            };
            self.forget_session(&idlest);
            evicted += 1;
        }
        while self.terminated.len() >= max {
            let Some(oldest) = (self.terminated.iter())
                .min_by_key(|(_, expires_at)| **expires_at)
                .map(|(id, _)| id.clone())
            else {
                break;
            };
            self.terminated.remove(&oldest);
        }
        evicted
    }

    /// Drops a session with everything it holds. Its streams' readers are woken later (see
    /// [`MemoryStore::wake_orphans`]) to find the session gone and end.
    fn forget_session(&mut self, id: &SessionId) {
        self.sessions.remove(id);
        self.replies.remove(id);
        let orphaned = &mut self.orphaned;
        self.streams.retain(|key, _| {
            let keep = &key.session != id;
            if !keep {
                orphaned.push(key.clone());
            }
            keep
        });
    }

    /// Whether `id` names a session that is live (not ended, not expired).
    fn is_live(&self, id: &SessionId) -> bool {
        let now = unix_now();
        self.sessions.get(id).is_some_and(|r| r.is_live(now))
    }

    fn purge_expired(&mut self) {
        if self.last_purge.is_some_and(|at| at.elapsed() < PURGE_EVERY) {
            return;
        }
        self.last_purge = Some(Instant::now());
        let now = unix_now();
        self.terminated.retain(|_, expires_at| *expires_at > now);
        let expired: std::collections::HashSet<SessionId> = self
            .sessions
            .values()
            .filter(|r| r.is_expired(now))
            .map(|r| r.id.clone())
            .collect();
        for id in &expired {
            self.sessions.remove(id);
            self.replies.remove(id);
        }
        if !expired.is_empty() {
            let orphaned = &mut self.orphaned;
            self.streams.retain(|key, _| {
                let keep = !expired.contains(&key.session);
                if !keep {
                    orphaned.push(key.clone());
                }
                keep
            });
        }
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn create_session(&self, record: &SessionRecord) -> Result<(), StoreError> {
        let mut state = self.state();
        state.purge_expired();
        if state.sessions.contains_key(&record.id) || state.terminated.contains_key(&record.id) {
            return Err(StoreError::AlreadyExists(format!("session {}", record.id)));
        }
        let evicted = state.make_room(self.max_sessions);
        state.sessions.insert(record.id.clone(), record.clone());
        drop(state);
        self.wake_orphans();
        for _ in 0..evicted {
            self.evictions.hit(|n| {
                tracing::warn!(
                    max_sessions = self.max_sessions,
                    evicted = n,
                    "session limit reached: the idlest sessions were evicted"
                );
            });
        }
        Ok(())
    }

    async fn load_session(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        let state = self.state();
        let now = unix_now();
        if let Some(&expires_at) = state.terminated.get(id).filter(|e| **e > now) {
            return Ok(Some(SessionRecord::ended(id.clone(), expires_at)));
        }
        Ok(state
            .sessions
            .get(id)
            .filter(|r| !r.is_expired(now))
            .cloned())
    }

    async fn update_session(
        &self,
        id: &SessionId,
        update: SessionUpdate,
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        let record = state.live_session(id)?;
        match update {
            SessionUpdate::MarkInitialized => record.initialized = true,
            SessionUpdate::SetLogLevel(level) => record.log_level = Some(level),
            SessionUpdate::Subscribe(uri) => {
                record.subscriptions.insert(uri);
            }
            SessionUpdate::Unsubscribe(uri) => {
                record.subscriptions.remove(&uri);
            }
            SessionUpdate::ExtendTo(expires_at) => {
                record.expires_at = record.expires_at.max(expires_at)
            }
        }
        Ok(())
    }

    async fn terminate_session(&self, id: &SessionId) -> Result<bool, StoreError> {
        let mut state = self.state();
        let now = unix_now();
        if state.terminated.get(id).is_some_and(|e| *e > now) {
            return Ok(false);
        }
        let expires_at = match state.sessions.get(id) {
            Some(record) if !record.is_expired(now) => record.expires_at,
            _ => return Err(StoreError::SessionNotFound),
        };
        // An ended session answers 404 from its tombstone alone: its record, streams and
        // replies can go now rather than at expiry.
        state.forget_session(id);
        state.make_room(self.max_sessions);
        state.terminated.insert(id.clone(), expires_at);
        drop(state);
        self.wake_orphans();
        Ok(true)
    }

    async fn append_event(
        &self,
        key: &StreamKey,
        event: StoredEvent,
    ) -> Result<EventSeq, StoreError> {
        let seq = self.state().push_event(key, event, None)?;
        self.wakeups.notify(&Topic::Stream(key.clone()));
        Ok(seq.unwrap_or_default())
    }

    async fn open_stream(
        &self,
        key: &StreamKey,
        lease: &StreamLease,
    ) -> Result<EventSeq, StoreError> {
        let seq = {
            let mut state = self.state();
            let seq = state.push_event(key, StoredEvent::priming(), None)?;
            if let Some(stream) = state.streams.get_mut(key) {
                stream.lease = Some(lease.clone());
            }
            seq
        };
        self.wakeups.notify(&Topic::Stream(key.clone()));
        Ok(seq.unwrap_or_default())
    }

    async fn renew_lease(&self, key: &StreamKey, until_ms: u64) -> Result<bool, StoreError> {
        let mut state = self.state();
        let lease = (state.streams.get_mut(key)).and_then(|stream| stream.lease.as_mut());
        match lease {
            Some(lease) if !lease.is_ended() => {
                lease.until_ms = lease.until_ms.max(until_ms);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn end_lease(&self, key: &StreamKey, until_ms: u64) -> Result<bool, StoreError> {
        let mut state = self.state();
        let lease = (state.streams.get_mut(key)).and_then(|stream| stream.lease.as_mut());
        match lease {
            Some(lease) if lease.until_ms == until_ms || lease.is_ended() => {
                lease.until_ms = StreamLease::ENDED_MS;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn read_lease(&self, key: &StreamKey) -> Result<Option<StreamLease>, StoreError> {
        let state = self.state();
        Ok(state
            .streams
            .get(key)
            .and_then(|stream| stream.lease.clone()))
    }

    async fn append_event_after(
        &self,
        key: &StreamKey,
        after: EventSeq,
        event: StoredEvent,
    ) -> Result<bool, StoreError> {
        let stored = self.state().push_event(key, event, Some(after))?.is_some();
        if stored {
            self.wakeups.notify(&Topic::Stream(key.clone()));
        }
        Ok(stored)
    }

    async fn read_events(
        &self,
        key: &StreamKey,
        after: Option<EventSeq>,
        limit: usize,
    ) -> Result<Vec<(EventSeq, StoredEvent)>, StoreError> {
        let state = self.state();
        if !state.streams.contains_key(key) && !state.is_live(&key.session) {
            // Ended, expired or evicted: a reader waiting on it must stop.
            return Err(StoreError::SessionNotFound);
        }
        let start = match after {
            None => 0,
            Some(seq) => usize::try_from(seq).map_or(usize::MAX, |s| s.saturating_add(1)),
        };
        Ok(state
            .streams
            .get(key)
            .map(|stream| {
                stream
                    .events
                    .iter()
                    .enumerate()
                    .skip(start)
                    .take(limit)
                    .map(|(seq, event)| (seq as EventSeq, event.clone()))
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn has_event(&self, key: &StreamKey, seq: EventSeq) -> Result<bool, StoreError> {
        let state = self.state();
        Ok(state
            .streams
            .get(key)
            .is_some_and(|stream| (seq as usize) < stream.events.len()))
    }

    async fn put_reply(
        &self,
        session: &SessionId,
        key: &str,
        message: &str,
    ) -> Result<bool, StoreError> {
        let inserted = {
            let mut state = self.state();
            state.live_session(session)?;
            state
                .replies
                .entry(session.clone())
                .or_default()
                .insert(key, message)
        };
        if inserted {
            self.wakeups.notify(&Topic::Reply {
                session: session.clone(),
                key: key.to_owned(),
            });
        }
        Ok(inserted)
    }

    async fn get_reply(
        &self,
        session: &SessionId,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        let state = self.state();
        Ok(state
            .replies
            .get(session)
            .and_then(|replies| replies.by_key.get(key))
            .cloned())
    }

    async fn remove_reply(&self, session: &SessionId, key: &str) -> Result<(), StoreError> {
        if let Some(replies) = self.state().replies.get_mut(session) {
            replies.remove(key);
        }
        Ok(())
    }

    fn subscribe(&self, topic: &Topic) -> ChangeSignal {
        self.wakeups.subscribe(topic)
    }

    fn tasks(&self) -> Option<&dyn super::TaskStore> {
        Some(&self.tasks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{StreamId, records::unix_now};

    fn record() -> SessionRecord {
        SessionRecord {
            id: SessionId::generate(),
            protocol_version: "2025-11-25".into(),
            client_capabilities: serde_json::json!({}),
            client_info: serde_json::json!({}),
            log_level: None,
            subscriptions: Default::default(),
            initialized: true,
            terminated: false,
            expires_at: unix_now() + 60,
            principal: None,
        }
    }

    #[tokio::test]
    async fn completed_streams_are_kept_only_in_bounded_number() {
        let store = MemoryStore::new();
        let record = record();
        store.create_session(&record).await.unwrap();
        let keys: Vec<StreamKey> = (0..COMPLETED_KEPT + 10)
            .map(|_| StreamKey::new(record.id.clone(), StreamId::generate()))
            .collect();
        for key in &keys {
            store
                .append_event(key, StoredEvent::priming())
                .await
                .unwrap();
            store
                .append_event(key, StoredEvent::final_message("{}".into()))
                .await
                .unwrap();
        }
        let kept = |key: &StreamKey| store.state().streams.contains_key(key);
        assert!(!kept(&keys[0]) && !kept(&keys[9]), "the oldest are freed");
        assert!(
            kept(&keys[10]) && kept(&keys[COMPLETED_KEPT + 9]),
            "the newest stay"
        );
    }

    #[tokio::test]
    async fn sessions_beyond_the_cap_evict_the_idlest() {
        let store = MemoryStore::with_max_sessions(3);
        let mut records: Vec<SessionRecord> = (0..3).map(|_| record()).collect();
        records[1].expires_at -= 30; // idle longest: closest to expiry
        for r in &records {
            store.create_session(r).await.unwrap();
        }
        let key = StreamKey::new(records[1].id.clone(), StreamId::generate());
        store
            .append_event(&key, StoredEvent::priming())
            .await
            .unwrap();
        let newcomer = record();
        store.create_session(&newcomer).await.unwrap();
        assert_eq!(store.load_session(&records[1].id).await.unwrap(), None);
        assert!(matches!(
            store.read_events(&key, None, 10).await,
            Err(StoreError::SessionNotFound)
        ));
        for kept in [&records[0], &records[2], &newcomer] {
            assert!(store.load_session(&kept.id).await.unwrap().is_some());
        }
        assert_eq!(store.state().sessions.len(), 3);
        // Tombstones are capped the same way.
        for r in [&records[0], &records[2], &newcomer] {
            assert!(store.terminate_session(&r.id).await.unwrap());
        }
        for _ in 0..5 {
            let r = record();
            store.create_session(&r).await.unwrap();
            assert!(store.terminate_session(&r.id).await.unwrap());
        }
        assert!(store.state().terminated.len() <= 3);
    }

    #[tokio::test]
    async fn a_session_keeps_a_bounded_number_of_replies() {
        let store = MemoryStore::new();
        let record = record();
        store.create_session(&record).await.unwrap();
        for i in 0..MAX_REPLIES_PER_SESSION {
            assert!(
                store
                    .put_reply(&record.id, &i.to_string(), "{}")
                    .await
                    .unwrap()
            );
        }
        assert!(
            !store.put_reply(&record.id, "7", "again").await.unwrap(),
            "first wins"
        );
        assert!(store.put_reply(&record.id, "one more", "{}").await.unwrap());
        assert_eq!(
            store
                .get_reply(&record.id, "one more")
                .await
                .unwrap()
                .as_deref(),
            Some("{}")
        );
        assert_eq!(
            store.get_reply(&record.id, "0").await.unwrap(),
            None,
            "the oldest went"
        );
        assert_eq!(
            store.state().replies[&record.id].by_key.len(),
            MAX_REPLIES_PER_SESSION
        );
    }

    #[tokio::test]
    async fn readers_of_an_evicted_session_find_it_gone() {
        let store = MemoryStore::with_max_sessions(1);
        let first = record();
        store.create_session(&first).await.unwrap();
        let key = StreamKey::new(first.id.clone(), StreamId::generate());
        store
            .append_event(&key, StoredEvent::priming())
            .await
            .unwrap();
        let woken = store.subscribe(&Topic::Stream(key.clone()));
        store.create_session(&record()).await.unwrap();
        tokio::time::timeout(Duration::from_secs(5), woken)
            .await
            .expect("the reader is woken");
        assert!(matches!(
            store.read_events(&key, None, 10).await,
            Err(StoreError::SessionNotFound)
        ));
    }

    #[tokio::test]
    async fn terminating_a_session_frees_its_events() {
        let store = MemoryStore::new();
        let record = record();
        store.create_session(&record).await.unwrap();
        let key = StreamKey::new(record.id.clone(), StreamId::generate());
        store
            .append_event(&key, StoredEvent::priming())
            .await
            .unwrap();
        store.put_reply(&record.id, "r", "{}").await.unwrap();
        assert!(store.terminate_session(&record.id).await.unwrap());
        assert!(matches!(
            store.read_events(&key, None, 10).await,
            Err(StoreError::SessionNotFound)
        ));
        assert_eq!(store.get_reply(&record.id, "r").await.unwrap(), None);
        assert!(!store.terminate_session(&record.id).await.unwrap());
        assert!(
            store
                .load_session(&record.id)
                .await
                .unwrap()
                .unwrap()
                .terminated
        );
    }
}
