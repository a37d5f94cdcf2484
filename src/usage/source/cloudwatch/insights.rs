//! The Logs Insights source: one `stats` query per time slice, split when truncated. The query,
//! the split strategy, the limits and the cost are described in the [module docs](super).

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::operation::get_query_results::GetQueryResultsOutput;
use aws_sdk_cloudwatchlogs::types::{QueryStatus, ResultField};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio_util::sync::CancellationToken;

use super::backoff::Backoff;
use super::call::send;
use super::client::LogsClient;
use crate::usage::aggregate::{Aggregator, Dimensions};
use crate::usage::query::{Granularity, UsageFilters, UsageQuery};
use crate::usage::report::{Counters, UsageReport};
use crate::usage::source::{ProgressSink, SourceError, SourceInfo, SourceKind, UsageSource};
use crate::usage::time::Timestamp;

/// The most rows a Logs Insights query returns; a result this long is taken as truncated.
pub const MAX_RESULT_ROWS: usize = 10_000;

/// A slice shorter than this is not split further.
const MIN_SLICE_MS: i64 = 1_000;
/// Consecutive `Unknown` statuses tolerated before giving up on a query.
const MAX_UNKNOWN_POLLS: u32 = 5;
/// How long a `StopQuery` may take before it is abandoned.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// How an [`InsightsSource`] runs its queries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsightsOptions {
    /// Queries running at once (an account may run 30 in all). At least 1.
    pub max_concurrent_queries: usize,
    /// The length of the first slices, rounded up to whole buckets; `None`: 7 days for daily
    /// reports, 1 day for hourly ones.
    pub initial_slice: Option<Duration>,
    /// How many slices a truncated slice is split into. At least 2.
    pub split_into: u32,
    /// The most queries one report may run, splits included; the first cut uses at most a
    /// quarter of them. A report that needs more fails (and names the scan mode) instead of
    /// running up the bill.
    pub max_queries: usize,
    /// Polling `GetQueryResults`. (Refused calls are retried by the SDK, under
    /// [`crate::aws::RetryPolicy`].)
    pub poll: Backoff,
}

impl Default for InsightsOptions {
    fn default() -> Self {
        InsightsOptions {
            max_concurrent_queries: 4,
            initial_slice: None,
            split_into: 4,
            max_queries: 1_000,
            poll: Backoff::POLL,
        }
    }
}

/// Usage from a log group through Logs Insights `stats` queries.
#[derive(Debug, Clone)]
pub struct InsightsSource {
    client: LogsClient,
    log_group: String,
    options: InsightsOptions,
}

impl InsightsSource {
    /// A source querying `log_group` through `client`. Makes no request.
    pub fn new(client: LogsClient, log_group: impl Into<String>) -> Self {
        InsightsSource {
            client,
            log_group: log_group.into(),
            options: InsightsOptions::default(),
        }
    }

    /// Replaces the options.
    pub fn with_options(mut self, options: InsightsOptions) -> Self {
        self.options = options;
        self
    }

    /// The log group queried.
    pub fn log_group(&self) -> &str {
        &self.log_group
    }

    fn info(&self, region: Option<String>) -> SourceInfo {
        SourceInfo {
            kind: SourceKind::CloudwatchInsights,
            log_group: Some(self.log_group.clone()),
            region,
        }
    }
}

