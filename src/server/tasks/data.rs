//! A task's state as its record keeps it (JSON in [`super::StoredTask::data`]).

use rmcp::model::TaskStatus;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::TaskStep;

/// The longest `statusMessage` taken from a tool's error text.
const MAX_STATUS_MESSAGE_CHARS: usize = 500;

/// A failed task's `statusMessage` ("SHOULD include a statusMessage field with diagnostic
/// information"): the tool error's first text, shortened.
fn tool_error_message(result: &Value) -> String {
    let text = (result["content"].as_array().into_iter().flatten())
        .find_map(|c| c["text"].as_str())
        .unwrap_or("the tool reported an error");
    let mut message = format!("Tool execution failed: {text}");
    if let Some((cut, _)) = message.char_indices().nth(MAX_STATUS_MESSAGE_CHARS) {
        message.truncate(cut);
        message.push('…');
    }
    message
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TaskData {
    /// The tool whose call the task runs.
    pub tool: String,
    pub status: TaskStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    pub created_ms: u64,
    pub updated_ms: u64,
    pub ttl_ms: u64,
    pub poll_interval_ms: u64,
    /// The tool's state for its next step.
    #[serde(default)]
    pub state: Value,
    /// Input requests the client has not answered yet.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub input_requests: Map<String, Value>,
    /// Answers received, for the next step.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub responses: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
}

impl TaskData {
    pub fn is_terminal(&self) -> bool {
        self.status.is_terminal()
    }

    /// Whether the task ended in an error: a JSON-RPC error, or a tool error (`isError`).
    pub fn failed(&self) -> bool {
        self.error.is_some()
            || (self.result.as_ref())
                .and_then(|r| r.get("isError"))
                .and_then(Value::as_bool)
                .unwrap_or(false)
    }

    /// Whether a poll should run the tool's next step: it is working, or every input it
    /// asked for has been answered.
    pub fn wants_step(&self) -> bool {
        match self.status {
            TaskStatus::Working => true,
            TaskStatus::InputRequired => self.input_requests.is_empty(),
            _ => false,
        }
    }

    /// Records the outcome of a step taken at `now_ms`. A tool result with `isError` ends
    /// the task `failed` when `tool_error_fails` (2025-11-25: "For tool calls specifically,
    /// this includes cases where the tool call result has `isError` set to true"), else
    /// `completed` (2026-07-28, where `failed` is for JSON-RPC errors only).
    pub fn apply(
        &mut self,
        step: Result<TaskStep, rmcp::model::ErrorData>,
        now_ms: u64,
        tool_error_fails: bool,
    ) {
        self.updated_ms = now_ms;
        self.responses.clear();
        self.input_requests.clear();
        match step {
            Ok(TaskStep::Working { state, message }) => {
                self.status = TaskStatus::Working;
                self.state = state;
                self.status_message = message;
            }
            Ok(TaskStep::InputRequired { state, requests }) => {
                self.status = TaskStatus::InputRequired;
                self.state = state;
                self.input_requests = requests;
                self.status_message = None;
            }
            Ok(TaskStep::Done(result)) => {
                let failed = tool_error_fails && result.is_error == Some(true);
                let result = serde_json::to_value(result).unwrap_or_default();
                self.status = if failed {
                    TaskStatus::Failed
                } else {
                    TaskStatus::Completed
                };
                self.state = Value::Null;
                self.status_message = failed.then(|| tool_error_message(&result));
                self.result = Some(result);
            }
            Err(error) => {
                self.status = TaskStatus::Failed;
                self.state = Value::Null;
                self.status_message = Some(error.message.to_string());
                self.error = Some(serde_json::to_value(error).unwrap_or_default());
            }
        }
    }

    /// Replaces a result too large for the store (`size` bytes encoded, over `limit`) with a
    /// tool error that says so and how to get the result instead. 2025-11-25 (`failed`): a
    /// tool error fails the task, and `tasks/result` returns it as the call would have;
    /// 2026-07-28 (`!failed`): a tool error is a `completed` task's result.
    pub fn too_large(&mut self, size: usize, limit: usize, failed: bool, now_ms: u64) {
        let how = if failed {
            "call the tool without params.task to get the result directly"
        } else {
            "call the tool again without the tasks extension to get the result directly"
        };
        let message = format!(
            "The result is too large to keep as a task: {size} bytes, over the {limit} bytes \
             a task keeps. The work is done but its result is dropped; {how}, or ask for less \
             (for a usage report, a lower top_n)."
        );
        let result = rmcp::model::CallToolResult::error(vec![rmcp::model::ContentBlock::text(
            message.clone(),
        )]);
        self.updated_ms = now_ms;
        self.status = if failed {
            TaskStatus::Failed
        } else {
            TaskStatus::Completed
        };
        self.status_message = Some(message);
        self.state = Value::Null;
        self.input_requests.clear();
        self.responses.clear();
        self.error = None;
        self.result = Some(serde_json::to_value(result).unwrap_or_default());
    }

    pub fn cancel(&mut self, now_ms: u64) {
        self.updated_ms = now_ms;
        self.status = TaskStatus::Cancelled;
        self.status_message = Some("cancelled by the client".to_owned());
        self.state = Value::Null;
        self.input_requests.clear();
        self.responses.clear();
    }
}
