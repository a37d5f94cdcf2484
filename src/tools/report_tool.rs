//! `get_bedrock_usage_report`: the product's main tool.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Tool, ToolAnnotations};
use serde_json::{Map, Value};

use super::arguments::{ReportArguments, ReportRequest, input_schema};
use super::progress::{ChannelSink, Forwarder};
use super::sources::SourceSelector;
use crate::server::tasks::DEFAULT_POLL_INTERVAL_MS;
use crate::server::{HandlerError, RequestContext, TaskStep, TaskSupport, ToolHandler};
use crate::usage::change::ChangePlan;
use crate::usage::cost::billed::BilledCost;
use crate::usage::cost::{CostEstimator, EstimatedCost};
use crate::usage::profiles::{ProfileResolver, resolve_report};
use crate::usage::{Date, SourceError, UsageReport, UsageSource, render_text, report_json_schema};

pub const NAME: &str = "get_bedrock_usage_report";

const DESCRIPTION: &str = "Reports how this organisation uses Amazon Bedrock, from Bedrock's \
model-invocation logs: requests, input/output tokens, cache read/write tokens, total tokens and \
errors, per day (or hour), region, model, user (IAM identity ARN), operation, inference region \
(where cross-region profiles ran the request) and application inference profile (with its name, \
tags and model), and by the requestMetadata keys named in \
group_by_metadata (e.g. team), for the last `days` days or a start/end period, optionally \
filtered by region, account, model, user, inference region, application inference profile or \
metadata values. \
With compare_to \"previous_period\", each breakdown entry also carries the previous period's \
counters and the change; with anomalies, the report lists the days, models, users and metadata \
values whose tokens or errors jumped against their 14-day baseline, with the evidence. \
When the server prices usage, estimated_cost gives the cost by model, user and day (AWS Price \
List or the operator's prices; unpriced models listed with the reason), and with billed cost on, \
billed_cost gives Cost Explorer's bill and its daily drift from the estimate. \
Returns the report as structured JSON and as a readable text table; with include_chart, also a \
PNG chart. Read-only.";

/// The report tool: arguments in, a [`UsageReport`] out.
pub(crate) struct ReportTool {
    sources: Arc<dyn SourceSelector>,
    costs: Option<Arc<CostEstimator>>,
    today: Arc<dyn Fn() -> Date + Send + Sync>,
    /// `group_by_metadata` when a call does not give it (`--group-by-metadata`).
    default_group_by_metadata: Vec<String>,
    /// Resolves application inference profiles (`--inference-profiles`); none: shown by ARN.
    profiles: Option<Arc<dyn ProfileResolver>>,
}

impl ReportTool {
    pub fn new(sources: Arc<dyn SourceSelector>) -> Self {
        Self::with_clock(sources, Date::today)
    }

    /// Adds an `estimated_cost` section priced by the operator's table and the AWS Price List.
    pub(crate) fn with_costs(mut self, costs: Option<Arc<CostEstimator>>) -> Self {
        self.costs = costs;
        self
    }

    /// A tool whose "today" comes from `today` (tests pin it).
    pub(crate) fn with_clock(
        sources: Arc<dyn SourceSelector>,
        today: impl Fn() -> Date + Send + Sync + 'static,
    ) -> Self {
        Self {
            sources,
            costs: None,
            today: Arc::new(today),
            default_group_by_metadata: Vec::new(),
            profiles: None,
        }
    }

    /// Resolves the application inference profiles of each report (names, tags, models; the
    /// estimate prices a profile as its model) through `profiles`.
    pub(crate) fn with_profiles(mut self, profiles: Option<Arc<dyn ProfileResolver>>) -> Self {
        self.profiles = profiles;
        self
    }

    /// The metadata keys reports break down by when a call names none.
    pub(crate) fn with_default_group_by_metadata(mut self, keys: Vec<String>) -> Self {
        self.default_group_by_metadata = keys;
        self
    }
}

#[async_trait]
impl ToolHandler for ReportTool {
    fn definition(&self) -> Tool {
        let schema = match input_schema() {
            Value::Object(map) => map,
            _ => JsonObject::new(),
        };
        let output = match report_json_schema() {
            Value::Object(map) => map,
            _ => JsonObject::new(),
        };
        let mut tool = Tool::new(NAME, DESCRIPTION, Arc::new(schema));
        tool.output_schema = Some(Arc::new(output));
        tool.title = Some("Bedrock usage report".to_owned());
        let mut annotations = ToolAnnotations::new();
        annotations.read_only_hint = Some(true);
        annotations.destructive_hint = Some(false);
        annotations.idempotent_hint = Some(true);
        annotations.open_world_hint = Some(false);
        tool.annotations = Some(annotations);
        tool
    }

    /// A report may run as a task (see `server::tasks` and `report_task`): over Logs Insights
    /// the task's queries run in CloudWatch between polls and each poll takes one step;
    /// every other source runs to completion when the task is created, and the task keeps
    /// the report until its TTL.
    fn task_support(&self) -> TaskSupport {
        TaskSupport::Optional
    }

    async fn start_task(
        &self,
        ctx: &RequestContext,
        arguments: JsonObject,
    ) -> Result<TaskStep, HandlerError> {
        self.start_report_task(ctx, arguments).await
    }

    async fn advance_task(
        &self,
        state: Value,
        _responses: Map<String, Value>,
    ) -> Result<TaskStep, HandlerError> {
        self.advance_report_task(state).await
    }

