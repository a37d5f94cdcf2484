//! How each era shows a task.

use chrono::{DateTime, SecondsFormat};
use rmcp::model::TaskStatus;
use serde_json::{Value, json};

use super::data::TaskData;

fn iso(ms: u64) -> String {
    DateTime::from_timestamp_millis(i64::try_from(ms).unwrap_or(i64::MAX))
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn status(data: &TaskData) -> Value {
    serde_json::to_value(data.status).unwrap_or_default()
}

/// 2026-07-28 `Task`: the base fields, with `ttlMs` and `pollIntervalMs`.
fn modern_task(id: &str, data: &TaskData) -> Value {
    let mut task = json!({
        "taskId": id,
        "status": status(data),
        "createdAt": iso(data.created_ms),
        "lastUpdatedAt": iso(data.updated_ms),
        "ttlMs": data.ttl_ms,
        "pollIntervalMs": data.poll_interval_ms,
    });
    if let Some(message) = &data.status_message {
        task["statusMessage"] = json!(message);
    }
    task
}

/// 2026-07-28 `CreateTaskResult`: flat, `resultType: "task"`.
pub(crate) fn modern_created(id: &str, data: &TaskData) -> Value {
    let mut result = modern_task(id, data);
    result["resultType"] = json!("task");
    result
}

/// 2026-07-28 `DetailedTask` (`tasks/get`): the result or error inlined once terminal, the
/// open input requests while waiting for them.
pub(crate) fn modern_detailed(id: &str, data: &TaskData) -> Value {
    let mut task = modern_task(id, data);
    match data.status {
        TaskStatus::InputRequired => task["inputRequests"] = json!(data.input_requests),
        TaskStatus::Completed => task["result"] = data.result.clone().unwrap_or_default(),
        TaskStatus::Failed => task["error"] = data.error.clone().unwrap_or_default(),
        _ => {}
    }
    task
}

/// 2025-11-25 `Task`: `ttl` and `pollInterval` in milliseconds.
pub(crate) fn legacy_task(id: &str, data: &TaskData) -> Value {
    let mut task = json!({
        "taskId": id,
        "status": status(data),
        "createdAt": iso(data.created_ms),
        "lastUpdatedAt": iso(data.updated_ms),
        "ttl": data.ttl_ms,
        "pollInterval": data.poll_interval_ms,
    });
    if let Some(message) = &data.status_message {
        task["statusMessage"] = json!(message);
    }
    task
}

const RELATED_TASK: &str = "io.modelcontextprotocol/related-task";

/// The `_meta` that ties a 2025-11-25 message to its task.
pub(crate) fn related_task_meta(id: &str) -> Value {
    json!({ RELATED_TASK: { "taskId": id } })
}

/// A tool's result with the related-task entry added to its own `_meta` (kept, not replaced).
pub(crate) fn with_related_task(mut result: Value, id: &str) -> Value {
    if let Value::Object(fields) = &mut result {
        let meta = fields.entry("_meta").or_insert_with(|| json!({}));
        if !meta.is_object() {
            *meta = json!({});
        }
        if let Value::Object(meta) = meta {
            meta.insert(RELATED_TASK.to_owned(), json!({ "taskId": id }));
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_iso_8601_utc() {
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso(1_764_000_000_123), "2025-11-24T16:00:00.123Z");
    }

    #[test]
    fn related_task_meta_is_merged_into_the_results_own() {
        let result = json!({ "content": [], "_meta": { "x/y": 1, RELATED_TASK: "old" } });
        assert_eq!(
            with_related_task(result, "t1")["_meta"],
            json!({ "x/y": 1, RELATED_TASK: { "taskId": "t1" } })
        );
        let bare = with_related_task(json!({ "content": [] }), "t2");
        assert_eq!(bare["_meta"], related_task_meta("t2"));
    }
}
