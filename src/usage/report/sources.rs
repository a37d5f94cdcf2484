//! The `sources` section of a report read from several log groups, regions and accounts
//! (`usage::source::multi`): each source with its status, so that a source that failed is
//! named with its error while the others still count.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// What became of one source of a merged report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceState {
    /// Read; its records are in the report.
    Ok,
    /// The log group does not exist (yet): nothing to count, and a `log_group_not_found`
    /// warning.
    NotFound,
    /// The source could not be read (e.g. `AccessDeniedException`): its records are missing
    /// from the report, `error` says why.
    Failed,
}

/// One source of a merged report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceStatus {
    /// The log group's name (or the file's, for a file source).
    pub log_group: String,
    /// The region read; `null` when it is the server's default region and unknown.
    pub region: Option<String>,
    /// The account owning the log group, when named by ARN; `null`: the server's account.
    pub account: Option<String>,
    /// What became of it.
    pub status: SourceState,
    /// Why it failed (the call and the error code, never CloudWatch's message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Records counted from it in the report's period (0 when it failed).
    pub records: u64,
}

/// Adds the `sources` schema to the report's `properties`.
pub(super) fn add_schemas(properties: &mut Map<String, Value>) {
    let nullable =
        |description: &str| json!({"type": ["string", "null"], "description": description});
    properties.insert(
        "sources".into(),
        json!({
            "type": "array",
            "description": "Present when the report merges several log groups (regions, accounts): each \
                 one with its status. A failed source is named with its error and its records are \
                 missing from every number; the others still count.",
            "items": {
                "type": "object",
                "properties": {
                    "log_group": {"type": "string", "description": "The log group's name."},
                    "region": nullable("The region it was read in (null: the server's default region)."),
                    "account": nullable("The account owning it when named by ARN (null: the server's account)."),
                    "status": {"type": "string", "enum": ["ok", "not_found", "failed"]},
                    "error": {"type": "string", "description": "Why it failed: the call and the error code."},
                    "records": {"type": "integer", "minimum": 0, "description": "Records counted from it."},
                },
                "required": ["log_group", "region", "account", "status", "records"],
            },
        }),
    );
}

/// The sources section of the text report, when there is one.
pub(super) fn render_text(sources: &[SourceStatus], out: &mut String) {
    if sources.is_empty() {
        return;
    }
    let failed = sources
        .iter()
        .filter(|s| s.status == SourceState::Failed)
        .count();
    let _ = writeln!(
        out,
        "\nSources ({} log groups, {failed} failed)",
        sources.len()
    );
    for source in sources {
        let status = match source.status {
            SourceState::Ok => "ok",
            SourceState::NotFound => "not found",
            SourceState::Failed => "FAILED",
        };
        let _ = write!(
            out,
            "  {:<9} {} ({}{}): {} records",
            status,
            source.log_group,
            source.region.as_deref().unwrap_or("default region"),
            source
                .account
                .as_deref()
                .map(|a| format!(", account {a}"))
                .unwrap_or_default(),
            source.records,
        );
        if let Some(error) = &source.error {
            let _ = write!(out, ": {error}");
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_names_each_source_and_the_failed_ones_error() {
        let sources = [
            SourceStatus {
                log_group: "/aws/bedrock/inv".into(),
                region: Some("us-east-1".into()),
                account: None,
                status: SourceState::Ok,
                error: None,
                records: 12,
            },
            SourceStatus {
                log_group: "/aws/bedrock/inv".into(),
                region: Some("eu-west-1".into()),
                account: Some("111122223333".into()),
                status: SourceState::Failed,
                error: Some(
                    "CloudWatch Logs refused the StartQuery call (AccessDeniedException)".into(),
                ),
                records: 0,
            },
        ];
        let mut out = String::new();
        render_text(&sources, &mut out);
        assert!(out.contains("Sources (2 log groups, 1 failed)"), "{out}");
        assert!(
            out.contains("ok        /aws/bedrock/inv (us-east-1): 12 records"),
            "{out}"
        );
        assert!(
            out.contains("FAILED    /aws/bedrock/inv (eu-west-1, account 111122223333): 0 records: CloudWatch Logs refused"),
            "{out}"
        );
        let mut none = String::new();
        render_text(&[], &mut none);
        assert!(none.is_empty());
    }
}
