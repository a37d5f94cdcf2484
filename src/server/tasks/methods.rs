//! `tools/call` as a task, and the `tasks/*` methods of both eras.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use rmcp::model::{ErrorCode, ErrorData, JsonObject, TaskStatus};
use serde_json::{Map, Value, json};

use super::data::TaskData;
use super::wire;
use super::{
    DEFAULT_POLL_INTERVAL_MS, DEFAULT_TASK_TTL_MS, MAX_TASK_TTL_MS, StoredTask, TASKS_EXTENSION,
    TaskBook, TaskBookError, TaskStep, TaskSupport, WORKING_KEEP_MS,
};
use crate::clock::unix_now_ms;
use crate::protocol::version::Era;
use crate::server::{HandlerError, McpServer, RequestContext, ToolHandler};

/// The task methods of either era; which ones an era has is decided in [`McpServer::route_task`].
pub(crate) const TASK_METHODS: [&str; 5] = [
    "tasks/get",
    "tasks/update",
    "tasks/cancel",
    "tasks/result",
    "tasks/list",
];

/// How often a write that lost a race is tried again before the poll gives up.
const MAX_WRITE_ATTEMPTS: usize = 5;

/// The legacy revision that defines tasks (as experimental).
const LEGACY_TASKS_VERSION: &str = "2025-11-25";

impl From<TaskBookError> for HandlerError {
    fn from(e: TaskBookError) -> Self {
        match e {
            // A bound the caller can act on (wait, or call without a task), like the
            // subscription bound.
            TaskBookError::Full(message) => {
                HandlerError::invalid_params(format!("Too many tasks: {message}"))
            }
            other => HandlerError::internal(other.to_string()),
        }
    }
}

fn unknown_task(id: &str) -> HandlerError {
    HandlerError::invalid_params(format!("Unknown task: {id}"))
}