    /// A step asks Logs Insights once per running query and writes the task: at most one
    /// per suggested poll interval, however often a client polls.
    fn min_step_interval(&self) -> Duration {
        Duration::from_millis(DEFAULT_POLL_INTERVAL_MS)
    }

    async fn cancel_task(&self, state: &Value) {
        self.stop_report_task(state).await;
    }

    async fn discard_task_step(&self, from: &Value, lost: &Value) {
        self.discard_report_step(from, lost).await;
    }

    async fn call(
        &self,
        ctx: &RequestContext,
        arguments: JsonObject,
    ) -> Result<CallToolResult, HandlerError> {
        let (request, source, plan) = match self.prepare(&arguments) {
            Ok(prepared) => prepared,
            Err(refused) => return Ok(refused),
        };
        let (sink, mut events) = ChannelSink::new();
        let mut forwarder = Forwarder::new();
        let collect = plan.collect(source.as_ref(), &sink, ctx.cancellation());
        tokio::pin!(collect);
        let outcome = loop {
            tokio::select! {
                biased;
                Some(event) = events.recv() => forwarder.forward(ctx, event).await?,
                outcome = &mut collect => break outcome,
            }
        };
        while let Ok(event) = events.try_recv() {
            forwarder.forward(ctx, event).await?;
        }
        let filtered = !request.query.filters().is_empty();
        self.answer(outcome, request.include_chart, filtered).await
    }
}

impl ReportTool {
    /// The call's request, source and reads; a tool error when the arguments are wrong.
    pub(super) fn prepare(
        &self,
        arguments: &JsonObject,
    ) -> Result<(ReportRequest, Arc<dyn UsageSource>, ChangePlan), CallToolResult> {
        let request = ReportArguments::parse(arguments)
            .and_then(|args| args.into_request((self.today)(), &self.default_group_by_metadata))
            .map_err(|message| tool_error(&message))?;
        let source = self.source(request.log_group_name.as_deref(), request.region.as_deref())?;
        // compare_to and anomalies: one or two more reads of the same source.
        let plan = ChangePlan::new(&request.query, request.change)
            .map_err(|message| tool_error(&message))?;
        Ok((request, source, plan))
    }

    /// The source for the arguments' log group and region.
    pub(super) fn source(
        &self,
        log_group: Option<&str>,
        region: Option<&str>,
    ) -> Result<Arc<dyn UsageSource>, CallToolResult> {
        (self.sources.select(log_group, region)).map_err(|message| tool_error(&message))
    }

    /// The call's result from what the source gave: the report with its costs, or a tool
    /// error saying why there is none (`filtered`: the report's records were filtered, so its
    /// estimate is not the account's bill).
    pub(super) async fn answer(
        &self,
        outcome: Result<UsageReport, SourceError>,
        include_chart: bool,
        filtered: bool,
    ) -> Result<CallToolResult, HandlerError> {
        match outcome {
            Ok(mut report) => {
                resolve_report(&mut report, self.profiles.as_deref()).await;
                let (estimate, billed) = match &self.costs {
                    Some(costs) => {
                        let estimate = costs.estimate(&report).await;
                        let billed = costs.billed(&report, &estimate, filtered).await;
                        (Some(estimate), billed)
                    }
                    None => (None, None),
                };
                report_result(&report, estimate.as_ref(), billed.as_ref(), include_chart)
            }
            Err(SourceError::Cancelled) => Err(HandlerError::Cancelled),
            // Said as it is: the message says what to do.
            Err(SourceError::TooLargeForTask(message)) => Ok(tool_error(&message)),
            Err(e) => Ok(tool_error(&format!("the usage source failed: {e}"))),
        }
    }
}

/// The report as `structuredContent` and as text (plus its estimated cost when costs are
/// configured, and a chart when asked). A report that does not serialise is a server fault
/// (-32603), never an empty success.
fn report_result(
    report: &UsageReport,
    estimate: Option<&EstimatedCost>,
    billed: Option<&Result<BilledCost, String>>,
    include_chart: bool,
) -> Result<CallToolResult, HandlerError> {
    let mut structured = to_json(report)?;
    let mut text = render_text(report);
    if let Some(estimate) = estimate {
        text.push('\n');
        text.push_str(&estimate.render_text());
        structured["estimated_cost"] = to_json(&estimate)?;
    }
    match billed {
        Some(Ok(billed)) => {
            text.push('\n');
            text.push_str(&billed.render_text());
            structured["billed_cost"] = to_json(billed)?;
        }
        // Cost Explorer unreadable: said in the section, the rest of the report stands.
        Some(Err(error)) => {
            text.push_str(&format!("\nBilled cost: unavailable ({error})\n"));
            structured["billed_cost"] = serde_json::json!({ "error": error });
        }
        None => {}
    }
    let mut content = vec![ContentBlock::text(text)];
    if include_chart {
        content.push(match crate::usage::chart::render_png_base64(report) {
            Ok(png) => ContentBlock::image(png, "image/png"),
            Err(e) => ContentBlock::text(format!("(no chart: {e})")),
        });
    }
    let mut result = CallToolResult::success(content);
    result.structured_content = Some(structured);
    Ok(result)
}

fn to_json(value: &impl serde::Serialize) -> Result<Value, HandlerError> {
    serde_json::to_value(value)
        .map_err(|e| HandlerError::internal(format!("the report did not serialise: {e}")))
}

/// A failure the model should see and can act on (bad arguments, an unreachable source).
pub(super) fn tool_error(message: &str) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message)])
}
