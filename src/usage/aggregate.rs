//! Streaming aggregation of invocation-log records into a [`UsageReport`].
//!
//! Every source (a file, CloudWatch, the bundled sample) feeds records one at a time into an
//! [`Aggregator`] and calls [`Aggregator::finish`] at the end. Memory grows with the number of
//! distinct keys (buckets, regions, models, users, operations), never with the number of
//! records: a record is folded into counters and forgotten. Sources that receive counts
//! already summed (a Logs Insights `stats` query) feed them through [`Aggregator::add_counts`].

use std::borrow::Cow;
use std::collections::HashMap;

use super::cost::CostCells;
use super::key_series::KeySeries;
use super::profiles::arn::is_application_profile;
use super::query::UsageQuery;
use super::record::InvocationRecord;
use super::report::{
    Counters, MetadataBreakdown, ModelSeries, NONE_KEY, OTHER_KEY, Period, ProfileRow, Row,
    SourceInfo, UNKNOWN_KEY, UsageReport, Warning,
};
use super::time::Timestamp;

/// The values a record is filtered and broken down by; `None` where the record lacks one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Dimensions<'a> {
    /// `region`.
    pub region: Option<&'a str>,
    /// `accountId` (filter only).
    pub account_id: Option<&'a str>,
    /// `modelId`.
    pub model_id: Option<&'a str>,
    /// `identity.arn`.
    pub user: Option<&'a str>,
    /// `operation`.
    pub operation: Option<&'a str>,
    /// `inferenceRegion`.
    pub inference_region: Option<&'a str>,
    /// `requestMetadata`, cleaned and bounded as [`InvocationRecord::request_metadata`].
    pub metadata: &'a [(Cow<'a, str>, Cow<'a, str>)],
}

impl Dimensions<'_> {
    /// The value of metadata key `key`, if present.
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_ref())
    }
}

impl<'a> Dimensions<'a> {
    /// The dimensions of `record`; empty strings count as absent.
    pub fn of(record: &'a InvocationRecord<'_>) -> Self {
        let get = |v: &'a Option<std::borrow::Cow<'_, str>>| v.as_deref().filter(|s| !s.is_empty());
        Dimensions {
            region: get(&record.region),
            account_id: get(&record.account_id),
            model_id: get(&record.model_id),
            user: get(&record.identity_arn),
            operation: get(&record.operation),
            inference_region: get(&record.inference_region),
            metadata: &record.request_metadata,
        }
    }
}

impl Counters {
    /// The counters of one record.
    pub fn of(record: &InvocationRecord<'_>) -> Self {
        Counters::one(
            record.input_tokens,
            record.output_tokens,
            record.cache_read_input_tokens,
            record.cache_write_input_tokens,
            record.is_error(),
        )
    }
}

/// The most distinct keys one breakdown keeps. Keys come from the logs, and anyone who can call
/// Bedrock shapes them (a `modelId` can name any inference profile or ARN): without a bound,
/// 200,000 distinct 1 KB model ids took 520 MB. Keys first seen after the bound are counted under
/// `(other)` at once, and the report says so with a [`Warning::KEYS_FOLDED`] warning.
pub(crate) const MAX_KEYS_PER_BREAKDOWN: usize = 10_000;

/// The most bytes of keys one breakdown keeps, for the same reason (a few very long keys).
pub(crate) const MAX_KEY_BYTES_PER_BREAKDOWN: usize = 4 * 1024 * 1024;

/// The most cells (models × time buckets) of the chart's per-model series; models past it are
/// drawn as `(other)`.
pub(crate) const MAX_SERIES_CELLS: usize = 2_000_000;

/// Counters by key, for one breakdown.
#[derive(Debug, Default)]
struct Breakdown {
    entries: HashMap<Box<str>, Counters>,
    /// Bytes of the keys in `entries`.
    key_bytes: usize,
    /// Distinct keys counted under `(other)` because the breakdown was full.
    folded_keys: u64,
}