#[async_trait]
impl UsageSource for InsightsSource {
    async fn collect(
        &self,
        query: &UsageQuery,
        progress: &dyn ProgressSink,
        cancel: &CancellationToken,
    ) -> Result<UsageReport, SourceError> {
        // Refuse bad filter values before anything is sent.
        let filters = filter_clause(query.filters())?;
        let (client, region) = self.client.get().await?;
        let run = Run {
            client: &client,
            log_group: &self.log_group,
            granularity: query.granularity(),
            filters: filters.as_deref(),
            options: &self.options,
        };
        let mut aggregator = Aggregator::new(query, self.info(region.clone()));
        let mut pending: VecDeque<Slice> = initial_slices(query, &self.options).into();
        let mut total = pending.len() as u64;
        let mut done = 0u64;
        let mut started = 0u64;
        let mut bytes_scanned = 0f64;
        let mut failure: Option<SourceError> = None;
        // Fires on the caller's cancellation, and when one slice fails (stopping the others).
        let stop = cancel.child_token();
        let mut running = FuturesUnordered::new();
        progress.progress(0, Some(total));
        loop {
            while failure.is_none()
                && !stop.is_cancelled()
                && running.len() < self.options.max_concurrent_queries.max(1)
                && let Some(slice) = pending.pop_front()
            {
                started += 1;
                progress.phase(&format!(
                    "Logs Insights query {started} on {} ({}): {} to {}",
                    self.log_group,
                    region.as_deref().unwrap_or("default region"),
                    slice.start(),
                    slice.end(),
                ));
                let stop = stop.clone();
                let run = &run;
                running.push(async move {
                    let outcome = run.slice(slice, &stop).await;
                    (slice, outcome)
                });
            }
            let Some((slice, outcome)) = running.next().await else {
                break;
            };
            match outcome {
                Ok(SliceOutcome::Complete { rows, bytes }) => {
                    bytes_scanned += bytes;
                    for row in &rows {
                        row.add_to(&mut aggregator, query);
                    }
                    done += 1;
                    progress.progress(done, Some(total));
                }
                Ok(SliceOutcome::Truncated { bytes }) => {
                    bytes_scanned += bytes;
                    let parts = split(slice, query.granularity(), self.options.split_into).filter(
                        |parts| total + parts.len() as u64 - 1 <= self.options.max_queries as u64,
                    );
                    match parts {
                        Some(parts) => {
                            tracing::info!(
                                log_group = %self.log_group,
                                from = %slice.start(),
                                to = %slice.end(),
                                parts = parts.len(),
                                "Logs Insights result truncated at {MAX_RESULT_ROWS} rows; \
                                 splitting the slice"
                            );
                            total += parts.len() as u64 - 1;
                            // Depth first: the pieces of a dense slice before the rest.
                            for part in parts.into_iter().rev() {
                                pending.push_front(part);
                            }
                            progress.progress(done, Some(total));
                        }
                        None => {
                            failure.get_or_insert(SourceError::Backend(format!(
                                "Logs Insights found {MAX_RESULT_ROWS} or more distinct \
                                 (region, model, user, operation) combinations between {} and \
                                 {}, too many to split further within {} queries; use \
                                 --cloudwatch-mode scan",
                                slice.start(),
                                slice.end(),
                                self.options.max_queries
                            )));
                            stop.cancel();
                        }
                    }
                }
                Err(e) => {
                    // The first error wins; the others are the cancellations it caused.
                    if failure.is_none() {
                        failure = Some(e);
                    }
                    stop.cancel();
                }
            }
        }
        tracing::info!(
            log_group = %self.log_group,
            queries = started,
            bytes_scanned,
            "Logs Insights report done"
        );
        match failure {
            // No log group yet (every query is refused alike): nothing to count, and a
            // warning that says why.
            Some(SourceError::NotFound(_)) if done == 0 => {
                return Ok(super::missing_log_group(query, self.info(region), progress));
            }
            Some(SourceError::NotFound(e)) => return Err(SourceError::Backend(e)),
            Some(e) => return Err(e),
            None => {}
        }
        if cancel.is_cancelled() {
            return Err(SourceError::Cancelled);
        }
        Ok(aggregator.finish())
    }

    fn describe(&self) -> SourceInfo {
        self.info(self.client.region_hint())
    }
}

/// `[start_ms, end_ms)`, in epoch milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slice {
    start_ms: i64,
    end_ms: i64,
}

impl Slice {
    fn start(&self) -> String {
        Timestamp::from_unix_millis(self.start_ms)
            .map_or_else(|| self.start_ms.to_string(), |t| t.to_string())
    }

    fn end(&self) -> String {
        Timestamp::from_unix_millis(self.end_ms)
            .map_or_else(|| self.end_ms.to_string(), |t| t.to_string())
    }
}

/// The period cut at bucket boundaries into slices of about `initial_slice`.
fn initial_slices(query: &UsageQuery, options: &InsightsOptions) -> Vec<Slice> {
    let granularity = query.granularity();
    let bucket_ms = granularity.seconds() * 1000;
    let wanted = options.initial_slice.unwrap_or(match granularity {
        Granularity::Day => Duration::from_secs(7 * 86_400),
        Granularity::Hour => Duration::from_secs(86_400),
    });
    let wanted_ms = i64::try_from(wanted.as_millis()).unwrap_or(i64::MAX);
    // Whole buckets, at least one.
    let (start, end) = period_ms(query);
    // At most a quarter of the query budget for the first cut.
    let budget = i64::try_from(options.max_queries / 4)
        .unwrap_or(i64::MAX)
        .max(1);
    let wanted_ms = wanted_ms.max((end - start) / budget + 1);
    let buckets = wanted_ms / bucket_ms + i64::from(wanted_ms % bucket_ms != 0);
    let chunk_ms = buckets.max(1).saturating_mul(bucket_ms);
    let mut slices = Vec::new();
    let mut at = start;
    while at < end {
        let next = (at.div_euclid(chunk_ms) + 1)
            .saturating_mul(chunk_ms)
            .min(end);
        slices.push(Slice {
            start_ms: at,
            end_ms: next,
        });
        at = next;
    }
    slices
}

