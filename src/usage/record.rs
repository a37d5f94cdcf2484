//! One Bedrock model-invocation log record, read for counting.
//!
//! A record is one JSON object per log event (see the project's AWS reference, "A log
//! record"). Only the few fields a usage report needs are kept; the request and response
//! bodies (`input.inputBodyJson`, `output.outputBodyJson`), which can run to megabytes, are
//! walked over with [`serde::de::IgnoredAny`] and never built in memory. Strings are borrowed
//! from the input when they contain no escapes, so parsing a record usually allocates nothing.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, Visitor};

use super::time::Timestamp;

/// Why a line is not a usable invocation-log record; the caller counts it as skipped.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Not valid JSON, not an object, a missing or unreadable `timestamp`, or a field of the
    /// wrong type (e.g. a negative token count).
    #[error("not a usable invocation log record: {0}")]
    Invalid(#[from] serde_json::Error),
}

/// The fields of one invocation-log record that a usage report counts.
///
/// Absent token counts read as zero; absent strings as `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvocationRecord<'a> {
    /// When the invocation was logged (`timestamp`).
    pub timestamp: Timestamp,
    /// `accountId`.
    pub account_id: Option<Cow<'a, str>>,
    /// `identity.arn`: the caller.
    pub identity_arn: Option<Cow<'a, str>>,
    /// `region`.
    pub region: Option<Cow<'a, str>>,
    /// `operation`: Converse, ConverseStream, InvokeModel or InvokeModelWithResponseStream.
    pub operation: Option<Cow<'a, str>>,
    /// `modelId`: a model id, an inference-profile id or an ARN, as logged.
    pub model_id: Option<Cow<'a, str>>,
    /// `errorCode`, e.g. `ThrottlingException`.
    pub error_code: Option<Cow<'a, str>>,
    /// `input.inputTokenCount` (excludes cached tokens).
    pub input_tokens: u64,
    /// `input.cacheReadInputTokenCount`.
    pub cache_read_input_tokens: u64,
    /// `input.cacheWriteInputTokenCount`.
    pub cache_write_input_tokens: u64,
    /// `output.outputTokenCount`.
    pub output_tokens: u64,
}

impl<'a> InvocationRecord<'a> {
    /// Parses one record from the bytes of one JSON object (surrounding whitespace allowed).
    pub fn parse(json: &'a [u8]) -> Result<Self, RecordError> {
        let raw: RawRecord<'a> = serde_json::from_slice(json)?;
        Ok(raw.into())
    }

    /// Parses one record from a string; see [`Self::parse`].
    pub fn parse_str(json: &'a str) -> Result<Self, RecordError> {
        Self::parse(json.as_bytes())
    }

    /// Whether the invocation failed: `errorCode` is present, not null and not empty.
    pub fn is_error(&self) -> bool {
        self.error_code.as_deref().is_some_and(|c| !c.is_empty())
    }

    /// The sum of the four token counts, saturating.
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens
            .saturating_add(self.output_tokens)
            .saturating_add(self.cache_read_input_tokens)
            .saturating_add(self.cache_write_input_tokens)
    }
}

/// The record as it is on the wire; unknown fields (including the bodies) are ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRecord<'a> {
    timestamp: Timestamp,
    #[serde(borrow)]
    account_id: Option<LogStr<'a>>,
    #[serde(borrow)]
    identity: Option<RawIdentity<'a>>,
    #[serde(borrow)]
    region: Option<LogStr<'a>>,
    #[serde(borrow)]
    operation: Option<LogStr<'a>>,
    #[serde(borrow)]
    model_id: Option<LogStr<'a>>,
    #[serde(borrow)]
    error_code: Option<LogStr<'a>>,
    input: Option<RawInput>,
    output: Option<RawOutput>,
}

#[derive(Deserialize)]
struct RawIdentity<'a> {
    #[serde(borrow)]
    arn: Option<LogStr<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawInput {
    input_token_count: Option<u64>,
    cache_read_input_token_count: Option<u64>,
    cache_write_input_token_count: Option<u64>,
    /// Skipped without being built, however large.
    #[serde(rename = "inputBodyJson")]
    _input_body_json: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawOutput {
    output_token_count: Option<u64>,
    /// Skipped without being built, however large.
    #[serde(rename = "outputBodyJson")]
    _output_body_json: Option<IgnoredAny>,
}

impl<'a> From<RawRecord<'a>> for InvocationRecord<'a> {
    fn from(raw: RawRecord<'a>) -> Self {
        let input = raw.input.as_ref();
        InvocationRecord {
            timestamp: raw.timestamp,
            account_id: raw.account_id.map(|s| s.0),
            identity_arn: raw.identity.and_then(|i| i.arn).map(|s| s.0),
            region: raw.region.map(|s| s.0),
            operation: raw.operation.map(|s| s.0),
            model_id: raw.model_id.map(|s| s.0),
            error_code: raw.error_code.map(|s| s.0),
            input_tokens: input.and_then(|i| i.input_token_count).unwrap_or(0),
            cache_read_input_tokens: input
                .and_then(|i| i.cache_read_input_token_count)
                .unwrap_or(0),
            cache_write_input_tokens: input
                .and_then(|i| i.cache_write_input_token_count)
                .unwrap_or(0),
            output_tokens: raw.output.and_then(|o| o.output_token_count).unwrap_or(0),
        }
    }
}

