//! What one instance remembers to save reads: which sessions it recently saw alive, and the
//! next sequence number of the streams it writes. Both are hints; the table stays the truth.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::super::records::{EventSeq, SessionId, StreamKey, unix_now};

/// Entries kept before a cache starts over (it only saves reads, so forgetting is safe).
const CAPACITY: usize = 4096;

/// Sessions this instance recently found live, with their expiry, so that a burst of writes to
/// one session checks it once. A session terminated by another instance is noticed at most
/// `ttl` later.
#[derive(Debug)]
pub(crate) struct Liveness {
    ttl: Duration,
    entries: Bounded<SessionId, (Instant, u64)>,
}

impl Liveness {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Bounded::default(),
        }
    }

    /// The session's expiry, if it was seen live within `ttl` and has not expired since.
    pub fn get(&self, id: &SessionId) -> Option<u64> {
        let (seen, expires_at) = self.entries.get(id)?;
        (seen.elapsed() < self.ttl && expires_at > unix_now()).then_some(expires_at)
    }

    pub fn put(&self, id: &SessionId, expires_at: u64) {
        if !self.ttl.is_zero() {
            self.entries
                .insert(id.clone(), (Instant::now(), expires_at));
        }
    }

    pub(crate) fn forget(&self, id: &SessionId) {
        self.entries.remove(id);
    }
}

/// What this instance knows of the next sequence number of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// One past its own last append: right unless another instance wrote since (a wrong
    /// guess costs one failed conditional write and one query).
    Wrote(EventSeq),
    /// One past the last event it read: a lower bound, since other instances may be writing.
    Read(EventSeq),
}

impl Next {
    fn seq(self) -> EventSeq {
        match self {
            Next::Wrote(seq) | Next::Read(seq) => seq,
        }
    }
}

/// The next sequence number of streams this instance wrote or read.
#[derive(Debug, Default)]
pub(crate) struct NextSeq {
    entries: Bounded<StreamKey, Next>,
}

impl NextSeq {
    pub fn get(&self, key: &StreamKey) -> Option<Next> {
        self.entries.get(key)
    }

    /// Records an append: `next` is free, unless a higher number is already known to be taken.
    pub fn wrote(&self, key: &StreamKey, next: EventSeq) {
        self.entries.update(key.clone(), |old| match old {
            Some(old) if old.seq() > next => old,
            _ => Next::Wrote(next),
        });
    }

    /// Records a read that saw events up to `next - 1`.
    pub fn read(&self, key: &StreamKey, next: EventSeq) {
        self.entries.update(key.clone(), |old| match old {
            Some(old) if old.seq() >= next => old,
            _ => Next::Read(next),
        });
    }

    pub(crate) fn forget(&self, key: &StreamKey) {
        self.entries.remove(key);
    }
}

/// A map that is cleared when it reaches [`CAPACITY`].
#[derive(Debug)]
struct Bounded<K, V> {
    map: Mutex<HashMap<K, V>>,
}

impl<K, V> Default for Bounded<K, V> {
    fn default() -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash, V: Copy> Bounded<K, V> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, V>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, key: &K) -> Option<V> {
        self.lock().get(key).copied()
    }

    fn insert(&self, key: K, value: V) {
        self.update(key, |_| value);
    }

    fn update(&self, key: K, f: impl FnOnce(Option<V>) -> V) {
        let mut map = self.lock();
        let old = map.get(&key).copied();
        if old.is_none() && map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(key, f(old));
    }

    fn remove(&self, key: &K) {
        self.lock().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StreamId;

    #[test]
    fn liveness_expires_with_its_ttl_and_the_session() {
        let id = SessionId::generate();
        let live = Liveness::new(Duration::from_secs(60));
        live.put(&id, unix_now() + 100);
        assert!(live.get(&id).is_some());
        live.put(&id, unix_now());
        assert_eq!(live.get(&id), None, "an expired session is never live");
        live.put(&id, unix_now() + 100);
        live.forget(&id);
        assert_eq!(live.get(&id), None);
        let off = Liveness::new(Duration::ZERO);
        off.put(&id, unix_now() + 100);
        assert_eq!(off.get(&id), None);
    }

    #[test]
    fn next_seq_only_moves_forward() {
        let key = StreamKey::new(SessionId::generate(), StreamId::standalone());
        let seqs = NextSeq::default();
        seqs.wrote(&key, 5);
        seqs.wrote(&key, 3);
        seqs.read(&key, 5);
        assert_eq!(seqs.get(&key), Some(Next::Wrote(5)));
        seqs.read(&key, 8);
        assert_eq!(seqs.get(&key), Some(Next::Read(8)));
        seqs.wrote(&key, 9);
        assert_eq!(seqs.get(&key), Some(Next::Wrote(9)));
    }

    #[test]
    fn caches_start_over_when_full() {
        let seqs = NextSeq::default();
        let keys: Vec<StreamKey> = (0..=CAPACITY)
            .map(|_| StreamKey::new(SessionId::generate(), StreamId::generate()))
            .collect();
        for key in &keys {
            seqs.wrote(key, 1);
        }
        assert_eq!(seqs.get(&keys[0]), None);
        assert_eq!(seqs.get(&keys[CAPACITY]), Some(Next::Wrote(1)));
    }
}
