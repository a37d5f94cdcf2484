//! The usage report: the contract that scripts and the MCP tool's `outputSchema` rely on.
//!
//! ```text
//! { "source": {"kind": ..., "log_group": ..., "region": ...},
//!   "period": {"start": RFC 3339, "end": RFC 3339},
//!   "totals": COUNTERS,
//!   "daily": [{"key": "YYYY-MM-DD" or "YYYY-MM-DDTHH", ...COUNTERS}],
//!   "by_region" | "by_model" | "by_user" | "by_operation" | "by_inference_region":
//!       [{"key": ..., ...COUNTERS}],
//!   "by_metadata": [{"key": METADATA KEY, "rows": [{"key": VALUE or "(none)", ...COUNTERS}]}],
//!   "by_inference_profile": [{"key": PROFILE ARN or "(none)", "name", "tags", "models",
//!       "resolved_by", ...COUNTERS}],
//!   "skipped_records": N,
//!   "warnings": [{"code": ..., "message": ...}] }
//! ```
//!
//! The field names are part of the contract: change them only with the schema
//! ([`report_json_schema`]) and everyone who reads reports. The time series is ascending and
//! zero-filled over the whole period; breakdowns are sorted by `total_tokens` descending (ties
//! by key) and each sums to `totals`, the tail folded into one `(other)` entry.

mod change;
mod change_schema;
mod change_text;
mod profiles;
mod query_cost;
mod schema;
mod sources;
mod text;

pub use change::{
    Anomalies, Anomaly, AnomalyRule, Change, CompareTo, Comparison, RelativeCounters,
    SignedCounters,
};
pub use profiles::ProfileRow;
pub use query_cost::{BYTES_PER_GB, Currency, Limitation, QueryCost, gb};
pub use schema::report_json_schema;
pub use sources::{SourceState, SourceStatus};
pub use text::render_text;
pub(crate) use text::shown_key;

use serde::{Deserialize, Serialize};

use super::key_series::KeySeries;
use super::time::Timestamp;

/// The key under which a breakdown folds the entries past `top_n`.
pub(crate) const OTHER_KEY: &str = "(other)";

/// The key for records that lack the broken-down field (e.g. no `identity.arn`).
pub(crate) const UNKNOWN_KEY: &str = "(unknown)";

/// The `by_metadata` key for records that lack the metadata key (explicit, not "unknown": the
/// caller did not tag them).
pub(crate) const NONE_KEY: &str = "(none)";

/// Request, token and error counts for a set of invocations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Counters {
    /// Invocations, failed ones included.
    pub requests: u64,
    /// `inputTokenCount` summed (excludes cached tokens).
    pub input_tokens: u64,
    /// `outputTokenCount` summed.
    pub output_tokens: u64,
    /// `cacheReadInputTokenCount` summed.
    pub cache_read_input_tokens: u64,
    /// `cacheWriteInputTokenCount` summed.
    pub cache_write_input_tokens: u64,
    /// The four token counts above summed.
    pub total_tokens: u64,
    /// Invocations whose record carries an `errorCode`.
    pub errors: u64,
}

impl Counters {
    /// The counters of one invocation; `total_tokens` is derived.
    pub fn one(
        input_tokens: u64,
        output_tokens: u64,
        cache_read_input_tokens: u64,
        cache_write_input_tokens: u64,
        is_error: bool,
    ) -> Self {
        Counters {
            requests: 1,
            input_tokens,
            output_tokens,
            cache_read_input_tokens,
            cache_write_input_tokens,
            total_tokens: input_tokens
                .saturating_add(output_tokens)
                .saturating_add(cache_read_input_tokens)
                .saturating_add(cache_write_input_tokens),
            errors: u64::from(is_error),
        }
    }

    /// Adds `other` field by field, saturating instead of overflowing.
    pub fn add(&mut self, other: &Counters) {
        self.requests = self.requests.saturating_add(other.requests);
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(other.output_tokens);
        self.cache_read_input_tokens = self
            .cache_read_input_tokens
            .saturating_add(other.cache_read_input_tokens);
        self.cache_write_input_tokens = self
            .cache_write_input_tokens
            .saturating_add(other.cache_write_input_tokens);
        self.total_tokens = self.total_tokens.saturating_add(other.total_tokens);
        self.errors = self.errors.saturating_add(other.errors);
    }

    /// Whether nothing was counted.
    pub fn is_zero(&self) -> bool {
        *self == Counters::default()
    }
}

