//! The schema of the "what changed" parts (see [`change`](super::change)): `previous` and
//! `change` on breakdown entries, the `compare_to` and `anomalies` sections. Added to the
//! report schema by [`add_schemas`].

use serde_json::{Map, Value, json};

use super::schema::COUNTER_FIELDS;

/// The breakdowns whose entries gain `previous` and `change` with `compare_to`.
const BREAKDOWNS: [&str; 6] = [
    "by_region",
    "by_model",
    "by_user",
    "by_operation",
    "by_inference_region",
    "by_inference_profile",
];

/// An object with one field per counter, each of `field`'s schema.
fn per_counter(description: &str, field: &Value) -> Value {
    let properties: Map<String, Value> = COUNTER_FIELDS
        .iter()
        .map(|name| ((*name).to_owned(), field.clone()))
        .collect();
    json!({
        "type": "object",
        "description": description,
        "properties": properties,
        "required": COUNTER_FIELDS,
    })
}

fn previous_counters(description: &str) -> Value {
    per_counter(description, &json!({"type": "integer", "minimum": 0}))
}

fn change() -> Value {
    json!({
        "type": "object",
        "description": "From the previous period to this one, per counter.",
        "properties": {
            "absolute": per_counter(
                "Current minus previous (negative for a fall).",
                &json!({"type": "integer"}),
            ),
            "relative": per_counter(
                "(current - previous) / previous as a fraction (0.25 is +25 %), rounded to four decimals; null where the previous value is 0.",
                &json!({"type": ["number", "null"]}),
            ),
        },
        "required": ["absolute", "relative"],
    })
}

/// Adds `previous` and `change` to the entries of every breakdown, and the `compare_to` and
/// `anomalies` sections, to the report schema's `properties`.
pub(super) fn add_schemas(properties: &mut Map<String, Value>) {
    let entry_properties = [
        (
            "previous",
            previous_counters(
                "With compare_to: the previous period's counters under this key (zeros if it had none).",
            ),
        ),
        ("change", change()),
    ];
    let mut entries: Vec<&mut Value> = Vec::new();
    for (name, section) in properties.iter_mut() {
        if BREAKDOWNS.contains(&name.as_str()) {
            entries.push(&mut section["items"]);
        } else if name == "by_metadata" {
            entries.push(&mut section["items"]["properties"]["rows"]["items"]);
        }
    }
    for entry in entries {
        if let Some(fields) = entry["properties"].as_object_mut() {
            for (name, schema) in &entry_properties {
                fields.insert((*name).to_owned(), schema.clone());
            }
        }
    }
    properties.insert("compare_to".into(), compare_to());
    properties.insert("anomalies".into(), anomalies());
}

/// A `[start, end)` time range.
fn period(description: &str) -> Value {
    json!({
        "type": "object",
        "description": description,
        "properties": {
            "start": {"type": "string", "format": "date-time"},
            "end": {"type": "string", "format": "date-time"},
        },
        "required": ["start", "end"],
    })
}

fn compare_to() -> Value {
    json!({
        "type": "object",
        "description": "Present with compare_to: the period compared with (same length, ending where this one starts, same filters and breakdowns). Each breakdown entry then carries previous and change; the breakdowns keep the current period's top_n entries (its ranking), then entries only the previous period had (at most top_n, with current zeros), then (other) holding the rest of both periods. The daily series is not compared row by row.",
        "properties": {
            "kind": {"type": "string", "enum": ["previous_period"]},
            "period": period("The previous period, [start, end), in UTC."),
            "totals": previous_counters("Everything counted in the previous period."),
            "change": change(),
            "skipped_records": {"type": "integer", "minimum": 0, "description": "Records of the previous period that could not be read."},
        },
        "required": ["kind", "period", "totals", "change", "skipped_records"],
    })
}

fn anomalies() -> Value {
    json!({
        "type": "object",
        "description": "Present with anomalies: days on which the tokens or errors of all usage, a model, a user or a metadata value jumped against the same series over the 14 days before (rule below), with the evidence.",
        "properties": {
            "rule": {
                "type": "object",
                "properties": {
                    "baseline_days": {"type": "integer", "minimum": 1},
                    "k": {"type": "number"},
                    "min_history_days": {"type": "integer", "minimum": 0},
                    "mad_floor_fraction_of_median": {"type": "number"},
                    "min_total_tokens": {"type": "integer", "minimum": 0},
                    "min_errors": {"type": "integer", "minimum": 0},
                    "description": {"type": "string"},
                },
                "required": ["baseline_days", "k", "min_history_days", "mad_floor_fraction_of_median", "min_total_tokens", "min_errors", "description"],
            },
            "baseline": period("The days read before the period for the baselines, [start, end)."),
            "items": {
                "type": "array",
                "description": "Latest day first; within a day all usage, models, users, metadata values; tokens before errors; biggest value first.",
                "items": {
                    "type": "object",
                    "properties": {
                        "day": {"type": "string", "description": "UTC day, YYYY-MM-DD."},
                        "dimension": {"type": "string", "enum": ["day", "model", "user", "metadata"]},
                        "metadata_key": {"type": ["string", "null"], "description": "The requestMetadata key, for dimension metadata."},
                        "key": {"type": ["string", "null"], "description": "The model, user or metadata value; null for dimension day."},
                        "metric": {"type": "string", "enum": ["total_tokens", "errors"]},
                        "value": {"type": "integer", "minimum": 0, "description": "The day's value."},
                        "median": {"type": "number", "description": "Median of the baseline days."},
                        "mad": {"type": "number", "description": "Median absolute deviation of the baseline days."},
                        "threshold": {"type": "number", "description": "median + k * max(mad, floor * median): the value is above it."},
                        "history_days": {"type": "integer", "minimum": 0, "description": "Baseline days counted."},
                    },
                    "required": ["day", "dimension", "metadata_key", "key", "metric", "value", "median", "mad", "threshold", "history_days"],
                },
            },
            "omitted": {"type": "integer", "minimum": 0, "description": "Flagged items left out past the first 100."},
            "untracked_records": {"type": "integer", "minimum": 0, "description": "Records whose model, user or metadata value was not evaluated (per-key series full); day totals still include them."},
        },
        "required": ["rule", "baseline", "items", "omitted", "untracked_records"],
    })
}
