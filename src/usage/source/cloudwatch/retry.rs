//! Backoff, and retrying CloudWatch Logs calls that were throttled or refused for a limit.

use std::future::Future;
use std::time::Duration;

use aws_sdk_cloudwatchlogs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use tokio_util::sync::CancellationToken;

use crate::usage::source::SourceError;

/// Error codes worth another try after a pause.
const RETRYABLE_CODES: [&str; 6] = [
    "ThrottlingException",
    "Throttling",
    "LimitExceededException",
    "ServiceUnavailableException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
];

/// The error code of a call on a log group (or query) that does not exist.
const NOT_FOUND: &str = "ResourceNotFoundException";

/// Exponential backoff: `initial`, doubling up to `max`, for at most `attempts` tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first pause.
    pub initial: Duration,
    /// The longest pause.
    pub max: Duration,
    /// How many tries in all (for retries; polling ignores it).
    pub attempts: u32,
}

impl Backoff {
    /// Retrying throttled or limited API calls: 200 ms doubling to 5 s, 8 tries.
    pub const API: Backoff = Backoff {
        initial: Duration::from_millis(200),
        max: Duration::from_secs(5),
        attempts: 8,
    };

    /// Polling `GetQueryResults`: 100 ms doubling to 2 s.
    pub const POLL: Backoff = Backoff {
        initial: Duration::from_millis(100),
        max: Duration::from_secs(2),
        attempts: u32::MAX,
    };

    /// The pause before try number `retry + 1` (`retry` counted from 0).
    pub fn delay(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }
}

/// Whether `err` is worth retrying: throttling, a concurrency limit, a transient failure.
pub(crate) fn is_retryable<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
        SdkError::ServiceError(_) => err.code().is_some_and(|c| RETRYABLE_CODES.contains(&c)),
        SdkError::ResponseError(_) => true,
        _ => false,
    }
}

/// What to do with a call that failed: a short message the report's caller can act on (the
/// error code and CloudWatch's message), while the whole error chain, raw response included,
/// goes only to the server's log.
pub(crate) fn backend_error<E, R>(what: &str, err: &SdkError<E, R>) -> SourceError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    tracing::warn!(what, error = %DisplayErrorContext(err), "CloudWatch Logs call failed");
    SourceError::Backend(format!("{what}: {}", short_error(err)))
}

/// `Code: message` for a service error; what kind of failure otherwise.
fn short_error<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> String {
    match err {
        SdkError::ServiceError(_) => format!(
            "{}: {}",
            err.code().unwrap_or("error"),
            err.message().unwrap_or("(no message)")
        ),
        SdkError::TimeoutError(_) => "CloudWatch Logs did not answer in time".to_owned(),
        SdkError::DispatchFailure(_) => {
            "CloudWatch Logs could not be reached (network, endpoint or credentials)".to_owned()
        }
        SdkError::ConstructionFailure(_) => "the request could not be built".to_owned(),
        _ => "CloudWatch Logs sent a response that could not be read".to_owned(),
    }
}

/// Runs `call` until it succeeds, fails for good (a `ResourceNotFoundException` as
/// [`SourceError::NotFound`]), or `backoff.attempts` tries are spent,
/// pausing between tries. The pauses end early with [`SourceError::Cancelled`] when `cancel`
/// fires; so do calls in flight when `interrupt` is set (leave it unset for calls whose effect
/// must be known, such as `StartQuery`).
pub(crate) async fn with_retry<T, E, R, F, Fut>(
    what: &str,
    backoff: Backoff,
    cancel: &CancellationToken,
    interrupt: bool,
    mut call: F,
) -> Result<T, SourceError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, R>>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let mut retry = 0u32;
    loop {
        let outcome = if interrupt {
            tokio::select! {
                biased;
                () = cancel.cancelled() => return Err(SourceError::Cancelled),
                outcome = call() => outcome,
            }
        } else {
            call().await
        };
        match outcome {
            Ok(value) => return Ok(value),
            Err(err) if is_retryable(&err) && retry + 1 < backoff.attempts.max(1) => {
                let pause = backoff.delay(retry);
                tracing::debug!(
                    what,
                    retry,
                    ?pause,
                    error = %DisplayErrorContext(&err),
                    "CloudWatch Logs call refused; retrying"
                );
                retry += 1;
                tokio::select! {
                    biased;
                    () = cancel.cancelled() => return Err(SourceError::Cancelled),
                    () = tokio::time::sleep(pause) => {}
                }
            }
            Err(err) if err.code() == Some(NOT_FOUND) => {
                return Err(SourceError::NotFound(format!(
                    "{what}: {}",
                    short_error(&err)
                )));
            }
            Err(err) => return Err(backend_error(what, &err)),
        }
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
