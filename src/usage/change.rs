//! What changed: a report with `compare_to` and `anomalies`, read through any [`UsageSource`]
//! with one or two more reads of it.
//!
//! - `compare_to: previous_period` reads the previous period of the same length (see
//!   `usage::compare`) with the same query shape: one extra read.
//! - `anomalies` needs, for each day of the period, the 14 days before it (the rule is in
//!   `usage::anomaly`): the period is read with per-day series by key, and so are the 14 whole
//!   UTC days before its first day. When `compare_to` already reads them (a previous period of
//!   14 days or more), nothing more is read; otherwise that one extra read covers at most 14
//!   days and a part of the first day, whatever the period's length (bounded cost on Logs
//!   Insights).
//!
//! So a report costs one read, two with either option, and two or three with both. The reads
//! go to the source together ([`UsageSource::collect_reads`]), so that a per-report limit such
//! as Logs Insights' `--max-scan-gb` bounds them all, not each.

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::anomaly::{self, BASELINE_DAYS};
use super::compare;
use super::key_series::day_of;
use super::query::{Granularity, UsageQuery};
use super::report::{CompareTo, UsageReport};
use super::source::{ProgressSink, Read, SourceError, UsageSource};
use super::time::Timestamp;

/// What a report adds beyond its period's numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangeOptions {
    /// Compare with another period.
    pub compare_to: Option<CompareTo>,
    /// List what jumped against its trailing baseline.
    pub anomalies: bool,
}

/// The reads one report needs, checked before any is made. Serialisable so that a report
/// task can keep it between polls.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangePlan {
    top_n: usize,
    current: UsageQuery,
    previous: Option<UsageQuery>,
    /// The days before the period for anomaly baselines, when `previous` does not cover them.
    baseline: Option<UsageQuery>,
    anomalies: bool,
}

impl ChangePlan {
    /// The reads for `query` with `options`; why not, when a period would leave years
    /// 0000–9999.
    pub fn new(query: &UsageQuery, options: ChangeOptions) -> Result<Self, String> {
        let compare = options.compare_to.is_some();
        let mut current = query.clone().with_key_series(false);
        if compare {
            // Unfolded, so that the merge can fold on the current ranking and tell keys
            // absent from the period from keys in its tail.
            current = current.with_top_n(usize::MAX);
        }
        let mut previous = compare
            .then(|| compare::previous_period(&current))
            .transpose()?;
        let current = current.with_key_series(options.anomalies);
        let mut baseline = None;
        if options.anomalies {
            let first = day_of(query.start()) - i64::from(BASELINE_DAYS);
            let start = Timestamp::from_unix_seconds(first * 86_400)
                .ok_or_else(|| format!("the days before {} leave year 0000", query.start()))?;
            match &mut previous {
                Some(previous) if previous.start() <= start => {
                    *previous = previous.clone().with_key_series(true);
                }
                _ => {
                    baseline = Some(
                        query
                            .with_period(start, query.start(), Granularity::Day)
                            .map_err(|e| e.to_string())?
                            .with_key_series(true),
                    );
                }
            }
        }
        Ok(ChangePlan {
            top_n: query.top_n(),
            current,
            previous,
            baseline,
            anomalies: options.anomalies,
        })
    }

    /// How many reads of the source the report takes.
    pub fn reads(&self) -> usize {
        1 + usize::from(self.previous.is_some()) + usize::from(self.baseline.is_some())
    }

    /// The queries read, in order: the period, the previous period, the anomaly baseline.
    pub fn queries(&self) -> impl Iterator<Item = &UsageQuery> {
        [
            Some(&self.current),
            self.previous.as_ref(),
            self.baseline.as_ref(),
        ]
        .into_iter()
        .flatten()
    }

    /// The reads, in order (the period, the previous period, the anomaly baseline), each
    /// with the phase announced before it.
    pub fn read_list(&self) -> Vec<Read<'_>> {
        fn phased<'a>(query: Option<&'a UsageQuery>, phase: &'a str) -> Option<Read<'a>> {
            query.map(|query| Read {
                query,
                phase: Some(phase),
            })
        }
        [
            Some(Read {
                query: &self.current,
                phase: None,
            }),
            phased(self.previous.as_ref(), "reading the previous period"),
            phased(
                self.baseline.as_ref(),
                "reading the 14 days before the period",
            ),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// Reads the source (one read after the other, under one `--max-scan-gb` budget where
    /// the source has one) and puts the report together.
    pub async fn collect(
        &self,
        source: &dyn UsageSource,
        progress: &dyn ProgressSink,
        cancel: &CancellationToken,
    ) -> Result<UsageReport, SourceError> {
        let reports = source
            .collect_reads(&self.read_list(), progress, cancel)
            .await?;
        self.assemble(reports)
    }

    /// The report from the reports of [`Self::read_list`]'s reads, in their order (however
    /// they were read: within one call, or across a task's polls).
    pub fn assemble(&self, reports: Vec<UsageReport>) -> Result<UsageReport, SourceError> {
        let mut reports = reports.into_iter();
        let mut next = || {
            reports.next().ok_or_else(|| {
                SourceError::Internal("the source returned fewer reports than reads".to_owned())
            })
        };
        let mut report = next()?;
        let mut previous = self.previous.as_ref().map(|_| next()).transpose()?;
        let mut baseline = self.baseline.as_ref().map(|_| next()).transpose()?;
        let before = previous
            .as_mut()
            .and_then(|r| r.key_series.take())
            .or_else(|| baseline.as_mut().and_then(|r| r.key_series.take()));
        let during = report.key_series.take();
        if let Some(previous) = previous {
            report = compare::merge(report, previous, self.top_n);
        }
        if let Some(baseline) = baseline {
            compare::add_read(&mut report, baseline, "days before the period");
        }
        if self.anomalies {
            let parts: Vec<_> = [during.as_ref(), before.as_ref()]
                .into_iter()
                .flatten()
                .collect();
            let end = self.current.end();
            let last = end.unix_seconds() - i64::from(end.subsec_nanos() == 0);
            report.anomalies = Some(anomaly::detect(
                &parts,
                day_of(self.current.start()),
                last.div_euclid(86_400),
                self.current.start(),
            ));
        }
        Ok(report)
    }
}
