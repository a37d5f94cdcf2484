//! A log-group source that falls back to the metrics when its log group does not exist: a
//! fresh deployment, before Bedrock's model invocation logging is on, still reports usage.

use std::sync::Arc;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::MetricsSource;
use crate::usage::query::UsageQuery;
use crate::usage::report::{UsageReport, Warning};
use crate::usage::source::{
    NoProgress, ProgressSink, Read, ReportBudget, ResumableReads, Resumed, SourceError, SourceInfo,
    UsageSource,
};

/// The warning a fallback report carries, beside `log_group_not_found`.
pub const METRICS_FALLBACK: &str = "metrics_fallback";
/// The warning when the fallback itself failed (the log source's empty report is returned).
pub const METRICS_FALLBACK_FAILED: &str = "metrics_fallback_failed";

/// `primary` (Logs Insights or the scan), or, when its log group does not exist, the
/// [`MetricsSource`] of the same region. The report then has `source.kind`
/// `cloudwatch-metrics`, the `log_group_not_found` warning of the primary, and a
/// `metrics_fallback` warning that says where the numbers come from. When the metrics cannot
/// be read either (no `cloudwatch:GetMetricData` permission, a filter they cannot apply), the
/// primary's empty report is returned with a `metrics_fallback_failed` warning saying why.
pub struct WithMetricsFallback {
    primary: Arc<dyn UsageSource>,
    metrics: MetricsSource,
}

impl WithMetricsFallback {
    /// `primary`, falling back to `metrics`.
    pub fn new(primary: Arc<dyn UsageSource>, metrics: MetricsSource) -> Self {
        WithMetricsFallback { primary, metrics }
    }
}

impl WithMetricsFallback {
    /// Each read's report, or the metrics' where its log group is missing.
    async fn fall_back_each(
        &self,
        reads: &[Read<'_>],
        reports: Vec<UsageReport>,
        progress: &dyn ProgressSink,
        cancel: &CancellationToken,
    ) -> Result<Vec<UsageReport>, SourceError> {
        let mut out = Vec::with_capacity(reports.len());
        for (read, report) in reads.iter().zip(reports) {
            out.push(self.fall_back(read.query, report, progress, cancel).await?);
        }
        Ok(out)
    }

    /// `report`, the primary's answer to `query`, or the metrics' when its log group is
    /// missing.
    async fn fall_back(
        &self,
        query: &UsageQuery,
        mut report: UsageReport,
        progress: &dyn ProgressSink,
        cancel: &CancellationToken,
    ) -> Result<UsageReport, SourceError> {
        let Some(missing) = report
            .warnings
            .iter()
            .find(|w| w.code == Warning::LOG_GROUP_NOT_FOUND)
            .cloned()
        else {
            return Ok(report);
        };
        let group = report.source.log_group.clone().unwrap_or_default();
        match self.metrics.collect(query, progress, cancel).await {
            Ok(mut metrics) => {
                metrics.warnings.insert(0, missing);
                metrics.warnings.insert(
                    1,
                    Warning {
                        code: METRICS_FALLBACK.to_owned(),
                        message: format!(
                            "The log group {group} does not exist, so this report comes from \
                             CloudWatch's AWS/Bedrock metrics instead (source cloudwatch-metrics): \
                             requests, tokens and errors by model and time, without the \
                             breakdowns listed in limitations."
                        ),
                    },
                );
                Ok(metrics)
            }
            Err(SourceError::Cancelled) => Err(SourceError::Cancelled),
            Err(e) => {
                tracing::warn!(error = %e, "the metrics fallback failed");
                report.warnings.push(Warning {
                    code: METRICS_FALLBACK_FAILED.to_owned(),
                    message: format!(
                        "CloudWatch's AWS/Bedrock metrics could not be read instead either: {e}"
                    ),
                });
                Ok(report)
            }
        }
    }
}

#[async_trait]
impl UsageSource for WithMetricsFallback {
    async fn collect(
        &self,
        query: &UsageQuery,
        progress: &dyn ProgressSink,
        cancel: &CancellationToken,
    ) -> Result<UsageReport, SourceError> {
        let report = self.primary.collect(query, progress, cancel).await?;
        self.fall_back(query, report, progress, cancel).await
    }

    /// The primary's reads together (its per-report limits hold across them), each then
    /// falling back on its own.
    async fn collect_reads(
        &self,
        reads: &[Read<'_>],
        progress: &dyn ProgressSink,
        cancel: &CancellationToken,
    ) -> Result<Vec<UsageReport>, SourceError> {
        let reports = self.primary.collect_reads(reads, progress, cancel).await?;
        self.fall_back_each(reads, reports, progress, cancel).await
    }

    /// As [`Self::collect_reads`], the primary under the report's shared budget.
    async fn collect_reads_within(
        &self,
        reads: &[Read<'_>],
        budget: &ReportBudget,
        progress: &dyn ProgressSink,
        cancel: &CancellationToken,
    ) -> Result<Vec<UsageReport>, SourceError> {
        let reports = (self.primary)
            .collect_reads_within(reads, budget, progress, cancel)
            .await?;
        self.fall_back_each(reads, reports, progress, cancel).await
    }

    fn describe(&self) -> SourceInfo {
        self.primary.describe()
    }

    /// A task steps through the primary's reads when it can, falling back at the end.
    fn resumable(&self) -> Option<&dyn ResumableReads> {
        self.primary
            .resumable()
            .map(|_| self as &dyn ResumableReads)
    }
}

/// The primary's resumable reads; when they are done, each read falls back on its own (the
/// metrics are read within that last poll).
#[async_trait]
impl ResumableReads for WithMetricsFallback {
    async fn start_reads(&self, queries: &[UsageQuery]) -> Result<Resumed, SourceError> {
        let step = self.resumable_primary()?.start_reads(queries).await?;
        self.fall_back_when_done(queries, step).await
    }

    async fn advance_reads(
        &self,
        queries: &[UsageQuery],
        state: serde_json::Value,
    ) -> Result<Resumed, SourceError> {
        let step = (self.resumable_primary()?)
            .advance_reads(queries, state)
            .await?;
        self.fall_back_when_done(queries, step).await
    }

    async fn stop_reads(&self, state: &serde_json::Value) {
        if let Ok(primary) = self.resumable_primary() {
            primary.stop_reads(state).await;
        }
    }

    async fn discard_step(&self, from: &serde_json::Value, lost: &serde_json::Value) {
        if let Ok(primary) = self.resumable_primary() {
            primary.discard_step(from, lost).await;
        }
    }
}

impl WithMetricsFallback {
    fn resumable_primary(&self) -> Result<&dyn ResumableReads, SourceError> {
        (self.primary.resumable())
            .ok_or_else(|| SourceError::Internal("the log source reads no task steps".to_owned()))
    }

    async fn fall_back_when_done(
        &self,
        queries: &[UsageQuery],
        step: Resumed,
    ) -> Result<Resumed, SourceError> {
        let Resumed::Done(reports) = step else {
            return Ok(step);
        };
        let cancel = CancellationToken::new();
        let mut out = Vec::with_capacity(reports.len());
        for (query, report) in queries.iter().zip(reports) {
            out.push(self.fall_back(query, report, &NoProgress, &cancel).await?);
        }
        Ok(Resumed::Done(out))
    }
}
