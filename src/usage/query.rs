//! What a usage report covers: a UTC time range, a bucket size, optional filters and the
//! length of each breakdown.
//!
//! A [`UsageQuery`] is validated when built, so that every source and the aggregator can rely
//! on a non-empty range whose zero-filled time series stays small.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::time::{Date, Timestamp};

/// Breakdowns keep this many entries unless the query says otherwise.
pub(crate) const DEFAULT_TOP_N: usize = 20;

/// The most metadata keys one report may break down by (`group_by_metadata`) or filter on.
pub const MAX_GROUP_BY_METADATA: usize = 5;

/// The most time-series buckets a query may span (about 11 years of hours).
pub(crate) const MAX_BUCKETS: u64 = 100_000;

/// Why a query was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// `start` is not before `end`.
    #[error("the period is empty: start {start} is not before end {end}")]
    EmptyPeriod {
        /// The requested start.
        start: Timestamp,
        /// The requested end.
        end: Timestamp,
    },
    /// The zero-filled time series would have too many buckets.
    #[error(
        "the period spans {buckets} {granularity} buckets, more than {MAX_BUCKETS}; \
         shorten it or use a coarser granularity"
    )]
    TooManyBuckets {
        /// How many buckets the period spans.
        buckets: u64,
        /// The requested granularity.
        granularity: Granularity,
    },
    /// A `group_by_metadata` or metadata filter that Bedrock could not have logged, or too many.
    #[error("{0}")]
    InvalidMetadata(String),
    /// A day count of zero or one that leaves years 0000–9999.
    #[error("cannot cover {days} days ending {today}")]
    InvalidDays {
        /// The requested number of days.
        days: u32,
        /// The last day requested.
        today: Date,
    },
}

/// The size of a time-series bucket, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    /// Calendar days; keys look like `2026-11-25`.
    #[default]
    Day,
    /// Hours; keys look like `2026-11-25T14`.
    Hour,
}

impl Granularity {
    /// The bucket length in seconds.
    pub fn seconds(self) -> i64 {
        match self {
            Granularity::Day => 86_400,
            Granularity::Hour => 3_600,
        }
    }

    /// The number of the bucket holding `at` (buckets counted from the Unix epoch).
    pub(crate) fn bucket_of(self, at: Timestamp) -> i64 {
        at.unix_seconds().div_euclid(self.seconds())
    }

    /// The start of bucket number `bucket`, if representable.
    pub(crate) fn bucket_start(self, bucket: i64) -> Option<Timestamp> {
        Timestamp::from_unix_seconds(bucket.checked_mul(self.seconds())?)
    }

    /// The report key of bucket number `bucket`: `YYYY-MM-DD` or `YYYY-MM-DDTHH`.
    pub(crate) fn bucket_key(self, bucket: i64) -> String {
        match self.bucket_start(bucket) {
            Some(start) => match self {
                Granularity::Day => start.date().to_string(),
                Granularity::Hour => format!("{}T{:02}", start.date(), start.hour()),
            },
            None => String::from("(invalid)"),
        }
    }
}

impl std::fmt::Display for Granularity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Granularity::Day => "day",
            Granularity::Hour => "hour",
        })
    }
}

impl std::str::FromStr for Granularity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "day" => Ok(Granularity::Day),
            "hour" => Ok(Granularity::Hour),
            other => Err(format!(
                "unknown granularity {other:?}: expected day or hour"
            )),
        }
    }
}

/// Optional exact-match filters; a record must match every filter that is set.
///
/// Values are compared with the logged values as they are (case-sensitive, full `modelId`,
/// full `identity.arn`). A record that lacks a filtered field does not match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageFilters {
    /// The record's `region`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The record's `accountId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_account_id: Option<String>,
    /// The record's `modelId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    /// The record's `identity.arn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The record's `inferenceRegion` (where a cross-region profile ran the request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inference_region: Option<String>,
    /// The application inference profile (its ARN, the record's `modelId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inference_profile: Option<String>,
    /// `requestMetadata` values: the record must carry each key with exactly that value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// Whether `key` is a metadata key Bedrock accepts: 1 to 256 characters of
/// `[a-zA-Z0-9 ._:/=+$@-]` (its `RequestMetadataFilters` pattern, whitespace narrowed to the
/// space). Such a key needs no escaping inside a Logs Insights backquoted field name.
pub fn valid_metadata_key(key: &str) -> bool {
    (1..=crate::usage::record::MAX_METADATA_CHARS).contains(&key.chars().count())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b" ._:/=+$@-".contains(&b))
}

