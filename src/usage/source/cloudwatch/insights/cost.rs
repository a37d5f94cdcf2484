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
//!   starts. A query can scan on between two polls (at most 2 s apart in a direct call; in a
//!   report task, between two of the client's polls), so the bill can pass the cap by what
//!   the running queries scan in that time; the error says how much was scanned. A task keeps
//!   the budget between polls, so the cap holds across them.

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::operation::describe_log_groups::builders::DescribeLogGroupsFluentBuilder;
use tokio_util::sync::CancellationToken;

use crate::usage::query::UsageQuery;
use crate::usage::source::SourceError;
use crate::usage::source::budget::show_gb;
use crate::usage::source::cloudwatch::call::send;
use crate::usage::source::cloudwatch::identifier::{identifier_param, name_param};
use crate::usage::time::Timestamp;

/// What the report's queries have scanned (and planned), with the caps: one per report.
pub(super) use crate::usage::source::budget::ReportBudget as ScanMeter;

pub(super) use crate::usage::source::budget::cap_bytes;

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
/// (see the module docs), added to the estimates of the report's sources read before this one
/// (several log groups), passes the budget's cap. A failed or empty `DescribeLogGroups`
/// refuses nothing: the running guard still holds.
pub(super) async fn preflight(
    client: &Client,
    log_group: &str,
    queries: impl Iterator<Item = &UsageQuery>,
    budget: &ScanMeter,
    cancel: &CancellationToken,
) -> Result<(), SourceError> {
    let Some(cap) = budget.cap() else {
        return Ok(());
    };
    let Some(group) = describe(client, log_group, cancel).await? else {
        return Ok(());
    };
    let now = Timestamp::now().unix_millis();
    let own = queries.fold(0u64, |sum, query| {
        let share = group.share(query.start().unix_millis(), query.end().unix_millis(), now);
        sum.saturating_add(share)
    });
    let estimate = budget.add_estimate(own);
    if estimate <= cap {
        return Ok(());
    }
    Err(SourceError::ScanCap(format!(
        "the report was refused before any Logs Insights query: the log group stores about {} \
         for the periods it reads (storedBytes, compressed, shared evenly over the time it \
         keeps; with the report's other log groups, {}), and Logs Insights scans the \
         uncompressed events, so the report would scan more than the cap of {} set by \
         --max-scan-gb. Ask for a shorter period (or no compare_to or anomalies), raise \
         --max-scan-gb, or use --cloudwatch-mode scan (not billed per GB)",
        show_gb(own),
        show_gb(estimate),
        show_gb(cap),
    )))
}

/// The `DescribeLogGroups` call for one log group. An ARN (another account's group, seen
/// from a monitoring account) is looked up as an identifier, with no other parameter: AWS
/// documents that with `logGroupIdentifiers` "the only other filter that you can choose to
/// specify is includeLinkedAccounts", so `limit` is left out (one identifier answers at
/// most one group anyway). A name is looked up by prefix, the first answer only.
fn describe_call(client: &Client, log_group: &str) -> DescribeLogGroupsFluentBuilder {
    match identifier_param(log_group) {
        Some(arn) => client.describe_log_groups().log_group_identifiers(arn),
        None => client
            .describe_log_groups()
            .set_log_group_name_prefix(name_param(log_group))
            .limit(1),
    }
}

/// The log group's stored size, age and retention, or `None` when they cannot be had.
async fn describe(
    client: &Client,
    log_group: &str,
    cancel: &CancellationToken,
) -> Result<Option<StoredGroup>, SourceError> {
    let call = describe_call(client, log_group).send();
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
        .find(|g| g.log_group_name() == Some(log_group) || g.log_group_arn() == Some(log_group));
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

    #[test]
    fn an_arn_is_described_by_identifier_alone_and_a_name_by_prefix_and_limit() {
        let config = aws_sdk_cloudwatchlogs::Config::builder()
            .behavior_version(aws_sdk_cloudwatchlogs::config::BehaviorVersion::latest())
            .region(aws_sdk_cloudwatchlogs::config::Region::new("us-east-1"))
            .build();
        let client = Client::from_conf(config);
        let arn = "arn:aws:logs:eu-west-1:444455556666:log-group:/aws/bedrock/modelinvocations";
        let by_arn = describe_call(&client, arn);
        assert_eq!(
            by_arn.get_log_group_identifiers(),
            &Some(vec![arn.to_owned()])
        );
        assert_eq!(by_arn.get_limit(), &None);
        assert_eq!(by_arn.get_log_group_name_prefix(), &None);
        let by_name = describe_call(&client, "/aws/bedrock/modelinvocations");
        assert_eq!(
            by_name.get_log_group_name_prefix().as_deref(),
            Some("/aws/bedrock/modelinvocations")
        );
        assert_eq!(by_name.get_limit(), &Some(1));
        assert_eq!(by_name.get_log_group_identifiers(), &None);
    }
}
