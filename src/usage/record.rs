//! One Bedrock model-invocation log record, read for counting.
//!
//! A record is one JSON object per log event (see the project's AWS reference, "A log
//! record"). Only the few fields a usage report needs are kept; the request and response
//! bodies (`input.inputBodyJson`, `output.outputBodyJson`), which can run to megabytes, are
//! walked over with [`serde::de::IgnoredAny`] and never built in memory. Strings are borrowed
//! from the input when they contain no escapes, so parsing a record usually allocates nothing.
//!
//! # Request metadata and the inference region
//!
//! Callers tag an invocation with string key-value pairs: Converse and ConverseStream take a
//! `requestMetadata` map in the request body, InvokeModel and InvokeModelWithResponseStream the
//! `X-Amzn-Bedrock-Request-Metadata` header holding a JSON object; Bedrock records them with the
//! request in the invocation log (AWS, "Per-request metadata tagging",
//! docs.aws.amazon.com/bedrock/latest/userguide/cost-mgmt-request-metadata.html). Bedrock's own
//! filters over that metadata allow keys of 1 to 256 and values of 0 to 256 characters from
//! `[a-zA-Z0-9\s._:/=+$@-]` (API reference, `RequestMetadataFilters`). A cross-region
//! inference profile runs a request in another region of its geography, which CloudTrail
//! records as `additionalEventData.inferenceRegion`.
//!
//! The documentation shows no invocation-log record carrying them, so the placement is our
//! choice, the one public readers of these logs use: a top-level `requestMetadata` object of
//! string values and a top-level `inferenceRegion` string, beside `region`. Logs Insights
//! discovers the nested fields as `requestMetadata.KEY` (what its query groups by). What the
//! parser keeps is bounded whatever a caller sends: the first [`MAX_METADATA_KEYS`] string
//! entries in record order (other value types, and a `requestMetadata` that is not an object,
//! are ignored, never a reason to skip the record), each key and value cleaned by
//! [`clean_text`]: control, format (Cf) and non-space whitespace characters escaped and cut
//! to [`MAX_METADATA_CHARS`] characters.

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
    /// `inferenceRegion`: where a cross-region inference profile ran the request.
    pub inference_region: Option<Cow<'a, str>>,
    /// `requestMetadata`: at most [`MAX_METADATA_KEYS`] pairs, in record order, each cleaned by
    /// [`clean_text`]; entries with an empty key or value are dropped (see the module docs).
    pub request_metadata: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

/// The most `requestMetadata` entries kept per record (a Bedrock metadata filter combines at
/// most 16 conditions).
pub const MAX_METADATA_KEYS: usize = 16;

/// The most characters of a metadata key or value kept (Bedrock's own bound is 256).
pub const MAX_METADATA_CHARS: usize = 256;

/// `text` with control characters escaped (`\n`, `\u{1b}`) and cut to `max_chars`
/// characters, the last one then `…`; borrowed when already clean. Report keys shown in text
/// and logged metadata go through it, so every source cleans them alike. Escaped too, as
/// `\u{..}`: whitespace other than the space (U+2028/U+2029 and U+0085 end a line in some
/// renderers; AWS tag values allow `\p{Z}`) and format characters (Unicode category Cf:
/// bidi overrides and isolates reorder a line, zero-width ones hide text).
pub fn clean_text(text: &str, max_chars: usize) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return cut_chars(text, max_chars);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            escaped.extend(c.escape_default());
        } else if needs_escape(c) {
            escaped.extend(c.escape_unicode());
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(cut_chars(&escaped, max_chars).into_owned())
}

/// Whether [`clean_text`] escapes `c`: a control character, whitespace but the space, or a
/// format character.
fn needs_escape(c: char) -> bool {
    c.is_control() || (c.is_whitespace() && c != ' ') || is_format(c)
}

/// Unicode general category Cf (format), as of Unicode 16: soft hyphen, Arabic number signs,
/// zero-width and bidi marks, embeddings, overrides and isolates, invisible operators, the BOM,
/// interlinear annotation, Egyptian hieroglyph and shorthand format controls, musical
/// symbol beams, and tags.
fn is_format(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{600}'..='\u{605}'
            | '\u{61c}'
            | '\u{6dd}'
            | '\u{70f}'
            | '\u{890}'..='\u{891}'
            | '\u{8e2}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{110bd}'
            | '\u{110cd}'
            | '\u{13430}'..='\u{1343f}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0001}'
            | '\u{e0020}'..='\u{e007f}'
    )
}

