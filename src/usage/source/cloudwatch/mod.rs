//! Bedrock invocation logs in CloudWatch Logs, read two ways behind one
//! [`UsageSource`](super::UsageSource) trait: [`InsightsSource`] (Logs Insights aggregates in
//! CloudWatch; the default) and [`ScanSource`] (FilterLogEvents streams every event here).
//! For the same events both give the same report as [`FileSource`](super::FileSource) gives
//! for the same records as a JSON-lines file (the exceptions are listed under "What each
//! source can count" below).
//!
//! [`CloudWatchSelector`] picks the log group and region of each report (the server's defaults,
//! or the tool's `log_group_name` / `region` arguments). AWS clients are made on first use,
//! one per region, and cached: starting the server (a Lambda cold start included) touches no
//! network. They use the crate's one AWS configuration, `crate::aws::load_config`: the
//! HTTPS stack (hyper + rustls on ring), the standard sources (environment, profile,
//! `AWS_ENDPOINT_URL`) and the retry policy; the region comes from `--region` / `AWS_REGION`
//! or the profile, never from instance metadata.
//!
//! # Refused calls and what they cost
//!
//! The SDK retries every call ([`crate::aws::RetryPolicy::DEFAULT`]: standard mode, 3
//! attempts in all, jittered pauses under 1 s and then under 2 s): throttling
//! (`ThrottlingException`, `LimitExceededException`, which Logs Insights returns when too many
//! queries run in the account), `ServiceUnavailableException`, 5xx answers, timeouts and I/O
//! errors. The sources add no retries of their own, so a call costs at most 3 requests. When
//! CloudWatch refuses every call, one report makes at most:
//!
//! - Logs Insights, refused from the start: 3 × [`InsightsOptions::max_concurrent_queries`]
//!   (default 12) requests, the `StartQuery` calls in flight (no slice starts after one has
//!   failed, and a query never started needs no `StopQuery`);
//! - Logs Insights, refused once queries run: 6 more per running query (`GetQueryResults`,
//!   then the `StopQuery` that follows, 3 each), 24 with 4 running;
//! - the scan: 3 more (one `FilterLogEvents` page).
//!
//! The report then ends with an error naming the call and the code. Calls that succeed are not
//! bounded this way: polling a running query, and the scan's pages.
//!
//! What a client is told of a failed call is its name and the error code (e.g. "CloudWatch
//! Logs refused the StartQuery call (AccessDeniedException)"), never CloudWatch's message,
//! which can hold the account id, ARNs and role names; the whole error is logged at WARN.
//!
//! # Logs Insights ([`InsightsSource`])
//!
//! The period is cut into time slices, and each slice is one query, which CloudWatch runs and
//! aggregates; only the summed rows travel. For the slice `[A, B)` (epoch milliseconds) of a
//! daily report filtered by region and model, the query is:
//!
//! ```text
//! filter toMillis(@timestamp) >= A and toMillis(@timestamp) < B
//! | filter (not ispresent(timestamp)) or (region = "us-east-1" and modelId = "amazon.nova-pro-v1:0")
//! | stats count(*) as events, count(timestamp) as records, sum(input.inputTokenCount) as input_tokens, sum(output.outputTokenCount) as output_tokens, sum(input.cacheReadInputTokenCount) as cache_read_tokens, sum(input.cacheWriteInputTokenCount) as cache_write_tokens, count(errorCode) as errors by bin(24h), region, modelId, identity.arn, operation, inferenceRegion
//! ```
//!
//! (`bin(1h)` for hourly reports; without filters the second line is left out; the filters
//! that may appear are `region`, `accountId`, `modelId`, `identity.arn`, `inferenceRegion` and
//! `` `requestMetadata.KEY` ``.) Each `group_by_metadata` key adds its discovered field to the
//! `by` list, backquoted (`` , `requestMetadata.team` ``; keys are limited to Bedrock's key
//! characters, which hold no backquote), and the rows' `requestMetadata.KEY` values are
//! cleaned as the record parser cleans them. Grouping by the time bucket and all breakdown
//! dimensions at once makes every row a set of records that share a bucket, region, model,
//! user, operation, inference region and metadata values, so feeding the rows to
//! `Aggregator::add_counts` reproduces the time series
//! and every breakdown exactly, `top_n` folding included. Filter values are written as
//! double-quoted string literals with `\` and `"` escaped; a value with a control character is
//! refused, so no user text reaches the query unescaped. `count(errorCode)` counts the records
//! that carry an `errorCode` (Logs Insights has no conditional sum; `count(field)` counts the
//! events where the field is present). The events that are not invocation records (no
//! top-level `timestamp`, e.g. non-JSON text) are let through the filter on purpose: they
//! land in `events` but not in `records`, and `events - records` is added to
//! `skipped_records`.
//!
//! The `StartQuery` time range (whole seconds, both ends inclusive) covers the slice, and the
//! first `filter` cuts it to the millisecond, so that neighbouring slices never count an event
//! twice.
//!
//! ## The 10,000-row limit and how slices are split
//!
//! A query returns at most 10,000 rows. The period is first cut at bucket boundaries into
//! slices of [`InsightsOptions::initial_slice`] (default: 7 days for daily reports, 1 day for
//! hourly ones). A slice whose query comes back with 10,000 rows is taken as truncated: its
//! rows are dropped and it is split into [`InsightsOptions::split_into`] (default 4) smaller
//! slices, at bucket boundaries while it spans several buckets and evenly in time within one
//! bucket, recursively, down to one second; a one-second slice that still has 10,000 distinct
//! (region, model, user, operation) combinations is an error that names the scan mode. So is
//! a report that would need more than [`InsightsOptions::max_queries`] (default 1,000)
//! queries, all its reads and log groups together (`usage::source::budget`), each piece of a
//! split slice counted; the first cut of a read uses at most a quarter of them (longer first
//! slices for very long periods). Slices never overlap, so the merged report is exact
//! whatever the splits. Several log groups: see `usage::source::multi`.
//!
//! ## Limits, polling and cancellation
//!
//! At most [`InsightsOptions::max_concurrent_queries`] (default 4) queries run at once; an
//! account may run 30 (fewer on some plans) across all its users, so the server leaves room
//! for others. `GetQueryResults` is polled with backoff (100 ms doubling to 2 s). The query
//! statuses: `Scheduled` and `Running` keep polling; `Complete` delivers; `Failed`,
//! `Cancelled` (by someone else) and `Timeout` (CloudWatch stops a query after 60 minutes) end
//! the report with an error saying which slice and what to do; `Unknown` is polled a few more
//! times, then is an error too. Refused calls are retried by the SDK (see above). When the
//! report is cancelled, or one slice fails, every
//! running query gets a `StopQuery`, so CloudWatch stops scanning (and billing) for it; so
//! does a query whose results cannot be read.
//! Progress: a phase per query, and `done / total` in slices (the total grows when a slice is
//! split).
//!
//! ## Cost
//!
//! Logs Insights is billed per GB of log data scanned (USD 0.005 per GB in us-east-1 at the
//! time of writing), whatever the query returns, and Bedrock's records are mostly request
//! and response bodies. A report over a period scans every event of the log group in it once;
//! a truncated slice is paid for and then scanned again in smaller pieces, so a period whose
//! slices need splitting `d` levels deep costs up to `d + 1` scans. Every report says what it
//! scanned and cost in `query_cost` (each query's latest `statistics.bytesScanned`, summed;
//! priced at [`InsightsOptions::price_per_gb`]), also logged (`tracing`, target
//! `bedrock_usage_mcp::usage::source::cloudwatch`). [`InsightsOptions::max_scan_gb`] caps it,
//! for all the reads of one report together (`compare_to` and `anomalies` read more periods):
//! refused before the first query when the log group's stored bytes for those periods already
//! pass it, stopped (every running query with `StopQuery`) when the queries' statistics do;
//! see `insights/cost.rs`. Log groups in the Infrequent Access class support these queries
//! too.
//!
//! # FilterLogEvents scan ([`ScanSource`])
//!
//! Pages through `FilterLogEvents` over the period with `nextToken` and folds each page into
//! the aggregator as it arrives ([`Aggregator::add_line`](crate::usage::Aggregator::add_line)),
//! so memory holds one page (at most 1 MB or 10,000 events) and the counters, never the
//! period's events. Cancellation is checked between pages and interrupts a request in flight;
//! progress is the part of the period covered so far, in seconds. With a `modelId` or user
//! filter it sends a `filterPattern` (`{ ($.modelId = "...") && ($.identity.arn = "...") }`,
//! only for values made of characters that need no escaping there) so CloudWatch drops other
//! events before sending them; the aggregator still applies every filter exactly. The scan is
//! not billed per GB the way Insights is, but it moves every matching event (bodies included)
//! to the server and is limited to a few requests per second per account: slow for big
//! periods, exact, and cheap.
//!
//! The scan asks for [`ScanOptions::timestamp_slack`] (default 5 minutes) more on both sides
//! of the period: it places records by their own `timestamp`, like the file source, and a
//! record whose CloudWatch event time differs a little from it is still found.
//!
//! # What each source can count
//!
//! - The file source and the scan read each record's own `timestamp`; Logs Insights places a
//!   record by its CloudWatch event time (`@timestamp`), the only time it can filter and bin.
//!   Bedrock writes both for the same invocation; where they differ across a bucket boundary,
//!   the Insights report puts the record in the neighbouring bucket.
//! - A log group that does not exist (`ResourceNotFoundException` from `StartQuery` or
//!   `FilterLogEvents`; a fresh account before Bedrock logging is on) is not an error: both
//!   sources answer with zero usage and a `log_group_not_found` warning naming the group, the
//!   region and how to turn logging on.
//! - `skipped_records`: the file source counts every unreadable line of the file; the
//!   CloudWatch sources count the unreadable events whose event time is in the period. Logs
//!   Insights sees as unreadable only the events without a top-level `timestamp` field
//!   (non-JSON text, truncated events, other JSON); a record with a `timestamp` it cannot read
//!   or a token count of the wrong type (which the file source skips) is counted. When the
//!   scan sends a `filterPattern`, CloudWatch does not return non-JSON events at all, so
//!   `skipped_records` is 0 there (turn the pattern off with
//!   [`ScanOptions::filter_pattern`] to count them).
//! - `errors`: Insights counts records with an `errorCode` field, also if it is `null` or
//!   empty (which the other sources do not count; Bedrock writes neither).
//! - `requestMetadata`: the file source and the scan keep a record's first 16 string entries
//!   (see [`crate::usage::record`]); Logs Insights sees every entry, so a key past the 16th of
//!   a record, or a non-string value (Insights reads `7` as the text `7`), is grouped there
//!   and is `(none)` in the other sources. Bedrock's callers send strings; the difference only
//!   shows with hand-made records. A key containing `.` is ambiguous in Insights (it flattens
//!   nested objects with dots).
//! - Logs Insights discovers at most 1,000 fields of a JSON event (100 in older accounts'
//!   documentation), in order, and Bedrock writes the token counts after the request body: a
//!   record whose request body alone flattens to more fields loses its counts in Insights
//!   reports. Use the scan for such logs, or log large bodies to S3.

