//! A finished query's result: truncated (as many rows as a query may return) or complete, and
//! each row read from the fields Logs Insights writes (counts, sums, the time bucket) and fed
//! to the report's [`Aggregator`].

use aws_sdk_cloudwatchlogs::operation::get_query_results::GetQueryResultsOutput;
use aws_sdk_cloudwatchlogs::types::ResultField;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::MAX_RESULT_ROWS;
use super::query_text::METADATA_PREFIX;
use crate::usage::aggregate::{Aggregator, Dimensions};
use crate::usage::query::UsageQuery;
use crate::usage::record::{MAX_METADATA_CHARS, clean_text};
use crate::usage::report::Counters;
use crate::usage::source::SourceError;
use crate::usage::time::Timestamp;

/// What became of one slice's query.
pub(super) enum SliceOutcome {
    /// The rows (the bytes the query scanned went to the report's `ScanMeter`).
    Complete { rows: Vec<ResultRow> },
    /// As many rows as a query may return, so maybe not all: the slice must be split.
    Truncated,
}

/// The outcome of a query that CloudWatch reports `Complete`.
pub(super) fn complete(out: &GetQueryResultsOutput) -> Result<SliceOutcome, SourceError> {
    let results = out.results();
    if results.len() >= MAX_RESULT_ROWS {
        return Ok(SliceOutcome::Truncated);
    }
    let rows = results
        .iter()
        .map(|fields| ResultRow::parse(fields))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SliceOutcome::Complete { rows })
}

/// One row of a query's result: Logs Insights' sums for one bucket and key. A report task
/// keeps them between polls, so absent and zero fields are left out of the JSON.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct ResultRow {
    #[serde(default, rename = "t", skip_serializing_if = "Option::is_none")]
    bucket: Option<Timestamp>,
    #[serde(default, rename = "r", skip_serializing_if = "Option::is_none")]
    region: Option<String>,
    #[serde(default, rename = "m", skip_serializing_if = "Option::is_none")]
    model_id: Option<String>,
    #[serde(default, rename = "u", skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    #[serde(default, rename = "o", skip_serializing_if = "Option::is_none")]
    operation: Option<String>,
    #[serde(default, rename = "ir", skip_serializing_if = "Option::is_none")]
    inference_region: Option<String>,
    /// `requestMetadata.KEY` values, cleaned as the record parser cleans them.
    #[serde(default, rename = "md", skip_serializing_if = "Vec::is_empty")]
    metadata: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    #[serde(default, rename = "e", skip_serializing_if = "is_zero")]
    events: u64,
    #[serde(default, rename = "n", skip_serializing_if = "is_zero")]
    records: u64,
    #[serde(default, rename = "i", skip_serializing_if = "is_zero")]
    input_tokens: u64,
    #[serde(default, rename = "out", skip_serializing_if = "is_zero")]
    output_tokens: u64,
    #[serde(default, rename = "cr", skip_serializing_if = "is_zero")]
    cache_read_tokens: u64,
    #[serde(default, rename = "cw", skip_serializing_if = "is_zero")]
    cache_write_tokens: u64,
    #[serde(default, rename = "err", skip_serializing_if = "is_zero")]
    errors: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl ResultRow {
    fn parse(fields: &[ResultField]) -> Result<Self, SourceError> {
        let mut row = ResultRow::default();
        for field in fields {
            let (Some(name), Some(value)) = (field.field(), field.value()) else {
                continue;
            };
            let text = || (!value.is_empty()).then(|| value.to_owned());
            match name {
                "region" => row.region = text(),
                "modelId" => row.model_id = text(),
                "identity.arn" => row.user = text(),
                "operation" => row.operation = text(),
                "inferenceRegion" => row.inference_region = text(),
                "events" => row.events = number(name, value)?,
                "records" => row.records = number(name, value)?,
                "input_tokens" => row.input_tokens = number(name, value)?,
                "output_tokens" => row.output_tokens = number(name, value)?,
                "cache_read_tokens" => row.cache_read_tokens = number(name, value)?,
                "cache_write_tokens" => row.cache_write_tokens = number(name, value)?,
                "errors" => row.errors = number(name, value)?,
                bin if bin.starts_with("bin(") => row.bucket = Some(result_time(value)?),
                other => {
                    // Named as grouped, with or without the backquotes.
                    let key = other.trim_matches('`').strip_prefix(METADATA_PREFIX);
                    if let Some(key) = key.filter(|_| !value.is_empty()) {
                        let clean = |s: &str| -> Cow<'static, str> {
                            clean_text(s, MAX_METADATA_CHARS).into_owned().into()
                        };
                        row.metadata.push((clean(key), clean(value)));
                    }
                }
            }
        }
        Ok(row)
    }

    /// Adds the row's records to `aggregator` and its non-records to the skipped count.
    pub(super) fn add_to(&self, aggregator: &mut Aggregator, query: &UsageQuery) {
        aggregator.add_skipped(self.events.saturating_sub(self.records));
        if self.records == 0 {
            return;
        }
        let Some(bucket) = self.bucket else {
            return;
        };
        // The bin starts before the period when the period starts mid-bucket; the query kept
        // only events of the period, so count the row at the period's start, same bucket.
        let at = bucket.max(query.start());
        // Metadata filtered in the query but not grouped by: every row has the filtered value.
        let mut metadata = self.metadata.clone();
        for (key, value) in &query.filters().metadata {
            if !metadata.iter().any(|(k, _)| k == key) {
                metadata.push((key.clone().into(), value.clone().into()));
            }
        }
        let dims = Dimensions {
            region: self.region.as_deref(),
            // Filtered in the query; not a breakdown.
            account_id: query.filters().aws_account_id.as_deref(),
            model_id: self.model_id.as_deref(),
            user: self.user.as_deref(),
            operation: self.operation.as_deref(),
            inference_region: self.inference_region.as_deref(),
            metadata: &metadata,
        };
        let counters = Counters {
            requests: self.records,
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            cache_read_input_tokens: self.cache_read_tokens,
            cache_write_input_tokens: self.cache_write_tokens,
            total_tokens: self
                .input_tokens
                .saturating_add(self.output_tokens)
                .saturating_add(self.cache_read_tokens)
                .saturating_add(self.cache_write_tokens),
            errors: self.errors.min(self.records),
        };
        aggregator.add_counts(at, &dims, &counters);
    }
}

