//! The anomaly rule: a day's tokens or errors, of all usage or of one model, user or metadata
//! value, against the same series over the days before it.
//!
//! For each UTC day `d` of the report's period and each series, the baseline is the series'
//! values on the [`BASELINE_DAYS`] days before `d`, counting only days on or after the first
//! day with any usage in the data read (so that days before logging was turned on are not
//! taken for quiet days; a series without records on a counted day is 0 that day). With
//! `median` and `MAD` (the median of the absolute deviations from the median) of the baseline:
//!
//! ```text
//! threshold = median + K * max(MAD, MAD_FLOOR_FRACTION * median)
//! flagged   = value > threshold  and  value >= MIN_TOTAL_TOKENS (tokens) / MIN_ERRORS (errors)
//!             and  the baseline has at least MIN_HISTORY_DAYS days
//! ```
//!
//! The floor stands in for the MAD when the baseline is flat (MAD 0): a steady series is
//! flagged only above `1 + K * 0.1` = 1.5 times its median. A series with an all-zero
//! baseline (a model or user new in the window) has threshold 0, so it is flagged once its day
//! reaches the minimum size. Only rises are flagged; falls show in `compare_to`.

use std::collections::BTreeSet;

use super::key_series::{DayCell, KeySeries, SeriesDimension};
use super::report::{Anomalies, Anomaly, AnomalyRule, Period};
use super::time::Timestamp;

/// Days before each evaluated day that form its baseline.
pub(crate) const BASELINE_DAYS: u32 = 14;
/// How many (floored) MADs above the median a value must be.
pub(crate) const K: f64 = 5.0;
/// The least baseline days (on or after the first day with usage) for a day to be evaluated.
pub(crate) const MIN_HISTORY_DAYS: u32 = 7;
/// The MAD is raised to at least this fraction of the median.
pub(crate) const MAD_FLOOR_FRACTION: f64 = 0.1;
/// Days below this many tokens are never flagged for tokens.
pub(crate) const MIN_TOTAL_TOKENS: u64 = 100_000;
/// Days below this many errors are never flagged for errors.
pub(crate) const MIN_ERRORS: u64 = 10;

/// A metric: its name, its value in a cell, and the least value ever flagged.
type Metric = (&'static str, fn(&DayCell) -> u64, u64);

/// The metrics evaluated, in listing order.
const METRICS: [Metric; 2] = [
    ("total_tokens", |c| c.tokens, MIN_TOTAL_TOKENS),
    ("errors", |c| c.errors, MIN_ERRORS),
];

/// The rule's parameters as the report states them.
pub(crate) fn rule() -> AnomalyRule {
    AnomalyRule {
        baseline_days: BASELINE_DAYS,
        k: K,
        min_history_days: MIN_HISTORY_DAYS,
        mad_floor_fraction_of_median: MAD_FLOOR_FRACTION,
        min_total_tokens: MIN_TOTAL_TOKENS,
        min_errors: MIN_ERRORS,
        description: format!(
            "A UTC day's total_tokens or errors (of all usage, a model, a user or a metadata \
             value) is flagged when it exceeds median + {K} * max(MAD, {MAD_FLOOR_FRACTION} * \
             median) of the same series over the {BASELINE_DAYS} days before it (days before \
             the first day with any usage are left out; at least {MIN_HISTORY_DAYS} needed), \
             and is at least {MIN_TOTAL_TOKENS} tokens or {MIN_ERRORS} errors."
        ),
    }
}

/// The median and MAD of `values`, and the threshold above which a value is flagged.
pub(crate) fn threshold(values: &[u64]) -> (f64, f64, f64) {
    let median = median(values.iter().map(|v| *v as f64).collect());
    let mad = median_of_deviations(values, median);
    (
        median,
        mad,
        median + K * mad.max(MAD_FLOOR_FRACTION * median),
    )
}

fn median_of_deviations(values: &[u64], center: f64) -> f64 {
    median(values.iter().map(|v| (*v as f64 - center).abs()).collect())
}

fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_unstable_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// A series to evaluate: its dimension and key (`None` for all usage), and its cells from the
/// first day read.
struct Series<'a> {
    /// Listing order: all usage, models, users, then each metadata key.
    group: usize,
    dimension: Option<&'a SeriesDimension>,
    key: Option<&'a str>,
    cells: Vec<DayCell>,
}

