//! The pauses between polls of a running Logs Insights query.

use std::time::Duration;

/// Exponential backoff for polling: `initial`, doubling up to `max`. (Retrying a refused call
/// is the SDK's job: see [`crate::aws::RetryPolicy`].)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first pause.
    pub initial: Duration,
    /// The longest pause.
    pub max: Duration,
}

impl Backoff {
    /// Polling `GetQueryResults`: 100 ms doubling to 2 s.
    pub const POLL: Backoff = Backoff {
        initial: Duration::from_millis(100),
        max: Duration::from_secs(2),
    };

    /// The pause before poll number `poll + 1` (`poll` counted from 0).
    pub fn delay(&self, poll: u32) -> Duration {
        let factor = 1u32.checked_shl(poll.min(31)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap() {
        let b = Backoff::POLL;
        let delays: Vec<u128> = (0..7).map(|i| b.delay(i).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1600, 2000, 2000]);
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(2));
    }
}
