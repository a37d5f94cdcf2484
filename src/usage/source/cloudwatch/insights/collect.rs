//! One report from its slices: the slices' queries run a few at a time, a complete slice's
//! rows go to the [`Aggregator`], a truncated slice is split into pieces queried next (depth
//! first), and the first failure stops the rest.

use std::collections::VecDeque;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio_util::sync::CancellationToken;

use super::MAX_RESULT_ROWS;
use super::rows::SliceOutcome;
use super::run::Run;
use super::slice::{Slice, initial_slices, split};
use crate::usage::aggregate::Aggregator;
use crate::usage::query::UsageQuery;
use crate::usage::report::{QueryCost, UsageReport};
use crate::usage::source::cloudwatch::missing_log_group;
use crate::usage::source::{ProgressSink, SourceError, SourceInfo};

/// The state of one report's collection.
pub(super) struct Collection<'a> {
    run: &'a Run<'a>,
    query: &'a UsageQuery,
    info: SourceInfo,
    progress: &'a dyn ProgressSink,
    /// The caller's cancellation.
    cancel: &'a CancellationToken,
    /// Fires on the caller's cancellation, and when one slice fails (stopping the others).
    stop: CancellationToken,
    aggregator: Aggregator,
    /// Slices not started yet, the next first.
    pending: VecDeque<Slice>,
    /// Slices in all so far (splits add to it), complete ones, and queries started.
    total: u64,
    done: u64,
    started: u64,
    /// The first failure; the report ends with it.
    failure: Option<SourceError>,
    /// What the meter held before this read: the report's earlier reads (run one after the
    /// other), which share it.
    scanned_before: u64,
}

impl<'a> Collection<'a> {
    /// The report's first slices, none started yet.
    pub(super) fn new(
        run: &'a Run<'a>,
        query: &'a UsageQuery,
        info: SourceInfo,
        progress: &'a dyn ProgressSink,
        cancel: &'a CancellationToken,
    ) -> Self {
        let pending: VecDeque<Slice> = initial_slices(query, run.options).into();
        Collection {
            run,
            query,
            aggregator: Aggregator::new(query, info.clone()),
            info,
            progress,
            cancel,
            stop: cancel.child_token(),
            total: pending.len() as u64,
            // The first cut comes out of the report's query budget, shared by all its reads
            // and sources.
            failure: (!run.meter.plan_queries(pending.len() as u64))
                .then(|| over_budget(run.meter.max_queries(), query)),
            pending,
            done: 0,
            started: 0,
            scanned_before: run.meter.total(),
        }
    }

    /// Runs every slice (splits included) and returns the merged report, or the first failure.
    pub(super) async fn run(mut self) -> Result<UsageReport, SourceError> {
        let run = self.run;
        let concurrency = run.options.max_concurrent_queries.max(1);
        let mut running = FuturesUnordered::new();
        self.progress.progress(0, Some(self.total));
        loop {
            while running.len() < concurrency
                && let Some(slice) = self.next_slice()
            {
                let stop = self.stop.clone();
                running.push(async move { (slice, run.slice(slice, &stop).await) });
            }
            let Some((slice, outcome)) = running.next().await else {
                break;
            };
            match outcome {
                Ok(SliceOutcome::Complete { rows }) => {
                    for row in &rows {
                        row.add_to(&mut self.aggregator, self.query);
                    }
                    self.done += 1;
                    self.progress.progress(self.done, Some(self.total));
                }
                Ok(SliceOutcome::Truncated) => {
                    self.split_truncated(slice);
                }
                // The first error wins; the others are the cancellations it caused.
                Err(e) => self.fail(e),
            }
        }
        self.finish()
    }

    /// The next slice to start, announced as a phase; `None` when there is none, or when the
    /// report is failing or cancelled.
    fn next_slice(&mut self) -> Option<Slice> {
        if self.failure.is_some() || self.stop.is_cancelled() {
            return None;
        }
        let slice = self.pending.pop_front()?;
        self.started += 1;
        self.progress.phase(&format!(
            "Logs Insights query {} on {} ({}): {} to {}",
            self.started,
            self.run.log_group,
            self.info.region.as_deref().unwrap_or("default region"),
            slice.start(),
            slice.end(),
        ));
        Some(slice)
    }

    /// Queues the pieces of a truncated slice to run next, or fails the report when it cannot
    /// be split (too short, or over the query budget).
    fn split_truncated(&mut self, slice: Slice) {
        let max_queries = self.run.meter.max_queries();
        let pieces = split(slice, self.query.granularity(), self.run.options.split_into);
        let splittable = pieces.is_some();
        // Every piece is one more query (the truncated one was run already).
        let parts = pieces.filter(|parts| self.run.meter.plan_queries(parts.len() as u64));
        let Some(parts) = parts else {
            // Out of the report's query budget: a limit of the whole report (every source
            // shares it), not a failure of this log group.
            let error = if splittable {
                SourceError::ScanCap
            } else {
                SourceError::Backend
            };
            self.fail(error(format!(
                "Logs Insights found {MAX_RESULT_ROWS} or more distinct \
                 (region, model, user, operation) combinations between {} and \
                 {}, too many to split further within the report's {max_queries} queries \
                 (all its reads and log groups together); use --cloudwatch-mode scan",
                slice.start(),
                slice.end(),
            )));
            return;
        };
        tracing::info!(
            log_group = %self.run.log_group,
            from = %slice.start(),
            to = %slice.end(),
            parts = parts.len(),
            "Logs Insights result truncated at {MAX_RESULT_ROWS} rows; splitting the slice"
        );
        self.total += parts.len() as u64 - 1;
        // Depth first: the pieces of a dense slice before the rest.
        for part in parts.into_iter().rev() {
            self.pending.push_front(part);
        }
        self.progress.progress(self.done, Some(self.total));
    }

    /// Keeps the first failure and stops the slices still running.
    fn fail(&mut self, error: SourceError) {
        self.failure.get_or_insert(error);
        self.stop.cancel();
    }

    /// The report once no slice runs: the first failure, cancelled, or the merged rows.
    fn finish(self) -> Result<UsageReport, SourceError> {
        let options = self.run.options;
        let cost = QueryCost::new(
            self.run.meter.total().saturating_sub(self.scanned_before),
            self.started,
            options.price_per_gb,
            options.max_scan_gb,
        );
        tracing::info!(
            log_group = %self.run.log_group,
            queries = self.started,
            bytes_scanned = cost.bytes_scanned,
            estimated_cost_usd = %cost.estimated_cost,
            "Logs Insights report done"
        );
        let mut report = match self.failure {
            // No log group yet (every query is refused alike): nothing to count, and a
            // warning that says why.
            Some(SourceError::NotFound(_)) if self.done == 0 => {
                missing_log_group(self.query, self.info, self.progress)
            }
            Some(SourceError::NotFound(e)) => return Err(SourceError::Backend(e)),
            Some(e) => return Err(e),
            None if self.cancel.is_cancelled() => return Err(SourceError::Cancelled),
            None => self.aggregator.finish(),
        };
        report.query_cost = Some(cost);
        Ok(report)
    }
}

/// The error of a read whose first slices no longer fit in the report's query budget.
fn over_budget(max_queries: u64, query: &UsageQuery) -> SourceError {
    SourceError::ScanCap(format!(
        "the report needs more than its {max_queries} Logs Insights queries (all its reads and \
         log groups together) to read {} to {}; ask for a shorter period, fewer log groups or \
         no compare_to, or use --cloudwatch-mode scan",
        query.start(),
        query.end(),
    ))
}