/// A count or sum as Logs Insights writes it: `42`, or `42.0` / `4.2E1` for large sums.
fn number(field: &str, value: &str) -> Result<u64, SourceError> {
    if let Ok(n) = value.parse::<u64>() {
        return Ok(n);
    }
    match value.parse::<f64>() {
        Ok(f) if f.is_finite() => Ok(if f <= 0.0 {
            0
        } else if f >= u64::MAX as f64 {
            u64::MAX
        } else {
            f.round() as u64
        }),
        _ => Err(SourceError::Backend(format!(
            "Logs Insights returned {value:?} for {field}, not a number"
        ))),
    }
}

/// A bucket start as Logs Insights writes it: `2026-10-01 00:00:00.000` (UTC), also accepted
/// in RFC 3339 or as epoch milliseconds.
fn result_time(value: &str) -> Result<Timestamp, SourceError> {
    Timestamp::parse_rfc3339(value)
        .or_else(|_| Timestamp::parse_rfc3339(&format!("{value}Z")))
        .ok()
        .or_else(|| {
            value
                .parse::<i64>()
                .ok()
                .and_then(Timestamp::from_unix_millis)
        })
        .ok_or_else(|| {
            SourceError::Backend(format!("Logs Insights returned {value:?} as a time bucket"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::time::ts;

    #[test]
    fn reads_numbers_and_times_as_insights_writes_them() {
        assert_eq!(number("x", "42").unwrap(), 42);
        assert_eq!(number("x", "4.2E1").unwrap(), 42);
        assert_eq!(number("x", "-3").unwrap(), 0);
        assert!(number("x", "many").is_err());
        assert_eq!(
            result_time("2026-10-01 13:00:00.000").unwrap(),
            ts("2026-10-01T13:00:00Z")
        );
        assert_eq!(
            result_time("1790859600000").unwrap(),
            ts("2026-10-01T13:00:00Z")
        );
        assert!(result_time("soon").is_err());
    }
}