/// The period in milliseconds; an end with a sub-millisecond part keeps that millisecond.
fn period_ms(query: &UsageQuery) -> (i64, i64) {
    let end = query.end();
    let end_ms = end.unix_millis() + i64::from(!end.subsec_nanos().is_multiple_of(1_000_000));
    (query.start().unix_millis(), end_ms)
}

/// `slice` cut into up to `parts` pieces: at bucket boundaries when it crosses some, evenly in
/// time otherwise. `None` when it is too short to cut.
fn split(slice: Slice, granularity: Granularity, parts: u32) -> Option<Vec<Slice>> {
    let parts = i64::from(parts.max(2));
    let bucket_ms = granularity.seconds() * 1000;
    let first_boundary = (slice.start_ms.div_euclid(bucket_ms) + 1) * bucket_ms;
    let boundaries: Vec<i64> = if first_boundary < slice.end_ms {
        // Bucket boundaries strictly inside the slice; take up to parts - 1, evenly spread.
        let inside = (slice.end_ms - 1 - first_boundary) / bucket_ms + 1;
        let cuts = inside.min(parts - 1);
        (1..=cuts)
            .map(|i| first_boundary + ((i * (inside + 1)) / (cuts + 1) - 1).max(0) * bucket_ms)
            .collect()
    } else {
        let length = slice.end_ms - slice.start_ms;
        if length < 2 * MIN_SLICE_MS {
            return None;
        }
        let cuts = (length / MIN_SLICE_MS).min(parts) - 1;
        (1..=cuts)
            .map(|i| slice.start_ms + length * i / (cuts + 1))
            .collect()
    };
    let mut pieces = Vec::with_capacity(boundaries.len() + 1);
    let mut at = slice.start_ms;
    for cut in boundaries {
        if cut > at && cut < slice.end_ms {
            pieces.push(Slice {
                start_ms: at,
                end_ms: cut,
            });
            at = cut;
        }
    }
    pieces.push(Slice {
        start_ms: at,
        end_ms: slice.end_ms,
    });
    (pieces.len() > 1).then_some(pieces)
}

/// A Logs Insights double-quoted string literal for `value`, or why it cannot be one.
fn string_literal(value: &str) -> Result<String, SourceError> {
    if value.chars().any(char::is_control) {
        return Err(SourceError::Backend(format!(
            "the filter value {value:?} contains a control character, which no logged value has"
        )));
    }
    let mut literal = String::with_capacity(value.len() + 2);
    literal.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            literal.push('\\');
        }
        literal.push(c);
    }
    literal.push('"');
    Ok(literal)
}

/// The `filter` command for the query's filters (`None` without filters). Events that are not
/// records (no `timestamp`) pass, so that they can be counted as skipped.
fn filter_clause(filters: &UsageFilters) -> Result<Option<String>, SourceError> {
    let mut conditions = Vec::new();
    for (field, value) in [
        ("region", &filters.region),
        ("accountId", &filters.aws_account_id),
        ("modelId", &filters.model_id),
        ("identity.arn", &filters.user),
    ] {
        if let Some(value) = value {
            conditions.push(format!("{field} = {}", string_literal(value)?));
        }
    }
    if conditions.is_empty() {
        return Ok(None);
    }
    Ok(Some(format!(
        "filter (not ispresent(timestamp)) or ({})",
        conditions.join(" and ")
    )))
}

/// The Logs Insights query for the events of `[start_ms, end_ms)`, bucketed by `granularity`
/// and filtered by `filters` (see the module docs). Fails for a filter value that cannot be
/// written as a literal.
pub fn query_text(
    start_ms: i64,
    end_ms: i64,
    granularity: Granularity,
    filters: &UsageFilters,
) -> Result<String, SourceError> {
    Ok(build_query(
        start_ms,
        end_ms,
        granularity,
        filter_clause(filters)?.as_deref(),
    ))
}

