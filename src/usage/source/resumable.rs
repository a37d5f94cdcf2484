//! Reads that run outside this server between two requests: a report task (see
//! `server::tasks`) starts them, every poll asks what is ready, and nothing of ours runs in
//! between. Logs Insights is such a source (its queries run in CloudWatch after `StartQuery`
//! returns); the file, the scan and the sample are not (a task over them runs to the end when
//! it is created).

use async_trait::async_trait;
use serde_json::Value;

use super::SourceError;
use crate::usage::query::UsageQuery;
use crate::usage::report::UsageReport;

/// Where resumable reads stand after a step.
#[derive(Debug)]
pub enum Resumed {
    /// Still running; `state` is what the next step starts from (small: query ids, slices,
    /// compressed partial results), `message` says how far it got.
    Working { state: Value, message: String },
    /// Every read is done: one report per query, in the order given.
    Done(Vec<UsageReport>),
}

/// A source whose reads can be started, advanced and stopped by separate requests, on any
/// instance. Each step is bounded in time: it asks what is ready and never waits for a read
/// to finish.
#[async_trait]
pub trait ResumableReads: Send + Sync {
    /// Starts the reads of `queries` (one report's reads, under one budget).
    async fn start_reads(&self, queries: &[UsageQuery]) -> Result<Resumed, SourceError>;

    /// One step of the reads of `queries` from `state` (what the previous step left).
    async fn advance_reads(
        &self,
        queries: &[UsageQuery],
        state: Value,
    ) -> Result<Resumed, SourceError>;

    /// Stops what `state` still runs outside this server (cancellation); never fails.
    async fn stop_reads(&self, state: &Value);

    /// Stops what a step that was not kept started: `lost` was computed from `from`, but
    /// another instance stored its own step first, so the work `lost` started is
    /// nobody's. Never fails.
    async fn discard_step(&self, from: &Value, lost: &Value);
}