impl Breakdown {
    /// Adds `counters` under `key`, allocating only the first time a key is seen; a new key
    /// when the breakdown is full goes to `(other)`.
    fn add(&mut self, key: Option<&str>, counters: &Counters) {
        let key = key.unwrap_or(UNKNOWN_KEY);
        if let Some(slot) = self.entries.get_mut(key) {
            slot.add(counters);
            return;
        }
        if self.entries.len() >= MAX_KEYS_PER_BREAKDOWN
            || self.key_bytes + key.len() > MAX_KEY_BYTES_PER_BREAKDOWN
        {
            self.folded_keys += 1;
            self.entries
                .entry(OTHER_KEY.into())
                .or_default()
                .add(counters);
            return;
        }
        self.key_bytes += key.len();
        self.entries.insert(key.into(), *counters);
    }

    /// Every entry, sorted like [`Breakdown::into_rows`] but never folded.
    fn rows_unfolded(&self) -> Vec<Row> {
        let mut rows: Vec<Row> = self
            .entries
            .iter()
            .map(|(key, counters)| Row::new(key.to_string(), *counters))
            .collect();
        rows.sort_unstable_by(|a, b| {
            b.counters
                .total_tokens
                .cmp(&a.counters.total_tokens)
                .then_with(|| a.key.cmp(&b.key))
        });
        rows
    }

    /// Sorted by `total_tokens` descending, ties by key; past `top_n` folded into `(other)`,
    /// which comes last (with what was folded early when the breakdown was full).
    fn into_rows(self, top_n: usize) -> Vec<Row> {
        fold_rows(self.entries, top_n)
    }
}

/// `entries` as breakdown rows: sorted by `total_tokens` descending, ties by key; past
/// `top_n` folded into `(other)`, which comes last (with an `(other)` entry already there:
/// keys folded early when a breakdown was full).
pub(crate) fn fold_rows(
    entries: impl IntoIterator<Item = (impl Into<String>, Counters)>,
    top_n: usize,
) -> Vec<Row> {
    let mut early = None;
    let mut rows: Vec<Row> = Vec::new();
    for (key, counters) in entries {
        let key: String = key.into();
        if key == OTHER_KEY {
            early.get_or_insert_with(Counters::default).add(&counters);
        } else {
            rows.push(Row::new(key, counters));
        }
    }
    rows.sort_unstable_by(|a, b| {
        b.counters
            .total_tokens
            .cmp(&a.counters.total_tokens)
            .then_with(|| a.key.cmp(&b.key))
    });
    let mut other = early;
    if rows.len() > top_n {
        let folded = other.get_or_insert_with(Counters::default);
        for row in rows.drain(top_n..) {
            folded.add(&row.counters);
        }
    }
    if let Some(counters) = other {
        rows.push(Row::new(OTHER_KEY, counters));
    }
    rows
}

/// Folds records into the counters of one [`UsageQuery`].
#[derive(Debug)]
pub struct Aggregator {
    query: UsageQuery,
    source: SourceInfo,
    first_bucket: i64,
    series: Vec<Counters>,
    totals: Counters,
    by_region: Breakdown,
    by_model: Breakdown,
    by_user: Breakdown,
    by_operation: Breakdown,
    by_inference_region: Breakdown,
    /// One per `group_by_metadata` key, in its order.
    by_metadata: Vec<(String, Breakdown)>,
    /// By application inference profile ARN; `(none)` for other model ids.
    by_inference_profile: Breakdown,
    /// Per-day series by key, when the query asks (for anomalies).
    key_series: Option<KeySeries>,
    /// Total tokens per bucket for each model, for the chart.
    model_series: HashMap<Box<str>, Vec<u64>>,
    /// Tokens per (model, region) by caller and day, for the cost estimate.
    cost_cells: CostCells,
    skipped: u64,
}

