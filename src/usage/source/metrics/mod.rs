//! The `cloudwatch-metrics` source: usage from the `AWS/Bedrock` CloudWatch metrics, which
//! Bedrock publishes whether or not model invocation logging is on.
//!
//! # What it reads
//!
//! `ListMetrics` names the model ids with an `Invocations` metric (dimension `ModelId`), then
//! `GetMetricData` reads the hourly `Sum` of six metrics per model over the period (at most
//! 83 models per call, 500 queries, paged with `NextToken`):
//!
//! | metric | report field |
//! | --- | --- |
//! | `Invocations` | `requests` (Bedrock counts accepted requests, failed ones included) |
//! | `InputTokenCount` | `input_tokens` |
//! | `OutputTokenCount` | `output_tokens` |
//! | `InvocationClientErrors` + `InvocationServerErrors` | `errors` |
//! | `InvocationThrottles` | not a counter: throttled requests are in neither `requests` nor `errors`; their total is a `throttled_invocations` warning |
//!
//! Each hour's sums are placed in the report's time series and `by_model` as the log sources
//! place records; `by_region` has the one region read.
//!
//! # What it cannot give
//!
//! The metrics carry no caller, no operation, no request metadata, no inference region and no
//! prompt-cache counts. The report keeps those fields (the schema requires them) but leaves
//! them empty or zero, and lists each in `limitations` with the reason: `by_user`,
//! `by_operation`, `by_inference_region`, `by_metadata`,
//! `totals.cache_read_input_tokens`, `totals.cache_write_input_tokens`. A filter on one of
//! them (user, account, inference region, metadata) is refused with a clear error rather than
//! ignored. Other limits:
//!
//! - time resolution is the hour: a period that starts or ends inside an hour counts that
//!   whole hour (CloudWatch rounds the start down);
//! - CloudWatch lists only metrics with data in the last two weeks, so a model last used
//!   before that is missing from older periods;
//! - at most [`fetch::MAX_MODELS`] model ids and [`fetch::MAX_PAGES`] pages per report.
//!
//! `GetMetricData` is billed per metric requested (USD 0.01 per 1,000 metrics in US East at
//! the time of writing): a report asks for 6 per model.
//!
//! The server role needs `cloudwatch:ListMetrics` and `cloudwatch:GetMetricData`.

pub mod fallback;
pub mod fetch;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

pub use fallback::WithMetricsFallback;

use crate::usage::aggregate::{Aggregator, Dimensions};
use crate::usage::query::UsageQuery;
use crate::usage::report::{Counters, Limitation, UsageReport, Warning};
use crate::usage::source::cloudwatch::ClientCache;
use crate::usage::source::{ProgressSink, SourceError, SourceInfo, SourceKind, UsageSource};

/// Usage from the `AWS/Bedrock` metrics of one region.
pub struct MetricsSource {
    clients: Arc<ClientCache>,
    region: Option<String>,
    client: Mutex<Option<aws_sdk_cloudwatch::Client>>,
}

impl std::fmt::Debug for MetricsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsSource")
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl MetricsSource {
    /// Reads `region` (`None`: the AWS configuration's region) with a CloudWatch client made
    /// on first use from `clients`' configuration and call timeouts. Makes no request.
    pub fn new(clients: Arc<ClientCache>, region: Option<String>) -> Self {
        MetricsSource {
            clients,
            region,
            client: Mutex::new(None),
        }
    }

    /// The client, made now if needed, and its region.
    async fn client(&self) -> Result<(aws_sdk_cloudwatch::Client, String), SourceError> {
        let ready = self
            .client
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let client = match ready {
            Some(client) => client,
            None => {
                let (base, timeouts) = self.clients.base().await;
                let mut builder = aws_sdk_cloudwatch::config::Builder::from(&base)
                    .timeout_config(timeouts.config(&base));
                if let Some(region) = &self.region {
                    builder =
                        builder.region(aws_sdk_cloudwatch::config::Region::new(region.clone()));
                }
                let client = aws_sdk_cloudwatch::Client::from_conf(builder.build());
                *self.client.lock().unwrap_or_else(|e| e.into_inner()) = Some(client.clone());
                client
            }
        };
        let Some(region) = client.config().region().map(|r| r.to_string()) else {
            return Err(SourceError::Backend(
                "no AWS region for CloudWatch: pass --region, set AWS_REGION, or give the tool \
                 a region"
                    .to_owned(),
            ));
        };
        Ok((client, region))
    }

    fn info(&self, region: Option<String>) -> SourceInfo {
        SourceInfo {
            kind: SourceKind::CloudwatchMetrics,
            log_group: None,
            region,
        }
    }
}

