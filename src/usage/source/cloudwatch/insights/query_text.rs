//! The text of a slice's Logs Insights query: the time filter, the report's filters as escaped
//! string literals, and the `stats` line (shown in the [CloudWatch module docs](super::super)).

use std::fmt::Write as _;

use crate::usage::query::{Granularity, UsageFilters, valid_metadata_key};
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

/// The discovered field of metadata key `key`, backquoted: `` `requestMetadata.team` ``. Keys
/// are checked against Bedrock's key characters, which hold no backquote.
pub(super) fn metadata_field(key: &str) -> Result<String, SourceError> {
    if !valid_metadata_key(key) {
        return Err(SourceError::Backend(format!(
            "{key:?} is not a request metadata key Bedrock logs"
        )));
    }
    Ok(format!("`{METADATA_PREFIX}{key}`"))
}

/// How Logs Insights names the fields it discovers in `requestMetadata`.
pub(super) const METADATA_PREFIX: &str = "requestMetadata.";

/// The `filter` command for the query's filters (`None` without filters). Events that are not
/// records (no `timestamp`) pass, so that they can be counted as skipped.
pub(super) fn filter_clause(filters: &UsageFilters) -> Result<Option<String>, SourceError> {
    let mut conditions = Vec::new();
    for (field, value) in [
        ("region", &filters.region),
        ("accountId", &filters.aws_account_id),
        ("modelId", &filters.model_id),
        ("identity.arn", &filters.user),
        ("inferenceRegion", &filters.inference_region),
        // An application inference profile is the modelId its calls log.
        ("modelId", &filters.inference_profile),
    ] {
        if let Some(value) = value {
            conditions.push(format!("{field} = {}", string_literal(value)?));
        }
    }
    for (key, value) in &filters.metadata {
        conditions.push(format!(
            "{} = {}",
            metadata_field(key)?,
            string_literal(value)?
        ));
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
    group_by_metadata: &[String],
) -> Result<String, SourceError> {
    Ok(build_query(
        start_ms,
        end_ms,
        granularity,
        filter_clause(filters)?.as_deref(),
        &group_clause(group_by_metadata)?,
    ))
}

/// The fields grouped by after the time bucket: the five record dimensions, then each
/// `group_by_metadata` key's field.
pub(super) fn group_clause(group_by_metadata: &[String]) -> Result<String, SourceError> {
    let mut fields = String::from("region, modelId, identity.arn, operation, inferenceRegion");
    for key in group_by_metadata {
        let _ = write!(fields, ", {}", metadata_field(key)?);
    }
    Ok(fields)
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
    group_by: &str,
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
         by {}, {group_by}",
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
        let text = query_text(1000, 2000, Granularity::Hour, &filters, &[]).unwrap();
        assert_eq!(
            text,
            "filter toMillis(@timestamp) >= 1000 and toMillis(@timestamp) < 2000\n\
             | filter (not ispresent(timestamp)) or (region = \"us-east-1\" and identity.arn = \"arn:aws:iam::1:user/\\\"x\\\" | stats\")\n\
             | stats count(*) as events, count(timestamp) as records, sum(input.inputTokenCount) as input_tokens, sum(output.outputTokenCount) as output_tokens, sum(input.cacheReadInputTokenCount) as cache_read_tokens, sum(input.cacheWriteInputTokenCount) as cache_write_tokens, count(errorCode) as errors by bin(1h), region, modelId, identity.arn, operation, inferenceRegion"
        );
        let plain = query_text(0, 1, Granularity::Day, &UsageFilters::default(), &[]).unwrap();
        assert!(!plain.contains("ispresent"));
        assert!(plain.contains("by bin(24h),"));
        let profile = "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/a1b2";
        let by_profile = UsageFilters {
            inference_profile: Some(profile.into()),
            ..UsageFilters::default()
        };
        let text = query_text(0, 1, Granularity::Day, &by_profile, &[]).unwrap();
        assert!(
            text.contains(&format!(
                "| filter (not ispresent(timestamp)) or (modelId = \"{profile}\")\n"
            )),
            "{text}"
        );
        let mut filters = UsageFilters {
            inference_region: Some("us-west-2".into()),
            ..UsageFilters::default()
        };
        filters.metadata.insert("cost center".into(), "a\"b".into());
        let keys = ["team".to_owned(), "cost center".to_owned()];
        let text = query_text(0, 1, Granularity::Day, &filters, &keys).unwrap();
        assert!(text.contains(
            "| filter (not ispresent(timestamp)) or (inferenceRegion = \"us-west-2\" and `requestMetadata.cost center` = \"a\\\"b\")\n"
        ), "{text}");
        assert!(text.ends_with(
            "by bin(24h), region, modelId, identity.arn, operation, inferenceRegion, `requestMetadata.team`, `requestMetadata.cost center`"
        ), "{text}");
        for bad in ["a`b", "", "new\nline"] {
            assert!(
                query_text(
                    0,
                    1,
                    Granularity::Day,
                    &UsageFilters::default(),
                    &[bad.to_owned()]
                )
                .is_err()
            );
        }
    }
}
