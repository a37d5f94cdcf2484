//! The call timeouts the Price List and Cost Explorer clients share (their configuration comes
//! from [`crate::aws::ConfigBase`]).

use std::time::Duration;

use aws_config::SdkConfig;
use aws_config::timeout::TimeoutConfig;

/// 10 s per attempt and 30 s per call (a page of either API answers in about a second), the
/// rest of `base`'s timeouts kept.
pub(crate) fn timeouts(base: &SdkConfig) -> TimeoutConfig {
    crate::aws::timeouts(base, Duration::from_secs(10), Duration::from_secs(30))
}
