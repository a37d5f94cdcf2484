//! What the Price List and Cost Explorer clients share: where their configuration comes from
//! (the standard AWS configuration, loaded on first use, or one given up front) and their call
//! timeouts.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_config::timeout::TimeoutConfig;
use tokio::sync::OnceCell;

use crate::aws::load_config;

/// Where a client's configuration comes from.
#[derive(Debug)]
pub(crate) enum Base {
    /// The standard AWS configuration, loaded on first use; the client gets its own region.
    Standard(OnceCell<SdkConfig>),
    /// A configuration given up front (tests point it at a stub), used as it is.
    Given(SdkConfig),
}

impl Base {
    /// The standard configuration, not loaded yet.
    pub(crate) fn standard() -> Self {
        Base::Standard(OnceCell::new())
    }

    /// The configuration, loading it the first time.
    pub(crate) async fn config(&self) -> &SdkConfig {
        match self {
            Base::Given(config) => config,
            Base::Standard(cell) => cell.get_or_init(load_config).await,
        }
    }

    /// Whether the client should set its own (endpoint) region.
    pub(crate) fn is_standard(&self) -> bool {
        matches!(self, Base::Standard(_))
    }
}

/// 10 s per attempt and 30 s per call (a page of either API answers in about a second), the
/// rest of `base`'s timeouts kept.
pub(crate) fn timeouts(base: &SdkConfig) -> TimeoutConfig {
    crate::aws::timeouts(base, Duration::from_secs(10), Duration::from_secs(30))
}
