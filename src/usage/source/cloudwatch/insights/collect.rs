//! One report's reads as a step machine, the one way Logs Insights is read: a direct call
//! drives it to the end with a pause between steps ([`run_to_end`]), a report task takes one
//! step per poll (see `resume.rs`), keeping [`Reads`] in the task between polls.
//!
//! The reads run one after the other; within a read, up to `max_concurrent_queries` slices'
//! queries run at once. A step asks every running query once where it stands (one
//! `GetQueryResults` each, at the same time, never waiting), gives a complete slice's rows to
//! the [`Fold`], splits a truncated slice into pieces queried next (depth first), starts
//! queries while there is room, and moves on to the next read when one is over. The first
//! failure stops the queries still running (`StopQuery`) and ends the report.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::MAX_RESULT_ROWS;
use super::rows::{ResultRow, SliceOutcome};
use super::run::{Answer, Run, Running, Shape};
use super::slice::{Slice, initial_slices, split};
use crate::usage::aggregate::Aggregator;
use crate::usage::query::UsageQuery;
use crate::usage::report::{QueryCost, UsageReport};
use crate::usage::source::cloudwatch::missing_log_group;
use crate::usage::source::{ProgressSink, ReportBudget, SourceError, SourceInfo};

/// Where one read stands.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ReadState {
    /// Slices not started yet, the next first.
    pending: VecDeque<Slice>,
    running: Vec<Running>,
    /// Slices in all so far (splits add to it), complete ones, and queries started.
    total: u64,
    done: u64,
    started: u64,
    /// Whether the read has begun (its phase announced, its first cut taken from the
    /// budget).
    begun: bool,
    /// The budget's bytes when the read began (the report's earlier reads, which share it).
    scanned_before: u64,
    /// What its queries scanned, once it is over.
    scanned: u64,
    /// Its log group does not exist (its first queries were refused alike).
    missing: bool,
}

/// Where a report's reads stand: kept by a task between polls.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Reads {
    reads: Vec<ReadState>,
    /// The read under way; `reads.len()` when all are over.
    current: usize,
    /// Queries a task's step took over from the stored state: a failing step leaves them to
    /// whoever stores the failure (a racing poll's step may be the one kept). Not kept.
    #[serde(skip)]
    inherited: Vec<String>,
}

/// Where complete slices' rows go: a direct call's aggregators, or a task's kept rows.
pub(super) trait Fold: Send {
    /// Takes the rows of one complete slice of read `read`.
    fn fold(&mut self, read: usize, rows: Vec<ResultRow>);
}

/// A direct call folds every slice into its read's aggregator at once.
impl Fold for Vec<Aggregator> {
    fn fold(&mut self, read: usize, rows: Vec<ResultRow>) {
        if let Some(aggregator) = self.get_mut(read) {
            let query = aggregator.query().clone();
            for row in &rows {
                row.add_to(aggregator, &query);
            }
        }
    }
}

/// What a step needs besides the state: the report's queries, calls and limits.
pub(super) struct Env<'a> {
    pub(super) run: Run<'a>,
    /// One per query.
    pub(super) shapes: Vec<Shape<'a>>,
    pub(super) queries: &'a [UsageQuery],
    /// The phase announced before each read (none for the report's own period).
    pub(super) phases: Vec<Option<&'a str>>,
    pub(super) info: SourceInfo,
    pub(super) budget: &'a ReportBudget,
    pub(super) progress: &'a dyn ProgressSink,
    pub(super) cancel: &'a CancellationToken,
}

/// What one step did.
pub(super) struct Stepped {
    /// Every read is over.
    pub(super) finished: bool,
    /// Queries it started.
    pub(super) started: usize,
}

impl Reads {
    /// The reads of `queries`, none begun.
    pub(super) fn new(queries: &[UsageQuery], options: &super::InsightsOptions) -> Self {
        let reads = queries
            .iter()
            .map(|query| {
                let pending: VecDeque<Slice> = initial_slices(query, options).into();
                ReadState {
                    total: pending.len() as u64,
                    pending,
                    ..ReadState::default()
                }
            })
            .collect();
        Reads {
            reads,
            current: 0,
            inherited: Vec::new(),
        }
    }

    /// The ids of the queries running now.
    pub(super) fn running_ids(&self) -> impl Iterator<Item = &str> {
        self.reads
            .iter()
            .flat_map(|read| read.running.iter().map(|q| q.id.as_str()))
    }

    /// Marks the queries running now as a task's stored ones: a failing step does not stop
    /// them (see [`Reads::fail`]).
    pub(super) fn inherit_running(&mut self) {
        self.inherited = self.running_ids().map(str::to_owned).collect();
    }

    /// The ids of the running queries this step started (not [`Reads::inherit_running`]).
    pub(super) fn started_ids(&self) -> impl Iterator<Item = &str> {
        self.running_ids()
            .filter(|id| !self.inherited.iter().any(|kept| kept == id))
    }