fn bin_field(granularity: Granularity) -> &'static str {
    match granularity {
        Granularity::Day => "bin(24h)",
        Granularity::Hour => "bin(1h)",
    }
}

fn build_query(
    start_ms: i64,
    end_ms: i64,
    granularity: Granularity,
    filters: Option<&str>,
) -> String {
    let mut text =
        format!("filter toMillis(@timestamp) >= {start_ms} and toMillis(@timestamp) < {end_ms}\n");
    if let Some(filters) = filters {
        let _ = writeln!(text, "| {filters}");
    }
    let _ = write!(
        text,
        "| stats count(*) as events, count(timestamp) as records, \
         sum(input.inputTokenCount) as input_tokens, \
         sum(output.outputTokenCount) as output_tokens, \
         sum(input.cacheReadInputTokenCount) as cache_read_tokens, \
         sum(input.cacheWriteInputTokenCount) as cache_write_tokens, \
         count(errorCode) as errors \
         by {}, region, modelId, identity.arn, operation",
        bin_field(granularity)
    );
    text
}

/// What became of one slice's query.
enum SliceOutcome {
    Complete { rows: Vec<ResultRow>, bytes: f64 },
    Truncated { bytes: f64 },
}

/// Why polling a query ended without rows: the query is over, or may still be running.
enum Polled {
    Ended(SourceError),
    Live(SourceError),
}

/// What every slice of one report shares.
struct Run<'a> {
    client: &'a Client,
    log_group: &'a str,
    granularity: Granularity,
    filters: Option<&'a str>,
    options: &'a InsightsOptions,
}

