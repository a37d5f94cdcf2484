//! What a handler knows about the request it serves, and how it talks back to the client.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use super::error::HandlerError;
use super::log_level::LogLevel;
use super::session::Session;
use crate::protocol::version::Era;

/// Where a handler's messages to the client go. The transport supplies one per request: a
/// resumable SSE stream of the session (legacy era) or the HTTP response (modern era).
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Sends a notification about this request (progress, log message).
    async fn notify(&self, method: &str, params: Value) -> Result<(), HandlerError>;

    /// Sends a server-to-client request and waits for the client's result. Only the legacy
    /// era has these; the modern era asks through `input_required` results instead.
    async fn request(&self, method: &str, params: Value) -> Result<Value, HandlerError>;

    /// Closes the connection that carries this request's stream without ending the stream
    /// (2025-11-25 SSE polling): the client reconnects with `Last-Event-ID` and the rest of
    /// the stream is replayed. Does nothing where streams are not resumable.
    async fn close_connection(&self) -> Result<(), HandlerError> {
        Ok(())
    }
}

/// Everything a handler may know about its request.
pub struct RequestContext {
    era: Era,
    protocol_version: String,
    client_capabilities: Value,
    progress_token: Option<Value>,
    log_level: Option<LogLevel>,
    input_responses: Map<String, Value>,
    request_state: Option<Value>,
    pending_inputs: Mutex<Map<String, Value>>,
    next_state: Mutex<Option<Value>>,
    outbox: Arc<dyn Outbox>,
    session: Option<Arc<dyn Session>>,
    cancel: CancellationToken,
    task_owner: String,
}

/// The parts of a [`RequestContext`] that the transport fills in.
pub(crate) struct ContextParts {
    pub era: Era,
    pub protocol_version: String,
    pub client_capabilities: Value,
    pub progress_token: Option<Value>,
    /// The least severe level the client wants; `None` sends no log messages.
    pub log_level: Option<LogLevel>,
    /// 2026-07-28: the client's answers to earlier `input_required` results.
    pub input_responses: Map<String, Value>,
    /// 2026-07-28: the verified `requestState` the client echoed back.
    pub request_state: Option<Value>,
    pub outbox: Arc<dyn Outbox>,
    /// The legacy session the request belongs to; `None` in the modern era.
    pub session: Option<Arc<dyn Session>>,
    pub cancel: CancellationToken,
    /// Whose tasks this request may see and creates: its legacy session, or its principal.
    pub task_owner: String,
}

impl RequestContext {
    pub(crate) fn new(parts: ContextParts) -> Self {
        Self {
            era: parts.era,
            protocol_version: parts.protocol_version,
            client_capabilities: parts.client_capabilities,
            progress_token: parts.progress_token,
            log_level: parts.log_level,
            input_responses: parts.input_responses,
            request_state: parts.request_state,
            pending_inputs: Mutex::new(Map::new()),
            next_state: Mutex::new(None),
            outbox: parts.outbox,
            session: parts.session,
            cancel: parts.cancel,
            task_owner: parts.task_owner,
        }
    }

    pub fn era(&self) -> Era {
        self.era
    }

    pub fn protocol_version(&self) -> &str {
        &self.protocol_version
    }

    /// The client's capabilities: from `initialize` (legacy) or this request's `_meta` (modern).
    pub fn client_capabilities(&self) -> &Value {
        &self.client_capabilities
    }

    /// Whether the client declared a capability, e.g. `"sampling"` or `"elicitation"`.
    pub fn client_supports(&self, capability: &str) -> bool {
        self.client_capabilities
            .get(capability)
            .is_some_and(|v| !v.is_null())
    }

    /// The legacy session the request belongs to; `None` in the modern era.
    pub fn session(&self) -> Option<&dyn Session> {
        self.session.as_deref()
    }

    /// Whose tasks this request may see: its legacy session, or its principal.
    pub fn task_owner(&self) -> &str {
        &self.task_owner
    }

    pub fn cancellation(&self) -> &CancellationToken {
        &self.cancel
    }

    /// The request's progress token, if the client wants progress.
    pub fn progress_token(&self) -> Option<&Value> {
        self.progress_token.as_ref()
    }

    /// Reports progress, if the client asked for it with a progress token.
    pub async fn progress(
        &self,
        progress: f64,
        total: Option<f64>,
        message: Option<&str>,
    ) -> Result<(), HandlerError> {
        let Some(token) = &self.progress_token else {
            return Ok(());
        };
        let mut params = json!({ "progressToken": token, "progress": progress });
        if let Some(total) = total {
            params["total"] = json!(total);
        }
        if let Some(message) = message {
            params["message"] = json!(message);
        }
        self.outbox.notify("notifications/progress", params).await
    }

    /// Sends a log message if the client wants messages of this level.
    pub async fn log(
        &self,
        level: LogLevel,
        logger: Option<&str>,
        data: Value,
    ) -> Result<(), HandlerError> {
        if self.log_level.is_none_or(|min| level < min) {
            return Ok(());
        }
        let mut params = json!({ "level": level.as_str(), "data": data });
        if let Some(logger) = logger {
            params["logger"] = json!(logger);
        }
        self.outbox.notify("notifications/message", params).await
    }

