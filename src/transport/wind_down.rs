//! A cancelled request's handler is told to stop and awaited a little longer, not dropped:
//! dropping it mid-step would leave what it started outside the server (Logs Insights
//! queries) running with nobody to stop them.

use std::future::Future;
use std::time::Duration;

use serde_json::Value;

use crate::server::HandlerError;

/// How long a cancelled request's handler is still awaited, its answer unsent: long enough
/// for it to stop what it started outside the server (a Logs Insights `StopQuery` waits at
/// most 5 s) or to store the task step it was taking, which would otherwise run on unseen.
pub(super) const CANCEL_GRACE: Duration = Duration::from_secs(15);

/// Runs `dispatch` until it ends or `cancelled` resolves; then the request's token (which
/// the caller cancels, or which fired) has told the handler to stop, and it is awaited for
/// [`CANCEL_GRACE`] more, never dropped mid-step, before the outcome is `Cancelled`.
pub(super) async fn wind_down<F>(
    dispatch: F,
    cancelled: impl Future<Output = ()>,
) -> Result<Value, HandlerError>
where
    F: Future<Output = Result<Value, HandlerError>>,
{
    tokio::pin!(dispatch);
    tokio::select! {
        outcome = &mut dispatch => return outcome,
        () = cancelled => {}
    }
    if tokio::time::timeout(CANCEL_GRACE, dispatch).await.is_err() {
        tracing::warn!("a cancelled request's handler did not end within its grace; dropped");
    }
    Err(HandlerError::Cancelled)
}