/// A string field, borrowed from the input unless it contains escapes.
///
/// (`#[serde(borrow)]` on `Option<Cow<str>>` would always copy.)
struct LogStr<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for LogStr<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LogStrVisitor;
        impl<'de> Visitor<'de> for LogStrVisitor {
            type Value = LogStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(LogStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(LogStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(LogStr(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(LogStrVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"{"schemaType":"ModelInvocationLog","schemaVersion":"1.0",
        "timestamp":"2026-11-25T14:03:07Z","accountId":"123456789012",
        "identity":{"arn":"arn:aws:sts::123456789012:assumed-role/App/s1"},
        "region":"us-east-1","requestId":"r-1","operation":"Converse",
        "modelId":"us.anthropic.claude-sonnet-4-20250514-v1:0",
        "input":{"inputContentType":"application/json",
            "inputBodyJson":{"messages":[{"role":"user","content":[{"text":"hi \"there\""}]}]},
            "inputTokenCount":12,"cacheReadInputTokenCount":100,"cacheWriteInputTokenCount":7},
        "output":{"outputContentType":"application/json",
            "outputBodyJson":{"output":{"message":{"content":[{"text":"hello"}]}},"usage":[1,2.5,null,true]},
            "outputTokenCount":34}}"#;

    #[test]
    fn reads_counts_and_borrows_strings() {
        let r = InvocationRecord::parse_str(FULL).unwrap();
        assert_eq!(r.timestamp.to_string(), "2026-11-25T14:03:07Z");
        assert_eq!(r.account_id.as_deref(), Some("123456789012"));
        assert!(matches!(r.identity_arn, Some(Cow::Borrowed(_))));
        assert_eq!(r.region.as_deref(), Some("us-east-1"));
        assert_eq!(r.operation.as_deref(), Some("Converse"));
        assert_eq!(
            (
                r.input_tokens,
                r.cache_read_input_tokens,
                r.cache_write_input_tokens
            ),
            (12, 100, 7)
        );
        assert_eq!(r.output_tokens, 34);
        assert_eq!(r.total_tokens(), 153);
        assert!(!r.is_error());
    }

    #[test]
    fn absent_counts_are_zero_and_errors_are_flagged() {
        let r = InvocationRecord::parse_str(
            r#"{"timestamp":"2026-11-25T14:03:07Z","errorCode":"ThrottlingException",
                "input":{"inputTokenCount":null},"identity":null}"#,
        )
        .unwrap();
        assert_eq!(r.total_tokens(), 0);
        assert!(r.is_error());
        assert_eq!(r.identity_arn, None);
        for code in [r#""errorCode":null,"#, r#""errorCode":"","#, ""] {
            let line = format!(r#"{{{code}"timestamp":"2026-11-25T14:03:07Z"}}"#);
            assert!(
                !InvocationRecord::parse_str(&line).unwrap().is_error(),
                "{line}"
            );
        }
    }

    #[test]
    fn escaped_strings_are_decoded() {
        let r = InvocationRecord::parse_str(
            r#"{"timestamp":"2026-11-25T14:03:07Z","identity":{"arn":"arn:aws:iam::1:user\/bob"}}"#,
        )
        .unwrap();
        assert_eq!(r.identity_arn.as_deref(), Some("arn:aws:iam::1:user/bob"));
    }

    #[test]
    fn unusable_records_are_errors() {
        for bad in [
            "",
            "not json",
            "[]",
            "{}",
            r#"{"timestamp":null}"#,
            r#"{"timestamp":1795615387}"#,
            r#"{"timestamp":"yesterday"}"#,
            r#"{"timestamp":"2026-11-25T14:03:07Z","input":{"inputTokenCount":-1}}"#,
            r#"{"timestamp":"2026-11-25T14:03:07Z","input":{"inputTokenCount":1.5}}"#,
            r#"{"timestamp":"2026-11-25T14:03:07Z","region":7}"#,
            r#"{"timestamp":"2026-11-25T14:03:07Z","timestamp":"2026-11-25T14:03:07Z"}"#,
            r#"{"timestamp":"2026-11-25T14:03:07Z","input":{"inputBodyJson":{"a":[1,2}}}"#,
            r#"{"timestamp":"2026-11-25T14:03:07Z"} trailing"#,
            r#"{"timestamp":"2026-11-25T14:03:07Z""#,
        ] {
            assert!(InvocationRecord::parse_str(bad).is_err(), "{bad:?} parsed");
        }
        assert!(
            InvocationRecord::parse(
                b"{\"timestamp\":\"2026-11-25T14:03:07Z\",\"region\":\"\xff\"}"
            )
            .is_err()
        );
    }

    #[test]
    fn deeply_nested_bodies_are_skipped_without_recursion() {
        let depth = 200_000;
        let mut line = String::from(
            r#"{"timestamp":"2026-11-25T14:03:07Z","input":{"inputTokenCount":3,"inputBodyJson":"#,
        );
        line.push_str(&"[{\"a\":".repeat(depth));
        line.push_str("null");
        line.push_str(&"}]".repeat(depth));
        line.push_str("}}");
        assert_eq!(InvocationRecord::parse_str(&line).unwrap().input_tokens, 3);
        // Unbalanced nesting is still an error.
        line.truncate(line.len() - 4);
        line.push_str("}}");
        assert!(InvocationRecord::parse_str(&line).is_err());
    }
}