/// `text` whole up to `max_chars` characters, else its first `max_chars - 1` and `…`.
fn cut_chars(text: &str, max_chars: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max_chars) {
        None => text.into(),
        Some(_) => {
            let cut = text
                .char_indices()
                .nth(max_chars.saturating_sub(1))
                .map_or(text.len(), |(at, _)| at);
            format!("{}…", &text[..cut]).into()
        }
    }
}

/// A cleaned metadata key or value, kept borrowed when it needs no cleaning.
fn clean_metadata<'a>(text: Cow<'a, str>) -> Cow<'a, str> {
    match text {
        Cow::Borrowed(b) => clean_text(b, MAX_METADATA_CHARS),
        Cow::Owned(o) => Cow::Owned(clean_text(&o, MAX_METADATA_CHARS).into_owned()),
    }
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

    /// The value of metadata key `key`, if the record has it.
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.request_metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_ref())
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
    #[serde(borrow)]
    inference_region: Option<LogStr<'a>>,
    #[serde(borrow, default)]
    request_metadata: RawMetadata<'a>,
}

/// `requestMetadata`, bounded while it is read (see the module docs); anything but an object
/// reads as empty.
#[derive(Default)]
struct RawMetadata<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'de: 'a, 'a> Deserialize<'de> for RawMetadata<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Loose::deserialize(deserializer)? {
            Loose::Map(pairs) => RawMetadata(pairs),
            Loose::Text(_) | Loose::Other => RawMetadata::default(),
        })
    }
}

/// A JSON value read loosely: a string; an object's first [`MAX_METADATA_KEYS`] distinct
/// entries with non-empty string keys and values, cleaned; or anything else, skipped without
/// being built.
enum Loose<'a> {
    Text(Cow<'a, str>),
    Map(Vec<(Cow<'a, str>, Cow<'a, str>)>),
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for Loose<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LooseVisitor::<true>)
    }
}

/// A [`Loose`] value inside an object: an object there is skipped like an array, without
/// recursion (serde_json skips iteratively, however deep).
struct LooseValue<'a>(Loose<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for LooseValue<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(LooseVisitor::<false>)
            .map(LooseValue)
    }
}

/// Reads a [`Loose`]; `TOP`: whether an object's entries are collected (else skipped).
struct LooseVisitor<const TOP: bool>;