/// One entry of the time series or of a breakdown: a key and its counters, side by side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// A bucket key (`2026-11-25`, `2026-11-25T14`) or a value as logged (a region, a full
    /// `modelId`, a full `identity.arn`, an operation), or `(other)` / `(unknown)`.
    pub key: String,
    /// The counters, serialized as fields of the row.
    #[serde(flatten)]
    pub counters: Counters,
    /// With `compare_to`: the previous period's counters under this key (breakdowns only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Counters>,
    /// With `compare_to`: from `previous` to `counters`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
}

impl Row {
    /// A row without comparison.
    pub fn new(key: impl Into<String>, counters: Counters) -> Self {
        Row {
            key: key.into(),
            counters,
            previous: None,
            change: None,
        }
    }
}

/// The kind of source a report was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// CloudWatch Logs Insights queries over the invocation log group.
    CloudwatchInsights,
    /// A scan of the log group's events (FilterLogEvents).
    CloudwatchScan,
    /// CloudWatch's `AWS/Bedrock` metrics (GetMetricData): no logging needed, fewer breakdowns.
    CloudwatchMetrics,
    /// A local JSON-lines file.
    File,
    /// The generated sample dataset bundled with the server.
    BundledSample,
}

impl SourceKind {
    /// The wire name, e.g. `bundled-sample`.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::CloudwatchInsights => "cloudwatch-insights",
            SourceKind::CloudwatchScan => "cloudwatch-scan",
            SourceKind::CloudwatchMetrics => "cloudwatch-metrics",
            SourceKind::File => "file",
            SourceKind::BundledSample => "bundled-sample",
        }
    }
}

/// Where a report's records came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// The kind of source.
    pub kind: SourceKind,
    /// The CloudWatch log group, when the source is one (`null` otherwise).
    pub log_group: Option<String>,
    /// The AWS region read from, when the source is remote (`null` otherwise).
    pub region: Option<String>,
}

impl SourceInfo {
    /// A source with neither log group nor region (a file, the sample).
    pub fn local(kind: SourceKind) -> Self {
        SourceInfo {
            kind,
            log_group: None,
            region: None,
        }
    }
}

/// The time range a report covers, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// The first instant included.
    pub start: Timestamp,
    /// The first instant excluded.
    pub end: Timestamp,
}

/// Usage by the values of one `requestMetadata` key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataBreakdown {
    /// The metadata key, e.g. `team`.
    pub key: String,
    /// By value, like the other breakdowns; records without the key under `(none)`.
    pub rows: Vec<Row>,
}

/// A usage report; see the module docs for the contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageReport {
    /// Where the records came from.
    pub source: SourceInfo,
    /// The time range covered.
    pub period: Period,
    /// Everything counted.
    pub totals: Counters,
    /// The time series, ascending and zero-filled: one row per day or per hour of the period.
    pub daily: Vec<Row>,
    /// By `region`.
    pub by_region: Vec<Row>,
    /// By `modelId`.
    pub by_model: Vec<Row>,
    /// By `identity.arn`.
    pub by_user: Vec<Row>,
    /// By `operation`.
    pub by_operation: Vec<Row>,
    /// By `inferenceRegion`: where a cross-region inference profile ran the request
    /// (`(unknown)` for records without it), beside `by_region`, where it was sent.
    #[serde(default)]
    pub by_inference_region: Vec<Row>,
    /// One breakdown per `group_by_metadata` key, in that order.
    #[serde(default)]
    pub by_metadata: Vec<MetadataBreakdown>,
    /// By application inference profile (the `modelId` ARN), with each profile's name, tags
    /// and models once resolved; `(none)` for calls not made through one.
    #[serde(default)]
    pub by_inference_profile: Vec<ProfileRow>,
    /// Records that could not be read (bad JSON, no usable `timestamp`, oversized lines).
    pub skipped_records: u64,
    /// Why the numbers may not be what the reader expects (e.g. the log group does not exist
    /// yet); empty when there is nothing to say.
    #[serde(default)]
    pub warnings: Vec<Warning>,
    /// What the report's Logs Insights queries scanned and cost; only Insights reports have it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_cost: Option<QueryCost>,
    /// The fields this source cannot give (left empty), and why; absent when it gives them all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub limitations: Vec<Limitation>,
    /// When several log groups (regions, accounts) are merged: each with its status.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceStatus>,
    /// With `compare_to`: the previous period and its totals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare_to: Option<Comparison>,
    /// With `anomalies`: what jumped against its trailing baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomalies: Option<Anomalies>,
    /// Total tokens per time-series bucket for the biggest models, for the chart. Not part
    /// of the JSON contract.
    #[serde(skip)]
    pub model_series: Vec<ModelSeries>,
    /// Every model's counters, never folded into `(other)`: what a cost estimate needs. Not
    /// part of the JSON contract.
    #[serde(skip)]
    pub all_models: Vec<Row>,
    /// Tokens per (model, region), by caller and day: what the cost estimate prices. Not part
    /// of the JSON contract.
    #[serde(skip)]
    pub cost_cells: crate::usage::cost::CostCells,
    /// Per-day tokens and errors by model, user and metadata value, kept only when the query
    /// asks (for anomalies). Not part of the JSON contract.
    #[serde(skip)]
    pub key_series: Option<KeySeries>,
    /// Every application inference profile of the report as resolved (also those folded into
    /// `(other)`): what the cost estimate prices them as. Not part of the JSON contract.
    #[serde(skip)]
    pub inference_profiles: crate::usage::profiles::Resolved,
}

