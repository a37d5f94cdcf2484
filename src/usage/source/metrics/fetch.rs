//! The two CloudWatch calls of a metrics report: `ListMetrics` for the model ids that have
//! `AWS/Bedrock` metrics, then `GetMetricData` (one `Sum` per model and metric, by hour) for
//! the period, page by page.

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    Dimension, DimensionFilter, Metric, MetricDataQuery, MetricStat, ScanBy,
};
use tokio_util::sync::CancellationToken;

use crate::usage::source::SourceError;
use crate::usage::source::cloudwatch::call::{Api, send_to};
use crate::usage::time::Timestamp;

/// The namespace Bedrock's runtime publishes to.
pub const NAMESPACE: &str = "AWS/Bedrock";
/// The dimension the per-model metrics carry.
pub const MODEL_DIMENSION: &str = "ModelId";
/// The metrics read, in the order of [`Sums`]' fields.
pub const METRICS: [&str; 6] = [
    "Invocations",
    "InputTokenCount",
    "OutputTokenCount",
    "InvocationClientErrors",
    "InvocationServerErrors",
    "InvocationThrottles",
];
/// The period of every data point: an hour, the finest CloudWatch keeps for 455 days.
pub const PERIOD_SECS: i32 = 3600;
/// `GetMetricData` takes at most 500 queries per call.
const QUERIES_PER_CALL: usize = 500;
/// The most model ids a report reads (`ListMetrics` pages of 500); more is an error.
pub const MAX_MODELS: usize = 1_000;
/// The most `GetMetricData` pages a report reads (each up to 100,800 data points).
pub const MAX_PAGES: usize = 200;

/// One model's sums for one hour: the six [`METRICS`] in order.
pub type Sums = [f64; 6];

/// The data points of the period: `(model id, hour start, sums)`.
pub type Points = Vec<(String, Timestamp, Sums)>;

/// The model ids with an `Invocations` metric in `AWS/Bedrock` (what CloudWatch lists: those
/// with data in the last two weeks), sorted.
pub async fn list_models(
    client: &Client,
    cancel: &CancellationToken,
) -> Result<Vec<String>, SourceError> {
    let mut models = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let call = client
            .list_metrics()
            .namespace(NAMESPACE)
            .metric_name(METRICS[0])
            .dimensions(DimensionFilter::builder().name(MODEL_DIMENSION).build())
            .set_next_token(token.take())
            .send();
        let out = send_to(Api::METRICS, "ListMetrics", cancel, true, call).await?;
        for metric in out.metrics() {
            // Only the metrics whose one dimension is ModelId (not other combinations).
            if let [dimension] = metric.dimensions()
                && dimension.name() == Some(MODEL_DIMENSION)
                && let Some(model) = dimension.value()
            {
                models.push(model.to_owned());
            }
        }
        models.sort_unstable();
        models.dedup();
        if models.len() > MAX_MODELS {
            return Err(SourceError::Backend(format!(
                "CloudWatch lists more than {MAX_MODELS} Bedrock model ids; the metrics source \
                 reads at most that many"
            )));
        }
        match out.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => return Ok(models),
        }
    }
}

/// The hourly sums of every [`METRICS`] for `models` over `[start, end)`. Missing data points
/// are zero.
pub async fn hourly_sums(
    client: &Client,
    models: &[String],
    start: Timestamp,
    end: Timestamp,
    cancel: &CancellationToken,
) -> Result<Points, SourceError> {
    let mut points: std::collections::BTreeMap<(usize, i64), Sums> = Default::default();
    let per_call = QUERIES_PER_CALL / METRICS.len();
    let mut pages = 0usize;
    for (chunk_index, chunk) in models.chunks(per_call).enumerate() {
        let queries: Vec<MetricDataQuery> = chunk
            .iter()
            .enumerate()
            .flat_map(|(m, model)| {
                METRICS
                    .iter()
                    .enumerate()
                    .map(move |(k, metric)| query(m, k, model, metric))
            })
            .collect();
        let mut token: Option<String> = None;
        loop {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(SourceError::Backend(format!(
                    "the metrics of the period take more than {MAX_PAGES} GetMetricData pages; \
                     ask for a shorter period"
                )));
            }
            let call = client
                .get_metric_data()
                .set_metric_data_queries(Some(queries.clone()))
                .start_time(DateTime::from_millis(start.unix_millis()))
                .end_time(DateTime::from_millis(end.unix_millis()))
                .scan_by(ScanBy::TimestampAscending)
                .set_next_token(token.take())
                .send();
            let out = send_to(Api::METRICS, "GetMetricData", cancel, true, call).await?;
            for result in out.metric_data_results() {
                let Some((m, k)) = result.id().and_then(parse_id) else {
                    continue;
                };
                let model = chunk_index * per_call + m;
                for (at, value) in result.timestamps().iter().zip(result.values()) {
                    let Ok(ms) = at.to_millis() else { continue };
                    let slot = points.entry((model, ms)).or_insert([0.0; 6]);
                    if value.is_finite() && *value > 0.0 {
                        slot[k] += value;
                    }
                }
            }
            match out.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => break,
            }
        }
    }
    Ok(points
        .into_iter()
        .filter_map(|((model, ms), sums)| {
            Some((
                models.get(model)?.clone(),
                Timestamp::from_unix_millis(ms)?,
                sums,
            ))
        })
        .collect())
}

/// The query of metric `k` for model `m` of a call: id `m{m}_{k}`.
fn query(m: usize, k: usize, model: &str, metric: &str) -> MetricDataQuery {
    let metric = Metric::builder()
        .namespace(NAMESPACE)
        .metric_name(metric)
        .dimensions(
            Dimension::builder()
                .name(MODEL_DIMENSION)
                .value(model)
                .build(),
        )
        .build();
    MetricDataQuery::builder()
        .id(format!("m{m}_{k}"))
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(PERIOD_SECS)
                .stat("Sum")
                .build(),
        )
        .return_data(true)
        .build()
}

/// `(m, k)` from an id written by [`query`].
fn parse_id(id: &str) -> Option<(usize, usize)> {
    let (m, k) = id.strip_prefix('m')?.split_once('_')?;
    let k: usize = k.parse().ok()?;
    (k < METRICS.len()).then_some(())?;
    Some((m.parse().ok()?, k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_ids_round_trip_and_junk_is_ignored() {
        let q = query(12, 5, "amazon.nova-pro-v1:0", METRICS[5]);
        assert_eq!(q.id(), Some("m12_5"));
        assert_eq!(parse_id("m12_5"), Some((12, 5)));
        for junk in ["m1_6", "x1_1", "m_1", "m1", "m1_x"] {
            assert_eq!(parse_id(junk), None, "{junk}");
        }
        assert_eq!(QUERIES_PER_CALL / METRICS.len() * METRICS.len(), 498);
    }
}