/// Checks metadata keys a caller asked for: at most [`MAX_GROUP_BY_METADATA`], each valid.
pub fn check_metadata_keys<'k>(
    what: &str,
    keys: impl ExactSizeIterator<Item = &'k String>,
) -> Result<(), QueryError> {
    if keys.len() > MAX_GROUP_BY_METADATA {
        return Err(QueryError::InvalidMetadata(format!(
            "{what} takes at most {MAX_GROUP_BY_METADATA} metadata keys, got {}",
            keys.len()
        )));
    }
    for key in keys {
        if !valid_metadata_key(key) {
            return Err(QueryError::InvalidMetadata(format!(
                "{what}: {key:?} is not a request metadata key (1 to 256 characters of \
                 letters, digits, space and ._:/=+$@-)"
            )));
        }
    }
    Ok(())
}

impl UsageFilters {
    /// Drops filters whose value is empty, so that an empty argument means "any".
    fn normalized(mut self) -> Self {
        for f in [
            &mut self.region,
            &mut self.aws_account_id,
            &mut self.model_id,
            &mut self.user,
            &mut self.inference_region,
            &mut self.inference_profile,
        ] {
            if f.as_deref().is_some_and(str::is_empty) {
                *f = None;
            }
        }
        self.metadata.retain(|_, value| !value.is_empty());
        self
    }

    /// Whether no filter is set.
    pub fn is_empty(&self) -> bool {
        self.region.is_none()
            && self.aws_account_id.is_none()
            && self.model_id.is_none()
            && self.user.is_none()
            && self.inference_region.is_none()
            && self.inference_profile.is_none()
            && self.metadata.is_empty()
    }
}

/// A validated request for a usage report. Serialisable so that a report task can keep it
/// between polls (read back only from the server's own task records).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageQuery {
    start: Timestamp,
    end: Timestamp,
    granularity: Granularity,
    filters: UsageFilters,
    top_n: usize,
    group_by_metadata: Vec<String>,
    /// Whether the aggregator keeps per-day series by key (for anomalies).
    key_series: bool,
}

impl UsageQuery {
    /// A query for `[start, end)` bucketed by `granularity`, without filters and with
    /// `DEFAULT_TOP_N` (20).
    pub fn new(
        start: Timestamp,
        end: Timestamp,
        granularity: Granularity,
    ) -> Result<Self, QueryError> {
        if start >= end {
            return Err(QueryError::EmptyPeriod { start, end });
        }
        let (first, last) = bucket_span(start, end, granularity);
        let buckets = u64::try_from(last - first).unwrap_or(0) + 1;
        if buckets > MAX_BUCKETS {
            return Err(QueryError::TooManyBuckets {
                buckets,
                granularity,
            });
        }
        Ok(UsageQuery {
            start,
            end,
            granularity,
            filters: UsageFilters::default(),
            top_n: DEFAULT_TOP_N,
            group_by_metadata: Vec::new(),
            key_series: false,
        })
    }

    /// The `days` whole UTC days ending with `today` (inclusive), e.g. the last 30 days.
    pub fn last_days(today: Date, days: u32, granularity: Granularity) -> Result<Self, QueryError> {
        let invalid = QueryError::InvalidDays { days, today };
        let first = today
            .checked_add_days(1 - i64::from(days))
            .filter(|_| days > 0)
            .ok_or_else(|| invalid.clone())?;
        let end = today.checked_add_days(1).ok_or(invalid)?;
        Self::new(first.start(), end.start(), granularity)
    }

    /// Sets the filters; empty strings count as unset.
    pub fn with_filters(mut self, filters: UsageFilters) -> Self {
        self.filters = filters.normalized();
        self
    }

    /// Sets the `requestMetadata` keys to break usage down by (`by_metadata`), in order, each
    /// once; refused past [`MAX_GROUP_BY_METADATA`] or for a key Bedrock would not log.
    pub fn with_group_by_metadata(mut self, keys: Vec<String>) -> Result<Self, QueryError> {
        let mut unique: Vec<String> = Vec::with_capacity(keys.len());
        for key in keys {
            if !unique.contains(&key) {
                unique.push(key);
            }
        }
        check_metadata_keys("group_by_metadata", unique.iter())?;
        self.group_by_metadata = unique;
        Ok(self)
    }

    /// The `requestMetadata` keys broken down by.
    pub fn group_by_metadata(&self) -> &[String] {
        &self.group_by_metadata
    }

    /// Sets how many entries each breakdown keeps before folding the rest into `(other)`.
    pub fn with_top_n(mut self, top_n: usize) -> Self {
        self.top_n = top_n;
        self
    }

    /// Asks the aggregator to keep per-UTC-day tokens and errors of each model, user and
    /// metadata value (bounded; what anomalies are computed from).
    pub fn with_key_series(mut self, keep: bool) -> Self {
        self.key_series = keep;
        self
    }