#[async_trait]
impl UsageSource for MetricsSource {
    async fn collect(
        &self,
        query: &UsageQuery,
        progress: &dyn ProgressSink,
        cancel: &CancellationToken,
    ) -> Result<UsageReport, SourceError> {
        refuse_unsupported_filters(query)?;
        let (client, region) = self.client().await?;
        progress.phase(&format!("listing Bedrock's CloudWatch metrics in {region}"));
        let mut models = fetch::list_models(&client, cancel).await?;
        if let Some(model) = &query.filters().model_id {
            models.retain(|m| m == model);
        }
        progress.phase(&format!(
            "reading {} metrics of {} models in {region}",
            fetch::METRICS.len(),
            models.len()
        ));
        let points = if models.is_empty() {
            Vec::new()
        } else {
            fetch::hourly_sums(&client, &models, query.start(), query.end(), cancel).await?
        };
        Ok(report(query, self.info(Some(region)), &points))
    }

    fn describe(&self) -> SourceInfo {
        self.info(self.region.clone())
    }
}

/// Refuses filters the metrics cannot apply (every one but region and model).
fn refuse_unsupported_filters(query: &UsageQuery) -> Result<(), SourceError> {
    let f = query.filters();
    let unsupported = [
        ("user", f.user.is_some()),
        ("aws_account_id", f.aws_account_id.is_some()),
        ("inference_region", f.inference_region.is_some()),
        ("metadata", !f.metadata.is_empty()),
    ];
    let named: Vec<&str> = unsupported
        .iter()
        .filter(|(_, set)| *set)
        .map(|(name, _)| *name)
        .collect();
    if named.is_empty() {
        return Ok(());
    }
    Err(SourceError::Backend(format!(
        "the cloudwatch-metrics source cannot filter by {}: CloudWatch's AWS/Bedrock metrics \
         carry only the model id (turn on Bedrock model invocation logging for these filters)",
        named.join(", ")
    )))
}

/// The report of `points`, with the limitations of the metrics and the throttles.
pub(crate) fn report(query: &UsageQuery, info: SourceInfo, points: &fetch::Points) -> UsageReport {
    let region = info.region.clone();
    let mut aggregator = Aggregator::new(query, info);
    let mut throttles: HashMap<&str, u64> = HashMap::new();
    for (model, at, sums) in points {
        let count = |i: usize| sums[i] as u64;
        let (input, output) = (count(1), count(2));
        let counters = Counters {
            requests: count(0),
            input_tokens: input,
            output_tokens: output,
            cache_read_input_tokens: 0,
            cache_write_input_tokens: 0,
            total_tokens: input.saturating_add(output),
            errors: count(3).saturating_add(count(4)),
        };
        // CloudWatch rounds the start down to the hour: count that hour from the start.
        let at = (*at).max(query.start());
        let dims = Dimensions {
            region: region.as_deref(),
            account_id: None,
            model_id: Some(model),
            user: None,
            operation: None,
            inference_region: None,
            metadata: &[],
        };
        if aggregator.add_counts(at, &dims, &counters) {
            *throttles.entry(model).or_default() += count(5);
        }
    }
    let mut report = aggregator.finish();
    // The metrics carry none of these: empty, and said so.
    report.by_user.clear();
    report.by_operation.clear();
    report.by_inference_region.clear();
    report.by_metadata.clear();
    report.limitations = limitations(query);
    let throttled: u64 = throttles.values().sum();
    if throttled > 0 {
        report.warnings.push(Warning {
            code: "throttled_invocations".to_owned(),
            message: format!(
                "Bedrock throttled {throttled} invocations in the period \
                 (InvocationThrottles); throttled requests are counted in neither requests nor \
                 errors"
            ),
        });
    }
    report
}