fn task_id(params: Option<&Value>) -> Result<String, HandlerError> {
    params
        .and_then(|p| p.get("taskId"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| HandlerError::invalid_params("Invalid params: taskId must be a string"))
}

/// Runs a tool's step with a panic turned into an internal error, like dispatch does for
/// handlers: a task whose step panics fails, the server goes on.
async fn contained<F>(step: F) -> Result<TaskStep, ErrorData>
where
    F: std::future::Future<Output = Result<TaskStep, HandlerError>>,
{
    match AssertUnwindSafe(step).catch_unwind().await {
        Ok(Ok(step)) => Ok(step),
        Ok(Err(HandlerError::Rpc(error))) => Err(error),
        Ok(Err(HandlerError::InputRequired | HandlerError::Cancelled)) => Err(
            ErrorData::internal_error("the task's step asked for input outside a task", None),
        ),
        Err(_) => {
            tracing::error!("a task's step panicked");
            Err(ErrorData::internal_error(
                "internal error while running the task",
                None,
            ))
        }
    }
}

impl McpServer {
    /// Whether a client with these capabilities declared the 2026-07-28 tasks extension.
    fn declares_tasks(ctx: &RequestContext) -> bool {
        ctx.client_capabilities()
            .get("extensions")
            .and_then(|e| e.get(TASKS_EXTENSION))
            .is_some_and(|v| !v.is_null())
    }

    /// Whether this request's era and version have tasks at all.
    fn era_has_tasks(&self, ctx: &RequestContext) -> bool {
        self.task_book().is_some()
            && (ctx.era() == Era::Modern || ctx.protocol_version() == LEGACY_TASKS_VERSION)
    }

    /// Decides whether a `tools/call` runs as a task, and for how long it is kept: `None`
    /// runs it within the call. 2026-07-28: the server decides, for clients that declared the
    /// extension. 2025-11-25: the client asks with `params.task`.
    pub(in crate::server) fn task_ttl(
        &self,
        ctx: &RequestContext,
        tool: &dyn ToolHandler,
        task_param: Option<&Value>,
    ) -> Result<Option<u64>, HandlerError> {
        let support = tool.task_support();
        if !self.era_has_tasks(ctx) {
            return Ok(None);
        }
        let name = tool.definition().name;
        if support == TaskSupport::Forbidden {
            // 2025-11-25: a task asked of a tool that forbids them SHOULD be -32601.
            return match (ctx.era(), task_param) {
                (Era::Legacy, Some(_)) => Err(HandlerError::Rpc(ErrorData::new(
                    ErrorCode::METHOD_NOT_FOUND,
                    format!(
                        "Tool {name} does not run as a task (execution.taskSupport is forbidden); call it without params.task"
                    ),
                    None,
                ))),
                _ => Ok(None),
            };
        }
        match ctx.era() {
            Era::Modern if Self::declares_tasks(ctx) => Ok(Some(DEFAULT_TASK_TTL_MS)),
            Era::Modern if support == TaskSupport::Required => Err(
                HandlerError::missing_capability(json!({ "extensions": { TASKS_EXTENSION: {} } })),
            ),
            Era::Modern => Ok(None),
            Era::Legacy => match task_param {
                Some(Value::Object(task)) => Ok(Some(
                    task.get("ttl")
                        .and_then(Value::as_u64)
                        .unwrap_or(DEFAULT_TASK_TTL_MS)
                        .clamp(1, MAX_TASK_TTL_MS),
                )),
                Some(_) => Err(HandlerError::invalid_params(
                    "Invalid params: task must be an object",
                )),
                None if support == TaskSupport::Required => Err(HandlerError::Rpc(ErrorData::new(
                    ErrorCode::METHOD_NOT_FOUND,
                    format!("Tool {name} must be called as a task (params.task)"),
                    None,
                ))),
                None => Ok(None),
            },
        }
    }

    fn task_book(&self) -> Option<&Arc<dyn TaskBook>> {
        self.inner.tasks.as_ref()
    }

    pub(super) fn book(&self) -> Result<&Arc<dyn TaskBook>, HandlerError> {
        self.task_book()
            .ok_or_else(|| HandlerError::internal("this server keeps no tasks"))
    }

    /// Creates the task that runs `tool`: its first step runs now (a step that needs input
    /// in a 2026-07-28 multi-round-trip request passes that up before any task exists), and
    /// the task is stored before its id is returned, so an immediate `tasks/get` finds it.
    ///
    /// An owner with no room for another task is found before any work starts: in
    /// 2026-07-28, where the server chooses whether to make a task, the tool then runs
    /// within the call; in 2025-11-25, where the client asked for a task, the call is
    /// refused (-32602) without running the tool. A finished step whose result does not fit
    /// in the store (or an owner filled meanwhile by a racing creation): in 2026-07-28 the
    /// call answers with the result itself (the work is done); in 2025-11-25 a result too
    /// large becomes a failed task whose tool error says so and how to get it, no room is
    /// the store's error.
    pub(in crate::server) async fn create_task(
        &self,
        ctx: &RequestContext,
        tool: &Arc<dyn ToolHandler>,
        arguments: JsonObject,
        ttl_ms: u64,
    ) -> Result<Value, HandlerError> {
        let book = self.book()?;
        match (book.check_room(ctx.task_owner()).await, ctx.era()) {
            (Ok(()), _) => {}
            (Err(TaskBookError::Full(_)), Era::Modern) => {
                let result = tool.call(ctx, arguments).await?;
                return serde_json::to_value(result)
                    .map_err(|e| HandlerError::internal(e.to_string()));
            }
            (Err(e), _) => return Err(e.into()),
        }
        let step = tool.start_task(ctx, arguments).await?;
        let now = unix_now_ms();
        let mut data = TaskData {
            tool: tool.definition().name.into_owned(),
            status: TaskStatus::Working,
            status_message: None,
            created_ms: now,
            updated_ms: now,
            ttl_ms,
            poll_interval_ms: DEFAULT_POLL_INTERVAL_MS,
            state: Value::Null,
            input_requests: Map::new(),
            responses: Map::new(),
            result: None,
            error: None,
        };
        let modern = ctx.era() == Era::Modern;
        data.apply(Ok(step), now, !modern);
        // What the step started outside the server is stopped unless a stored task holds it.
        let started = data.state.clone();
        if ctx.cancellation().is_cancelled() {
            // The client left or cancelled the call: nobody would learn the task's id.
            tool.cancel_task(&started).await;
            return Err(HandlerError::Cancelled);
        }
        let id = random_id();
        let mut record = StoredTask {
            id: id.clone(),
            owner: ctx.task_owner().to_owned(),
            version: 1,
            expires_at_ms: keep_until(&data, now, now + ttl_ms),
            data: encode(&data)?,
        };
        let created = match book.create(&record).await {
            Ok(()) => Ok(()),
            Err(TaskBookError::TooLarge { .. } | TaskBookError::Full(_))
                if modern && data.status == TaskStatus::Completed =>
            {
                return Ok(data.result.unwrap_or_default());
            }
            Err(TaskBookError::TooLarge { limit }) => {
                data.too_large(record.data.len(), limit, !modern, now);
                record.data = encode(&data)?;
                tool.cancel_task(&started).await;
                book.create(&record).await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = created {
            // No task holds the step's queries (a racing creation took the last place, or
            // the store failed): stop them.
            tool.cancel_task(&started).await;
            return Err(e.into());
        }
        Ok(match ctx.era() {
            Era::Modern => wire::modern_created(&id, &data),
            Era::Legacy => json!({ "task": wire::legacy_task(&id, &data) }),
        })
    }

    /// Routes a `tasks/*` request, or `None` if `method` is not one this era has.
    pub(in crate::server) async fn route_task(
        &self,
        ctx: &RequestContext,
        method: &str,
        params: Option<Value>,
    ) -> Option<Result<Value, HandlerError>> {
        let modern = ctx.era() == Era::Modern;
        let known = match method {
            "tasks/get" | "tasks/cancel" => true,
            "tasks/update" => modern,
            "tasks/result" | "tasks/list" => !modern,
            _ => false,
        };
        if !known || !self.era_has_tasks(ctx) {
            return None;
        }
        if modern && !Self::declares_tasks(ctx) {
            return Some(Err(HandlerError::missing_capability(
                json!({ "extensions": { TASKS_EXTENSION: {} } }),
            )));
        }
        Some(match method {
            "tasks/get" => self.get_task(ctx, params.as_ref()).await,
            "tasks/update" => self.update_task(ctx, params.as_ref()).await,
            "tasks/cancel" => self.cancel_task(ctx, params.as_ref()).await,
            "tasks/list" => self.list_tasks(ctx, params.as_ref()).await,
            _ => self.task_result(ctx, params.as_ref()).await,
        })
    }

    /// Loads the task named by `params`, if it is the caller's: another owner's task is as
    /// unknown as one that never existed or expired.
    async fn load_owned(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<(StoredTask, TaskData), HandlerError> {
        let stored = (self.book()?.load(id).await?)
            .filter(|t| t.owner == ctx.task_owner())
            .ok_or_else(|| unknown_task(id))?;
        let data: TaskData = serde_json::from_str(&stored.data)
            .map_err(|e| HandlerError::internal(format!("unreadable task record: {e}")))?;
        Ok((stored, data))
    }

    /// Runs the task's next step and stores it. If another poll stored a step first, the
    /// task is read again and not advanced: one step per stored version.
    async fn advance(
        &self,
        ctx: &RequestContext,
        stored: StoredTask,
        data: TaskData,
    ) -> Result<(StoredTask, TaskData), HandlerError> {
        let step = match self.tool(&data.tool) {
            Some(tool) => {
                let tool = tool.clone();
                contained(tool.advance_task(data.state.clone(), data.responses.clone())).await
            }
            None => Err(ErrorData::internal_error(
                format!("the task's tool {} is gone", data.tool),
                None,
            )),
        };
        let from = data.state.clone();
        let mut next = data;
        let now = unix_now_ms();
        next.apply(step, now, ctx.era() == Era::Legacy);
        // The state this step computed: what it started is stopped unless it is stored.
        let proposed = next.state.clone();
        let mut record = StoredTask {
            version: stored.version + 1,
            expires_at_ms: keep_until(&next, now, stored.expires_at_ms),
            data: encode(&next)?,
            ..stored
        };
        let book = self.book()?;
        let written = match book.replace(&record).await {
            // A result the store cannot keep would be computed again on every poll: the
            // task ends with a tool error that says so instead (see `TaskData::too_large`).
            Err(TaskBookError::TooLarge { limit }) => {
                let legacy = ctx.era() == Era::Legacy;
                next.too_large(record.data.len(), limit, legacy, unix_now_ms());
                record.data = encode(&next)?;
                book.replace(&record).await
            }
            other => other,
        };
        let tool = self.tool(&next.tool).cloned();
        match written {
            Ok(true) => {
                if let Some(tool) = &tool {
                    if next.state != proposed {
                        // Its state was not kept after all (too large): nothing holds it.
                        tool.cancel_task(&proposed).await;
                    }
                    if next.is_terminal() && next.failed() {
                        // The failure is stored: the queries the task ran before it are
                        // nobody's now. (A failing step stops only what it started itself,
                        // so that a racing poll whose step fails cannot stop the winner's.)
                        tool.cancel_task(&from).await;
                    }
                }
                Ok((record, next))
            }
            // Another poll's step was stored first, or none could be: what this one started
            // is nobody's.
            Ok(false) | Err(_) => {
                if let Some(tool) = &tool {
                    tool.discard_task_step(&from, &proposed).await;
                }
                written?;
                self.load_owned(ctx, &record.id).await
            }
        }
    }

    /// Loads the task and runs its next step if it wants one; also says whether the step
    /// this poll stored changed the task's status (a poll that lost the race to store it
    /// leaves that news to the winner).
    async fn poll(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<(StoredTask, TaskData, bool), HandlerError> {
        let (stored, data) = self.load_owned(ctx, id).await?;
        if !data.wants_step() || self.too_soon_to_step(&data) {
            return Ok((stored, data, false));
        }
        let (before, version) = (data.status, stored.version);
        let (stored, data) = self.advance(ctx, stored, data).await?;
        let changed = stored.version == version + 1 && data.status != before;
        Ok((stored, data, changed))
    }

    /// Whether the working task's last stored step is more recent than its tool's
    /// [`ToolHandler::min_step_interval`]: then a poll answers it as stored (no outside call,
    /// no write). A task whose input was just answered steps at once.
    fn too_soon_to_step(&self, data: &TaskData) -> bool {
        let Some(tool) = self.tool(&data.tool) else {
            return false;
        };
        let floor =
            u64::try_from(self.task_step_interval(tool.as_ref()).as_millis()).unwrap_or(u64::MAX);
        data.status == TaskStatus::Working && unix_now_ms().saturating_sub(data.updated_ms) < floor
    }

    async fn get_task(
        &self,
        ctx: &RequestContext,
        params: Option<&Value>,
    ) -> Result<Value, HandlerError> {
        let id = task_id(params)?;
        let (_, data, changed) = self.poll(ctx, &id).await?;
        if changed {
            self.status_to_listener(ctx, &id, &data).await;
        }
        Ok(match ctx.era() {
            Era::Modern => wire::modern_detailed(&id, &data),
            Era::Legacy => wire::legacy_task(&id, &data),
        })
    }

    /// Applies `change` to the task and stores it, reading again and retrying when another
    /// writer stored a version first. `change` returns `false` to store nothing.
    async fn write_task(
        &self,
        ctx: &RequestContext,
        id: &str,
        change: Change<'_>,
    ) -> Result<TaskData, HandlerError> {
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let (stored, mut data) = self.load_owned(ctx, id).await?;
            if !change.apply(self, &mut data).await {
                return Ok(data);
            }
            let record = StoredTask {
                version: stored.version + 1,
                data: encode(&data)?,
                ..stored
            };
            if self.book()?.replace(&record).await? {
                return Ok(data);
            }
        }
        Err(HandlerError::internal(
            "the task kept changing under this request; retry",
        ))
    }

    /// 2026-07-28 `tasks/update`: the client's answers to open input requests. Answers to
    /// keys the task is not waiting for are ignored; the ack is empty either way.
    async fn update_task(
        &self,
        ctx: &RequestContext,
        params: Option<&Value>,
    ) -> Result<Value, HandlerError> {
        let id = task_id(params)?;
        let Some(Value::Object(responses)) = params.and_then(|p| p.get("inputResponses")) else {
            return Err(HandlerError::invalid_params(
                "Invalid params: inputResponses must be an object",
            ));
        };
        self.write_task(ctx, &id, Change::Answer(responses)).await?;
        Ok(json!({}))
    }

    /// `tasks/cancel`: stops the tool's outside work and marks the task cancelled. A
    /// terminal task stays as it is: 2026-07-28 acknowledges anyway, 2025-11-25 answers
    /// -32602 as its text says.
    async fn cancel_task(
        &self,
        ctx: &RequestContext,
        params: Option<&Value>,
    ) -> Result<Value, HandlerError> {
        let id = task_id(params)?;
        let data = self.write_task(ctx, &id, Change::Cancel).await?;
        match ctx.era() {
            Era::Modern => Ok(json!({})),
            Era::Legacy if data.status != TaskStatus::Cancelled => {
                Err(HandlerError::invalid_params(format!(
                    "Task {id} is already {}",
                    serde_json::to_value(data.status).unwrap_or_default()
                )))
            }
            Era::Legacy => Ok(wire::legacy_task(&id, &data)),
        }
    }

    /// 2025-11-25 `tasks/result`: waits (polling the store) until the task ends, asking the
    /// client over this request's stream for any input it needs, then answers with the
    /// tool's result, or the task's error.
    async fn task_result(
        &self,
        ctx: &RequestContext,
        params: Option<&Value>,
    ) -> Result<Value, HandlerError> {
        let id = task_id(params)?;
        let mut seen = None;
        loop {
            let (_, data, changed) = self.poll(ctx, &id).await?;
            if changed || seen.is_some_and(|status| status != data.status) {
                match self.status_on_stream(ctx, &id, &data).await {
                    // The stream is gone: nobody reads the result.
                    Err(HandlerError::Cancelled) => return Err(HandlerError::Cancelled),
                    // The result matters more than a status note about it.
                    Err(e) => {
                        tracing::warn!(task = %id, error = ?e, "could not send a task's status")
                    }
                    Ok(()) => {}
                }
            }
            seen = Some(data.status);
            match data.status {
                TaskStatus::Completed => {
                    let result = data.result.unwrap_or_default();
                    return Ok(wire::with_related_task(result, &id));
                }
                // A tool error fails a 2025-11-25 task; the call's answer is that result.
                TaskStatus::Failed if data.result.is_some() => {
                    let result = data.result.unwrap_or_default();
                    return Ok(wire::with_related_task(result, &id));
                }
                TaskStatus::Failed => {
                    let error: ErrorData = serde_json::from_value(data.error.unwrap_or_default())
                        .unwrap_or_else(|_| ErrorData::internal_error("the task failed", None));
                    return Err(HandlerError::Rpc(error));
                }
                TaskStatus::Cancelled => {
                    return Err(HandlerError::Rpc(ErrorData::new(
                        ErrorCode::INVALID_PARAMS,
                        format!("Task {id} was cancelled"),
                        Some(wire::related_task_meta(&id)),
                    )));
                }
                TaskStatus::InputRequired if !data.input_requests.is_empty() => {
                    let requests: Vec<(&str, Value)> = (data.input_requests.iter())
                        .map(|(k, v)| (k.as_str(), v.clone()))
                        .collect();
                    let answers = ctx.inputs(requests).await?;
                    let responses: Map<String, Value> =
                        (data.input_requests.keys().cloned()).zip(answers).collect();
                    self.write_task(ctx, &id, Change::Answer(&responses))
                        .await?;
                }
                _ => {
                    let wait = Duration::from_millis(data.poll_interval_ms);
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = ctx.cancellation().cancelled() => return Err(HandlerError::Cancelled),
                    }
                }
            }
        }
    }
}

/// A change [`McpServer::write_task`] applies to a freshly read task.
enum Change<'a> {
    /// Records answers to open input requests.
    Answer(&'a Map<String, Value>),
    /// Cancels a task that has not ended, after telling its tool to stop its outside work.
    Cancel,
}

impl Change<'_> {
    /// Applies the change; `false` when there is nothing to store.
    async fn apply(&self, server: &McpServer, data: &mut TaskData) -> bool {
        match self {
            Change::Answer(responses) => {
                if data.status != TaskStatus::InputRequired {
                    return false;
                }
                let mut changed = false;
                for (key, response) in responses.iter() {
                    if data.input_requests.remove(key).is_some() {
                        data.responses.insert(key.clone(), response.clone());
                        changed = true;
                    }
                }
                if changed {
                    data.updated_ms = unix_now_ms();
                }
                changed
            }
            Change::Cancel => {
                if data.is_terminal() {
                    return false;
                }
                if let Some(tool) = server.tool(&data.tool) {
                    tool.cancel_task(&data.state).await;
                }
                data.cancel(unix_now_ms());
                true
            }
        }
    }
}

/// When a task after a step at `now` expires: at `expires` (its ttl), but while it is not
/// over, no sooner than [`WORKING_KEEP_MS`] after the step.
fn keep_until(data: &TaskData, now: u64, expires: u64) -> u64 {
    if data.is_terminal() {
        expires
    } else {
        expires.max(now + WORKING_KEEP_MS)
    }
}

fn encode(data: &TaskData) -> Result<String, HandlerError> {
    serde_json::to_string(data).map_err(|e| HandlerError::internal(e.to_string()))
}

/// A task id: 32 random bytes as 64 hex digits (the store accepts no other shape).
fn random_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