impl Aggregator {
    /// An empty aggregation for `query`, reporting `source` as where records came from.
    pub fn new(query: &UsageQuery, source: SourceInfo) -> Self {
        let (first, last) = query.bucket_range();
        // The query bounds the bucket count (MAX_BUCKETS), so this allocation is small.
        let buckets = usize::try_from(last - first + 1).unwrap_or(0);
        Aggregator {
            query: query.clone(),
            source,
            first_bucket: first,
            series: vec![Counters::default(); buckets],
            totals: Counters::default(),
            by_region: Breakdown::default(),
            by_model: Breakdown::default(),
            by_user: Breakdown::default(),
            by_operation: Breakdown::default(),
            by_inference_region: Breakdown::default(),
            by_metadata: query
                .group_by_metadata()
                .iter()
                .map(|key| (key.clone(), Breakdown::default()))
                .collect(),
            by_inference_profile: Breakdown::default(),
            model_series: HashMap::new(),
            cost_cells: CostCells::default(),
            skipped: 0,
            key_series: query.key_series().then(|| KeySeries::new(query)),
        }
    }

    /// The query being answered.
    pub fn query(&self) -> &UsageQuery {
        &self.query
    }

    /// Counts `record` if it falls in the period and passes the filters; returns whether it
    /// did.
    pub fn add(&mut self, record: &InvocationRecord<'_>) -> bool {
        self.add_counts(
            record.timestamp,
            &Dimensions::of(record),
            &Counters::of(record),
        )
    }

    /// Counts `counters` (one record, or many already summed) as of `at` under `dims`, if in
    /// the period and passing the filters; returns whether they were counted.
    pub(crate) fn add_counts(
        &mut self,
        at: Timestamp,
        dims: &Dimensions<'_>,
        counters: &Counters,
    ) -> bool {
        if !self.query.contains(at) || !matches_filters(&self.query, dims) {
            return false;
        }
        let bucket = self.query.granularity().bucket_of(at) - self.first_bucket;
        if let Some(index) = usize::try_from(bucket)
            .ok()
            .filter(|i| *i < self.series.len())
        {
            self.series[index].add(counters);
            let buckets = self.series.len();
            let model = dims.model_id.unwrap_or(UNKNOWN_KEY);
            // A model gets a line of its own only while its breakdown keeps its key (the same
            // byte and count budget) and the series have room; otherwise it is `(other)`.
            self.by_model.add(dims.model_id, counters);
            let model = if self.by_model.entries.contains_key(model)
                && (self.model_series.contains_key(model)
                    || self.model_series.len() < (MAX_SERIES_CELLS / buckets.max(1)).max(1))
            {
                model
            } else {
                OTHER_KEY
            };
            let line = match self.model_series.get_mut(model) {
                Some(line) => line,
                None => self
                    .model_series
                    .entry(model.into())
                    .or_insert_with(|| vec![0; buckets]),
            };
            line[index] = line[index].saturating_add(counters.total_tokens);
        } else {
            self.by_model.add(dims.model_id, counters);
        }
        self.totals.add(counters);
        self.cost_cells
            .add(at.date(), dims.model_id, dims.region, dims.user, counters);
        self.by_region.add(dims.region, counters);
        self.by_user.add(dims.user, counters);
        self.by_operation.add(dims.operation, counters);
        self.by_inference_region
            .add(dims.inference_region, counters);
        for (key, breakdown) in &mut self.by_metadata {
            breakdown.add(Some(dims.metadata(key).unwrap_or(NONE_KEY)), counters);
        }
        let profile = dims.model_id.filter(|m| is_application_profile(m));
        self.by_inference_profile
            .add(Some(profile.unwrap_or(NONE_KEY)), counters);
        if let Some(series) = &mut self.key_series {
            series.add(at, dims, counters);
        }
        true
    }

    /// Counts `n` records that could not be read.
    pub(crate) fn add_skipped(&mut self, n: u64) {
        self.skipped = self.skipped.saturating_add(n);
    }

    /// Parses one line and counts it, or counts it as skipped if it is not a usable record.
    /// Blank lines are ignored. Returns whether the record was counted.
    pub fn add_line(&mut self, line: &[u8]) -> bool {
        let line = line.trim_ascii();
        if line.is_empty() {
            return false;
        }
        match InvocationRecord::parse(line) {
            Ok(record) => self.add(&record),
            Err(_) => {
                self.add_skipped(1);
                false
            }
        }
    }

