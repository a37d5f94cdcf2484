//! MCP tasks ("call now, fetch later") for tools, in both protocol eras.
//!
//! A task-supporting tool splits its work into steps ([`TaskStep`]): `start` runs when the
//! task is created, and every later poll (`tasks/get`, and `tasks/result` before 2026-07-28)
//! runs `advance` once on the state the previous step left. Nothing runs between polls: a
//! task is a record in the [`TaskBook`] (the transport keeps it in the session store), so any
//! instance can answer any poll, and a poll that loses the race to store the next step (see
//! [`TaskBook::replace`]) answers with the winner's step instead of advancing twice.
//!
//! The two eras see the same tasks in their own shapes (`wire`): the 2025-11-25 experimental
//! tasks (`params.task` on `tools/call`, `{task}` results, `tasks/get|result|list|cancel`,
//! `ttl`/`pollInterval`, `tasks/list` as `list` pages it, status notifications as `status`
//! sends them, a tool error failing the task) and the 2026-07-28
//! `io.modelcontextprotocol/tasks` extension (server-directed creation for clients that
//! declare the extension, flat `resultType: "task"` results, `tasks/get|update|cancel`,
//! `ttlMs`/`pollIntervalMs`, results inlined on `tasks/get`, a tool error a `completed`
//! task's result).

mod book;
mod data;
mod list;
mod methods;
mod status;
mod wire;

pub use book::{StoredTask, TaskBook, TaskBookError};
pub(crate) use methods::TASK_METHODS;

use rmcp::model::CallToolResult;
use serde_json::{Map, Value};

/// The extension id of tasks in 2026-07-28.
pub const TASKS_EXTENSION: &str = rmcp::model::TASKS_EXTENSION_ID;

/// How long a task is kept after its creation when the client asks for nothing else.
pub const DEFAULT_TASK_TTL_MS: u64 = 60 * 60 * 1000;
/// The longest a task is kept, whatever the client asks (2025-11-25 `task.ttl`).
pub const MAX_TASK_TTL_MS: u64 = 24 * 60 * 60 * 1000;
/// How long a task left working by a step is kept after it at least, whatever its ttl: the
/// step may have started work outside the server that only the task can stop (a Logs
/// Insights query runs for up to 60 minutes), so the task stays known, counted against its
/// owner's bound and cancellable while that work can still run.
pub const WORKING_KEEP_MS: u64 = 60 * 60 * 1000;
/// The poll interval suggested to clients.
pub const DEFAULT_POLL_INTERVAL_MS: u64 = 1000;

/// Whether a tool runs as a task (2025-11-25 `execution.taskSupport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskSupport {
    /// Never: the tool answers within its call.
    Forbidden,
    /// When the client can take a task; otherwise the tool answers within its call.
    Optional,
    /// Only as a task: a client that cannot take one gets an error.
    Required,
}

impl TaskSupport {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Forbidden => "forbidden",
            Self::Optional => "optional",
            Self::Required => "required",
        }
    }
}

/// Where a task's work stands after a step.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskStep {
    /// Still working; `state` is what the next step starts from (kept in the store, so keep
    /// it small: ids and cursors, not data that can be fetched again).
    Working {
        state: Value,
        message: Option<String>,
    },
    /// Waiting for the client's answers to `requests` (keyed by ids unique within the task);
    /// the next step gets them.
    InputRequired {
        state: Value,
        requests: Map<String, Value>,
    },
    /// Finished: the tool's result (a tool error is a result with `isError`).
    Done(CallToolResult),
}
