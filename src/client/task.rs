//! Calling a tool as a task and polling it to its end (`mcp-client report --task`), in the
//! shape of the negotiated era: 2026-07-28 declares the `io.modelcontextprotocol/tasks`
//! extension and reads the result inlined on `tasks/get`; 2025-11-25 sends `params.task` and
//! fetches the result with `tasks/result`. No connection is held between polls; every poll waits
//! the server's interval (at least `MIN_POLL`) and polling ends after a caller's bound.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::{ClientError, McpClient};

/// The extension id of tasks in 2026-07-28.
const TASKS_EXTENSION: &str = "io.modelcontextprotocol/tasks";
/// Bounds on the server's suggested poll interval.
const MIN_POLL: Duration = Duration::from_millis(100);
const MAX_POLL: Duration = Duration::from_secs(10);

/// A task's status as a poll saw it: for progress displays.
pub struct TaskStatus<'a> {
    pub status: &'a str,
    pub message: Option<&'a str>,
}

/// The `_meta` that declares the tasks extension (2026-07-28 asks for it on every request).
fn declaring_tasks() -> Value {
    json!({ "io.modelcontextprotocol/clientCapabilities": { "extensions": { TASKS_EXTENSION: {} } } })
}

fn failed(message: String) -> ClientError {
    ClientError::Protocol(message)
}

/// How a task that is over ends for the caller.
enum End {
    Done(Value),
    /// 2025-11-25: the payload is fetched with `tasks/result`.
    FetchResult,
    Failed(String),
}

/// What the task answer `got` with `status` means: `None` while there is more to poll for
/// (2026-07-28 `completed` or `failed` without its inlined payload included).
fn ended(modern: bool, status: &str, got: &Value) -> Option<End> {
    let error = || {
        format!(
            "the task failed: {}",
            got["error"]["message"].as_str().unwrap_or("no message")
        )
    };
    match status {
        "completed" | "failed" if !modern => Some(End::FetchResult),
        "completed" if got.get("result").is_some() => Some(End::Done(got["result"].clone())),
        "completed" | "failed" if got.get("error").is_some() => Some(End::Failed(error())),
        "completed" | "failed" => None,
        "cancelled" => Some(End::Failed("the task was cancelled".to_owned())),
        "input_required" => Some(End::Failed(
            "the task needs input, which mcp-client cannot give".to_owned(),
        )),
        _ => None,
    }
}

impl McpClient {
    /// Calls `tool` as a task, polls it (telling `on_status` each status) and returns the
    /// tool's result. A server that answers within the call is answered from directly. Polling
    /// gives up with an error once the next poll would start more than `max_wait` after the
    /// first.
    pub async fn call_as_task(
        &mut self,
        tool: &str,
        arguments: Value,
        max_wait: Duration,
        on_status: &mut dyn FnMut(TaskStatus<'_>),
    ) -> Result<Value, ClientError> {
        let modern = self.is_modern();
        let mut params = json!({ "name": tool, "arguments": arguments });
        if modern {
            params["_meta"] = declaring_tasks();
        } else {
            params["task"] = json!({});
        }
        let created = self.request("tools/call", params, &mut |_| {}).await?;
        let task = if modern { &created } else { &created["task"] };
        let Some(id) = task["taskId"].as_str().map(str::to_owned) else {
            return Ok(created);
        };
        let poll_field = if modern {
            "pollIntervalMs"
        } else {
            "pollInterval"
        };
        let mut get = json!({ "taskId": id });
        if modern {
            get["_meta"] = declaring_tasks();
        }
        let deadline = Instant::now().checked_add(max_wait);
        let mut got = task.clone();
        loop {
            let status = got["status"].as_str().unwrap_or("unknown").to_owned();
            on_status(TaskStatus {
                status: &status,
                message: got["statusMessage"].as_str(),
            });
            if let Some(end) = ended(modern, &status, &got) {
                return match end {
                    End::Done(result) => Ok(result),
                    End::FetchResult => {
                        let params = json!({ "taskId": id });
                        self.request("tasks/result", params, &mut |_| {}).await
                    }
                    End::Failed(why) => Err(failed(why)),
                };
            }
            // Every poll waits, whatever the answer (a terminal status without its payload
            // included), so that no answer of a server makes a tight loop of requests.
            let wait = got[poll_field]
                .as_u64()
                .map_or(Duration::from_secs(1), Duration::from_millis)
                .clamp(MIN_POLL, MAX_POLL);
            if deadline.is_some_and(|d| Instant::now() + wait > d) {
                return Err(failed(format!(
                    "task {id} was still {status} after {}s of polling (--task-timeout)",
                    max_wait.as_secs()
                )));
            }
            tokio::time::sleep(wait).await;
            got = self.request("tasks/get", get.clone(), &mut |_| {}).await?;
        }
    }
}
