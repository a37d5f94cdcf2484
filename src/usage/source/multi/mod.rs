//! One report over several sources: log groups in several regions and accounts (names in the
//! server's region, or ARNs, including a source account's log groups seen from a CloudWatch
//! cross-account observability monitoring account), merged into one report that lists each
//! source with its status.
//!
//! # One query series per log group, not one query over all
//!
//! `StartQuery` takes up to 50 `logGroupIdentifiers`, so a region's log groups could be read
//! with one query series. We read each log group on its own instead:
//!
//! - **Per-source status.** A query over several groups fails as a whole (one group's
//!   `AccessDeniedException` or `ResourceNotFoundException` fails them all), so it cannot say
//!   which group failed while still counting the others. One series per group can: a failing
//!   group is listed as `failed` with its error, the others count.
//! - **Same bill.** Logs Insights bills the bytes scanned, not the queries: each group's events
//!   are scanned once either way. A query over several groups also returns more distinct rows
//!   (the same users and models per group) and so hits the 10,000-row limit, and splits, sooner.
//! - **The cost is more queries**: one series per group instead of one per region. They come
//!   out of one `max_queries` budget for the whole report (see [`ReportBudget`]), and the
//!   sources are read one after the other, so at most `max_concurrent_queries` run at once
//!   whatever the number of groups (an account runs at most 30).
//!
//! Each source is queried where it lives: a log group named by ARN is read with a client of
//! the ARN's region (the monitoring account's link to its source accounts is per region), and
//! sent as an identifier, which a monitoring account needs for a source account's group.
//!
//! # What a failing source does
//!
//! A source that fails (a refused call, an unreadable answer, a query that failed in
//! CloudWatch) is listed with `status: failed` and its error, its records are missing from
//! every number, and a `source_failed` warning says so; the others still count. A missing
//! log group is `not_found` (zero records, with the usual warning). When every source fails,
//! the report is an error naming each. Cancellation and the operator's caps
//! (`--max-scan-gb`, `max_queries`) end the whole report, as for one source: they are limits
//! on the report, not failures of a source.

mod merge;

use std::sync::Arc;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::{
    ProgressSink, Read, ReportBudget, SourceError, SourceInfo, UsageSource, collect_as_one_read,
};
use crate::usage::query::UsageQuery;
use crate::usage::report::{QueryCost, SourceState, SourceStatus, UsageReport, Warning};

/// The warning a report carries for each source that failed.
pub const SOURCE_FAILED: &str = "source_failed";

/// The most sources one report may merge: each costs at least one query series, and the
/// operator lists them (a flag, a Terraform variable), so this only catches a mistake.
pub const MAX_SOURCES: usize = 50;

/// How a source is named in the report's `sources` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLabel {
    /// The log group's name (or a file's).
    pub log_group: String,
    /// The region it is read in, when known.
    pub region: Option<String>,
    /// The account owning it, when named by ARN.
    pub account: Option<String>,
}

/// Several sources read as one (see the module docs).
pub struct MultiSource {
    members: Vec<(SourceLabel, Arc<dyn UsageSource>)>,
    /// The report's Logs Insights limits: bytes scanned (`None`: no cap) and queries.
    scan_cap: Option<u64>,
    max_queries: usize,
}

