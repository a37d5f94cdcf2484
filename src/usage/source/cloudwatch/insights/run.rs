//! One query's calls, each sent once and never waiting for the query: `StartQuery` for a
//! slice, one `GetQueryResults` (what CloudWatch has now: running, or over with its rows) and
//! `StopQuery` when the report no longer needs a query that may still run (cancelled, failed,
//! over the scan cap, or lost track of), so that it does not scan and bill on. The waiting
//! between two questions is the caller's: a sleep in a direct call, the client's poll interval
//! in a task.

use std::time::Duration;

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::QueryStatus;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::query_text::build_query;
use super::rows::{SliceOutcome, complete};
use super::slice::Slice;
use super::{InsightsOptions, MAX_RESULT_ROWS};
use crate::usage::query::Granularity;
use crate::usage::source::SourceError;
use crate::usage::source::cloudwatch::call::send;
use crate::usage::source::cloudwatch::identifier::{identifier_param, name_param};

/// Consecutive `Unknown` statuses tolerated before giving up on a query.
const MAX_UNKNOWN_POLLS: u32 = 5;
/// How long a `StopQuery` may take before it is abandoned.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// A query started and not over yet, as a report keeps it (also between a task's polls).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Running {
    pub(super) id: String,
    pub(super) slice: Slice,
    /// Consecutive answers without a known status.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(super) unknown: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// What one `GetQueryResults` said of a query.
pub(super) enum Answer {
    /// Still running (or scheduled).
    Running,
    /// Over, with its rows or truncated.
    Complete(SliceOutcome),
    /// Over without rows (failed, cancelled outside, timed out).
    Ended(SourceError),
    /// Not known to be over (the call failed, or the status stayed unknown): stop it.
    Live(SourceError),
}

/// What every query of one report shares.
pub(super) struct Run<'a> {
    pub(super) client: &'a Client,
    pub(super) log_group: &'a str,
    pub(super) options: &'a InsightsOptions,
}

/// The query shape of one read: its buckets, filter and grouping.
pub(super) struct Shape<'a> {
    pub(super) granularity: Granularity,
    pub(super) filters: Option<&'a str>,
    /// What the `stats` groups by after the time bucket ([`super::query_text::group_clause`]).
    pub(super) group_by: &'a str,
}

impl Run<'_> {
    /// Starts the query of `slice`; its id.
    pub(super) async fn start(
        &self,
        shape: &Shape<'_>,
        slice: Slice,
        cancel: &CancellationToken,
    ) -> Result<String, SourceError> {
        let text = build_query(
            slice.start_ms,
            slice.end_ms,
            shape.granularity,
            shape.filters,
            shape.group_by,
        );
        // Whole seconds, both ends inclusive, covering the slice; the query cuts to the ms.
        let start_s = slice.start_ms.div_euclid(1000);
        let end_s = (slice.end_ms + 999).div_euclid(1000);
        // Not interrupted: a query started must be known to be stopped.
        let call = self
            .client
            .start_query()
            .set_log_group_name(name_param(self.log_group))
            .set_log_group_identifiers(identifier_param(self.log_group).map(|arn| vec![arn]))
            .start_time(start_s)
            .end_time(end_s)
            .query_string(text)
            .limit(MAX_RESULT_ROWS as i32)
            .send();
        let started = send("StartQuery", cancel, false, call).await?;
        started.query_id().map(str::to_owned).ok_or_else(|| {
            SourceError::Backend("StartQuery answered without a query id".to_owned())
        })
    }

    /// Asks once where `query` stands; the bytes it has scanned so far (what it is billed
    /// for), when the answer says.
    pub(super) async fn ask(
        &self,
        query: &mut Running,
        cancel: &CancellationToken,
    ) -> (Answer, Option<f64>) {
        let call = self.client.get_query_results().query_id(&query.id).send();
        let out = match send("GetQueryResults", cancel, true, call).await {
            Ok(out) => out,
            // An unknown query id is not a missing log group.
            Err(SourceError::NotFound(e)) => return (Answer::Live(SourceError::Backend(e)), None),
            Err(e) => return (Answer::Live(e), None),
        };
        let bytes = out.statistics().map(|s| s.bytes_scanned());
        let failed = |what: &str| {
            SourceError::Backend(format!(
                "the Logs Insights query {} on {} from {} to {} {what}",
                query.id,
                self.log_group,
                query.slice.start(),
                query.slice.end()
            ))
        };
        let answer = match out.status() {
            Some(QueryStatus::Scheduled | QueryStatus::Running) => {
                query.unknown = 0;
                Answer::Running
            }
            Some(QueryStatus::Complete) => match complete(&out) {
                Ok(outcome) => Answer::Complete(outcome),
                Err(e) => Answer::Ended(e),
            },
            Some(QueryStatus::Failed) => Answer::Ended(failed(
                "failed in CloudWatch (status Failed); try again, or use --cloudwatch-mode scan",
            )),
            Some(QueryStatus::Cancelled) => Answer::Ended(failed(
                "was cancelled outside this server (status Cancelled)",
            )),
            Some(QueryStatus::Timeout) => Answer::Ended(failed(
                "timed out (CloudWatch stops queries after 60 minutes); ask for a shorter \
                 period, or use --cloudwatch-mode scan",
            )),
            other => {
                query.unknown += 1;
                if query.unknown > MAX_UNKNOWN_POLLS {
                    let status = other.map_or("none", QueryStatus::as_str);
                    Answer::Live(failed(&format!("stayed in status {status}")))
                } else {
                    Answer::Running
                }
            }
        };
        (answer, bytes)
    }

    /// Asks CloudWatch to stop `id`, without waiting long and without failing.
    pub(super) async fn stop_query(&self, id: &str) {
        let call = self.client.stop_query().query_id(id).send();
        match tokio::time::timeout(STOP_TIMEOUT, call).await {
            Ok(Ok(_)) => tracing::info!(query_id = id, "stopped the Logs Insights query"),
            Ok(Err(e)) => tracing::warn!(
                query_id = id,
                error = %aws_sdk_cloudwatchlogs::error::DisplayErrorContext(&e),
                "could not stop the Logs Insights query"
            ),
            Err(_) => tracing::warn!(query_id = id, "StopQuery took too long; abandoned"),
        }
    }

    /// Stops every query of `ids`, at once.
    pub(super) async fn stop_all<'i>(&self, ids: impl IntoIterator<Item = &'i str>) {
        futures_util::future::join_all(ids.into_iter().map(|id| self.stop_query(id))).await;
    }
}
