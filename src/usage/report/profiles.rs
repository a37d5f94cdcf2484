//! `by_inference_profile`: usage by application inference profile, each entry a breakdown row
//! (key: the profile ARN as logged, `(none)` for calls not made through one, `(other)`) with
//! the profile's name, tags and models once resolved (see `usage::profiles`), or the reason it
//! is shown by its ARN. Its schema and its text table live here too.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::Row;
use crate::usage::profiles::Resolution;
use crate::usage::record::clean_text;

/// One `by_inference_profile` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileRow {
    /// The key (the profile ARN), the counters, and with `compare_to` the comparison.
    #[serde(flatten)]
    pub row: Row,
    /// The profile's name; `null` for `(none)`, `(other)` and a profile not resolved.
    #[serde(default)]
    pub name: Option<String>,
    /// The profile's tags (empty when it has none or they are unknown).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The models it routes to (foundation-model ARNs, one per region it can run in).
    #[serde(default)]
    pub models: Vec<String>,
    /// Who resolved it: `bedrock` (GetInferenceProfile, ListTagsForResource) or `synthetic`
    /// (the bundled sample's catalogue); `null` when not resolved.
    #[serde(default)]
    pub resolved_by: Option<String>,
    /// Why the profile is shown by its ARN only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unresolved: Option<String>,
    /// Why its tags are unknown (the name and models stand).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags_unavailable: Option<String>,
}

impl From<Row> for ProfileRow {
    fn from(row: Row) -> Self {
        ProfileRow {
            row,
            name: None,
            tags: BTreeMap::new(),
            models: Vec::new(),
            resolved_by: None,
            unresolved: None,
            tags_unavailable: None,
        }
    }
}

impl ProfileRow {
    /// Takes what `resolution` says about the entry's profile.
    pub fn set(&mut self, resolution: &Resolution) {
        match resolution {
            Ok(profile) => {
                self.name = Some(profile.name.clone());
                self.tags = profile.tags.clone();
                self.models = profile.models.clone();
                self.resolved_by = Some(profile.resolved_by.to_owned());
                self.tags_unavailable = profile.tags_unavailable.clone();
                self.unresolved = None;
            }
            Err(reason) => self.unresolved = Some(reason.clone()),
        }
    }
}

/// Adds the properties of a profile entry to `entry` (a breakdown's item schema).
pub(super) fn add_schema(entry: &mut Value) {
    let Some(properties) = entry["properties"].as_object_mut() else {
        return;
    };
    let extra: Map<String, Value> = [
        ("name", json!({"type": ["string", "null"], "description": "The profile's name (inferenceProfileName); null for (none), (other) and a profile not resolved."})),
        ("tags", json!({"type": "object", "additionalProperties": {"type": "string"}, "description": "The profile's tags (ListTagsForResource); empty when none or unknown."})),
        ("models", json!({"type": "array", "items": {"type": "string"}, "description": "The models the profile routes to (models[].modelArn of GetInferenceProfile)."})),
        ("resolved_by", json!({"type": ["string", "null"], "enum": ["bedrock", "synthetic", null], "description": "bedrock: the Bedrock API; synthetic: the bundled sample's made-up catalogue; null: not resolved."})),
        ("unresolved", json!({"type": "string", "description": "Why the profile is shown by its ARN only (denied, not found, resolution off)."})),
        ("tags_unavailable", json!({"type": "string", "description": "Why the tags are unknown (ListTagsForResource failed)."})),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    properties.extend(extra);
    if let Some(required) = entry["required"].as_array_mut() {
        required.extend(["name", "tags", "models", "resolved_by"].map(Value::from));
    }
}

/// The longest detail line under the table, in characters (a line stays readable whatever
/// names, tags and reasons AWS returns).
const MAX_DETAIL_CHARS: usize = 300;

/// The entries as the text report's table shows them: the name (with the ARN's id) when
/// resolved, else the ARN; then one line per profile with its model and tags, or the reason.
pub(super) fn render_text(out: &mut String, rows: &[ProfileRow]) {
    let table: Vec<Row> = rows
        .iter()
        .map(|r| Row {
            key: label(r),
            ..r.row.clone()
        })
        .collect();
    super::text::table(
        out,
        "By inference profile",
        "Application inference profile",
        &table,
    );
    for r in rows {
        let detail = match (&r.name, &r.unresolved) {
            (_, Some(reason)) => format!("{}: not resolved ({reason})", r.row.key),
            (Some(_), None) => {
                let mut models: Vec<&str> = (r.models.iter())
                    .map(|m| m.rsplit('/').next().unwrap_or(m))
                    .collect();
                models.dedup();
                let tags: Vec<String> = r.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let tags = match &r.tags_unavailable {
                    Some(why) => format!("tags unknown ({why})"),
                    None if tags.is_empty() => "no tags".to_owned(),
                    None => format!("tags {}", tags.join(", ")),
                };
                let by = r.resolved_by.as_deref().unwrap_or("?");
                format!(
                    "{}: routes to {}; {tags} [{by}]",
                    label(r),
                    models.join(", ")
                )
            }
            (None, None) => continue,
        };
        let _ = writeln!(out, "  {}", clean_text(&detail, MAX_DETAIL_CHARS));
    }
}

/// How the text names an entry: `name (id)` when resolved, else its key.
fn label(r: &ProfileRow) -> String {
    match &r.name {
        Some(name) => {
            let id = r.row.key.rsplit('/').next().unwrap_or_default();
            format!("{name} ({id})")
        }
        None => r.row.key.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::report::Counters;

    #[test]
    fn detail_lines_stay_short_whatever_aws_returns() {
        let long = "x".repeat(256);
        let mut row = ProfileRow::from(Row::new(
            "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/abc",
            Counters::one(1, 1, 0, 0, false),
        ));
        row.name = Some(long.clone());
        row.models = vec![format!(
            "arn:aws:bedrock:us-east-1::foundation-model/{long}"
        )];
        row.tags = (0..50)
            .map(|i| (format!("{long}{i}"), long.clone()))
            .collect();
        row.resolved_by = Some("bedrock".into());
        let mut out = String::new();
        render_text(&mut out, &[row]);
        assert!(out.contains(": routes to "), "{out}");
        for line in out.lines() {
            assert!(line.chars().count() <= MAX_DETAIL_CHARS + 2, "{line}");
        }
    }
}
