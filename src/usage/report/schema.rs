//! The JSON Schema of [`UsageReport`](super::UsageReport), published as the report tool's
//! `outputSchema`.
//!
//! Written by hand (no schema-derive dependency) and inlined without `$ref`, since MCP
//! clients differ in how far they resolve references. A test serializes reports and checks
//! them against this schema, so the two cannot drift apart silently.

use serde_json::{Map, Value, json};

/// The names of the counter fields, in serialization order.
pub(crate) const COUNTER_FIELDS: [&str; 7] = [
    "requests",
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_write_input_tokens",
    "total_tokens",
    "errors",
];

fn counter_properties() -> Map<String, Value> {
    let descriptions = [
        "Invocations, failed ones included.",
        "Input tokens (inputTokenCount; excludes cached tokens).",
        "Output tokens (outputTokenCount).",
        "Input tokens read from the prompt cache (cacheReadInputTokenCount).",
        "Input tokens written to the prompt cache (cacheWriteInputTokenCount).",
        "Sum of the four token counts.",
        "Invocations whose record carries an errorCode.",
    ];
    COUNTER_FIELDS
        .iter()
        .zip(descriptions)
        .map(|(name, description)| {
            (
                (*name).to_owned(),
                json!({"type": "integer", "minimum": 0, "description": description}),
            )
        })
        .collect()
}

fn counters_schema(description: &str) -> Value {
    json!({
        "type": "object",
        "description": description,
        "properties": counter_properties(),
        "required": COUNTER_FIELDS,
    })
}

fn rows_schema(description: &str, key_description: &str, key_pattern: Option<&str>) -> Value {
    let mut properties = counter_properties();
    let mut key = json!({"type": "string", "description": key_description});
    if let (Some(pattern), Some(obj)) = (key_pattern, key.as_object_mut()) {
        obj.insert("pattern".into(), Value::from(pattern));
    }
    properties.insert("key".into(), key);
    let mut required = vec!["key"];
    required.extend(COUNTER_FIELDS);
    json!({
        "type": "array",
        "description": description,
        "items": {"type": "object", "properties": properties, "required": required},
    })
}

/// A JSON Schema (draft 2020-12) of a serialized [`UsageReport`](super::UsageReport).
pub fn report_json_schema() -> Value {
    let mut schema = base_schema();
    if let Some(properties) = schema["properties"].as_object_mut() {
        super::query_cost::add_schemas(properties);
        super::sources::add_schemas(properties);
        super::change_schema::add_schemas(properties);
        crate::usage::cost::schema::add_schemas(properties);
        super::profiles::add_schema(&mut properties["by_inference_profile"]["items"]);
    }
    schema
}

fn base_schema() -> Value {
    let breakdown = |what: &str, key: &str| {
        rows_schema(
            &format!(
                "Usage by {what}, by total_tokens descending (ties by key); entries past top_n \
                 are folded into one \"(other)\" entry, so the breakdown sums to totals."
            ),
            key,
            None,
        )
    };
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Amazon Bedrock usage report",
        "type": "object",
        "properties": {
            "source": {
                "type": "object",
                "description": "Where the invocation log records were read from.",
                "properties": {
                    "kind": {
                        "type": "string",
                        "enum": ["cloudwatch-insights", "cloudwatch-scan", "cloudwatch-metrics", "file", "bundled-sample"],
                    },
                    "log_group": {"type": ["string", "null"], "description": "CloudWatch log group, if any."},
                    "region": {"type": ["string", "null"], "description": "AWS region read from, if any."},
                },
                "required": ["kind", "log_group", "region"],
            },
            "period": {
                "type": "object",
                "description": "The time range covered, [start, end), in UTC.",
                "properties": {
                    "start": {"type": "string", "format": "date-time"},
                    "end": {"type": "string", "format": "date-time"},
                },
                "required": ["start", "end"],
            },
            "totals": counters_schema("Everything counted in the period after filters."),
            "daily": rows_schema(
                "Time series, ascending, one entry per UTC day (or hour) of the period, zero-filled.",
                "YYYY-MM-DD for day granularity, YYYY-MM-DDTHH for hour granularity.",
                Some(r"^\d{4}-\d{2}-\d{2}(T\d{2})?$"),
            ),
            "by_region": breakdown("region", "Region as logged."),
            "by_model": breakdown("model", "modelId as logged: model id, inference profile id or ARN."),
            "by_user": breakdown("caller", "identity.arn as logged."),
            "by_operation": breakdown("operation", "Converse, ConverseStream, InvokeModel or InvokeModelWithResponseStream."),
            "by_inference_region": breakdown(
                "inference region (inferenceRegion: where a cross-region inference profile ran the request; by_region is where it was sent)",
                "inferenceRegion as logged, or \"(unknown)\" for records without it.",
            ),
            "by_metadata": {
                "type": "array",
                "description": "One breakdown per requested group_by_metadata key, in that order (empty when none was asked for).",
                "items": {
                    "type": "object",
                    "properties": {
                        "key": {"type": "string", "description": "The requestMetadata key, e.g. team."},
                        "rows": breakdown(
                            "the key's value",
                            "The value as logged (control characters escaped, at most 256 characters), or \"(none)\" for records without the key.",
                        ),
                    },
                    "required": ["key", "rows"],
                },
            },
            "by_inference_profile": breakdown(
                "application inference profile (the modelId of calls made through one; name, tags and models resolved through Bedrock where possible)",
                "The profile ARN as logged, or \"(none)\" for calls not made through an application inference profile.",
            ),
            "skipped_records": {
                "type": "integer",
                "minimum": 0,
                "description": "Records that could not be read (invalid JSON, no usable timestamp, oversized).",
            },
            "warnings": {
                "type": "array",
                "description": "Why the numbers may not be what you expect, e.g. code log_group_not_found: the log group does not exist yet (Bedrock model invocation logging is off), so nothing was counted. Empty when there is nothing to say.",
                "items": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "string", "description": "Stable identifier, e.g. log_group_not_found."},
                        "message": {"type": "string", "description": "What happened and what to do."},
                    },
                    "required": ["code", "message"],
                },
            },
        },
        "required": [
            "source", "period", "totals", "daily", "by_region", "by_model", "by_user",
            "by_operation", "by_inference_region", "by_metadata", "by_inference_profile",
            "skipped_records", "warnings",
        ],
    })
}
