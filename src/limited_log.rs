//! Warnings that a flood cannot turn into a flood of log lines: logged at most once per
//! interval, with the number of occurrences each line stands for. Used wherever a stranger can
//! make a limit bite on every request (the listener's limits, the memory store's caps).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A warning logged at most once per interval, with the number of occurrences it stands for.
#[derive(Debug)]
pub(crate) struct RateLimitedWarning {
    interval: Duration,
    last: Mutex<Option<Instant>>,
    unlogged: AtomicU64,
}

impl RateLimitedWarning {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: Mutex::new(None),
            unlogged: AtomicU64::new(0),
        }
    }

    /// Counts one occurrence and calls `log` with the occurrences since the last call that
    /// logged, if the interval has passed since then.
    pub(crate) fn hit(&self, log: impl FnOnce(u64)) {
        self.unlogged.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let due = {
            let Ok(mut last) = self.last.lock() else {
                return;
            };
            let due = last.is_none_or(|at| now.duration_since(at) >= self.interval);
            if due {
                *last = Some(now);
            }
            due
        };
        if due {
            log(self.unlogged.swap(0, Ordering::Relaxed).max(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_the_first_hit_then_at_most_once_per_interval_with_the_count() {
        let warning = RateLimitedWarning::new(Duration::from_secs(3600));
        let mut logged = Vec::new();
        for _ in 0..5 {
            warning.hit(|n| logged.push(n));
        }
        assert_eq!(logged, vec![1]);
        let warning = RateLimitedWarning::new(Duration::ZERO);
        let mut logged = Vec::new();
        for _ in 0..3 {
            warning.hit(|n| logged.push(n));
        }
        assert_eq!(logged, vec![1, 1, 1]);
    }
}
