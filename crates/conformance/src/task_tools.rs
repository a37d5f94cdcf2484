//! Fixture tools of the `tasks-*` scenarios (the `io.modelcontextprotocol/tasks` extension),
//! written the way a task-supporting tool of the product is: a first step on creation, then
//! one step per poll from the state the task record keeps, with nothing running in between.
//! A "sleep" is a deadline in the state, which a poll compares with the clock.

use std::sync::Arc;

use async_trait::async_trait;
use rmcp::model::{CallToolResult, JsonObject, Tool};
use serde_json::{Map, Value, json};

use super::content_tools::text;
use bedrock_usage_mcp::clock::unix_now_ms;
use bedrock_usage_mcp::server::{HandlerError, RequestContext, TaskStep, TaskSupport, ToolHandler};

/// The longest `slow_compute` sleeps, so a call cannot hold the server for long.
const MAX_SECONDS: u64 = 60;

fn tool(name: &str, description: &str, schema: Value) -> Tool {
    let schema: JsonObject = match schema {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    };
    Tool::new(name.to_owned(), description.to_owned(), Arc::new(schema))
}

fn working_until(ms_from_now: u64, then: Value) -> TaskStep {
    TaskStep::Working {
        state: json!({ "until": unix_now_ms() + ms_from_now, "then": then }),
        message: None,
    }
}

fn due(state: &Value) -> bool {
    state["until"]
        .as_u64()
        .is_none_or(|until| unix_now_ms() >= until)
}

/// The step after a [`working_until`] step: still working before its deadline, then `done`
/// of the value it carries.
fn when_due(state: Value, done: impl FnOnce(&Value) -> CallToolResult) -> TaskStep {
    if due(&state) {
        TaskStep::Done(done(&state["then"]))
    } else {
        TaskStep::Working {
            state,
            message: None,
        }
    }
}

fn text_of(then: &Value) -> CallToolResult {
    text(then.as_str().unwrap_or_default())
}

fn confirm_request(message: &str) -> Value {
    json!({ "method": "elicitation/create", "params": {
        "message": message,
        "requestedSchema": {
            "type": "object",
            "properties": { "confirm": { "type": "boolean" }, "name": { "type": "string" } },
        },
    } })
}

/// A tool error (`isError`), which still completes the task.
fn job_failed() -> CallToolResult {
    let mut result = text("the job failed");
    result.is_error = Some(true);
    result
}

fn accepted(response: Option<&Value>) -> bool {
    response.and_then(|r| r["action"].as_str()) == Some("accept")
}

/// `greet`: sync only.
pub struct Greet;

#[async_trait]
impl ToolHandler for Greet {
    fn definition(&self) -> Tool {
        tool(
            "greet",
            "Returns Hello, {name}! (sync only)",
            json!({ "type": "object", "properties": { "name": { "type": "string" } } }),
        )
    }

    async fn call(
        &self,
        _: &RequestContext,
        args: JsonObject,
    ) -> Result<CallToolResult, HandlerError> {
        let name = args.get("name").and_then(Value::as_str).unwrap_or("World");
        Ok(text(&format!("Hello, {name}!")))
    }
}

/// `slow_compute`: `seconds` of work, then a result; a task for clients that take one.
pub struct SlowCompute;

fn seconds(args: &JsonObject) -> u64 {
    args.get("seconds")
        .and_then(Value::as_u64)
        .unwrap_or(1)
        .min(MAX_SECONDS)
}

fn label(args: &JsonObject) -> String {
    args.get("label")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

#[async_trait]
impl ToolHandler for SlowCompute {
    fn definition(&self) -> Tool {
        tool(
            "slow_compute",
            "Works for `seconds` seconds, then answers (task-supporting)",
            json!({ "type": "object", "properties": {
                "seconds": { "type": "integer", "minimum": 0 },
                "label": { "type": "string" },
            } }),
        )
    }

    fn task_support(&self) -> TaskSupport {
        TaskSupport::Optional
    }

    async fn call(
        &self,
        ctx: &RequestContext,
        args: JsonObject,
    ) -> Result<CallToolResult, HandlerError> {
        let wait = std::time::Duration::from_secs(seconds(&args));
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = ctx.cancellation().cancelled() => return Err(HandlerError::Cancelled),
        }
        Ok(text(&format!(
            "Computed {} after {}s",
            label(&args),
            seconds(&args)
        )))
    }

    async fn start_task(
        &self,
        _: &RequestContext,
        args: JsonObject,
    ) -> Result<TaskStep, HandlerError> {
        let answer = format!("Computed {} after {}s", label(&args), seconds(&args));
        Ok(working_until(seconds(&args) * 1000, json!(answer)))
    }

    async fn advance_task(
        &self,
        state: Value,
        _: Map<String, Value>,
    ) -> Result<TaskStep, HandlerError> {
        Ok(when_due(state, text_of))
    }
}

/// `failing_job`: a task (required) whose tool reports an error after about a second.
pub struct FailingJob;

#[async_trait]
impl ToolHandler for FailingJob {
    fn definition(&self) -> Tool {
        tool(
            "failing_job",
            "Fails with a tool error after ~1 s (task required)",
            json!({ "type": "object", "properties": {} }),
        )
    }

    fn task_support(&self) -> TaskSupport {
        TaskSupport::Required
    }

    async fn call(
        &self,
        _: &RequestContext,
        _: JsonObject,
    ) -> Result<CallToolResult, HandlerError> {
        Ok(job_failed())
    }

    async fn start_task(
        &self,
        _: &RequestContext,
        _: JsonObject,
    ) -> Result<TaskStep, HandlerError> {
        Ok(working_until(1000, Value::Null))
    }

