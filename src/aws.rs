//! What every AWS client of the crate shares: one HTTPS client, one region chain, one way to
//! load the SDK configuration, and one retry policy. The DynamoDB store, the CloudWatch sources,
//! the cost clients, the Bedrock profile resolver and the client's SigV4 signer all start here.
//!
//! Retries live in the SDK only ([`RetryPolicy`]): standard mode, exponential backoff with
//! full jitter, a bounded number of attempts per call, and the SDK's retry quota (a token
//! bucket per service and region that stops retrying when most calls fail). Code above this
//! keeps no retry loop of its own; it polls and cancels, nothing more.

use std::error::Error as StdError;
use std::marker::PhantomData;
use std::time::Duration;

use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
// The smithy types every SDK crate re-exports (the same types for DynamoDB).
use aws_sdk_cloudwatchlogs::config::SharedHttpClient;
use aws_sdk_cloudwatchlogs::config::interceptors::InterceptorContext;
use aws_sdk_cloudwatchlogs::config::retry::{ClassifyRetry, RetryAction};
use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;
use aws_smithy_http_client::tls;

/// The HTTP(S) client for the AWS SDK: hyper with rustls on ring.
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// Where the region comes from: `AWS_REGION` (set on Lambda), then the AWS profile. Never
/// instance metadata, which costs a network request (a slow one off EC2).
pub(crate) fn region_chain() -> RegionProviderChain {
    RegionProviderChain::first_try(
        aws_config::environment::EnvironmentVariableRegionProvider::new(),
    )
    .or_else(aws_config::profile::region::ProfileFileRegionProvider::new())
}

/// The standard AWS configuration (environment, profile, SSO, `AWS_ENDPOINT_URL`), on
/// [`http_client`], with the region from [`region_chain`] (`None` when neither names one)
/// and [`RetryPolicy::DEFAULT`]. Credentials load on first use.
pub(crate) async fn load_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(region_chain())
        .http_client(http_client())
        .retry_config(RetryPolicy::DEFAULT.config())
        .load()
        .await
}

/// Where a client's configuration comes from: the standard one ([`load_config`]), loaded on
/// first use so that making a client costs no I/O, or one given up front (tests point it at a
/// stub; embedders bring their own).
#[derive(Debug)]
pub(crate) enum ConfigBase {
    /// The standard configuration, loaded on first use; clients may set their own region.
    Standard(tokio::sync::OnceCell<SdkConfig>),
    /// A configuration used as it is.
    Given(SdkConfig),
}

impl ConfigBase {
    /// The standard configuration, not loaded yet.
    pub(crate) fn standard() -> Self {
        ConfigBase::Standard(tokio::sync::OnceCell::new())
    }

    /// The configuration, loading it the first time.
    pub(crate) async fn config(&self) -> &SdkConfig {
        match self {
            ConfigBase::Given(config) => config,
            ConfigBase::Standard(cell) => cell.get_or_init(load_config).await,
        }
    }

    /// Whether this is the standard configuration (a client may then pick its own region).
    pub(crate) fn is_standard(&self) -> bool {
        matches!(self, ConfigBase::Standard(_))
    }
}

/// Timeouts of `attempt` per attempt and `call` per call (retries included), the rest of
/// `base`'s timeouts kept: each client sets its own from how long its API takes to answer.
pub(crate) fn timeouts(base: &SdkConfig, attempt: Duration, call: Duration) -> TimeoutConfig {
    let ours = TimeoutConfig::builder()
        .operation_attempt_timeout(attempt)
        .operation_timeout(call);
    match base.timeout_config() {
        Some(given) => ours.take_unset_from(given.to_builder()).build(),
        None => ours.build(),
    }
}

/// Whether `region` looks like an AWS region name (`us-east-1`, `us-gov-west-1`): lowercase
/// letters, digits and dashes, at most 32. It becomes part of a host name, so nothing else is
/// let through.
pub(crate) fn valid_region(region: &str) -> bool {
    (1..=32).contains(&region.len())
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !region.starts_with('-')
        && !region.ends_with('-')
}

/// How the SDK retries one call. A call is sent at most `max_attempts` times; before attempt
/// `n + 1` it waits a random time in `[0, min(initial_backoff * 2^(n-1), max_backoff))`
/// (standard mode's full jitter). What is retried: the SDK's throttling codes
/// (`ThrottlingException`, `LimitExceededException`, `TooManyRequestsException`, …),
/// HTTP 500/502/503/504, timeouts and I/O errors, plus what a service adds with
/// `RetryCodes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// The longest first pause.
    pub initial_backoff: Duration,
    /// The cap on any pause.
    pub max_backoff: Duration,
}

impl RetryPolicy {
    /// Every AWS call of the server: 3 attempts, pauses under 1 s then under 2 s (at most
    /// 3 s of waiting per call; a service asking for more with `x-amz-retry-after` gets at
    /// most 20 s per pause), the SDK's standard values.
    pub const DEFAULT: RetryPolicy = RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_secs(1),
        max_backoff: Duration::from_secs(20),
    };

    /// The SDK's retry configuration for this policy.
    pub fn config(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts.max(1))
            .with_initial_backoff(self.initial_backoff)
            .with_max_backoff(self.max_backoff)
    }
}

/// A retry classifier for error codes a service uses for passing trouble that the SDK's own
/// classifiers do not know: such an error of operation error type `E` is retried as transient,
/// under the same [`RetryPolicy`] as the rest.
pub(crate) struct RetryCodes<E> {
    codes: &'static [&'static str],
    error: PhantomData<fn() -> E>,
}

impl<E> RetryCodes<E> {
    /// Retries errors of type `E` whose code is one of `codes`.
    pub const fn new(codes: &'static [&'static str]) -> Self {
        RetryCodes {
            codes,
            error: PhantomData,
        }
    }
}

impl<E> std::fmt::Debug for RetryCodes<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryCodes")
            .field("codes", &self.codes)
            .field("error", &std::any::type_name::<E>())
            .finish()
    }
}

impl<E> ClassifyRetry for RetryCodes<E>
where
    E: StdError + ProvideErrorMetadata + std::fmt::Debug + Send + Sync + 'static,
{
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let Some(Err(error)) = ctx.output_or_error() else {
            return RetryAction::NoActionIndicated;
        };
        let code = error
            .as_operation_error()
            .and_then(|e| e.downcast_ref::<E>())
            .and_then(ProvideErrorMetadata::code);
        match code {
            Some(code) if self.codes.contains(&code) => RetryAction::transient_error(),
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "extra retryable error codes"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_is_standard_mode_with_jitter_and_bounded_attempts() {
        let config = RetryPolicy::DEFAULT.config();
        assert_eq!(config.mode(), aws_config::retry::RetryMode::Standard);
        assert_eq!(config.max_attempts(), 3);
        assert_eq!(config.initial_backoff(), Duration::from_secs(1));
        assert_eq!(config.max_backoff(), Duration::from_secs(20));
        // At least one attempt, whatever a caller asks for.
        let none = RetryPolicy {
            max_attempts: 0,
            ..RetryPolicy::DEFAULT
        };
        assert_eq!(none.config().max_attempts(), 1);
    }

    #[test]
    fn regions_are_host_name_safe() {
        for good in ["us-east-1", "us-gov-west-1", "eu-central-2"] {
            assert!(valid_region(good), "{good}");
        }
        for bad in ["", "US-EAST-1", "us-east-1.evil.com", "-us", "us-", "a/b"] {
            assert!(!valid_region(bad), "{bad}");
        }
    }
}