    /// The report: zero-filled ascending time series, sorted and folded breakdowns.
    pub fn finish(self) -> UsageReport {
        let granularity = self.query.granularity();
        let top_n = self.query.top_n();
        let metadata_names: Vec<String> = self
            .by_metadata
            .iter()
            .map(|(key, _)| format!("metadata {key}"))
            .collect();
        let warnings = [
            ("region", &self.by_region),
            ("model", &self.by_model),
            ("user", &self.by_user),
            ("operation", &self.by_operation),
            ("inference region", &self.by_inference_region),
            ("inference profile", &self.by_inference_profile),
        ]
        .into_iter()
        .chain(
            metadata_names
                .iter()
                .map(String::as_str)
                .zip(self.by_metadata.iter().map(|(_, b)| b)),
        )
        .filter(|(_, b)| b.folded_keys > 0)
        .map(|(dimension, b)| {
            Warning::keys_folded(
                dimension,
                b.folded_keys,
                MAX_KEYS_PER_BREAKDOWN,
                MAX_KEY_BYTES_PER_BREAKDOWN / (1024 * 1024),
            )
        })
        .collect();
        let model_series = series_by_model(self.model_series, top_n);
        let all_models = self.by_model.rows_unfolded();
        let daily = (self.first_bucket..)
            .zip(self.series)
            .map(|(bucket, counters)| Row::new(granularity.bucket_key(bucket), counters))
            .collect();
        UsageReport {
            source: self.source,
            period: Period {
                start: self.query.start(),
                end: self.query.end(),
            },
            totals: self.totals,
            daily,
            by_region: self.by_region.into_rows(top_n),
            by_model: self.by_model.into_rows(top_n),
            by_user: self.by_user.into_rows(top_n),
            by_operation: self.by_operation.into_rows(top_n),
            by_inference_region: self.by_inference_region.into_rows(top_n),
            by_metadata: self
                .by_metadata
                .into_iter()
                .map(|(key, breakdown)| MetadataBreakdown {
                    key,
                    rows: breakdown.into_rows(top_n),
                })
                .collect(),
            by_inference_profile: (self.by_inference_profile.into_rows(top_n).into_iter())
                .map(ProfileRow::from)
                .collect(),
            skipped_records: self.skipped,
            warnings,
            query_cost: None,
            limitations: Vec::new(),
            sources: Vec::new(),
            model_series,
            all_models,
            cost_cells: self.cost_cells,
            compare_to: None,
            anomalies: None,
            key_series: self.key_series,
            inference_profiles: Default::default(),
        }
    }
}

/// The token series of the `top_n` biggest models (by total), the rest folded into
/// `(other)`, biggest first.
pub(crate) fn series_by_model(
    mut lines: HashMap<Box<str>, Vec<u64>>,
    top_n: usize,
) -> Vec<ModelSeries> {
    // Models drawn as `(other)` early, when the series were full, join the folded ones.
    let other: Option<Vec<u64>> = lines.remove(OTHER_KEY);
    let mut lines: Vec<(Box<str>, Vec<u64>, u64)> = lines
        .into_iter()
        .map(|(model, line)| {
            let total = line.iter().fold(0u64, |a, b| a.saturating_add(*b));
            (model, line, total)
        })
        .filter(|(_, _, total)| *total > 0)
        .collect();
    lines.sort_unstable_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    let sorted = lines.into_iter().map(|(model, tokens, _)| ModelSeries {
        model: model.into(),
        tokens,
    });
    fold_series(sorted, other, top_n)
}

/// Keeps the first `top_n` of `sorted` (biggest first) and folds the rest, with `other`, into
/// one `(other)` series at the end.
pub(crate) fn fold_series(
    sorted: impl IntoIterator<Item = ModelSeries>,
    mut other: Option<Vec<u64>>,
    top_n: usize,
) -> Vec<ModelSeries> {
    let mut series: Vec<ModelSeries> = Vec::new();
    for (i, line) in sorted.into_iter().enumerate() {
        if i < top_n {
            series.push(line);
        } else {
            let folded = other.get_or_insert_with(|| vec![0; line.tokens.len()]);
            for (slot, tokens) in folded.iter_mut().zip(line.tokens) {
                *slot = slot.saturating_add(tokens);
            }
        }
    }
    if let Some(tokens) = other {
        series.push(ModelSeries {
            model: OTHER_KEY.to_owned(),
            tokens,
        });
    }
    series
}

