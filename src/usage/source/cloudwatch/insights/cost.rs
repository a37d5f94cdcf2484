//! What a report's queries scan, and the operator's cap on it (`--max-scan-gb`).
//!
//! The cap bounds one report: all its reads together (its period, and the previous period
//! for `compare_to` or the days before it for `anomalies`), one [`ScanMeter`] for them all.
//! Two guards, because neither alone keeps a report under the cap:
//!
//! - **Before any query** ([`preflight`], only with a cap): `DescribeLogGroups` gives the log
//!   group's `storedBytes`, its age and its retention; the part of the stored data that falls
//!   in each period read, taken as spread evenly over the time the group has kept, summed
//!   over the reads, is a *low* estimate of what the report scans, because CloudWatch stores
//!   events compressed and Logs Insights bills the uncompressed bytes. When even that exceeds
//!   the cap, the report is refused and no query starts. When the call fails (no
//!   `logs:DescribeLogGroups` permission), the report goes on under the running guard alone.
//! - **While queries run** ([`ScanMeter`]): every `GetQueryResults` answer carries the bytes
//!   its query has scanned so far; the meter keeps the latest figure of each query and their
//!   sum. When the sum passes the cap, the query that saw it fails the report with
//!   [`SourceError::ScanCap`], every running query gets a `StopQuery`, and no further slice
//!   starts. A query can scan on between two polls (at most 2 s apart), so the bill can pass
//!   the cap by what the running queries scan in that time; the error says how much was
//!   scanned.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_sdk_cloudwatchlogs::Client;
use tokio_util::sync::CancellationToken;

use crate::usage::query::UsageQuery;
use crate::usage::report::{BYTES_PER_GB, gb};
use crate::usage::source::SourceError;
use crate::usage::source::cloudwatch::call::send;
use crate::usage::time::Timestamp;

/// The bytes every query of one report (all its reads) has scanned so far, and the cap on
/// their sum.
#[derive(Debug, Default)]
pub(super) struct ScanMeter {
    cap: Option<u64>,
    /// The latest `bytesScanned` of each query, by query id.
    queries: Mutex<HashMap<String, u64>>,
}

impl ScanMeter {
    /// A meter that refuses to go past `cap` bytes (`None`: no cap).
    pub(super) fn new(cap: Option<u64>) -> Self {
        ScanMeter {
            cap,
            queries: Mutex::new(HashMap::new()),
        }
    }

    /// Records that query `id` has scanned `bytes` so far; fails once the report's total
    /// passes the cap.
    pub(super) fn record(&self, id: &str, bytes: f64) -> Result<(), SourceError> {
        let bytes = if bytes.is_finite() && bytes > 0.0 {
            // Saturating: a float past u64::MAX becomes u64::MAX.
            bytes as u64
        } else {
            0
        };
        let total = {
            let mut queries = self.lock();
            let seen = queries.entry(id.to_owned()).or_default();
            // Statistics only grow; a smaller figure is a stale answer.
            *seen = (*seen).max(bytes);
            queries.values().fold(0u64, |sum, b| sum.saturating_add(*b))
        };
        match self.cap {
            Some(cap) if total > cap => Err(SourceError::ScanCap(format!(
                "the report was stopped after its Logs Insights queries scanned {} ({total} \
                 bytes), over the cap of {} set by --max-scan-gb; every running query was \
                 stopped. Ask for a shorter period or fewer filters' worth of data, raise \
                 --max-scan-gb, or use --cloudwatch-mode scan (not billed per GB)",
                show_gb(total),
                show_gb(cap),
            ))),
            _ => Ok(()),
        }
    }