/// What the metrics cannot give, and why.
fn limitations(query: &UsageQuery) -> Vec<Limitation> {
    let why = |field: &str, reason: &str| Limitation {
        field: field.to_owned(),
        reason: reason.to_owned(),
    };
    let mut list = vec![
        why(
            "by_user",
            "CloudWatch's AWS/Bedrock metrics have no caller dimension; only invocation logs name the IAM identity",
        ),
        why(
            "by_operation",
            "the metrics do not say which API (Converse, InvokeModel, ...) was called",
        ),
        why(
            "by_inference_region",
            "the metrics do not say where a cross-region profile ran a request",
        ),
        why(
            "totals.cache_read_input_tokens",
            "the source reads no prompt-cache metrics: cache reads are 0 here",
        ),
        why(
            "totals.cache_write_input_tokens",
            "the source reads no prompt-cache metrics: cache writes are 0 here",
        ),
    ];
    if !query.group_by_metadata().is_empty() {
        list.push(why(
            "by_metadata",
            "requestMetadata is recorded only in invocation logs",
        ));
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::query::Granularity;
    use crate::usage::time::ts;

    fn sums(
        invocations: f64,
        input: f64,
        output: f64,
        client: f64,
        server: f64,
        throttles: f64,
    ) -> fetch::Sums {
        [invocations, input, output, client, server, throttles]
    }

    #[test]
    fn hourly_sums_become_counters_by_model_and_day_and_the_rest_is_a_limitation() {
        let query = UsageQuery::new(
            ts("2026-11-01T06:00:00Z"),
            ts("2026-11-03T00:00:00Z"),
            Granularity::Day,
        )
        .unwrap()
        .with_group_by_metadata(vec!["team".into()])
        .unwrap();
        let info = SourceInfo {
            kind: SourceKind::CloudwatchMetrics,
            log_group: None,
            region: Some("eu-west-1".into()),
        };
        let points: fetch::Points = vec![
            // Before the period's start hour is rounded down by CloudWatch: counted at the start.
            (
                "nova".into(),
                ts("2026-11-01T05:00:00Z"),
                sums(2.0, 100.0, 10.0, 0.0, 0.0, 0.0),
            ),
            (
                "nova".into(),
                ts("2026-11-02T13:00:00Z"),
                sums(3.0, 300.0, 30.0, 1.0, 1.0, 4.0),
            ),
            (
                "claude".into(),
                ts("2026-11-02T01:00:00Z"),
                sums(5.0, 1000.0, 500.0, 0.0, 0.0, 1.0),
            ),
            // After the period: not counted, throttles included.
            (
                "claude".into(),
                ts("2026-11-03T00:00:00Z"),
                sums(7.0, 7.0, 7.0, 7.0, 7.0, 7.0),
            ),
        ];
        let report = report(&query, info, &points);
        assert_eq!(report.source.kind, SourceKind::CloudwatchMetrics);
        let t = report.totals;
        assert_eq!(
            (
                t.requests,
                t.input_tokens,
                t.output_tokens,
                t.total_tokens,
                t.errors
            ),
            (10, 1400, 540, 1940, 2)
        );
        assert_eq!(
            (t.cache_read_input_tokens, t.cache_write_input_tokens),
            (0, 0)
        );
        let rows = |rows: &[crate::usage::report::Row]| {
            rows.iter()
                .map(|r| (r.key.clone(), r.counters.requests))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            rows(&report.daily),
            [("2026-11-01".into(), 2), ("2026-11-02".into(), 8)]
        );
        assert_eq!(
            rows(&report.by_model),
            [("claude".into(), 5), ("nova".into(), 5)]
        );
        assert_eq!(rows(&report.by_region), [("eu-west-1".into(), 10)]);
        assert!(report.by_user.is_empty() && report.by_operation.is_empty());
        assert!(report.by_inference_region.is_empty() && report.by_metadata.is_empty());
        let fields: Vec<&str> = report
            .limitations
            .iter()
            .map(|l| l.field.as_str())
            .collect();
        for field in [
            "by_user",
            "by_operation",
            "by_inference_region",
            "by_metadata",
        ] {
            assert!(fields.contains(&field), "{field} not in {fields:?}");
        }
        let throttled = report
            .warnings
            .iter()
            .find(|w| w.code == "throttled_invocations")
            .unwrap();
        assert!(
            throttled.message.contains("throttled 5 invocations"),
            "{}",
            throttled.message
        );
        // The JSON says so too.
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["source"]["kind"], "cloudwatch-metrics");
        assert_eq!(json["by_user"], serde_json::json!([]));
        assert_eq!(json["limitations"][0]["field"], "by_user");
    }

    #[test]
    fn filters_the_metrics_cannot_apply_are_refused() {
        let mut filters = crate::usage::UsageFilters {
            model_id: Some("nova".into()),
            region: Some("eu-west-1".into()),
            ..Default::default()
        };
        let query = |filters: crate::usage::UsageFilters| {
            UsageQuery::new(
                ts("2026-11-01T00:00:00Z"),
                ts("2026-11-02T00:00:00Z"),
                Granularity::Day,
            )
            .unwrap()
            .with_filters(filters)
        };
        assert!(refuse_unsupported_filters(&query(filters.clone())).is_ok());
        filters.user = Some("arn:aws:iam::1:user/a".into());
        let err = refuse_unsupported_filters(&query(filters)).unwrap_err();
        assert!(err.to_string().contains("cannot filter by user"), "{err}");
    }
}
