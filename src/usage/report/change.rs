//! The "what changed" parts of the report contract: a breakdown entry's previous-period
//! counters and change (`compare_to: "previous_period"`), the `compare_to` section, and the
//! `anomalies` section. How they are computed lives in `usage::compare` and `usage::anomaly`.

use serde::{Deserialize, Serialize};

use super::{Counters, Period};

/// How much one set of counters moved against another, counter by counter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Current minus previous (negative for a fall), clamped to the `i64` range.
    pub absolute: SignedCounters,
    /// `(current - previous) / previous` as a fraction (`0.25` is +25 %), rounded to four
    /// decimals; `null` where the previous value is 0.
    pub relative: RelativeCounters,
}

// The report derives `Eq`; a relative change is a float but never NaN (see `relative`).
impl Eq for Change {}

/// A signed difference per counter field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct SignedCounters {
    pub requests: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_read_input_tokens: i64,
    pub cache_write_input_tokens: i64,
    pub total_tokens: i64,
    pub errors: i64,
}

/// A relative change per counter field; `None` (JSON `null`) where the previous value is 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct RelativeCounters {
    pub requests: Option<f64>,
    pub input_tokens: Option<f64>,
    pub output_tokens: Option<f64>,
    pub cache_read_input_tokens: Option<f64>,
    pub cache_write_input_tokens: Option<f64>,
    pub total_tokens: Option<f64>,
    pub errors: Option<f64>,
}

impl Change {
    /// The change from `previous` to `current`.
    pub fn between(current: &Counters, previous: &Counters) -> Self {
        let pairs = |f: fn(&Counters) -> u64| (f(current), f(previous));
        let absolute = |(c, p): (u64, u64)| {
            i64::try_from(i128::from(c) - i128::from(p)).unwrap_or(if c > p {
                i64::MAX
            } else {
                i64::MIN
            })
        };
        let relative = |(c, p): (u64, u64)| {
            (p != 0).then(|| {
                let r = (c as f64 - p as f64) / p as f64;
                (r * 10_000.0).round() / 10_000.0
            })
        };
        let fields: [fn(&Counters) -> u64; 7] = [
            |c| c.requests,
            |c| c.input_tokens,
            |c| c.output_tokens,
            |c| c.cache_read_input_tokens,
            |c| c.cache_write_input_tokens,
            |c| c.total_tokens,
            |c| c.errors,
        ];
        let a = fields.map(|f| absolute(pairs(f)));
        let r = fields.map(|f| relative(pairs(f)));
        Change {
            absolute: SignedCounters {
                requests: a[0],
                input_tokens: a[1],
                output_tokens: a[2],
                cache_read_input_tokens: a[3],
                cache_write_input_tokens: a[4],
                total_tokens: a[5],
                errors: a[6],
            },
            relative: RelativeCounters {
                requests: r[0],
                input_tokens: r[1],
                output_tokens: r[2],
                cache_read_input_tokens: r[3],
                cache_write_input_tokens: r[4],
                total_tokens: r[5],
                errors: r[6],
            },
        }
    }
}

/// What a report is compared with (`compare_to`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareTo {
    /// The period of the same length that ends where the requested one starts.
    PreviousPeriod,
}

impl std::str::FromStr for CompareTo {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "previous_period" => Ok(CompareTo::PreviousPeriod),
            other => Err(format!(
                "unknown compare_to {other:?}: expected previous_period"
            )),
        }
    }
}

/// The `compare_to` section: the period compared with, its totals and the change of the
/// totals. Each breakdown entry carries its own `previous` and `change`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comparison {
    /// What was compared with.
    pub kind: CompareTo,
    /// The previous period, `[start, end)`: as long as the report's, ending at its start.
    pub period: Period,
    /// Everything counted in the previous period (same filters).
    pub totals: Counters,
    /// From the previous totals to the report's.
    pub change: Change,
    /// Records of the previous period that could not be read.
    pub skipped_records: u64,
}

/// The `anomalies` section: the rule, the window it looked at, and what it flagged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anomalies {
    /// The rule's parameters, so the evidence can be checked.
    pub rule: AnomalyRule,
    /// The days read for baselines before the report's period (fetched, or read from the
    /// previous period when `compare_to` already covered them).
    pub baseline: Period,
    /// What jumped: latest day first; within a day all usage, then models, users and each
    /// metadata key, tokens before errors, biggest value first. At most
    /// [`Anomalies::MAX_ITEMS`].
    pub items: Vec<Anomaly>,
    /// Flagged items left out past [`Anomalies::MAX_ITEMS`].
    pub omitted: u64,
    /// Records whose model, user or metadata value was not evaluated because the per-key
    /// series were full (their usage still counts everywhere else, and in the day totals).
    pub untracked_records: u64,
}

impl Anomalies {
    /// The most items listed.
    pub const MAX_ITEMS: usize = 100;
}

/// The anomaly rule's parameters (see the README's "Anomalies").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnomalyRule {
    /// Days before each evaluated day that form its baseline.
    pub baseline_days: u32,
    /// How many (floored) MADs above the median a value must be.
    pub k: f64,
    /// The least baseline days, on or after the first day with any usage, for a day to be
    /// evaluated.
    pub min_history_days: u32,
    /// The MAD is raised to at least this fraction of the median (a flat baseline has MAD 0).
    pub mad_floor_fraction_of_median: f64,
    /// Below this many tokens in a day, nothing is flagged for tokens.
    pub min_total_tokens: u64,
    /// Below this many errors in a day, nothing is flagged for errors.
    pub min_errors: u64,
    /// The rule in one sentence.
    pub description: String,
}

impl Eq for AnomalyRule {}

/// One value that jumped against its baseline, with the evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    /// The UTC day, `YYYY-MM-DD`.
    pub day: String,
    /// `day` (all usage of the day), `model`, `user` or `metadata`.
    pub dimension: String,
    /// For `metadata`: the requestMetadata key (e.g. `team`); `null` otherwise.
    pub metadata_key: Option<String>,
    /// The model, user or metadata value; `null` for `day`.
    pub key: Option<String>,
    /// `total_tokens` or `errors`.
    pub metric: String,
    /// The day's value.
    pub value: u64,
    /// The median of the baseline days.
    pub median: f64,
    /// The median absolute deviation of the baseline days (before the floor).
    pub mad: f64,
    /// `median + k * max(mad, floor fraction * median)`: the value exceeded it.
    pub threshold: f64,
    /// Baseline days that counted (at most `baseline_days`).
    pub history_days: u32,
}

impl Eq for Anomaly {}
