//! Where invocation-log records come from, behind one trait.
//!
//! A [`UsageSource`] answers a [`UsageQuery`] with a [`UsageReport`], telling a
//! [`ProgressSink`] how far it got (so the MCP layer can send progress notifications) and
//! stopping when its [`CancellationToken`] fires. Implementations here: [`file::FileSource`]
//! (a local JSON-lines file, plain or gzip) and [`sample::SampleSource`] (the bundled,
//! generated dataset, drawn with [`synthetic`]'s seeded records). CloudWatch sources live beside them and share the same
//! [`Aggregator`](super::aggregate::Aggregator).

pub mod budget;
pub mod cloudwatch;
pub mod file;
pub mod metrics;
pub mod multi;
pub mod resumable;
pub mod sample;
pub mod synthetic;

pub use budget::ReportBudget;
pub use cloudwatch::{CloudWatchMode, CloudWatchSelector, InsightsSource, ScanSource};
pub use file::FileSource;
pub use metrics::{MetricsSource, WithMetricsFallback};
pub use resumable::{ResumableReads, Resumed};
pub use sample::SampleSource;

use std::path::PathBuf;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::query::UsageQuery;
use super::report::UsageReport;
pub use super::report::{SourceInfo, SourceKind};

/// Why a source could not produce a report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The cancellation token fired before the report was complete.
    #[error("the usage report was cancelled")]
    Cancelled,
    /// A local file could not be opened or read.
    #[error("cannot read {}: {source}", file_name(path))]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// A remote backend (CloudWatch Logs) failed: network, throttling, permissions.
    #[error("log source error: {0}")]
    Backend(String),
    /// What the source reads does not exist (a CloudWatch log group nobody created yet).
    /// CloudWatch sources turn it into an empty report with a warning; callers see it only
    /// where that cannot be done.
    #[error("log source not found: {0}")]
    NotFound(String),
    /// The report would scan (or has scanned) more than the operator's `--max-scan-gb` allows,
    /// or needs more Logs Insights queries than `max_queries`: a limit of the whole report
    /// (all its reads and sources); the message says how much and what to do.
    #[error("{0}")]
    ScanCap(String),
    /// A report task's partial results outgrew what a task record keeps; the message says
    /// how to get the report instead.
    #[error("{0}")]
    TooLargeForTask(String),
    /// The task reading the source failed unexpectedly.
    #[error("the usage source task failed: {0}")]
    Internal(String),
}

/// Receives progress from a running source.
///
/// Sources call it from their own task, at most a few hundred times per report; it should
/// return quickly (forward to a channel or send a notification without waiting on it).
pub trait ProgressSink: Send + Sync {
    /// A new phase has started, e.g. "reading usage.jsonl" or "running Logs Insights query".
    fn phase(&self, message: &str);
    /// `done` units of work out of `total` (when known) are complete; the unit belongs to the
    /// current phase (bytes for files, records, queries).
    fn progress(&self, done: u64, total: Option<u64>);
}

/// A [`ProgressSink`] that drops everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn phase(&self, _message: &str) {}
    fn progress(&self, _done: u64, _total: Option<u64>) {}
}

/// `query` as the one read of a report, through `source`'s [`UsageSource::collect_reads`]: the
/// `collect` of a source whose reads share per-report limits (Logs Insights, several log
/// groups), so that a lone query is read the one way a report's reads are.
pub(crate) async fn collect_as_one_read<S: UsageSource + ?Sized>(
    source: &S,
    query: &UsageQuery,
    progress: &dyn ProgressSink,
    cancel: &CancellationToken,
) -> Result<UsageReport, SourceError> {
    let read = Read { query, phase: None };
    let mut reports = source.collect_reads(&[read], progress, cancel).await?;
    reports
        .pop()
        .ok_or_else(|| SourceError::Internal("no report for the read".to_owned()))
}

/// A source of invocation-log records that can answer a usage query.
#[async_trait]
pub trait UsageSource: Send + Sync {
    /// Reads the records of `query`'s period and aggregates them.
    ///
    /// Returns [`SourceError::Cancelled`] soon after `cancel` fires.
    async fn collect(
        &self,
        query: &UsageQuery,
        progress: &dyn ProgressSink,
        cancel: &CancellationToken,
    ) -> Result<UsageReport, SourceError>;

    /// Reads every query of one report (see `usage::change`), one after the other, announcing
    /// each read's phase first. A source whose limits bound a whole report (Logs Insights'
    /// `--max-scan-gb`) overrides this so that they hold across the reads together, and a
    /// source that wraps another passes it on.
    async fn collect_reads(
        &self,
        reads: &[Read<'_>],
        progress: &dyn ProgressSink,
        cancel: &CancellationToken,
    ) -> Result<Vec<UsageReport>, SourceError> {
        let mut reports = Vec::with_capacity(reads.len());
        for read in reads {
            if let Some(phase) = read.phase {
                progress.phase(phase);
            }
            reports.push(self.collect(read.query, progress, cancel).await?);
        }
        Ok(reports)
    }

    /// [`Self::collect_reads`] as one of several sources of one report
    /// ([`multi::MultiSource`]): a source with per-report limits (Logs Insights' queries and
    /// bytes scanned) takes them from `budget`, which the report's other sources share, so
    /// that more log groups do not multiply what the operator allowed. Others ignore it.
    async fn collect_reads_within(
        &self,
        reads: &[Read<'_>],
        budget: &ReportBudget,
        progress: &dyn ProgressSink,
        cancel: &CancellationToken,
    ) -> Result<Vec<UsageReport>, SourceError> {
        let _ = budget;
        self.collect_reads(reads, progress, cancel).await
    }

    /// What kind of source this is and where it reads from, as reported in `source`.
    fn describe(&self) -> SourceInfo;

    /// The source's reads as steps of a task (see [`ResumableReads`]), when they run outside
    /// this server between polls; `None` (the default): a task reads it to the end at once.
    fn resumable(&self) -> Option<&dyn ResumableReads> {
        None
    }
}

/// One read of a report that takes several: its query, and the phase announced before it
/// (none for the report's own period).
#[derive(Debug, Clone, Copy)]
pub struct Read<'a> {
    /// What is read.
    pub query: &'a UsageQuery,
    /// The progress phase that starts with it.
    pub phase: Option<&'a str>,
}

/// How clients see a local file: its name only. The directory is the operator's business (and
/// may say more about the machine than a client should learn).
pub fn file_name(path: &std::path::Path) -> std::borrow::Cow<'_, str> {
    path.file_name()
        .map_or_else(|| "the usage file".into(), |name| name.to_string_lossy())
}
