//! One slice's query from start to end: `StartQuery`, `GetQueryResults` polled with backoff
//! until the query is over, and `StopQuery` when the report no longer needs a query that may
//! still run (cancelled, or lost track of), so that it does not scan and bill on.

use std::time::Duration;

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::QueryStatus;
use tokio_util::sync::CancellationToken;

use super::cost::ScanMeter;
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

/// Why polling a query ended without rows: the query is over, or may still be running.
enum Polled {
    Ended(SourceError),
    Live(SourceError),
}

/// What every slice of one report shares.
pub(super) struct Run<'a> {
    pub(super) client: &'a Client,
    pub(super) log_group: &'a str,
    pub(super) granularity: Granularity,
    pub(super) filters: Option<&'a str>,
    /// What the `stats` groups by after the time bucket ([`super::query_text::group_clause`]).
    pub(super) group_by: &'a str,
    pub(super) options: &'a InsightsOptions,
    /// The bytes the report's queries have scanned, and the cap.
    pub(super) meter: &'a ScanMeter,
}

impl Run<'_> {
    /// Starts the slice's query, polls it to the end, and reads its rows; stops it when `stop`
    /// fires.
    pub(super) async fn slice(
        &self,
        slice: Slice,
        stop: &CancellationToken,
    ) -> Result<SliceOutcome, SourceError> {
        let text = build_query(
            slice.start_ms,
            slice.end_ms,
            self.granularity,
            self.filters,
            self.group_by,
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
        let started = send("StartQuery", stop, false, call).await?;
        let Some(id) = started.query_id().map(str::to_owned) else {
            return Err(SourceError::Backend(
                "StartQuery answered without a query id".to_owned(),
            ));
        };
        match self.poll(&id, slice, stop).await {
            Ok(outcome) => Ok(outcome),
            Err(Polled::Ended(e)) => Err(e),
            // Cancelled, or lost track of: stop it rather than let it scan (and bill) on.
            Err(Polled::Live(e)) => {
                self.stop_query(&id).await;
                Err(e)
            }
        }
    }

    async fn poll(
        &self,
        id: &str,
        slice: Slice,
        stop: &CancellationToken,
    ) -> Result<SliceOutcome, Polled> {
        let mut polls = 0u32;
        let mut unknown = 0u32;
        loop {
            tokio::select! {
                biased;
                () = stop.cancelled() => return Err(Polled::Live(SourceError::Cancelled)),
                () = tokio::time::sleep(self.options.poll.delay(polls)) => {}
            }
            polls = polls.saturating_add(1);
            let call = self.client.get_query_results().query_id(id).send();
            let out = send("GetQueryResults", stop, true, call)
                .await
                .map_err(|e| match e {
                    // An unknown query id is not a missing log group.
                    SourceError::NotFound(e) => Polled::Live(SourceError::Backend(e)),
                    e => Polled::Live(e),
                })?;
            let failed = |what: &str| {
                SourceError::Backend(format!(
                    "the Logs Insights query {id} on {} from {} to {} {what}",
                    self.log_group,
                    slice.start(),
                    slice.end()
                ))
            };
            // Every answer says what the query has scanned so far (what it is billed for).
            let metered = out
                .statistics()
                .map_or(Ok(()), |s| self.meter.record(id, s.bytes_scanned()));
            match out.status() {
                Some(QueryStatus::Scheduled | QueryStatus::Running) => {
                    // Over the cap: stop it (and, through the report, every other one).
                    metered.map_err(Polled::Live)?;
                    unknown = 0;
                }
                Some(QueryStatus::Complete) => {
                    metered.map_err(Polled::Ended)?;
                    return complete(&out).map_err(Polled::Ended);
                }
                Some(QueryStatus::Failed) => {
                    return Err(Polled::Ended(failed(
                        "failed in CloudWatch (status Failed); try again, or use \
                         --cloudwatch-mode scan",
                    )));
                }
                Some(QueryStatus::Cancelled) => {
                    return Err(Polled::Ended(failed(
                        "was cancelled outside this server (status Cancelled)",
                    )));
                }
                Some(QueryStatus::Timeout) => {
                    return Err(Polled::Ended(failed(
                        "timed out (CloudWatch stops queries after 60 minutes); ask for a shorter \
                         period, or use --cloudwatch-mode scan",
                    )));
                }
                other => {
                    unknown += 1;
                    if unknown > MAX_UNKNOWN_POLLS {
                        let status = other.map_or("none", QueryStatus::as_str);
                        return Err(Polled::Live(failed(&format!("stayed in status {status}"))));
                    }
                }
            }
        }
    }

    /// Asks CloudWatch to stop `id`, without waiting long and without failing.
    async fn stop_query(&self, id: &str) {
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
}