fn matches_filters(query: &UsageQuery, dims: &Dimensions<'_>) -> bool {
    let f = query.filters();
    let ok = |want: &Option<String>, have: Option<&str>| match want {
        None => true,
        Some(want) => have == Some(want.as_str()),
    };
    ok(&f.region, dims.region)
        && ok(&f.aws_account_id, dims.account_id)
        && ok(&f.model_id, dims.model_id)
        && ok(&f.user, dims.user)
        && ok(&f.inference_region, dims.inference_region)
        && ok(&f.inference_profile, dims.model_id)
        && f.metadata
            .iter()
            .all(|(key, want)| dims.metadata(key) == Some(want.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::query::{Granularity, UsageFilters};
    use crate::usage::report::SourceKind;

    fn query(granularity: Granularity) -> UsageQuery {
        UsageQuery::new(
            "2026-11-01T00:00:00Z".parse().unwrap(),
            "2026-11-03T00:00:00Z".parse().unwrap(),
            granularity,
        )
        .unwrap()
    }

    fn line(ts: &str, model: &str, tokens: u64) -> String {
        format!(
            r#"{{"timestamp":"{ts}","modelId":"{model}","region":"us-east-1","input":{{"inputTokenCount":{tokens}}}}}"#
        )
    }

    fn source() -> SourceInfo {
        SourceInfo::local(SourceKind::File)
    }

    #[test]
    fn end_is_exclusive_and_series_is_zero_filled() {
        let mut agg = Aggregator::new(&query(Granularity::Day), source());
        assert!(agg.add_line(line("2026-11-01T00:00:00Z", "a", 1).as_bytes()));
        assert!(!agg.add_line(line("2026-11-03T00:00:00Z", "a", 10).as_bytes()));
        assert!(!agg.add_line(line("2026-10-31T23:59:59.999Z", "a", 100).as_bytes()));
        assert!(!agg.add_line(b"   \r\n"));
        assert!(!agg.add_line(b"{oops"));
        let report = agg.finish();
        assert_eq!(report.totals.input_tokens, 1);
        assert_eq!(report.skipped_records, 1);
        let keys: Vec<_> = report.daily.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["2026-11-01", "2026-11-02"]);
        assert!(report.daily[1].counters.is_zero());
    }

    #[test]
    fn distinct_keys_past_the_budget_are_folded_early_and_said() {
        let mut agg = Aggregator::new(&query(Granularity::Hour).with_top_n(5), source());
        let extra = 50;
        for i in 0..MAX_KEYS_PER_BREAKDOWN + extra {
            let model = format!("model-{i:06}");
            assert!(agg.add_line(line("2026-11-01T05:00:00Z", &model, 1).as_bytes()));
        }
        // A key already kept still gets its own counts after the budget is spent.
        assert!(agg.add_line(line("2026-11-01T06:00:00Z", "model-000000", 100).as_bytes()));
        assert!(agg.by_model.entries.len() <= MAX_KEYS_PER_BREAKDOWN + 1);
        assert!(agg.model_series.len() <= MAX_SERIES_CELLS / agg.series.len() + 1);
        assert!(
            (agg.model_series.keys())
                .all(|m| &**m == OTHER_KEY || agg.by_model.entries.contains_key(m)),
            "a chart line only for a model the breakdown kept"
        );
        let report = agg.finish();
        let total: u64 = report
            .by_model
            .iter()
            .map(|r| r.counters.input_tokens)
            .sum();
        assert_eq!(
            total, report.totals.input_tokens,
            "every token still counted"
        );
        assert_eq!(report.by_model[0].key, "model-000000");
        assert_eq!(report.by_model[0].counters.input_tokens, 101);
        let others: Vec<_> = report
            .by_model
            .iter()
            .filter(|r| r.key == OTHER_KEY)
            .collect();
        assert_eq!(others.len(), 1, "one (other) row, last");
        assert_eq!(report.by_model.last().unwrap().key, OTHER_KEY);
        assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
        assert_eq!(report.warnings[0].code, Warning::KEYS_FOLDED);
        assert!(
            report.warnings[0]
                .message
                .contains(&format!("{extra} values"))
        );
        let series_others = report
            .model_series
            .iter()
            .filter(|s| s.model == OTHER_KEY)
            .count();
        assert_eq!(series_others, 1);
    }

    #[test]
    fn long_keys_spend_the_byte_budget() {
        let mut agg = Aggregator::new(&query(Granularity::Day), source());
        let long = "k".repeat(1024 * 1024);
        for i in 0..6 {
            let user = format!("{i}{long}");
            let record = format!(
                r#"{{"timestamp":"2026-11-01T00:00:00Z","identity":{{"arn":"{user}"}},"input":{{"inputTokenCount":1}}}}"#
            );
            assert!(agg.add_line(record.as_bytes()));
        }
        assert!(agg.by_user.key_bytes <= MAX_KEY_BYTES_PER_BREAKDOWN);
        let report = agg.finish();
        assert_eq!(report.totals.input_tokens, 6);
        assert!(report.warnings.iter().any(|w| w.message.contains("user")));
    }

    #[test]
    fn folds_the_tail_into_other_and_breaks_ties_by_key() {
        let mut agg = Aggregator::new(&query(Granularity::Hour).with_top_n(2), source());
        for (model, tokens) in [("c", 5), ("b", 5), ("a", 1), ("d", 9), ("e", 0)] {
            agg.add_line(line("2026-11-02T10:00:00Z", model, tokens).as_bytes());
        }
        let report = agg.finish();
        let models: Vec<_> = report
            .by_model
            .iter()
            .map(|r| (r.key.as_str(), r.counters.total_tokens, r.counters.requests))
            .collect();
        assert_eq!(models, [("d", 9, 1), ("b", 5, 1), (OTHER_KEY, 6, 3)]);
        assert_eq!(report.daily.len(), 48);
        assert_eq!(report.daily[34].key, "2026-11-02T10");
        assert_eq!(report.daily[34].counters.requests, 5);
        assert_eq!(report.by_user[0].key, UNKNOWN_KEY);
    }

    #[test]
    fn filters_require_the_field() {
        let q = query(Granularity::Day).with_filters(UsageFilters {
            region: Some("us-east-1".into()),
            ..UsageFilters::default()
        });
        let mut agg = Aggregator::new(&q, source());
        assert!(agg.add_line(line("2026-11-01T01:00:00Z", "a", 1).as_bytes()));
        assert!(!agg.add_line(br#"{"timestamp":"2026-11-01T01:00:00Z","modelId":"a"}"#));
        assert_eq!(agg.finish().totals.requests, 1);
    }

    #[test]
    fn saturates_instead_of_overflowing() {
        let mut agg = Aggregator::new(&query(Granularity::Day), source());
        let big = line("2026-11-01T00:00:00Z", "a", u64::MAX);
        assert!(agg.add_line(big.as_bytes()));
        assert!(agg.add_line(big.as_bytes()));
        assert_eq!(agg.finish().totals.total_tokens, u64::MAX);
    }

    #[test]
    fn model_series_fold_to_the_time_series() {
        let q = query(Granularity::Day).with_top_n(1);
        let mut agg = Aggregator::new(&q, source());
        for (ts, model, tokens) in [
            ("2026-11-01T01:00:00Z", "a", 5),
            ("2026-11-01T02:00:00Z", "b", 7),
            ("2026-11-02T03:00:00Z", "c", 11),
            ("2026-11-02T04:00:00Z", "b", 1),
        ] {
            assert!(agg.add_line(line(ts, model, tokens).as_bytes()));
        }
        let report = agg.finish();
        let names: Vec<&str> = report
            .model_series
            .iter()
            .map(|s| s.model.as_str())
            .collect();
        assert_eq!(names, ["c", "(other)"]);
        for (i, day) in report.daily.iter().enumerate() {
            let stacked: u64 = report.model_series.iter().map(|s| s.tokens[i]).sum();
            assert_eq!(stacked, day.counters.total_tokens);
        }
    }
}
