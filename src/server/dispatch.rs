//! Routing one request to the handler for its method.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;

use rmcp::model::{
    CallToolRequestParams, CompleteRequestParams, GetPromptRequestParams, ReadResourceRequestParams,
};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::{HandlerError, LogLevel, McpServer, RequestContext};

/// The longest resource URI a session may subscribe to.
pub(crate) const MAX_SUBSCRIBED_URI_BYTES: usize = 2048;
/// The most resources one session may be subscribed to at once.
pub(crate) const MAX_SUBSCRIPTIONS: usize = 100;

/// Methods whose results may be `input_required` (2026-07-28).
pub(crate) const INPUT_CAPABLE_METHODS: [&str; 3] = ["tools/call", "prompts/get", "resources/read"];

impl McpServer {
    /// Runs one request and returns its result object (without era-specific fields such as
    /// `resultType`, which the protocol layer adds). A handler's [`HandlerError::InputRequired`]
    /// becomes an `input_required` result here.
    pub async fn dispatch(
        &self,
        ctx: &RequestContext,
        method: &str,
        params: Option<Value>,
    ) -> Result<Value, HandlerError> {
        // Only methods that may answer `input_required` need (the target name of) the params
        // again afterwards: keep that name, not a copy of every argument.
        let binding = INPUT_CAPABLE_METHODS
            .contains(&method)
            .then(|| Self::state_binding(method, params.as_ref(), ctx.task_owner()));
        match self.route_contained(ctx, method, params).await {
            Err(HandlerError::InputRequired) if INPUT_CAPABLE_METHODS.contains(&method) => {
                Ok(self.input_required(ctx, method, binding.unwrap_or_default()))
            }
            Err(HandlerError::InputRequired) => Err(HandlerError::internal(format!(
                "{method} cannot ask the client for input"
            ))),
            other => other,
        }
    }

    /// [`Self::route`], with a panic in a handler turned into an internal error for this
    /// request alone. Without this a panic would unwind through the transport and leave the
    /// client without an answer (a legacy SSE stream would stay open forever). The panic's
    /// message is logged, not sent: it may name internals.
    async fn route_contained(
        &self,
        ctx: &RequestContext,
        method: &str,
        params: Option<Value>,
    ) -> Result<Value, HandlerError> {
        match AssertUnwindSafe(self.route(ctx, method, params))
            .catch_unwind()
            .await
        {
            Ok(outcome) => outcome,
            Err(panic) => {
                let why = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!(method, panic = %why, "a handler panicked");
                Err(HandlerError::internal(format!(
                    "internal error while handling {method}"
                )))
            }
        }
    }

    /// The name that binds a sealed `requestState` to one target and to `owner` (whose the
    /// request is: the principal of its token with authorization on, see
    /// [`RequestContext::task_owner`]), so a state minted for one user's request cannot be
    /// continued by another user holding it, as a legacy session cannot be.
    pub(crate) fn state_binding(method: &str, params: Option<&Value>, owner: &str) -> String {
        let field = if method == "resources/read" {
            "uri"
        } else {
            "name"
        };
        let target = params
            .and_then(|p| p.get(field))
            .and_then(Value::as_str)
            .unwrap_or_default();
        // The owner is ours (a digest or a fixed word), so the newline cannot be forged.
        format!("{target}\n{owner}")
    }

    fn input_required(&self, ctx: &RequestContext, method: &str, name: String) -> Value {
        let mut result = json!({
            "resultType": "input_required",
            "inputRequests": Value::Object(ctx.take_pending_inputs()),
        });
        if let Some(state) = ctx.take_next_state() {
            let sealed =
                self.state_codec()
                    .seal_state(method, &name, &state, crate::clock::unix_now());
            result["requestState"] = json!(sealed);
        }
        result
    }

    async fn route(
        &self,
        ctx: &RequestContext,
        method: &str,
        params: Option<Value>,
    ) -> Result<Value, HandlerError> {
        if super::tasks::TASK_METHODS.contains(&method)
            && let Some(outcome) = self.route_task(ctx, method, params.clone()).await
        {
            return outcome;
        }
        match method {
            "ping" => Ok(json!({})),
            "tools/list" => self.list_tools(ctx),
            "tools/call" => {
                let task = params.as_ref().and_then(|p| p.get("task")).cloned();
                self.call_tool(ctx, parse(params)?, task).await
            }
            "resources/list" => self.list_resources(method),
            "resources/templates/list" => self.list_templates(method),
            "resources/read" => self.read_resource(ctx, parse(params)?).await,
            "resources/subscribe" | "resources/unsubscribe" => {
                self.subscription(ctx, method, params).await
            }
            "prompts/list" => self.list_prompts(),
            "prompts/get" => self.get_prompt(ctx, parse(params)?).await,
            "completion/complete" => self.complete(ctx, parse(params)?).await,
            "logging/setLevel" => set_level(ctx, params).await,
            _ => Err(HandlerError::method_not_found(method)),
        }
    }

    /// The tools; to 2025-11-25 clients with `execution.taskSupport` where tasks are offered.
    fn list_tools(&self, ctx: &RequestContext) -> Result<Value, HandlerError> {
        let tasks = self
            .capabilities_for(ctx.era(), ctx.protocol_version())
            .get("tasks")
            .is_some();
        let tools: Vec<Value> = (self.tools().iter())
            .map(|t| {
                let mut tool = serde_json::to_value(t.definition()).unwrap_or_default();
                if tasks {
                    tool["execution"] = json!({ "taskSupport": t.task_support().as_str() });
                }
                tool
            })
            .collect();
        Ok(json!({ "tools": tools }))
    }