    /// Sends any notification about this request.
    pub async fn notify(&self, method: &str, params: Value) -> Result<(), HandlerError> {
        self.outbox.notify(method, params).await
    }

    /// Ends the current connection of this request's SSE stream early; see
    /// [`Outbox::close_connection`].
    pub async fn close_connection(&self) -> Result<(), HandlerError> {
        self.outbox.close_connection().await
    }

    /// Asks the client for input (`request` is `{"method": ..., "params": ...}` of a sampling,
    /// elicitation or roots request) and returns the client's result.
    ///
    /// Legacy era: a server-to-client request over the request's SSE stream. Modern era: the
    /// answer from this request's `inputResponses` under `key`; if there is none yet, the input
    /// is recorded and [`HandlerError::InputRequired`] returned, which the handler passes up
    /// with `?` so the client gets an `input_required` result and retries with the answer.
    pub async fn input(&self, key: &str, request: Value) -> Result<Value, HandlerError> {
        self.check_input_capability(&request)?;
        match self.era {
            Era::Legacy => {
                let method = request["method"].as_str().unwrap_or_default().to_owned();
                let params = request.get("params").cloned().unwrap_or_else(|| json!({}));
                self.outbox.request(&method, params).await
            }
            Era::Modern => match self.input_responses.get(key) {
                Some(response) => {
                    check_input_response(key, &request, response)?;
                    Ok(response.clone())
                }
                None => {
                    self.lock_pending().insert(key.to_owned(), request);
                    Err(HandlerError::InputRequired)
                }
            },
        }
    }

    /// Asks for several inputs at once. In the modern era all missing ones go to the client in
    /// one `input_required` result.
    pub async fn inputs(&self, requests: Vec<(&str, Value)>) -> Result<Vec<Value>, HandlerError> {
        if self.era == Era::Modern {
            let mut missing = false;
            for (key, request) in &requests {
                self.check_input_capability(request)?;
                if !self.input_responses.contains_key(*key) {
                    self.lock_pending()
                        .insert((*key).to_owned(), request.clone());
                    missing = true;
                }
            }
            if missing {
                return Err(HandlerError::InputRequired);
            }
            for (key, request) in &requests {
                if let Some(response) = self.input_responses.get(*key) {
                    check_input_response(key, request, response)?;
                }
            }
        }
        let mut answers = Vec::with_capacity(requests.len());
        for (key, request) in requests {
            answers.push(self.input(key, request).await?);
        }
        Ok(answers)
    }

    /// The verified state a handler attached to its previous `input_required` result.
    pub fn request_state(&self) -> Option<&Value> {
        self.request_state.as_ref()
    }

    /// State to carry into the next round if this handler ends with `input_required`. The
    /// transport seals it (HMAC) so the client cannot alter it.
    pub fn set_request_state(&self, state: Value) {
        *self.next_state.lock().unwrap_or_else(|e| e.into_inner()) = Some(state);
    }

    /// Input requests recorded by this round; the dispatcher turns them into `inputRequests`.
    pub(crate) fn take_pending_inputs(&self) -> Map<String, Value> {
        std::mem::take(&mut *self.lock_pending())
    }

    /// State set by [`RequestContext::set_request_state`] in this round.
    pub(crate) fn take_next_state(&self) -> Option<Value> {
        self.next_state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    fn lock_pending(&self) -> std::sync::MutexGuard<'_, Map<String, Value>> {
        self.pending_inputs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// A server must not ask for what the client cannot do.
    fn check_input_capability(&self, request: &Value) -> Result<(), HandlerError> {
        let needed = match request["method"].as_str() {
            Some("sampling/createMessage") => "sampling",
            Some("elicitation/create") => "elicitation",
            Some("roots/list") => "roots",
            _ => return Err(HandlerError::internal("unsupported input request")),
        };
        if self.client_supports(needed) {
            Ok(())
        } else {
            Err(HandlerError::missing_capability(json!({ needed: {} })))
        }
    }
}

/// A client's answer must have the shape of the result its request asks for: an elicitation
/// result names an `action`, a sampling result has `role` and `content`, a roots result
/// lists `roots`. Anything else is -32602, not silently taken for an answer.
fn check_input_response(key: &str, request: &Value, response: &Value) -> Result<(), HandlerError> {
    let valid = match request["method"].as_str() {
        Some("elicitation/create") => response.get("action").is_some_and(Value::is_string),
        Some("sampling/createMessage") => {
            response.get("role").is_some_and(Value::is_string) && response.get("content").is_some()
        }
        Some("roots/list") => response.get("roots").is_some_and(Value::is_array),
        _ => false,
    };
    if valid {
        Ok(())
    } else {
        Err(HandlerError::invalid_params(format!(
            "inputResponses.{key} is not a valid result for {}",
            request["method"].as_str().unwrap_or("the input request")
        )))
    }
}
