//! The text of a slice's Logs Insights query: the time filter, the report's filters as escaped
//! string literals, and the `stats` line (shown in the [CloudWatch module docs](super::super)).

use std::fmt::Write as _;

use crate::usage::query::{Granularity, UsageFilters};
use crate::usage::source::SourceError;

/// A Logs Insights double-quoted string literal for `value`, or why it cannot be one.
fn string_literal(value: &str) -> Result<String, SourceError> {
    if value.chars().any(char::is_control) {
        return Err(SourceError::Backend(format!(
            "the filter value {value:?} contains a control character, which no logged value has"
        )));
    }
    let mut literal = String::with_capacity(value.len() + 2);
    literal.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            literal.push('\\');
        }
        literal.push(c);
    }
    literal.push('"');
    Ok(literal)
}

/// The `filter` command for the query's filters (`None` without filters). Events that are not
/// records (no `timestamp`) pass, so that they can be counted as skipped.
pub(super) fn filter_clause(filters: &UsageFilters) -> Result<Option<String>, SourceError> {
    let mut conditions = Vec::new();
    for (field, value) in [
        ("region", &filters.region),
        ("accountId", &filters.aws_account_id),
        ("modelId", &filters.model_id),
        ("identity.arn", &filters.user),
    ] {
        if let Some(value) = value {
            conditions.push(format!("{field} = {}", string_literal(value)?));
        }
    }
    if conditions.is_empty() {
        return Ok(None);
    }
    Ok(Some(format!(
        "filter (not ispresent(timestamp)) or ({})",
        conditions.join(" and ")
    )))
}

/// The Logs Insights query for the events of `[start_ms, end_ms)`, bucketed by `granularity`
/// and filtered by `filters` (see the module docs). Fails for a filter value that cannot be
/// written as a literal.
pub fn query_text(
    start_ms: i64,
    end_ms: i64,
    granularity: Granularity,
    filters: &UsageFilters,
) -> Result<String, SourceError> {
    Ok(build_query(
        start_ms,
        end_ms,
        granularity,
        filter_clause(filters)?.as_deref(),
    ))
}

fn bin_field(granularity: Granularity) -> &'static str {
    match granularity {
        Granularity::Day => "bin(24h)",
        Granularity::Hour => "bin(1h)",
    }
}

/// The query for `[start_ms, end_ms)` with a `filters` clause from [`filter_clause`].
pub(super) fn build_query(
    start_ms: i64,
    end_ms: i64,
    granularity: Granularity,
    filters: Option<&str>,
) -> String {
    let mut text =
        format!("filter toMillis(@timestamp) >= {start_ms} and toMillis(@timestamp) < {end_ms}\n");
    if let Some(filters) = filters {
        let _ = writeln!(text, "| {filters}");
    }
    let _ = write!(
        text,
        "| stats count(*) as events, count(timestamp) as records, \
         sum(input.inputTokenCount) as input_tokens, \
         sum(output.outputTokenCount) as output_tokens, \
         sum(input.cacheReadInputTokenCount) as cache_read_tokens, \
         sum(input.cacheWriteInputTokenCount) as cache_write_tokens, \
         count(errorCode) as errors \
         by {}, region, modelId, identity.arn, operation",
        bin_field(granularity)
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_escape_quotes_and_backslashes_and_refuse_control_characters() {
        assert_eq!(string_literal(r#"a"b\c"#).unwrap(), r#""a\"b\\c""#);
        assert_eq!(string_literal("é→").unwrap(), "\"é→\"");
        assert!(string_literal("a\nb").is_err());
        assert!(string_literal("a\u{7f}").is_err());
    }

    #[test]
    fn the_query_text_is_pinned() {
        let filters = UsageFilters {
            region: Some("us-east-1".into()),
            user: Some(r#"arn:aws:iam::1:user/"x" | stats"#.into()),
            ..UsageFilters::default()
        };
        let text = query_text(1000, 2000, Granularity::Hour, &filters).unwrap();
        assert_eq!(
            text,
            "filter toMillis(@timestamp) >= 1000 and toMillis(@timestamp) < 2000\n\
             | filter (not ispresent(timestamp)) or (region = \"us-east-1\" and identity.arn = \"arn:aws:iam::1:user/\\\"x\\\" | stats\")\n\
             | stats count(*) as events, count(timestamp) as records, sum(input.inputTokenCount) as input_tokens, sum(output.outputTokenCount) as output_tokens, sum(input.cacheReadInputTokenCount) as cache_read_tokens, sum(input.cacheWriteInputTokenCount) as cache_write_tokens, count(errorCode) as errors by bin(1h), region, modelId, identity.arn, operation"
        );
        let plain = query_text(0, 1, Granularity::Day, &UsageFilters::default()).unwrap();
        assert!(!plain.contains("ispresent"));
        assert!(plain.contains("by bin(24h),"));
    }
}
