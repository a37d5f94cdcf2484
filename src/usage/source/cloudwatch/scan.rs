//! The FilterLogEvents scan: every event of the period, folded page by page into the
//! aggregator. See the [module docs](super).

use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::call::send;
use super::identifier::{identifier_param, name_param};
use super::log_group::{LogGroupSource, ReadOptions};
use crate::usage::aggregate::Aggregator;
use crate::usage::query::{UsageFilters, UsageQuery};
use crate::usage::record::InvocationRecord;
use crate::usage::report::UsageReport;
use crate::usage::source::{ProgressSink, SourceError, SourceInfo, SourceKind, UsageSource};

/// How a [`ScanSource`] reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanOptions {
    /// Events per page (`limit`, at most 10,000); `None`: CloudWatch's default (10,000, or
    /// 1 MB).
    pub page_size: Option<u32>,
    /// Whether to send a `filterPattern` for `modelId` and user filters.
    pub filter_pattern: bool,
    /// How much more than the period to read on both sides (see the module docs).
    pub timestamp_slack: Duration,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            page_size: None,
            filter_pattern: true,
            timestamp_slack: Duration::from_secs(300),
        }
    }
}

impl ReadOptions for ScanOptions {
    const KIND: SourceKind = SourceKind::CloudwatchScan;
}

/// Usage from a log group by reading all of its events in the period (FilterLogEvents).
pub type ScanSource = LogGroupSource<ScanOptions>;

#[async_trait]
impl UsageSource for ScanSource {
    async fn collect(
        &self,
        query: &UsageQuery,
        progress: &dyn ProgressSink,
        cancel: &CancellationToken,
    ) -> Result<UsageReport, SourceError> {
        let (client, region) = self.client.get().await?;
        let mut aggregator = Aggregator::new(query, self.info(region.clone()));
        let start_ms = query.start().unix_millis();
        // Exclusive; a sub-millisecond end keeps its millisecond.
        let end_ms = query.end().unix_millis()
            + i64::from(!query.end().subsec_nanos().is_multiple_of(1_000_000));
        let slack = i64::try_from(self.options.timestamp_slack.as_millis()).unwrap_or(0);
        let pattern = if self.options.filter_pattern {
            filter_pattern(query.filters())
        } else {
            None
        };
        let page_size = self
            .options
            .page_size
            .map(|n| i32::try_from(n.clamp(1, 10_000)).unwrap_or(10_000));
        let total_s = u64::try_from((end_ms - start_ms + 999) / 1000).unwrap_or(0);
        progress.phase(&format!(
            "scanning {} ({}) with FilterLogEvents{}",
            self.log_group,
            region.as_deref().unwrap_or("default region"),
            if pattern.is_some() {
                " and a filter pattern"
            } else {
                ""
            }
        ));
        progress.progress(0, Some(total_s));

        let mut token: Option<String> = None;
        let mut pages = 0u64;
        let mut events = 0u64;
        let mut covered_ms = start_ms;
        loop {
            if cancel.is_cancelled() {
                return Err(SourceError::Cancelled);
            }
            let call = client
                .filter_log_events()
                .set_log_group_name(name_param(&self.log_group))
                .set_log_group_identifier(identifier_param(&self.log_group))
                .start_time(start_ms.saturating_sub(slack))
                // Inclusive.
                .end_time(end_ms.saturating_add(slack) - 1)
                .set_filter_pattern(pattern.clone())
                .set_limit(page_size)
                .set_next_token(token.clone())
                .send();
            let page = send("FilterLogEvents", cancel, true, call).await;
            let page = match page {
                Ok(page) => page,
                // No log group yet: nothing to count, and a warning that says why.
                Err(SourceError::NotFound(_)) if pages == 0 => {
                    return Ok(super::missing_log_group(query, self.info(region), progress));
                }
                Err(SourceError::NotFound(e)) => return Err(SourceError::Backend(e)),
                Err(e) => return Err(e),
            };
            pages += 1;
            for event in page.events() {
                let (Some(message), Some(at)) = (event.message(), event.timestamp()) else {
                    continue;
                };
                events += 1;
                if (start_ms..end_ms).contains(&at) {
                    aggregator.add_line(message.as_bytes());
                    covered_ms = covered_ms.max(at);
                } else if let Ok(record) = InvocationRecord::parse(message.as_bytes()) {
                    // Read for the slack: count it if its own timestamp is in the period, but
                    // an unreadable event outside the period is not this report's to skip.
                    aggregator.add(&record);
                }
            }
            let covered_s = u64::try_from((covered_ms - start_ms) / 1000).unwrap_or(0);
            progress.progress(covered_s.min(total_s), Some(total_s));
            match page.next_token() {
                // A repeated token would loop forever; CloudWatch ends with none.
                Some(next) if token.as_deref() != Some(next) => token = Some(next.to_owned()),
                _ => break,
            }
        }
        if cancel.is_cancelled() {
            return Err(SourceError::Cancelled);
        }
        tracing::info!(log_group = %self.log_group, pages, events, "FilterLogEvents scan done");
        progress.progress(total_s, Some(total_s));
        Ok(aggregator.finish())
    }

    fn describe(&self) -> SourceInfo {
        self.describe_source()
    }
}

/// Characters a filter-pattern value may have without escaping: no quotes, backslashes,
/// spaces or `*` (a wildcard there).
fn pattern_safe(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:/@+=,".contains(&b))
}

/// The `filterPattern` that lets CloudWatch drop events of other models and users, or `None`
/// when there is no such filter (or a value needs escaping; the aggregator filters anyway).
pub fn filter_pattern(filters: &UsageFilters) -> Option<String> {
    let terms: Vec<String> = [
        ("$.modelId", &filters.model_id),
        ("$.identity.arn", &filters.user),
    ]
    .into_iter()
    .filter_map(|(path, value)| {
        value
            .as_deref()
            .filter(|v| pattern_safe(v))
            .map(|v| format!("({path} = \"{v}\")"))
    })
    .collect();
    (!terms.is_empty()).then(|| format!("{{ {} }}", terms.join(" && ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_only_for_values_that_need_no_escaping() {
        let mut f = UsageFilters {
            model_id: Some("us.anthropic.claude-sonnet-4-20250514-v1:0".into()),
            region: Some("us-east-1".into()),
            ..UsageFilters::default()
        };
        assert_eq!(
            filter_pattern(&f).as_deref(),
            Some(r#"{ ($.modelId = "us.anthropic.claude-sonnet-4-20250514-v1:0") }"#)
        );
        f.user = Some("arn:aws:sts::1:assumed-role/R/alice@example.com".into());
        assert_eq!(
            filter_pattern(&f).as_deref(),
            Some(
                r#"{ ($.modelId = "us.anthropic.claude-sonnet-4-20250514-v1:0") && ($.identity.arn = "arn:aws:sts::1:assumed-role/R/alice@example.com") }"#
            )
        );
        for bad in ["a\"b", "a*", "a b", "a\\b"] {
            let f = UsageFilters {
                model_id: Some(bad.into()),
                ..UsageFilters::default()
            };
            assert_eq!(filter_pattern(&f), None, "{bad}");
        }
        assert_eq!(filter_pattern(&UsageFilters::default()), None);
    }
}