impl<'de, const TOP: bool> Visitor<'de> for LooseVisitor<TOP> {
    type Value = Loose<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Loose::Text(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Loose::Text(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Loose::Text(Cow::Owned(v)))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Loose::Other)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Loose::Other)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Loose::Other)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Loose::Other)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Loose::Other)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Loose::Other)
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        if !TOP {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(Loose::Other);
        }
        let mut pairs: Vec<(Cow<'de, str>, Cow<'de, str>)> = Vec::new();
        while let Some(key) = map.next_key::<LogStr<'de>>()? {
            if pairs.len() >= MAX_METADATA_KEYS {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let LooseValue(Loose::Text(value)) = map.next_value::<LooseValue<'de>>()? else {
                continue;
            };
            if key.0.is_empty() || value.is_empty() {
                continue;
            }
            let key = clean_metadata(key.0);
            if !pairs.iter().any(|(k, _)| *k == key) {
                pairs.push((key, clean_metadata(value)));
            }
        }
        Ok(Loose::Map(pairs))
    }
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
            inference_region: raw.inference_region.map(|s| s.0),
            request_metadata: raw.request_metadata.0,
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
    fn reads_request_metadata_and_the_inference_region() {
        let r = InvocationRecord::parse_str(
            r#"{"timestamp":"2026-11-25T14:03:07Z","region":"us-east-1","inferenceRegion":"us-west-2",
                "requestMetadata":{"team":"search","project":"p\u00e9","n":7,"o":{"a":[1]},
                    "empty":"","":"x","team":"dup"}}"#,
        )
        .unwrap();
        assert_eq!(r.inference_region.as_deref(), Some("us-west-2"));
        assert_eq!(r.metadata("team"), Some("search"));
        assert!(matches!(r.request_metadata[0].1, Cow::Borrowed(_)));
        assert_eq!(r.metadata("project"), Some("pé"));
        // Non-string values, empty keys and values, and repeated keys are not kept.
        assert_eq!(r.request_metadata.len(), 2);
        assert_eq!(r.metadata("n"), None);
        assert_eq!(r.metadata("empty"), None);
        // A requestMetadata that is not an object is ignored, not a reason to skip.
        for other in [r#""team=x""#, "null", "[1,{}]", "3", "true"] {
            let line = format!(
                r#"{{"timestamp":"2026-11-25T14:03:07Z","requestMetadata":{other},"input":{{"inputTokenCount":2}}}}"#
            );
            let r = InvocationRecord::parse_str(&line).unwrap();
            assert!(r.request_metadata.is_empty(), "{line}");
            assert_eq!(r.input_tokens, 2);
        }
    }

    #[test]
    fn clean_text_escapes_what_can_break_or_reorder_a_line() {
        // Line and paragraph separators, NEL, a bidi override and isolate, zero-width space,
        // BOM, no-break and ideographic spaces, a tag character.
        let hostile = "a\u{2028}b\u{2029}c\u{85}d\u{202e}e\u{2066}f\u{200b}g\u{feff}h\u{a0}i\u{3000}j\u{e0041}k";
        let clean = clean_text(hostile, 500);
        assert_eq!(
            clean,
            "a\\u{2028}b\\u{2029}c\\u{85}d\\u{202e}e\\u{2066}f\\u{200b}g\\u{feff}h\\u{a0}i\\u{3000}j\\u{e0041}k"
        );
        assert!(
            !clean
                .chars()
                .any(|c| c.is_control() || (c.is_whitespace() && c != ' ') || is_format(c))
        );
        // Plain text, spaces and other scripts stay as they are, borrowed.
        let plain = "équipe support 東京 - α/β";
        assert!(matches!(clean_text(plain, 500), Cow::Borrowed(p) if p == plain));
        // Control characters keep their short escapes.
        assert_eq!(clean_text("a\nb\tc", 500), "a\\nb\\tc");
    }

    #[test]
    fn request_metadata_is_bounded_and_cleaned() {
        let mut entries: Vec<String> = (0..1000).map(|i| format!(r#""k{i}":"v{i}""#)).collect();
        entries.insert(0, format!(r#""long":"{}""#, "x".repeat(10_000)));
        entries.insert(0, r#""a\u001b[31mb":"c\nd""#.to_owned());
        let line = format!(
            r#"{{"timestamp":"2026-11-25T14:03:07Z","requestMetadata":{{{}}}}}"#,
            entries.join(",")
        );
        let r = InvocationRecord::parse_str(&line).unwrap();
        assert_eq!(r.request_metadata.len(), MAX_METADATA_KEYS);
        assert_eq!(r.metadata("a\\u{1b}[31mb"), Some("c\\nd"));
        let long = r.metadata("long").unwrap();
        assert_eq!(long.chars().count(), MAX_METADATA_CHARS);
        assert!(long.ends_with('…'));
        assert_eq!(r.metadata("k13"), Some("v13"));
        assert_eq!(r.metadata("k14"), None);
        assert!(r.request_metadata.iter().all(|(k, v)| {
            !k.chars().chain(v.chars()).any(char::is_control)
                && k.chars().count() <= MAX_METADATA_CHARS
                && v.chars().count() <= MAX_METADATA_CHARS
        }));
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
        // Deep values inside requestMetadata are skipped the same way.
        let mut meta = String::from(
            r#"{"timestamp":"2026-11-25T14:03:07Z","input":{"inputTokenCount":3},"requestMetadata":{"team":"a","deep":"#,
        );
        meta.push_str(&"[{\"a\":".repeat(depth));
        meta.push_str("null");
        meta.push_str(&"}]".repeat(depth));
        meta.push_str("}}");
        let r = InvocationRecord::parse_str(&meta).unwrap();
        assert_eq!((r.input_tokens, r.metadata("team")), (3, Some("a")));
        // Unbalanced nesting is still an error.
        line.truncate(line.len() - 4);
        line.push_str("}}");
        assert!(InvocationRecord::parse_str(&line).is_err());
    }
}