/// The anomalies of the days `first_day..=last_day` (the report's period), from `parts`: the
/// series read for the period and for the days before it, summed where they overlap.
/// `period_start` ends the baseline window shown in the report.
pub(crate) fn detect(
    parts: &[&KeySeries],
    first_day: i64,
    last_day: i64,
    period_start: Timestamp,
) -> Anomalies {
    let first_read = parts
        .iter()
        .map(|p| p.first_day())
        .min()
        .unwrap_or(first_day);
    let days = usize::try_from(last_day - first_read + 1).unwrap_or(0);
    let total_cells: Vec<DayCell> = (first_read..=last_day)
        .map(|day| sum(parts, |p| p.total(day)))
        .collect();
    let first_usage = total_cells
        .iter()
        .position(|c| c.tokens > 0 || c.errors > 0)
        .map_or(last_day + 1, |i| first_read + i as i64);
    let mut series = vec![Series {
        group: 0,
        dimension: None,
        key: None,
        cells: total_cells,
    }];
    let dimensions: Vec<&SeriesDimension> = parts
        .first()
        .map_or(Vec::new(), |p| p.dimensions().collect::<Vec<_>>());
    for (group, dimension) in (1..).zip(dimensions) {
        let keys: BTreeSet<&str> = parts.iter().flat_map(|p| p.keys(dimension)).collect();
        for key in keys {
            let cells = (first_read..=last_day)
                .map(|day| sum(parts, |p| p.value(dimension, key, day)))
                .collect();
            series.push(Series {
                group,
                dimension: Some(dimension),
                key: Some(key),
                cells,
            });
        }
    }
    let mut items = Vec::new();
    for day in (first_day.max(first_read)..=last_day).rev() {
        let history_start = (day - i64::from(BASELINE_DAYS)).max(first_usage);
        let history = u32::try_from(day - history_start).unwrap_or(0);
        if history < MIN_HISTORY_DAYS {
            continue;
        }
        let index = |d: i64| usize::try_from(d - first_read).unwrap_or(days);
        let mut flagged: Vec<(usize, usize, Anomaly)> = Vec::new();
        for s in &series {
            let baseline = &s.cells[index(history_start)..index(day)];
            let today = s.cells[index(day)];
            for (rank, &(metric, value_of, minimum)) in METRICS.iter().enumerate() {
                let value = value_of(&today);
                if value < minimum {
                    continue;
                }
                let values: Vec<u64> = baseline.iter().map(value_of).collect();
                let (median, mad, threshold) = threshold(&values);
                if value as f64 > threshold {
                    let found = anomaly(s, day, metric, value, median, mad, threshold, history);
                    flagged.push((s.group, rank, found));
                }
            }
        }
        flagged.sort_by(|a, b| {
            (a.0, a.1)
                .cmp(&(b.0, b.1))
                .then_with(|| b.2.value.cmp(&a.2.value))
        });
        items.extend(flagged.into_iter().map(|(_, _, found)| found));
    }
    let omitted = items.len().saturating_sub(Anomalies::MAX_ITEMS) as u64;
    items.truncate(Anomalies::MAX_ITEMS);
    Anomalies {
        rule: rule(),
        baseline: Period {
            start: day_start(first_read),
            end: period_start,
        },
        items,
        omitted,
        untracked_records: parts.iter().map(|p| p.untracked_records()).sum(),
    }
}

#[allow(clippy::too_many_arguments)]
fn anomaly(
    s: &Series<'_>,
    day: i64,
    metric: &str,
    value: u64,
    median: f64,
    mad: f64,
    threshold: f64,
    history_days: u32,
) -> Anomaly {
    let (dimension, metadata_key) = match s.dimension {
        None => ("day", None),
        Some(SeriesDimension::Model) => ("model", None),
        Some(SeriesDimension::User) => ("user", None),
        Some(SeriesDimension::Metadata(key)) => ("metadata", Some(key.clone())),
    };
    Anomaly {
        day: day_start(day).date().to_string(),
        dimension: dimension.to_owned(),
        metadata_key,
        key: s.key.map(str::to_owned),
        metric: metric.to_owned(),
        value,
        median,
        mad,
        threshold,
        history_days,
    }
}

fn sum(parts: &[&KeySeries], cell: impl Fn(&KeySeries) -> DayCell) -> DayCell {
    parts
        .iter()
        .fold(DayCell::default(), |acc, p| acc.plus(cell(p)))
}

fn day_start(day: i64) -> Timestamp {
    Timestamp::from_unix_seconds(day * 86_400).unwrap_or(Timestamp::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threshold_floors_a_flat_baseline() {
        assert_eq!(threshold(&[1000; 14]), (1000.0, 0.0, 1500.0));
        assert_eq!(threshold(&[0; 10]), (0.0, 0.0, 0.0));
        // 1..=14: median 7.5, deviations 0.5..6.5 twice, MAD 3.5; floor 0.75 is lower.
        let ramp: Vec<u64> = (1..=14).collect();
        assert_eq!(threshold(&ramp), (7.5, 3.5, 7.5 + 5.0 * 3.5));
    }
}
