//! The process-wide cache of resolutions: one lookup per profile while its entry lives, even
//! when several reports ask at once (they wait for the same lookup).
//!
//! Bounded: at most [`MAX_ENTRIES`] profiles; when full, expired entries go first, then the
//! oldest. A resolved profile lives [`TTL`]; a lasting failure (denied, not found) lives
//! [`ERROR_TTL`], so a fixed permission shows within minutes and a flood of unknown ARNs does
//! not call Bedrock again on every report; a passing one (throttled, timed out, no answer)
//! lives [`TRANSIENT_TTL`], so the profile is not left unpriced for minutes by one bad call.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

use super::Resolution;

/// How long a resolved profile is believed (names, tags and models change rarely).
pub const TTL: Duration = Duration::from_secs(3600);

/// How long a lasting failure (denied, not found) is believed.
pub const ERROR_TTL: Duration = Duration::from_secs(300);

/// How long a passing failure (throttled, timed out, no answer) is believed.
pub const TRANSIENT_TTL: Duration = Duration::from_secs(30);

/// A lookup's answer as cached: the resolution, and whether a failure is passing.
pub type Lookup = (Resolution, bool);

/// The most profiles kept (AWS allows 1,000 application inference profiles per account and
/// region by default).
pub const MAX_ENTRIES: usize = 1_000;

#[derive(Debug)]
struct Entry {
    created: Instant,
    cell: Arc<OnceCell<Lookup>>,
}

impl Entry {
    /// Whether the entry is past its time at `now` (a lookup still running never is).
    fn expired(&self, now: Instant) -> bool {
        let ttl = match self.cell.get() {
            None => return false,
            Some((Ok(_), _)) => TTL,
            Some((Err(_), false)) => ERROR_TTL,
            Some((Err(_), true)) => TRANSIENT_TTL,
        };
        now.duration_since(self.created) >= ttl
    }
}

/// Resolutions by ARN; see the module docs.
#[derive(Debug, Default)]
pub struct ProfileCache {
    entries: Mutex<HashMap<String, Entry>>,
}

impl ProfileCache {
    /// The resolution of `arn`: the cached one, or `lookup`'s (which runs once however many
    /// callers wait for it; `true` beside a failure marks it passing).
    pub async fn get<F, Fut>(&self, arn: &str, lookup: F) -> Resolution
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Lookup>,
    {
        let cell = self.cell(arn, Instant::now());
        cell.get_or_init(lookup).await.0.clone()
    }

    /// The entry of `arn` as of `now`, made (and room made for it) if missing or expired.
    fn cell(&self, arn: &str, now: Instant) -> Arc<OnceCell<Lookup>> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = entries.get(arn).filter(|e| !e.expired(now)) {
            return entry.cell.clone();
        }
        entries.remove(arn);
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| !e.expired(now));
        }
        if entries.len() >= MAX_ENTRIES {
            let oldest = entries
                .iter()
                .min_by_key(|(_, e)| e.created)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                entries.remove(&oldest);
            }
        }
        let cell = Arc::new(OnceCell::new());
        entries.insert(
            arn.to_owned(),
            Entry {
                created: now,
                cell: cell.clone(),
            },
        );
        cell
    }

    /// Profiles cached now (expired ones included until pushed out).
    pub fn len(&self) -> usize {
        self.entries.lock().map_or(0, |e| e.len())
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::usage::profiles::Profile;

    fn profile(name: &str) -> Resolution {
        Ok(Arc::new(Profile {
            name: name.to_owned(),
            models: Vec::new(),
            tags: Default::default(),
            tags_unavailable: None,
            resolved_by: "test",
        }))
    }

    /// The resolution of `arn` as of `now`, filled by `value` when the entry is new.
    async fn at(cache: &ProfileCache, arn: &str, now: Instant, value: Resolution) -> Resolution {
        let cell = cache.cell(arn, now);
        cell.get_or_init(|| async { (value, false) })
            .await
            .0
            .clone()
    }

    #[tokio::test]
    async fn callers_at_once_share_one_lookup() {
        let cache = ProfileCache::default();
        let calls = AtomicUsize::new(0);
        let lookup = |result: Lookup| {
            calls.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::task::yield_now().await;
                result
            }
        };
        let (a, b) = tokio::join!(
            cache.get("p", || lookup((profile("one"), false))),
            cache.get("p", || lookup((profile("two"), false)))
        );
        assert_eq!(a, b);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn entries_live_their_ttl_and_failures_less() {
        let cache = ProfileCache::default();
        let t0 = Instant::now();
        let first = at(&cache, "p", t0, profile("one")).await;
        let later = t0 + TTL - Duration::from_secs(1);
        assert_eq!(at(&cache, "p", later, profile("two")).await, first);
        let fresh = at(&cache, "p", t0 + TTL, profile("three")).await;
        assert_eq!(fresh.unwrap().name, "three");

        let denied = at(&cache, "q", t0, Err("denied".into())).await;
        assert_eq!(denied, Err("denied".to_owned()));
        let still = t0 + ERROR_TTL - Duration::from_secs(1);
        assert!(at(&cache, "q", still, profile("q")).await.is_err());
        assert!(at(&cache, "q", t0 + ERROR_TTL, profile("q")).await.is_ok());
    }

    #[tokio::test]
    async fn a_passing_failure_lives_less_than_a_lasting_one() {
        assert!(TRANSIENT_TTL < ERROR_TTL);
        let cache = ProfileCache::default();
        let t0 = Instant::now();
        let throttled = cache.cell("t", t0);
        let _ = throttled
            .get_or_init(|| async { (Err("ThrottlingException: slow down".into()), true) })
            .await;
        let still = t0 + TRANSIENT_TTL - Duration::from_secs(1);
        assert!(at(&cache, "t", still, profile("t")).await.is_err());
        // Looked up again once TRANSIENT_TTL has passed, well before ERROR_TTL.
        assert!(
            at(&cache, "t", t0 + TRANSIENT_TTL, profile("t"))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn the_cache_is_bounded_and_pushes_out_the_oldest() {
        let cache = ProfileCache::default();
        let t0 = Instant::now();
        for i in 0..MAX_ENTRIES + 10 {
            let now = t0 + Duration::from_millis(i as u64);
            let _ = at(&cache, &format!("arn-{i}"), now, profile("x")).await;
        }
        assert_eq!(cache.len(), MAX_ENTRIES);
        let now = t0 + Duration::from_secs(60);
        // The newest is still there; the first was pushed out.
        let newest = format!("arn-{}", MAX_ENTRIES + 9);
        assert_eq!(
            at(&cache, &newest, now, profile("again"))
                .await
                .unwrap()
                .name,
            "x"
        );
        assert_eq!(
            at(&cache, "arn-0", now, profile("again"))
                .await
                .unwrap()
                .name,
            "again"
        );
        // Expired entries make room before live ones are pushed out.
        let expired = t0 + TTL + Duration::from_secs(3600);
        let _ = at(&cache, "new", expired, profile("new")).await;
        assert!(cache.len() <= 3, "{}", cache.len());
    }
}