    /// How far the reads got, for a task's status.
    pub(super) fn message(&self) -> String {
        let (done, total) = self
            .reads
            .iter()
            .fold((0, 0), |(d, t), r| (d + r.done, t + r.total));
        let running = self.running_ids().count();
        format!(
            "Logs Insights: {done} of {total} queries done, {running} running (read {} of {})",
            (self.current + 1).min(self.reads.len()),
            self.reads.len()
        )
    }

    /// One step: asks the running queries, folds and splits what is over, starts more.
    /// On failure every query still running has been stopped.
    pub(super) async fn step(
        &mut self,
        env: &Env<'_>,
        fold: &mut dyn Fold,
    ) -> Result<Stepped, SourceError> {
        let mut started = 0;
        if self.current < self.reads.len() {
            self.ask(env, fold).await?;
        }
        loop {
            let Some(read) = self.reads.get_mut(self.current) else {
                return Ok(Stepped {
                    finished: true,
                    started,
                });
            };
            if !read.begun {
                self.begin(env).await?;
                continue;
            }
            if env.cancel.is_cancelled() {
                self.fail(env, SourceError::Cancelled).await?;
                return Err(SourceError::Cancelled);
            }
            let room = read.running.len() < env.run.options.max_concurrent_queries.max(1);
            if room && let Some(slice) = read.pending.pop_front() {
                read.started += 1;
                env.progress.phase(&format!(
                    "Logs Insights query {} on {} ({}): {} to {}",
                    read.started,
                    env.run.log_group,
                    env.info.region.as_deref().unwrap_or("default region"),
                    slice.start(),
                    slice.end(),
                ));
                let shape = &env.shapes[self.current];
                match env.run.start(shape, slice, env.cancel).await {
                    Ok(id) => {
                        read.running.push(Running {
                            id,
                            slice,
                            unknown: 0,
                        });
                        started += 1;
                    }
                    Err(e) => self.fail(env, e).await?,
                }
                continue;
            }
            if !read.running.is_empty() {
                return Ok(Stepped {
                    finished: false,
                    started,
                });
            }
            // This read is over: on to the next.
            read.scanned = env.budget.total().saturating_sub(read.scanned_before);
            self.current += 1;
        }
    }

    /// Announces the current read and takes its first cut from the report's query budget.
    async fn begin(&mut self, env: &Env<'_>) -> Result<(), SourceError> {
        let index = self.current;
        let read = &mut self.reads[index];
        read.begun = true;
        read.scanned_before = env.budget.total();
        if let Some(phase) = env.phases.get(index).copied().flatten() {
            env.progress.phase(phase);
        }
        env.progress.progress(0, Some(read.total));
        if !env.budget.plan_queries(read.total) {
            let error = over_budget(env.budget.max_queries(), &env.queries[index]);
            return self.fail(env, error).await;
        }
        Ok(())
    }

    /// Asks every running query of the current read once, at the same time.
    async fn ask(&mut self, env: &Env<'_>, fold: &mut dyn Fold) -> Result<(), SourceError> {
        let index = self.current;
        let mut running = std::mem::take(&mut self.reads[index].running);
        let answers = futures_util::future::join_all(
            running
                .iter_mut()
                .map(|query| env.run.ask(query, env.cancel)),
        )
        .await;
        let mut failure = None;
        let mut keep = Vec::with_capacity(running.len());
        for (query, (answer, bytes)) in running.into_iter().zip(answers) {
            // Every answer says what the query has scanned so far (what it is billed for).
            let metered = bytes.map_or(Ok(()), |b| env.budget.record(&query.id, b));
            match (answer, metered) {
                (Answer::Running, Ok(())) => keep.push(query),
                // Over the cap: stop it (and every other one).
                (Answer::Running | Answer::Live(_), Err(e)) | (Answer::Live(e), Ok(())) => {
                    failure.get_or_insert(e);
                    keep.push(query);
                }
                (Answer::Complete(_), Err(e)) | (Answer::Ended(e), _) => {
                    failure.get_or_insert(e);
                }
                (Answer::Complete(SliceOutcome::Complete { rows }), Ok(())) => {
                    fold.fold(index, rows);
                    let read = &mut self.reads[index];
                    read.done += 1;
                    env.progress.progress(read.done, Some(read.total));
                }
                (Answer::Complete(SliceOutcome::Truncated), Ok(())) => {
                    if let Err(e) = self.split_truncated(env, query.slice) {
                        failure.get_or_insert(e);
                    }
                }
            }
        }
        self.reads[index].running = keep;
        match failure {
            Some(e) => self.fail(env, e).await,
            None => Ok(()),
        }
    }