mod backoff;
pub(crate) mod call;
mod client;
mod identifier;
mod insights;
mod log_group;
mod scan;
mod selector;

pub use backoff::Backoff;
pub use client::{CallTimeouts, ClientCache, LogsClient};
pub use identifier::LogGroupId;
pub use insights::{
    DEFAULT_PRICE_PER_GB, InsightsOptions, InsightsSource, MAX_RESULT_ROWS, query_text,
};
pub use log_group::{LogGroupSource, ReadOptions};
pub use scan::{ScanOptions, ScanSource, filter_pattern};
pub use selector::{CallerLogGroups, CloudWatchSelector};

use std::fmt;
use std::str::FromStr;

use crate::usage::aggregate::Aggregator;
use crate::usage::query::UsageQuery;
use crate::usage::report::{UsageReport, Warning};
use crate::usage::source::{ProgressSink, SourceInfo};

/// The report of a log group that does not exist: zero usage over the period, and a warning
/// naming the group and region and saying how to turn Bedrock's logging on. A fresh account
/// has no log group until Bedrock writes its first record, and that is not a failure.
fn missing_log_group(
    query: &UsageQuery,
    info: SourceInfo,
    progress: &dyn ProgressSink,
) -> UsageReport {
    let warning = Warning::log_group_not_found(
        info.log_group.as_deref().unwrap_or("(none)"),
        info.region.as_deref(),
    );
    tracing::warn!(
        log_group = info.log_group.as_deref().unwrap_or(""),
        region = info.region.as_deref().unwrap_or(""),
        "the log group does not exist: reporting zero usage with a warning"
    );
    progress.phase(&warning.message);
    let mut report = Aggregator::new(query, info).finish();
    report.warnings.push(warning);
    report
}

/// How a CloudWatch source reads the log group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CloudWatchMode {
    /// Logs Insights `stats` queries: aggregation in CloudWatch, billed per GB scanned.
    #[default]
    Insights,
    /// FilterLogEvents: every event streamed and aggregated here.
    Scan,
    /// No log group: CloudWatch's `AWS/Bedrock` metrics ([`crate::usage::source::metrics`]).
    Metrics,
}

impl CloudWatchMode {
    /// The flag value: `insights`, `scan` or `metrics`.
    pub fn as_str(self) -> &'static str {
        match self {
            CloudWatchMode::Insights => "insights",
            CloudWatchMode::Scan => "scan",
            CloudWatchMode::Metrics => "metrics",
        }
    }
}

impl fmt::Display for CloudWatchMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CloudWatchMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "insights" => Ok(CloudWatchMode::Insights),
            "scan" => Ok(CloudWatchMode::Scan),
            "metrics" => Ok(CloudWatchMode::Metrics),
            other => Err(format!(
                "unknown CloudWatch mode {other:?}: expected insights, scan or metrics"
            )),
        }
    }
}
