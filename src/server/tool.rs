//! Tools: what a server can be asked to do.

use std::time::Duration;

use async_trait::async_trait;
use rmcp::model::{CallToolResult, JsonObject, Tool};
use serde_json::{Map, Value};

use super::context::RequestContext;
use super::error::HandlerError;
use super::tasks::{TaskStep, TaskSupport};

/// One tool. Implementations parse their arguments, do the work and map failures: a failure
/// the model should see is a result with `isError: true`; a malformed call is
/// [`HandlerError::invalid_params`].
#[async_trait]
pub trait ToolHandler: Send + Sync + 'static {
    /// The tool as `tools/list` shows it.
    fn definition(&self) -> Tool;

    /// Runs the tool. A tool that needs input from the client asks through
    /// [`RequestContext::input`], which works in both protocol eras.
    async fn call(
        &self,
        ctx: &RequestContext,
        arguments: JsonObject,
    ) -> Result<CallToolResult, HandlerError>;

    /// Whether the tool runs as a task (see [`super::tasks`]); tools that do override
    /// [`ToolHandler::start_task`] and [`ToolHandler::advance_task`].
    fn task_support(&self) -> TaskSupport {
        TaskSupport::Forbidden
    }

    /// The first step of the tool's work as a task, run when the task is created. An error
    /// is the `tools/call`'s error (no task is created). By default the whole call.
    async fn start_task(
        &self,
        ctx: &RequestContext,
        arguments: JsonObject,
    ) -> Result<TaskStep, HandlerError> {
        Ok(TaskStep::Done(self.call(ctx, arguments).await?))
    }

    /// The next step, from the `state` the previous one left and the client's `responses`
    /// to the input it asked for; run by a poll, on any instance. An error fails the task.
    async fn advance_task(
        &self,
        state: Value,
        responses: Map<String, Value>,
    ) -> Result<TaskStep, HandlerError> {
        let _ = (state, responses);
        Err(HandlerError::internal(
            "this tool's tasks have no further steps",
        ))
    }

    /// The least time between two steps of one of the tool's working tasks: a poll sooner
    /// than this after the task's last stored step answers the task as stored, with no step
    /// and no write, so a client polling in a tight loop cannot multiply outside calls.
    fn min_step_interval(&self) -> Duration {
        Duration::ZERO
    }

    /// Stops what the task started outside this server (queries), on cancellation.
    async fn cancel_task(&self, state: &Value) {
        let _ = state;
    }

    /// Undoes the outside effects of a step that was not kept: `lost` was computed from
    /// `from`, but another poll stored its own step first (see [`crate::server::TaskBook`]),
    /// so what `lost` started (queries) is nobody's and should be stopped.
    async fn discard_task_step(&self, from: &Value, lost: &Value) {
        let _ = (from, lost);
    }
}
