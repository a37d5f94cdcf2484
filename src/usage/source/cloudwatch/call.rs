//! One CloudWatch Logs call, and what a client is told when it fails.
//!
//! A call is sent once from here. The SDK retries it under [`crate::aws::RetryPolicy`]
//! (throttling, `LimitExceededException`, `ServiceUnavailableException`, timeouts), so one
//! call costs at most [`RetryPolicy::max_attempts`](crate::aws::RetryPolicy::max_attempts)
//! requests, with jittered pauses, whatever CloudWatch answers.
//!
//! A failure tells the client which call failed and the error code, never CloudWatch's
//! message or the SDK's error chain: those can hold the account id, ARNs, role and user names.
//! The whole error goes to the server's log at WARN.

use std::future::Future;

use aws_sdk_cloudwatchlogs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use tokio_util::sync::CancellationToken;

use crate::usage::source::SourceError;

/// The error code of a call on a log group (or query) that does not exist.
const NOT_FOUND: &str = "ResourceNotFoundException";

/// Codes that mean "too many calls or queries for now" (the SDK retried them already).
const THROTTLED: [&str; 5] = [
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "LimitExceededException",
];

/// Awaits `call` (one SDK call, retries included), or ends with [`SourceError::Cancelled`]
/// when `cancel` fires and `interrupt` is set (leave it unset for calls whose effect must be
/// known, such as `StartQuery`: the SDK's pauses between attempts then run to their end).
/// A `ResourceNotFoundException` becomes [`SourceError::NotFound`], any other failure
/// [`SourceError::Backend`], both with a message safe to show (see the module docs).
pub(crate) async fn send<T, E, R>(
    what: &'static str,
    cancel: &CancellationToken,
    interrupt: bool,
    call: impl Future<Output = Result<T, SdkError<E, R>>>,
) -> Result<T, SourceError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    send_to(Api::LOGS, what, cancel, interrupt, call).await
}

/// The AWS API a call goes to, as named to clients: its name and its IAM action prefix.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Api {
    pub(crate) name: &'static str,
    pub(crate) iam: &'static str,
}

impl Api {
    /// CloudWatch Logs (`logs:` actions).
    pub(crate) const LOGS: Api = Api {
        name: "CloudWatch Logs",
        iam: "logs",
    };
    /// CloudWatch metrics (`cloudwatch:` actions).
    pub(crate) const METRICS: Api = Api {
        name: "CloudWatch",
        iam: "cloudwatch",
    };
}

/// [`send`] to another API than CloudWatch Logs.
pub(crate) async fn send_to<T, E, R>(
    api: Api,
    what: &'static str,
    cancel: &CancellationToken,
    interrupt: bool,
    call: impl Future<Output = Result<T, SdkError<E, R>>>,
) -> Result<T, SourceError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let outcome = if interrupt {
        tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(SourceError::Cancelled),
            outcome = call => outcome,
        }
    } else {
        call.await
    };
    outcome.map_err(|err| failure(api, what, &err))
}

/// The error a failed call ends a report with; the whole error goes to the log.
fn failure<E, R>(api: Api, what: &'static str, err: &SdkError<E, R>) -> SourceError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let message = client_message(api, what, err);
    if err.code() == Some(NOT_FOUND) {
        // The sources turn a missing log group into a warning of their own.
        tracing::info!(what, error = %DisplayErrorContext(err), "CloudWatch Logs: not found");
        return SourceError::NotFound(message);
    }
    tracing::warn!(what, error = %DisplayErrorContext(err), "CloudWatch Logs call failed");
    SourceError::Backend(message)
}

/// What the client learns of a failed call: the call, the error code, and what to do.
fn client_message<E: ProvideErrorMetadata, R>(
    api: Api,
    what: &str,
    err: &SdkError<E, R>,
) -> String {
    let Api { name, iam } = api;
    let on = if iam == "logs" {
        " on the log group"
    } else {
        ""
    };
    match err {
        SdkError::ServiceError(_) => match error_code(err) {
            Some("LimitExceededException") => format!(
                "{name} refused the {what} call (LimitExceededException: too many \
                 Logs Insights queries are running in the account), also on retry; try again \
                 in a few minutes"
            ),
            Some(code) if THROTTLED.contains(&code) => format!(
                "{name} throttled the {what} call ({code}), also on retry; try again \
                 in a minute"
            ),
            Some(code @ "AccessDeniedException") => format!(
                "{name} refused the {what} call ({code}); the server's AWS role needs \
                 {iam}:{what}{on}"
            ),
            Some(code) => format!("{name} refused the {what} call ({code})"),
            None => format!("{name} refused the {what} call (no error code)"),
        },
        SdkError::TimeoutError(_) => {
            format!("{name} did not answer the {what} call in time")
        }
        SdkError::DispatchFailure(_) => format!(
            "{name} could not be reached for the {what} call (network, endpoint or \
             credentials)"
        ),
        SdkError::ConstructionFailure(_) => format!("the {what} call could not be built"),
        _ => format!("{name} answered the {what} call with a response that could not be read"),
    }
}

/// The error code, if it looks like one (a service or a stand-in could send anything).
fn error_code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    err.code().filter(|code| {
        (1..=64).contains(&code.len())
            && code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudwatchlogs::error::ErrorMetadata;
    use aws_sdk_cloudwatchlogs::operation::start_query::StartQueryError;

    fn refused(code: &str, message: &str) -> SdkError<StartQueryError, ()> {
        let meta = ErrorMetadata::builder().code(code).message(message).build();
        SdkError::service_error(StartQueryError::generic(meta), ())
    }

    #[test]
    fn clients_get_the_code_and_never_the_message() {
        let message = "User: arn:aws:sts::123456789012:assumed-role/Ops/alice is not \
                       authorized to perform: logs:StartQuery";
        let err = failure(
            Api::LOGS,
            "StartQuery",
            &refused("AccessDeniedException", message),
        );
        let text = err.to_string();
        assert!(matches!(err, SourceError::Backend(_)), "{err:?}");
        assert!(text.contains("(AccessDeniedException)"), "{text}");
        assert!(text.contains("logs:StartQuery"), "{text}");
        for secret in ["123456789012", "arn:aws", "Ops", "alice"] {
            assert!(!text.contains(secret), "{text}");
        }
        let throttled = failure(
            Api::LOGS,
            "StartQuery",
            &refused("ThrottlingException", "Rate exceeded"),
        );
        assert!(throttled.to_string().contains("try again"), "{throttled}");
        let gone = failure(
            Api::LOGS,
            "StartQuery",
            &refused(NOT_FOUND, "arn:aws:logs:1:2:log-group"),
        );
        assert!(matches!(gone, SourceError::NotFound(ref m) if !m.contains("arn")));
        // A code that is not one is not repeated either.
        let odd = failure(
            Api::LOGS,
            "StartQuery",
            &refused("arn:aws:iam::123456789012:x", "m"),
        );
        assert!(!odd.to_string().contains("123456789012"), "{odd}");
    }
}