    /// Whether per-day series by key are kept.
    pub fn key_series(&self) -> bool {
        self.key_series
    }

    /// The same query (filters, breakdowns, options) over `[start, end)` by `granularity`.
    pub fn with_period(
        &self,
        start: Timestamp,
        end: Timestamp,
        granularity: Granularity,
    ) -> Result<Self, QueryError> {
        let period = Self::new(start, end, granularity)?;
        Ok(UsageQuery {
            start: period.start,
            end: period.end,
            granularity,
            ..self.clone()
        })
    }

    /// The first instant included.
    pub fn start(&self) -> Timestamp {
        self.start
    }

    /// The first instant excluded.
    pub fn end(&self) -> Timestamp {
        self.end
    }

    /// The time-series bucket size.
    pub fn granularity(&self) -> Granularity {
        self.granularity
    }

    /// The filters in force.
    pub fn filters(&self) -> &UsageFilters {
        &self.filters
    }

    /// How many entries each breakdown keeps.
    pub fn top_n(&self) -> usize {
        self.top_n
    }

    /// Whether `at` falls in `[start, end)`.
    pub fn contains(&self, at: Timestamp) -> bool {
        self.start <= at && at < self.end
    }

    /// The first and last bucket numbers of the period (inclusive).
    pub(crate) fn bucket_range(&self) -> (i64, i64) {
        bucket_span(self.start, self.end, self.granularity)
    }
}

/// The buckets touched by `[start, end)`: the one holding `start` to the one holding the last
/// nanosecond before `end`.
fn bucket_span(start: Timestamp, end: Timestamp, granularity: Granularity) -> (i64, i64) {
    let first = granularity.bucket_of(start);
    let last_second = if end.subsec_nanos() == 0 {
        end.unix_seconds() - 1
    } else {
        end.unix_seconds()
    };
    let last = last_second.div_euclid(granularity.seconds());
    (first, last.max(first))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::time::ts;

    #[test]
    fn bucket_range_covers_partial_buckets() {
        let q = UsageQuery::new(
            ts("2026-11-01T12:00:00Z"),
            ts("2026-11-03T00:00:00Z"),
            Granularity::Day,
        )
        .unwrap();
        let (a, b) = q.bucket_range();
        assert_eq!(Granularity::Day.bucket_key(a), "2026-11-01");
        assert_eq!(Granularity::Day.bucket_key(b), "2026-11-02");

        let q = UsageQuery::new(
            ts("2026-11-01T12:30:00Z"),
            ts("2026-11-01T14:00:00.5Z"),
            Granularity::Hour,
        )
        .unwrap();
        let (a, b) = q.bucket_range();
        assert_eq!(Granularity::Hour.bucket_key(a), "2026-11-01T12");
        assert_eq!(Granularity::Hour.bucket_key(b), "2026-11-01T14");
    }

    #[test]
    fn refuses_empty_and_huge_periods() {
        let t = ts("2026-11-01T00:00:00Z");
        assert!(matches!(
            UsageQuery::new(t, t, Granularity::Day),
            Err(QueryError::EmptyPeriod { .. })
        ));
        let far = ts("9999-01-01T00:00:00Z");
        assert!(matches!(
            UsageQuery::new(t, far, Granularity::Hour),
            Err(QueryError::TooManyBuckets { .. })
        ));
        assert!(UsageQuery::new(ts("0000-01-01T00:00:00Z"), far, Granularity::Day).is_err());
    }

    #[test]
    fn last_days_ends_tomorrow_at_midnight() {
        let today = Date::parse("2026-11-25").unwrap();
        let q = UsageQuery::last_days(today, 30, Granularity::Day).unwrap();
        assert_eq!(q.start().to_string(), "2026-10-27T00:00:00Z");
        assert_eq!(q.end().to_string(), "2026-11-26T00:00:00Z");
        assert_eq!(q.bucket_range().1 - q.bucket_range().0 + 1, 30);
        assert!(UsageQuery::last_days(today, 0, Granularity::Day).is_err());
        assert!(UsageQuery::last_days(today, u32::MAX, Granularity::Day).is_err());
    }

    #[test]
    fn empty_filter_values_mean_any() {
        let q = UsageQuery::last_days(Date::today(), 1, Granularity::Hour)
            .unwrap()
            .with_filters(UsageFilters {
                region: Some(String::new()),
                user: Some("arn:aws:iam::1:user/a".into()),
                ..UsageFilters::default()
            });
        assert_eq!(q.filters().region, None);
        assert!(!q.filters().is_empty());
    }
}