impl std::fmt::Debug for MultiSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultiSource")
            .field(
                "members",
                &self.members.iter().map(|(l, _)| l).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl MultiSource {
    /// Reads `members` (1 to [`MAX_SOURCES`]), under one report budget of `max_queries` Logs
    /// Insights queries and `scan_cap` bytes scanned.
    pub fn new(
        members: Vec<(SourceLabel, Arc<dyn UsageSource>)>,
        scan_cap: Option<u64>,
        max_queries: usize,
    ) -> Result<Self, String> {
        if members.is_empty() || members.len() > MAX_SOURCES {
            return Err(format!(
                "{} log groups: a report reads 1 to {MAX_SOURCES}",
                members.len()
            ));
        }
        Ok(MultiSource {
            members,
            scan_cap,
            max_queries,
        })
    }

    /// The sources, in order.
    pub fn labels(&self) -> impl Iterator<Item = &SourceLabel> {
        self.members.iter().map(|(label, _)| label)
    }
}

/// What one member gave for all the reads.
enum Outcome {
    Read(Vec<UsageReport>),
    /// Why, and the bytes its queries scanned before it failed (billed all the same).
    Failed(SourceError, u64),
}

#[async_trait]
impl UsageSource for MultiSource {
    async fn collect(
        &self,
        query: &UsageQuery,
        progress: &dyn ProgressSink,
        cancel: &CancellationToken,
    ) -> Result<UsageReport, SourceError> {
        collect_as_one_read(self, query, progress, cancel).await
    }

    async fn collect_reads(
        &self,
        reads: &[Read<'_>],
        progress: &dyn ProgressSink,
        cancel: &CancellationToken,
    ) -> Result<Vec<UsageReport>, SourceError> {
        let budget = ReportBudget::new(self.scan_cap, self.max_queries);
        self.collect_reads_within(reads, &budget, progress, cancel)
            .await
    }

    /// Each member's reads (every key kept, so that the merge folds on the sum), one member
    /// after the other under the one budget, then merged read by read.
    async fn collect_reads_within(
        &self,
        reads: &[Read<'_>],
        budget: &ReportBudget,
        progress: &dyn ProgressSink,
        cancel: &CancellationToken,
    ) -> Result<Vec<UsageReport>, SourceError> {
        let unfolded: Vec<UsageQuery> = reads
            .iter()
            .map(|read| read.query.clone().with_top_n(usize::MAX))
            .collect();
        let member_reads: Vec<Read<'_>> = reads
            .iter()
            .zip(&unfolded)
            .map(|(read, query)| Read {
                query,
                phase: read.phase,
            })
            .collect();
        let mut outcomes = Vec::with_capacity(self.members.len());
        for (index, (label, source)) in self.members.iter().enumerate() {
            progress.phase(&format!(
                "source {} of {}: {} ({})",
                index + 1,
                self.members.len(),
                label.log_group,
                label.region.as_deref().unwrap_or("default region"),
            ));
            // The members run one after the other: what the budget gains is this one's.
            let before = budget.total();
            let outcome = source
                .collect_reads_within(&member_reads, budget, progress, cancel)
                .await;
            let scanned = budget.total().saturating_sub(before);
            outcomes.push(match outcome {
                Ok(reports) if reports.len() == reads.len() => Outcome::Read(reports),
                Ok(_) => Outcome::Failed(
                    SourceError::Internal(
                        "the source returned another number of reports than reads".to_owned(),
                    ),
                    scanned,
                ),
                // Limits of the whole report, not failures of one source.
                Err(e @ (SourceError::Cancelled | SourceError::ScanCap(_))) => return Err(e),
                Err(e) => {
                    tracing::warn!(log_group = %label.log_group, region = label.region.as_deref().unwrap_or(""), error = %e, "a source of the report failed; the others still count");
                    Outcome::Failed(e, scanned)
                }
            });
        }
        self.merge(reads, outcomes)
    }

    fn describe(&self) -> SourceInfo {
        let kind = self
            .members
            .first()
            .map(|(_, source)| source.describe().kind)
            .unwrap_or(super::SourceKind::File);
        SourceInfo {
            kind,
            log_group: None,
            region: None,
        }
    }
}

impl MultiSource {
    /// The members' reports merged read by read, with the `sources` section and a warning per
    /// failed source; an error naming every source when all failed.
    fn merge(
        &self,
        reads: &[Read<'_>],
        outcomes: Vec<Outcome>,
    ) -> Result<Vec<UsageReport>, SourceError> {
        let mut statuses = Vec::with_capacity(self.members.len());
        let mut per_read: Vec<Vec<UsageReport>> = reads.iter().map(|_| Vec::new()).collect();
        let mut warnings = Vec::new();
        let mut failed_bytes = 0u64;
        for ((label, _), outcome) in self.members.iter().zip(outcomes) {
            let (status, error, records) = match outcome {
                Outcome::Read(reports) => {
                    let records = reports.first().map_or(0, |r| r.totals.requests);
                    let missing = reports.first().is_some_and(|r| {
                        r.warnings
                            .iter()
                            .any(|w| w.code == Warning::LOG_GROUP_NOT_FOUND)
                    });
                    for (slot, report) in per_read.iter_mut().zip(reports) {
                        slot.push(report);
                    }
                    let state = if missing {
                        SourceState::NotFound
                    } else {
                        SourceState::Ok
                    };
                    (state, None, records)
                }
                Outcome::Failed(e, scanned) => {
                    failed_bytes = failed_bytes.saturating_add(scanned);
                    let error = e.to_string();
                    warnings.push(Warning {
                        code: SOURCE_FAILED.to_owned(),
                        message: format!(
                            "The log group {} ({}) could not be read, so its usage is missing \
                             from every number of this report: {error}",
                            label.log_group,
                            where_(label),
                        ),
                    });
                    (SourceState::Failed, Some(error), 0)
                }
            };
            statuses.push(SourceStatus {
                log_group: label.log_group.clone(),
                region: label.region.clone(),
                account: label.account.clone(),
                status,
                error,
                records,
            });
        }
        if statuses.iter().all(|s| s.status == SourceState::Failed) {
            let each: Vec<String> = statuses
                .iter()
                .map(|s| {
                    format!(
                        "{} ({}): {}",
                        s.log_group,
                        where_(&SourceLabel {
                            log_group: s.log_group.clone(),
                            region: s.region.clone(),
                            account: s.account.clone(),
                        }),
                        s.error.as_deref().unwrap_or("failed")
                    )
                })
                .collect();
            return Err(SourceError::Backend(format!(
                "every log group of the report failed: {}",
                each.join("; ")
            )));
        }
        let info = self.describe();
        let mut out = Vec::with_capacity(reads.len());
        for (read, reports) in reads.iter().zip(per_read) {
            let mut report = merge::merge(reports, read.query.top_n())
                .ok_or_else(|| SourceError::Internal("no report to merge for a read".to_owned()))?;
            report.source = info.clone();
            report.warnings.extend(warnings.iter().cloned());
            report.sources = statuses.clone();
            out.push(report);
        }
        // A failed source's queries cost money too: counted once, with the first read's.
        if let Some(cost) = out.first_mut().and_then(|r| r.query_cost.as_mut())
            && failed_bytes > 0
        {
            *cost = QueryCost::new(
                cost.bytes_scanned.saturating_add(failed_bytes),
                cost.queries,
                cost.price_per_gb,
                cost.max_scan_gb,
            );
        }
        Ok(out)
    }
}

/// "eu-west-1, account 111122223333", for messages.
fn where_(label: &SourceLabel) -> String {
    let region = label.region.as_deref().unwrap_or("default region");
    match &label.account {
        Some(account) => format!("{region}, account {account}"),
        None => region.to_owned(),
    }
}
