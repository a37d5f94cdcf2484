//! The Logs Insights source: one `stats` query per time slice, split when truncated. The query,
//! the split strategy, the limits and the cost are described in the [module docs](super).
//!
//! One concept per file: `query_text.rs` writes a slice's query, `slice.rs` cuts the period
//! into slices and splits a truncated one, `run.rs` sends one query's calls (`StartQuery`, one
//! `GetQueryResults`, `StopQuery`), `rows.rs` reads its result, `collect.rs` is the step
//! machine that runs a report's slices a few at a time and folds their rows (driven to the
//! end by a direct call), and `resume.rs` takes its steps as a report task's polls.

mod collect;
mod cost;
mod query_text;
mod resume;
mod rows;
mod run;
mod slice;

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::Client;
use tokio_util::sync::CancellationToken;

pub use query_text::query_text;

use super::backoff::Backoff;
use super::log_group::{LogGroupSource, ReadOptions};
use crate::usage::aggregate::Aggregator;
use crate::usage::query::UsageQuery;
use crate::usage::report::UsageReport;
use crate::usage::source::{
    ProgressSink, Read, ReportBudget, ResumableReads, SourceError, SourceInfo, SourceKind,
    UsageSource, collect_as_one_read,
};

/// The most rows a Logs Insights query returns; a result this long is taken as truncated.
pub const MAX_RESULT_ROWS: usize = 10_000;

/// What Logs Insights charges per GB scanned in US East (N. Virginia), in USD: the default of
/// [`InsightsOptions::price_per_gb`]. From AWS's CloudWatch pricing page (Logs tab, "Analyze
/// (Logs Insights queries)": $0.005 per GB of data scanned), checked December 2026; other
/// regions charge more (e.g. Tokyo $0.0076), so set `--insights-price-per-gb` there.
pub const DEFAULT_PRICE_PER_GB: f64 = 0.005;

/// How an [`InsightsSource`] runs its queries.
#[derive(Debug, Clone, PartialEq)]
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
    /// USD per GB (10^9 bytes) scanned, for the report's `query_cost`
    /// ([`DEFAULT_PRICE_PER_GB`] unless set).
    pub price_per_gb: f64,
    /// The most GB one report may scan (`--max-scan-gb`), all its reads together (the
    /// previous period and the anomaly baseline too): refused before the first query when a
    /// low estimate already passes it, stopped (every running query with `StopQuery`) when
    /// the queries' statistics pass it. `None`: no cap.
    pub max_scan_gb: Option<f64>,
}

impl Default for InsightsOptions {
    fn default() -> Self {
        InsightsOptions {
            max_concurrent_queries: 4,
            initial_slice: None,
            split_into: 4,
            max_queries: 1_000,
            poll: Backoff::POLL,
            price_per_gb: DEFAULT_PRICE_PER_GB,
            max_scan_gb: None,
        }
    }
}

impl ReadOptions for InsightsOptions {
    const KIND: SourceKind = SourceKind::CloudwatchInsights;
}

/// Usage from a log group through Logs Insights `stats` queries.
pub type InsightsSource = LogGroupSource<InsightsOptions>;

#[async_trait]
impl UsageSource for InsightsSource {
    async fn collect(
        &self,
        query: &UsageQuery,
        progress: &dyn ProgressSink,
        cancel: &CancellationToken,
    ) -> Result<UsageReport, SourceError> {
        collect_as_one_read(self, query, progress, cancel).await
    }

    /// The reads one after the other under one budget (`--max-scan-gb`, `max_queries`) for
    /// the whole report.
    async fn collect_reads(
        &self,
        reads: &[Read<'_>],
        progress: &dyn ProgressSink,
        cancel: &CancellationToken,
    ) -> Result<Vec<UsageReport>, SourceError> {
        let budget = self.budget();
        self.collect_reads_within(reads, &budget, progress, cancel)
            .await
    }

    /// The reads one after the other under `budget`, which the report's other sources share:
    /// one preflight over all their periods before any query, and one meter and query count
    /// that every read's queries add to.
    async fn collect_reads_within(
        &self,
        reads: &[Read<'_>],
        budget: &ReportBudget,
        progress: &dyn ProgressSink,
        cancel: &CancellationToken,
    ) -> Result<Vec<UsageReport>, SourceError> {
        let queries: Vec<UsageQuery> = reads.iter().map(|read| read.query.clone()).collect();
        let clauses = clauses(&queries)?;
        let (client, region) = self.client.get().await?;
        cost::preflight(&client, &self.log_group, queries.iter(), budget, cancel).await?;
        let info = self.info(region);
        let phases = reads.iter().map(|read| read.phase).collect();
        let aggregators = (queries.iter())
            .map(|query| Aggregator::new(query, info.clone()))
            .collect();
        let env = self.env(
            &client, info, &queries, &clauses, phases, budget, progress, cancel,
        );
        collect::run_to_end(
            collect::Reads::new(&queries, &self.options),
            &env,
            aggregators,
        )
        .await
    }

    fn describe(&self) -> SourceInfo {
        self.describe_source()
    }

    fn resumable(&self) -> Option<&dyn ResumableReads> {
        Some(self)
    }
}

impl InsightsSource {
    /// A fresh budget for one report: `--max-scan-gb` and `max_queries`.
    fn budget(&self) -> ReportBudget {
        ReportBudget::new(
            self.options.max_scan_gb.map(cost::cap_bytes),
            self.options.max_queries,
        )
    }

    /// What the steps of one report's reads need.
    #[allow(clippy::too_many_arguments)]
    fn env<'a>(
        &'a self,
        client: &'a Client,
        info: SourceInfo,
        queries: &'a [UsageQuery],
        clauses: &'a [(Option<String>, String)],
        phases: Vec<Option<&'a str>>,
        budget: &'a ReportBudget,
        progress: &'a dyn ProgressSink,
        cancel: &'a CancellationToken,
    ) -> collect::Env<'a> {
        let shapes = (queries.iter().zip(clauses))
            .map(|(query, (filters, group_by))| run::Shape {
                granularity: query.granularity(),
                filters: filters.as_deref(),
                group_by,
            })
            .collect();
        collect::Env {
            run: run::Run {
                client,
                log_group: &self.log_group,
                options: &self.options,
            },
            shapes,
            queries,
            phases,
            info,
            budget,
            progress,
            cancel,
        }
    }
}

/// Each query's filter and grouping clauses; bad filter values are refused here, before
/// anything is sent.
fn clauses(queries: &[UsageQuery]) -> Result<Vec<(Option<String>, String)>, SourceError> {
    queries
        .iter()
        .map(|query| {
            let filters = query_text::filter_clause(query.filters())?;
            let group_by = query_text::group_clause(query.group_by_metadata())?;
            Ok((filters, group_by))
        })
        .collect()
}