    /// Calls a tool, or creates the task that runs it (see [`super::tasks`]).
    async fn call_tool(
        &self,
        ctx: &RequestContext,
        params: CallToolRequestParams,
        task: Option<Value>,
    ) -> Result<Value, HandlerError> {
        let tool = self.tool(&params.name).ok_or_else(|| {
            HandlerError::invalid_params(format!("Unknown tool: {}", params.name))
        })?;
        let arguments = params.arguments.unwrap_or_default();
        if let Some(ttl_ms) = self.task_ttl(ctx, tool.as_ref(), task.as_ref())? {
            return self.create_task(ctx, tool, arguments, ttl_ms).await;
        }
        let result = tool.call(ctx, arguments).await?;
        to_value(&result)
    }

    fn list_resources(&self, method: &str) -> Result<Value, HandlerError> {
        let provider = self
            .resources()
            .ok_or_else(|| HandlerError::method_not_found(method))?;
        Ok(json!({ "resources": provider.resources() }))
    }

    fn list_templates(&self, method: &str) -> Result<Value, HandlerError> {
        let provider = self
            .resources()
            .ok_or_else(|| HandlerError::method_not_found(method))?;
        Ok(json!({ "resourceTemplates": provider.templates() }))
    }

    async fn read_resource(
        &self,
        ctx: &RequestContext,
        params: ReadResourceRequestParams,
    ) -> Result<Value, HandlerError> {
        let provider = self
            .resources()
            .ok_or_else(|| HandlerError::method_not_found("resources/read"))?;
        to_value(&provider.read(ctx, &params.uri).await?)
    }

    async fn subscription(
        &self,
        ctx: &RequestContext,
        method: &str,
        params: Option<Value>,
    ) -> Result<Value, HandlerError> {
        let (Some(_), Some(session), true) = (
            self.resources(),
            ctx.session(),
            self.sends_change_notifications(),
        ) else {
            return Err(HandlerError::method_not_found(method));
        };
        let uri = params
            .as_ref()
            .and_then(|p| p.get("uri"))
            .and_then(Value::as_str)
            .ok_or_else(|| HandlerError::invalid_params("uri is required"))?
            .to_owned();
        if method == "resources/subscribe" {
            // The session record keeps every subscription and is read on each request.
            if uri.len() > MAX_SUBSCRIBED_URI_BYTES {
                return Err(HandlerError::invalid_params(format!(
                    "uri is longer than {MAX_SUBSCRIBED_URI_BYTES} bytes"
                )));
            }
            let held = session.subscriptions().await?;
            if held.len() >= MAX_SUBSCRIPTIONS && !held.contains(&uri) {
                return Err(HandlerError::invalid_params(format!(
                    "a session holds at most {MAX_SUBSCRIPTIONS} subscriptions; unsubscribe first"
                )));
            }
            session.subscribe(&uri).await?;
        } else {
            session.unsubscribe(&uri).await?;
        }
        Ok(json!({}))
    }

    fn list_prompts(&self) -> Result<Value, HandlerError> {
        let prompts: Vec<_> = self.prompts().iter().map(|p| p.definition()).collect();
        Ok(json!({ "prompts": prompts }))
    }

    async fn get_prompt(
        &self,
        ctx: &RequestContext,
        params: GetPromptRequestParams,
    ) -> Result<Value, HandlerError> {
        let prompt = self.prompt(&params.name).ok_or_else(|| {
            HandlerError::invalid_params(format!("Unknown prompt: {}", params.name))
        })?;
        let arguments: BTreeMap<String, String> = params
            .arguments
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect();
        to_value(&prompt.get(ctx, arguments).await?)
    }

    async fn complete(
        &self,
        ctx: &RequestContext,
        params: CompleteRequestParams,
    ) -> Result<Value, HandlerError> {
        let info = match self.completer() {
            Some(completer) => completer.complete(ctx, &params).await?,
            None => return Err(HandlerError::method_not_found("completion/complete")),
        };
        Ok(json!({ "completion": info }))
    }
}

async fn set_level(ctx: &RequestContext, params: Option<Value>) -> Result<Value, HandlerError> {
    let level = params
        .as_ref()
        .and_then(|p| p.get("level"))
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<LogLevel>().ok())
        .ok_or_else(|| HandlerError::invalid_params("level must be a log level"))?;
    let session = ctx
        .session()
        .ok_or_else(|| HandlerError::method_not_found("logging/setLevel"))?;
    session.set_log_level(level).await?;
    Ok(json!({}))
}

/// Parses request params into an rmcp type; a mismatch is -32602.
fn parse<T: DeserializeOwned>(params: Option<Value>) -> Result<T, HandlerError> {
    let params = params.unwrap_or_else(|| Value::Object(Map::new()));
    serde_json::from_value(params)
        .map_err(|e| HandlerError::invalid_params(format!("Invalid params: {e}")))
}

fn to_value<T: serde::Serialize>(result: &T) -> Result<Value, HandlerError> {
    serde_json::to_value(result).map_err(|e| HandlerError::internal(e.to_string()))
}