    /// Queues the pieces of a truncated slice of the current read to run next; fails when
    /// it cannot be split (too short, or over the query budget).
    fn split_truncated(&mut self, env: &Env<'_>, slice: Slice) -> Result<(), SourceError> {
        let query = &env.queries[self.current];
        let max_queries = env.budget.max_queries();
        let pieces = split(slice, query.granularity(), env.run.options.split_into);
        let splittable = pieces.is_some();
        // Every piece is one more query (the truncated one was run already).
        let parts = pieces.filter(|parts| env.budget.plan_queries(parts.len() as u64));
        let Some(parts) = parts else {
            // Out of the report's query budget: a limit of the whole report (every source
            // shares it), not a failure of this log group.
            let error = if splittable {
                SourceError::ScanCap
            } else {
                SourceError::Backend
            };
            return Err(error(format!(
                "Logs Insights found {MAX_RESULT_ROWS} or more distinct \
                 (region, model, user, operation) combinations between {} and \
                 {}, too many to split further within the report's {max_queries} queries \
                 (all its reads and log groups together); use --cloudwatch-mode scan",
                slice.start(),
                slice.end(),
            )));
        };
        tracing::info!(
            log_group = %env.run.log_group,
            from = %slice.start(),
            to = %slice.end(),
            parts = parts.len(),
            "Logs Insights result truncated at {MAX_RESULT_ROWS} rows; splitting the slice"
        );
        let read = &mut self.reads[self.current];
        read.total += parts.len() as u64 - 1;
        // Depth first: the pieces of a dense slice before the rest.
        for part in parts.into_iter().rev() {
            read.pending.push_front(part);
        }
        env.progress.progress(read.done, Some(read.total));
        Ok(())
    }

    /// Stops every running query (but those a task's step inherited, which the task stops
    /// once its failure is stored), then: a log group that does not exist (every query
    /// refused alike before any slice was done) makes the read an empty one with a warning
    /// and the report goes on; anything else ends it with `error`.
    async fn fail(&mut self, env: &Env<'_>, error: SourceError) -> Result<(), SourceError> {
        let running: Vec<Running> = self
            .reads
            .iter_mut()
            .flat_map(|read| std::mem::take(&mut read.running))
            .collect();
        let read = &mut self.reads[self.current];
        let outcome = match error {
            SourceError::NotFound(_) if read.done == 0 => {
                read.missing = true;
                read.pending.clear();
                Ok(())
            }
            SourceError::NotFound(e) => Err(SourceError::Backend(e)),
            e => Err(e),
        };
        // Going on, the step's state no longer holds any of them: all are stopped.
        let inherited: &[String] = if outcome.is_ok() {
            &[]
        } else {
            &self.inherited
        };
        let ids = running.iter().map(|q| q.id.as_str());
        env.run
            .stop_all(ids.filter(|id| !inherited.iter().any(|kept| kept == id)))
            .await;
        outcome
    }

    /// The reports, once every read is over, from `aggregators` (one per read, holding its
    /// rows).
    pub(super) fn finish(
        &self,
        env: &Env<'_>,
        aggregators: Vec<Aggregator>,
    ) -> Result<Vec<UsageReport>, SourceError> {
        let options = env.run.options;
        (self.reads.iter().zip(aggregators).zip(env.queries))
            .map(|((read, aggregator), query)| {
                let cost = QueryCost::new(
                    read.scanned,
                    read.started,
                    options.price_per_gb,
                    options.max_scan_gb,
                );
                tracing::info!(
                    log_group = %env.run.log_group,
                    queries = read.started,
                    bytes_scanned = cost.bytes_scanned,
                    estimated_cost_usd = %cost.estimated_cost,
                    "Logs Insights read done"
                );
                let mut report = if read.missing {
                    missing_log_group(query, env.info.clone(), env.progress)
                } else {
                    aggregator.finish()
                };
                report.query_cost = Some(cost);
                Ok(report)
            })
            .collect()
    }
}

/// Drives `reads` to the end within one call, pausing between steps (the poll backoff,
/// from its start again whenever a query starts), and stops every running query when
/// `env.cancel` fires.
pub(super) async fn run_to_end(
    mut reads: Reads,
    env: &Env<'_>,
    mut aggregators: Vec<Aggregator>,
) -> Result<Vec<UsageReport>, SourceError> {
    let mut quiet = 0u32;
    loop {
        let stepped = reads.step(env, &mut aggregators).await?;
        if stepped.finished {
            break;
        }
        if stepped.started > 0 {
            quiet = 0;
        }
        tokio::select! {
            biased;
            () = env.cancel.cancelled() => {
                let _ = reads.fail(env, SourceError::Cancelled).await;
                return Err(SourceError::Cancelled);
            }
            () = tokio::time::sleep(env.run.options.poll.delay(quiet)) => {}
        }
        quiet = quiet.saturating_add(1);
    }
    reads.finish(env, aggregators)
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