    async fn advance_task(
        &self,
        state: Value,
        _: Map<String, Value>,
    ) -> Result<TaskStep, HandlerError> {
        Ok(when_due(state, |_| job_failed()))
    }
}

/// `protocol_error_job`: a task whose next step panics, which fails the task.
pub struct ProtocolErrorJob;

#[async_trait]
impl ToolHandler for ProtocolErrorJob {
    fn definition(&self) -> Tool {
        tool(
            "protocol_error_job",
            "Panics into a protocol error (task-supporting)",
            json!({ "type": "object", "properties": {} }),
        )
    }

    fn task_support(&self) -> TaskSupport {
        TaskSupport::Optional
    }

    async fn call(
        &self,
        _: &RequestContext,
        _: JsonObject,
    ) -> Result<CallToolResult, HandlerError> {
        Err(HandlerError::internal("protocol_error_job failed"))
    }

    async fn start_task(
        &self,
        _: &RequestContext,
        _: JsonObject,
    ) -> Result<TaskStep, HandlerError> {
        Ok(working_until(0, Value::Null))
    }

    async fn advance_task(
        &self,
        _: Value,
        _: Map<String, Value>,
    ) -> Result<TaskStep, HandlerError> {
        panic!("protocol_error_job panics by design");
    }
}

/// `confirm_delete` (one input) and `multi_input` (two at once): tasks that wait for the
/// client's answers, given through `tasks/update`.
pub struct AskingJob {
    pub multi: bool,
}

#[async_trait]
impl ToolHandler for AskingJob {
    fn definition(&self) -> Tool {
        if self.multi {
            tool(
                "multi_input",
                "Asks two questions at once (task-supporting)",
                json!({ "type": "object", "properties": {} }),
            )
        } else {
            tool(
                "confirm_delete",
                "Asks to confirm deleting `filename` (task-supporting)",
                json!({ "type": "object", "properties": { "filename": { "type": "string" } } }),
            )
        }
    }

    fn task_support(&self) -> TaskSupport {
        TaskSupport::Optional
    }

    async fn call(
        &self,
        ctx: &RequestContext,
        args: JsonObject,
    ) -> Result<CallToolResult, HandlerError> {
        let answer = ctx.input("confirm", confirm_request("Confirm?")).await?;
        let file = args
            .get("filename")
            .and_then(Value::as_str)
            .unwrap_or("the file");
        Ok(text(&if accepted(Some(&answer)) {
            format!("Deleted {file}")
        } else {
            format!("Kept {file}")
        }))
    }

    async fn start_task(
        &self,
        _: &RequestContext,
        args: JsonObject,
    ) -> Result<TaskStep, HandlerError> {
        let mut requests = Map::new();
        if self.multi {
            requests.insert("first".into(), confirm_request("First question"));
            requests.insert("second".into(), confirm_request("Second question"));
        } else {
            let file = args
                .get("filename")
                .and_then(Value::as_str)
                .unwrap_or("the file");
            requests.insert(
                "confirm".into(),
                confirm_request(&format!("Delete {file}?")),
            );
        }
        let state = json!({ "filename": args.get("filename") });
        Ok(TaskStep::InputRequired { state, requests })
    }

    async fn advance_task(
        &self,
        state: Value,
        responses: Map<String, Value>,
    ) -> Result<TaskStep, HandlerError> {
        if self.multi {
            let names: Vec<&str> = responses
                .values()
                .map(|r| r["content"]["name"].as_str().unwrap_or("?"))
                .collect();
            return Ok(TaskStep::Done(text(&format!(
                "Answers: {}",
                names.join(", ")
            ))));
        }
        let file = state["filename"].as_str().unwrap_or("the file");
        Ok(TaskStep::Done(text(
            &if accepted(responses.get("confirm")) {
                format!("Deleted {file}")
            } else {
                format!("Kept {file}")
            },
        )))
    }
}

/// `test_tool_with_task`: asks for a name by a multi-round-trip request, then continues as
/// a task (required) whose result carries the name.
pub struct ToolWithTask;

#[async_trait]
impl ToolHandler for ToolWithTask {
    fn definition(&self) -> Tool {
        tool(
            "test_tool_with_task",
            "Asks for user_name, then runs as a task (task required)",
            json!({ "type": "object", "properties": {} }),
        )
    }

    fn task_support(&self) -> TaskSupport {
        TaskSupport::Required
    }

    async fn call(
        &self,
        ctx: &RequestContext,
        _: JsonObject,
    ) -> Result<CallToolResult, HandlerError> {
        let name = ask_name(ctx).await?;
        Ok(text(&format!("Hello, {name}!")))
    }

    async fn start_task(
        &self,
        ctx: &RequestContext,
        _: JsonObject,
    ) -> Result<TaskStep, HandlerError> {
        let name = ask_name(ctx).await?;
        Ok(working_until(200, json!(format!("Hello, {name}!"))))
    }

    async fn advance_task(
        &self,
        state: Value,
        _: Map<String, Value>,
    ) -> Result<TaskStep, HandlerError> {
        Ok(when_due(state, text_of))
    }
}

async fn ask_name(ctx: &RequestContext) -> Result<String, HandlerError> {
    let question = json!({ "method": "elicitation/create", "params": {
        "message": "What is your name?",
        "requestedSchema": { "type": "object", "properties": { "name": { "type": "string" } }, "required": ["name"] },
    } });
    let answer = ctx.input("user_name", question).await?;
    Ok(answer["content"]["name"]
        .as_str()
        .unwrap_or("unknown")
        .to_owned())
}