    /// The bytes scanned so far by every query of the report.
    pub(super) fn total(&self) -> u64 {
        self.lock()
            .values()
            .fold(0u64, |sum, b| sum.saturating_add(*b))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        self.queries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `max_scan_gb` in bytes (decimal GB, rounded down).
pub(super) fn cap_bytes(max_scan_gb: f64) -> u64 {
    // Saturating float-to-int conversion: huge caps become u64::MAX.
    (max_scan_gb * BYTES_PER_GB) as u64
}

/// `bytes` as GB with three decimals, e.g. `1.250 GB`.
fn show_gb(bytes: u64) -> String {
    format!("{:.3} GB", gb(bytes))
}

/// What `DescribeLogGroups` says of a log group, for the preflight estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct StoredGroup {
    /// `storedBytes` (compressed).
    pub(super) stored_bytes: u64,
    /// `creationTime`, epoch milliseconds.
    pub(super) created_ms: i64,
    /// `retentionInDays`, when the group expires events.
    pub(super) retention_days: Option<u32>,
}

impl StoredGroup {
    /// The stored bytes that fall in `[start_ms, end_ms)`, as of `now_ms`, if the group's data
    /// is spread evenly over the time it keeps: from its creation (or the retention's start,
    /// if later) to now.
    pub(super) fn share(&self, start_ms: i64, end_ms: i64, now_ms: i64) -> u64 {
        let retention_start = self
            .retention_days
            .map_or(i64::MIN, |days| now_ms - i64::from(days) * 86_400_000);
        let kept_from = self.created_ms.max(retention_start);
        let kept = now_ms - kept_from;
        if kept <= 0 {
            return self.stored_bytes;
        }
        let overlap = end_ms.min(now_ms) - start_ms.max(kept_from);
        if overlap <= 0 {
            return 0;
        }
        let share = overlap as f64 / kept as f64;
        (self.stored_bytes as f64 * share.min(1.0)) as u64
    }
}

/// Refuses the report before any query starts when even a low estimate of what its reads
/// (`queries`: the period, and the previous period or anomaly baseline) would scan together
/// (see the module docs) passes `cap` bytes. A failed or empty `DescribeLogGroups` refuses
/// nothing: the running guard still holds.
pub(super) async fn preflight(
    client: &Client,
    log_group: &str,
    queries: impl Iterator<Item = &UsageQuery>,
    cap: u64,
    cancel: &CancellationToken,
) -> Result<(), SourceError> {
    let Some(group) = describe(client, log_group, cancel).await? else {
        return Ok(());
    };
    let now = Timestamp::now().unix_millis();
    let estimate = queries.fold(0u64, |sum, query| {
        let share = group.share(query.start().unix_millis(), query.end().unix_millis(), now);
        sum.saturating_add(share)
    });
    if estimate <= cap {
        return Ok(());
    }
    Err(SourceError::ScanCap(format!(
        "the report was refused before any Logs Insights query: the log group stores about {} \
         for the periods it reads (storedBytes, compressed, shared evenly over the time it \
         keeps), and Logs Insights scans the uncompressed events, so the report would scan \
         more than the cap of {} set by --max-scan-gb. Ask for a shorter period (or no \
         compare_to or anomalies), raise --max-scan-gb, or use --cloudwatch-mode scan (not \
         billed per GB)",
        show_gb(estimate),
        show_gb(cap),
    )))
}

/// The log group's stored size, age and retention, or `None` when they cannot be had.
async fn describe(
    client: &Client,
    log_group: &str,
    cancel: &CancellationToken,
) -> Result<Option<StoredGroup>, SourceError> {
    let call = client
        .describe_log_groups()
        .log_group_name_prefix(log_group)
        .limit(1)
        .send();
    let out = match send("DescribeLogGroups", cancel, true, call).await {
        Ok(out) => out,
        Err(SourceError::Cancelled) => return Err(SourceError::Cancelled),
        Err(e) => {
            tracing::warn!(
                log_group,
                error = %e,
                "no preflight scan estimate; the running cap still holds"
            );
            return Ok(None);
        }
    };
    let group = out
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(log_group));
    Ok(group.and_then(|group| {
        Some(StoredGroup {
            stored_bytes: u64::try_from(group.stored_bytes()?).ok()?,
            created_ms: group.creation_time()?,
            retention_days: group
                .retention_in_days()
                .and_then(|d| u32::try_from(d).ok()),
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    #[test]
    fn the_meter_sums_the_latest_figure_of_each_query_and_trips_past_the_cap() {
        let meter = ScanMeter::new(Some(1_000));
        meter.record("a", 300.0).unwrap();
        meter.record("a", 500.0).unwrap();
        // A stale, smaller figure does not lower what was seen.
        meter.record("a", 100.0).unwrap();
        meter.record("b", 500.0).unwrap();
        assert_eq!(meter.total(), 1_000);
        let err = meter.record("c", 1.0).unwrap_err();
        assert!(matches!(err, SourceError::ScanCap(_)), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("1001 bytes"), "{text}");
        assert!(text.contains("--max-scan-gb"), "{text}");
        assert_eq!(meter.total(), 1_001);
        // Without a cap nothing trips; junk figures count as zero.
        let open = ScanMeter::new(None);
        open.record("a", f64::MAX).unwrap();
        open.record("b", f64::NAN).unwrap();
        open.record("c", -5.0).unwrap();
        assert_eq!(open.total(), u64::MAX);
    }

    #[test]
    fn the_stored_share_follows_the_period_within_the_kept_time() {
        let now = 100 * DAY;
        let group = StoredGroup {
            stored_bytes: 9_000,
            created_ms: 10 * DAY,
            retention_days: Some(30),
        };
        // Kept: the last 30 days, 300 bytes a day.
        assert_eq!(group.share(90 * DAY, 100 * DAY, now), 3_000);
        assert_eq!(group.share(0, now, now), 9_000);
        assert_eq!(group.share(0, 60 * DAY, now), 0);
        // Without retention, from creation: 90 days, 100 bytes a day.
        let forever = StoredGroup {
            retention_days: None,
            ..group
        };
        assert_eq!(forever.share(90 * DAY, 110 * DAY, now), 1_000);
        assert_eq!(cap_bytes(1.5), 1_500_000_000);
        assert_eq!(cap_bytes(1e30), u64::MAX);
    }
}