/// Something the reader of a report should know: a stable `code` for scripts and a sentence
/// for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// A stable identifier, e.g. `log_group_not_found`.
    pub code: String,
    /// What happened and what to do about it.
    pub message: String,
}

impl Warning {
    /// The CloudWatch log group read does not exist (yet): the report counts nothing.
    pub const LOG_GROUP_NOT_FOUND: &'static str = "log_group_not_found";

    /// A breakdown met more distinct keys than it keeps: later ones are under `(other)`.
    pub(crate) const KEYS_FOLDED: &'static str = "keys_folded";

    /// `folded` distinct values of `dimension` were counted under `(other)` as they came,
    /// because the breakdown was full (`max_keys` values or `max_mib` MiB of names).
    pub(crate) fn keys_folded(
        dimension: &str,
        folded: u64,
        max_keys: usize,
        max_mib: usize,
    ) -> Self {
        Warning {
            code: Self::KEYS_FOLDED.to_owned(),
            message: format!(
                "The logs hold more distinct {dimension} values than a report keeps \
                 ({max_keys} values or {max_mib} MiB of names): {folded} values first seen \
                 after that are counted under (other), whatever their size. Totals are exact; \
                 narrow the period or filter to see them one by one."
            ),
        }
    }

    /// The log group `log_group` does not exist in `region`: what it means and how to turn
    /// Bedrock's model-invocation logging on.
    pub fn log_group_not_found(log_group: &str, region: Option<&str>) -> Self {
        let region = region.unwrap_or("the default region");
        Warning {
            code: Self::LOG_GROUP_NOT_FOUND.to_owned(),
            message: format!(
                "The CloudWatch log group {log_group} does not exist in {region}, so this report \
                 counts no usage from that log group (in a report over several log groups, \
                 the others still count). Bedrock writes it only once model invocation logging is \
                 turned on: in the Bedrock console (Settings > Model invocation logging, \
                 CloudWatch Logs destination {log_group} in {region}), with `aws bedrock \
                 put-model-invocation-logging-configuration --region {region}`, or with this \
                 project's Terraform (manage_bedrock_invocation_logging = true). If logging is \
                 already on, point the server at its log group and region (BEDROCK_LOG_GROUP, \
                 AWS_REGION) or pass log_group_name and region to the tool."
            ),
        }
    }
}

/// One model's total tokens per bucket of the report's time series.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ModelSeries {
    /// The `modelId`, or `(other)` for the folded rest.
    pub model: String,
    /// Total tokens per bucket, aligned with `daily`.
    pub tokens: Vec<u64>,
}

impl UsageReport {
    /// The four breakdowns with their section names, in report order.
    pub fn breakdowns(&self) -> [(&'static str, &[Row]); 4] {
        [
            ("by_region", &self.by_region),
            ("by_model", &self.by_model),
            ("by_user", &self.by_user),
            ("by_operation", &self.by_operation),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::Warning;

    #[test]
    fn a_missing_log_group_says_only_its_own_usage_is_missing() {
        // Inside a merged report the other log groups did count.
        let warning = Warning::log_group_not_found("/x", Some("eu-west-1"));
        assert!(
            warning
                .message
                .contains("counts no usage from that log group")
        );
        assert!(!warning.message.contains("counts no usage."));
    }
}
