//! The warnings the local listener logs when a limit of [`crate::config::ConnectionLimits`] bites.

use std::time::Duration;

pub(crate) use crate::limited_log::RateLimitedWarning;

/// The warnings of one listener, one per kind of limit.
#[derive(Debug)]
pub(crate) struct LimitWarnings {
    pub connection_limit: RateLimitedWarning,
    pub slow_head: RateLimitedWarning,
    pub head_too_large: RateLimitedWarning,
    pub idle: RateLimitedWarning,
    pub accept: RateLimitedWarning,
}

impl Default for LimitWarnings {
    fn default() -> Self {
        let every = || RateLimitedWarning::new(Duration::from_secs(10));
        Self {
            connection_limit: every(),
            slow_head: every(),
            head_too_large: every(),
            idle: every(),
            accept: every(),
        }
    }
}