impl Run<'_> {
    /// Starts the slice's query, polls it to the end, and reads its rows; stops it when `stop`
    /// fires.
    async fn slice(
        &self,
        slice: Slice,
        stop: &CancellationToken,
    ) -> Result<SliceOutcome, SourceError> {
        let text = build_query(slice.start_ms, slice.end_ms, self.granularity, self.filters);
        // Whole seconds, both ends inclusive, covering the slice; the query cuts to the ms.
        let start_s = slice.start_ms.div_euclid(1000);
        let end_s = (slice.end_ms + 999).div_euclid(1000);
        // Not interrupted: a query started must be known to be stopped.
        let call = self
            .client
            .start_query()
            .log_group_name(self.log_group)
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
            match out.status() {
                Some(QueryStatus::Scheduled | QueryStatus::Running) => unknown = 0,
                Some(QueryStatus::Complete) => return complete(&out).map_err(Polled::Ended),
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

fn complete(out: &GetQueryResultsOutput) -> Result<SliceOutcome, SourceError> {
    let bytes = out.statistics().map_or(0.0, |s| s.bytes_scanned());
    let results = out.results();
    if results.len() >= MAX_RESULT_ROWS {
        return Ok(SliceOutcome::Truncated { bytes });
    }
    let rows = results
        .iter()
        .map(|fields| ResultRow::parse(fields))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SliceOutcome::Complete { rows, bytes })
}

/// One row of a query's result.
#[derive(Debug, Default)]
struct ResultRow {
    bucket: Option<Timestamp>,
    region: Option<String>,
    model_id: Option<String>,
    user: Option<String>,
    operation: Option<String>,
    events: u64,
    records: u64,
    input_tokens: u64,
    output_tokens: u64,
    cache_read_tokens: u64,
    cache_write_tokens: u64,
    errors: u64,
}

impl ResultRow {
    fn parse(fields: &[ResultField]) -> Result<Self, SourceError> {
        let mut row = ResultRow::default();
        for field in fields {
            let (Some(name), Some(value)) = (field.field(), field.value()) else {
                continue;
            };
            let text = || (!value.is_empty()).then(|| value.to_owned());
            match name {
                "region" => row.region = text(),
                "modelId" => row.model_id = text(),
                "identity.arn" => row.user = text(),
                "operation" => row.operation = text(),
                "events" => row.events = number(name, value)?,
                "records" => row.records = number(name, value)?,
                "input_tokens" => row.input_tokens = number(name, value)?,
                "output_tokens" => row.output_tokens = number(name, value)?,
                "cache_read_tokens" => row.cache_read_tokens = number(name, value)?,
                "cache_write_tokens" => row.cache_write_tokens = number(name, value)?,
                "errors" => row.errors = number(name, value)?,
                bin if bin.starts_with("bin(") => row.bucket = Some(result_time(value)?),
                _ => {}
            }
        }
        Ok(row)
    }

    /// Adds the row's records to `aggregator` and its non-records to the skipped count.
    fn add_to(&self, aggregator: &mut Aggregator, query: &UsageQuery) {
        aggregator.add_skipped(self.events.saturating_sub(self.records));
        if self.records == 0 {
            return;
        }
        let Some(bucket) = self.bucket else {
            return;
        };
        // The bin starts before the period when the period starts mid-bucket; the query kept
        // only events of the period, so count the row at the period's start, same bucket.
        let at = bucket.max(query.start());
        let dims = Dimensions {
            region: self.region.as_deref(),
            // Filtered in the query; not a breakdown.
            account_id: query.filters().aws_account_id.as_deref(),
            model_id: self.model_id.as_deref(),
            user: self.user.as_deref(),
            operation: self.operation.as_deref(),
        };
        let counters = Counters {
            requests: self.records,
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            cache_read_input_tokens: self.cache_read_tokens,
            cache_write_input_tokens: self.cache_write_tokens,
            total_tokens: self
                .input_tokens
                .saturating_add(self.output_tokens)
                .saturating_add(self.cache_read_tokens)
                .saturating_add(self.cache_write_tokens),
            errors: self.errors.min(self.records),
        };
        aggregator.add_counts(at, &dims, &counters);
    }
}

/// A count or sum as Logs Insights writes it: `42`, or `42.0` / `4.2E1` for large sums.
fn number(field: &str, value: &str) -> Result<u64, SourceError> {
    if let Ok(n) = value.parse::<u64>() {
        return Ok(n);
    }
    match value.parse::<f64>() {
        Ok(f) if f.is_finite() => Ok(if f <= 0.0 {
            0
        } else if f >= u64::MAX as f64 {
            u64::MAX
        } else {
            f.round() as u64
        }),
        _ => Err(SourceError::Backend(format!(
            "Logs Insights returned {value:?} for {field}, not a number"
        ))),
    }
}

/// A bucket start as Logs Insights writes it: `2026-10-01 00:00:00.000` (UTC), also accepted
/// in RFC 3339 or as epoch milliseconds.
fn result_time(value: &str) -> Result<Timestamp, SourceError> {
    Timestamp::parse_rfc3339(value)
        .or_else(|_| Timestamp::parse_rfc3339(&format!("{value}Z")))
        .ok()
        .or_else(|| {
            value
                .parse::<i64>()
                .ok()
                .and_then(Timestamp::from_unix_millis)
        })
        .ok_or_else(|| {
            SourceError::Backend(format!("Logs Insights returned {value:?} as a time bucket"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn ms(s: &str) -> i64 {
        ts(s).unix_millis()
    }

    fn keys(slices: &[Slice]) -> Vec<(String, String)> {
        slices.iter().map(|s| (s.start(), s.end())).collect()
    }

    #[test]
    fn literals_escape_quotes_and_backslashes_and_refuse_control_characters() {
        assert_eq!(string_literal(r#"a"b\c"#).unwrap(), r#""a\"b\\c""#);
        assert_eq!(string_literal("é→").unwrap(), "\"é→\"");
        assert!(string_literal("a\nb").is_err());
        assert!(string_literal("a\u{7f}").is_err());
    }

    #[test]
    fn the_query_text_is_pinned() {
        let filters = UsageFilters {
            region: Some("us-east-1".into()),
            user: Some(r#"arn:aws:iam::1:user/"x" | stats"#.into()),
            ..UsageFilters::default()
        };
        let text = query_text(1000, 2000, Granularity::Hour, &filters).unwrap();
        assert_eq!(
            text,
            "filter toMillis(@timestamp) >= 1000 and toMillis(@timestamp) < 2000\n\
             | filter (not ispresent(timestamp)) or (region = \"us-east-1\" and identity.arn = \"arn:aws:iam::1:user/\\\"x\\\" | stats\")\n\
             | stats count(*) as events, count(timestamp) as records, sum(input.inputTokenCount) as input_tokens, sum(output.outputTokenCount) as output_tokens, sum(input.cacheReadInputTokenCount) as cache_read_tokens, sum(input.cacheWriteInputTokenCount) as cache_write_tokens, count(errorCode) as errors by bin(1h), region, modelId, identity.arn, operation"
        );
        let plain = query_text(0, 1, Granularity::Day, &UsageFilters::default()).unwrap();
        assert!(!plain.contains("ispresent"));
        assert!(plain.contains("by bin(24h),"));
    }

    #[test]
    fn initial_slices_follow_bucket_boundaries() {
        let q = UsageQuery::new(
            ts("2026-10-01T06:30:00Z"),
            ts("2026-10-20T00:00:00Z"),
            Granularity::Day,
        )
        .unwrap();
        let slices = initial_slices(&q, &InsightsOptions::default());
        // Seven-day chunks counted from the epoch (a Thursday).
        assert_eq!(
            keys(&slices),
            [
                ("2026-10-01T06:30:00Z".into(), "2026-10-08T00:00:00Z".into()),
                ("2026-10-08T00:00:00Z".into(), "2026-10-15T00:00:00Z".into()),
                ("2026-10-15T00:00:00Z".into(), "2026-10-20T00:00:00Z".into()),
            ]
        );
        let q = UsageQuery::new(
            ts("2026-10-01T00:00:00Z"),
            ts("2026-10-01T00:00:00.0005Z"),
            Granularity::Hour,
        )
        .unwrap();
        assert_eq!(
            initial_slices(&q, &InsightsOptions::default()),
            [Slice {
                start_ms: ms("2026-10-01T00:00:00Z"),
                end_ms: ms("2026-10-01T00:00:00Z") + 1
            }]
        );
    }

    #[test]
    fn splits_at_bucket_boundaries_then_within_a_bucket() {
        let day = Slice {
            start_ms: ms("2026-10-01T00:00:00Z"),
            end_ms: ms("2026-10-08T00:00:00Z"),
        };
        let parts = split(day, Granularity::Day, 4).unwrap();
        assert_eq!(
            keys(&parts),
            [
                ("2026-10-01T00:00:00Z".into(), "2026-10-02T00:00:00Z".into()),
                ("2026-10-02T00:00:00Z".into(), "2026-10-04T00:00:00Z".into()),
                ("2026-10-04T00:00:00Z".into(), "2026-10-06T00:00:00Z".into()),
                ("2026-10-06T00:00:00Z".into(), "2026-10-08T00:00:00Z".into()),
            ]
        );
        let two = Slice {
            start_ms: ms("2026-10-01T12:00:00Z"),
            end_ms: ms("2026-10-02T12:00:00Z"),
        };
        assert_eq!(
            keys(&split(two, Granularity::Day, 4).unwrap()),
            [
                ("2026-10-01T12:00:00Z".into(), "2026-10-02T00:00:00Z".into()),
                ("2026-10-02T00:00:00Z".into(), "2026-10-02T12:00:00Z".into()),
            ]
        );
        let one = Slice {
            start_ms: ms("2026-10-01T00:00:00Z"),
            end_ms: ms("2026-10-02T00:00:00Z"),
        };
        assert_eq!(
            keys(&split(one, Granularity::Day, 4).unwrap()),
            [
                ("2026-10-01T00:00:00Z".into(), "2026-10-01T06:00:00Z".into()),
                ("2026-10-01T06:00:00Z".into(), "2026-10-01T12:00:00Z".into()),
                ("2026-10-01T12:00:00Z".into(), "2026-10-01T18:00:00Z".into()),
                ("2026-10-01T18:00:00Z".into(), "2026-10-02T00:00:00Z".into()),
            ]
        );
        let short = Slice {
            start_ms: 0,
            end_ms: 2_500,
        };
        assert_eq!(split(short, Granularity::Hour, 4).unwrap().len(), 2);
        assert!(
            split(
                Slice {
                    start_ms: 0,
                    end_ms: 1_999
                },
                Granularity::Hour,
                4
            )
            .is_none()
        );
    }

    #[test]
    fn reads_numbers_and_times_as_insights_writes_them() {
        assert_eq!(number("x", "42").unwrap(), 42);
        assert_eq!(number("x", "4.2E1").unwrap(), 42);
        assert_eq!(number("x", "-3").unwrap(), 0);
        assert!(number("x", "many").is_err());
        assert_eq!(
            result_time("2026-10-01 13:00:00.000").unwrap(),
            ts("2026-10-01T13:00:00Z")
        );
        assert_eq!(
            result_time("1790859600000").unwrap(),
            ts("2026-10-01T13:00:00Z")
        );
        assert!(result_time("soon").is_err());
    }
}
