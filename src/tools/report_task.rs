//! The report tool as a task (see `server::tasks`): over Logs Insights, the task's first step
//! plans the report's reads and starts their queries, every poll takes one step of them (what
//! CloudWatch has ready, never waiting), and the last one assembles the report once, as the
//! direct call would (the same reads, slices and answer). Between polls the queries run in
//! CloudWatch and no request is held open. Cancelling the task stops its running queries.
//!
//! A source whose reads cannot be resumed (a file, the bundled sample, the scan) runs to the
//! end when the task is created, and the task keeps its report until its TTL.

use rmcp::model::{CallToolResult, JsonObject};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::report_tool::{ReportTool, tool_error};
use crate::server::{HandlerError, RequestContext, TaskStep, ToolHandler as _};
use crate::usage::change::ChangePlan;
use crate::usage::source::{ResumableReads, Resumed};
use crate::usage::{SourceError, UsageQuery};

/// What a report task keeps between polls: what the arguments asked, and the source's state.
#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    log_group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    region: Option<String>,
    #[serde(default)]
    include_chart: bool,
    plan: ChangePlan,
    /// The source's reads ([`ResumableReads`]).
    reads: Value,
}

impl ReportTool {
    /// The task's first step: a tool error for bad arguments, the whole report for a source
    /// that cannot be resumed, or the started reads.
    pub(super) async fn start_report_task(
        &self,
        ctx: &RequestContext,
        arguments: JsonObject,
    ) -> Result<TaskStep, HandlerError> {
        let (request, source, plan) = match self.prepare(&arguments) {
            Ok(prepared) => prepared,
            Err(refused) => return Ok(TaskStep::Done(refused)),
        };
        let Some(reads) = source.resumable() else {
            return Ok(TaskStep::Done(self.call(ctx, arguments).await?));
        };
        let queries: Vec<UsageQuery> = plan.queries().cloned().collect();
        let step = reads.start_reads(&queries).await;
        let saved = Saved {
            log_group: request.log_group_name,
            region: request.region,
            include_chart: request.include_chart,
            plan,
            reads: Value::Null,
        };
        self.report_step(saved, step).await
    }

    /// A poll's step, from the state the previous one left.
    pub(super) async fn advance_report_task(&self, state: Value) -> Result<TaskStep, HandlerError> {
        let mut saved = decode(state)?;
        let source = match self.source(saved.log_group.as_deref(), saved.region.as_deref()) {
            Ok(source) => source,
            Err(refused) => return Ok(TaskStep::Done(refused)),
        };
        let reads = resumable(source.resumable())?;
        let queries: Vec<UsageQuery> = saved.plan.queries().cloned().collect();
        let step = reads
            .advance_reads(&queries, std::mem::take(&mut saved.reads))
            .await;
        self.report_step(saved, step).await
    }

    /// Cancellation: stops the queries the task still runs.
    pub(super) async fn stop_report_task(&self, state: &Value) {
        let Ok(saved) = decode(state.clone()) else {
            return;
        };
        if let Ok(source) = self.source(saved.log_group.as_deref(), saved.region.as_deref())
            && let Some(reads) = source.resumable()
        {
            reads.stop_reads(&saved.reads).await;
        }
    }

    /// A poll's step that another poll beat to the store: stops the queries it started.
    pub(super) async fn discard_report_step(&self, from: &Value, lost: &Value) {
        let (Ok(from), Ok(lost)) = (decode(from.clone()), decode(lost.clone())) else {
            return;
        };
        if let Ok(source) = self.source(lost.log_group.as_deref(), lost.region.as_deref())
            && let Some(reads) = source.resumable()
        {
            reads.discard_step(&from.reads, &lost.reads).await;
        }
    }

    /// The task's step after the source's: still working (the state to keep), or the
    /// report's result, assembled once.
    async fn report_step(
        &self,
        mut saved: Saved,
        step: Result<Resumed, SourceError>,
    ) -> Result<TaskStep, HandlerError> {
        let reports = match step {
            Ok(Resumed::Working { state, message }) => {
                saved.reads = state;
                let state = serde_json::to_value(&saved)
                    .map_err(|e| HandlerError::internal(e.to_string()))?;
                return Ok(TaskStep::Working {
                    state,
                    message: Some(message),
                });
            }
            Ok(Resumed::Done(reports)) => Ok(reports),
            Err(e) => Err(e),
        };
        let report = reports.and_then(|reports| saved.plan.assemble(reports));
        let filtered = (saved.plan.queries().next()).is_some_and(|q| !q.filters().is_empty());
        let result: CallToolResult = match self.answer(report, saved.include_chart, filtered).await
        {
            Ok(result) => result,
            // No request to cancel: a task is cancelled with tasks/cancel.
            Err(HandlerError::Cancelled) => tool_error("the usage report was cancelled"),
            Err(e) => return Err(e),
        };
        Ok(TaskStep::Done(result))
    }
}

fn decode(state: Value) -> Result<Saved, HandlerError> {
    serde_json::from_value(state)
        .map_err(|e| HandlerError::internal(format!("unreadable report task state: {e}")))
}

fn resumable(reads: Option<&dyn ResumableReads>) -> Result<&dyn ResumableReads, HandlerError> {
    reads.ok_or_else(|| {
        HandlerError::internal("the report's source no longer reads in steps; call it again")
    })
}
