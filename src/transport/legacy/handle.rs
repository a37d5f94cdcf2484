//! Serving the messages of one legacy POST.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::exchange::{Answer, LegacyExchange, is_our_request_id};
use super::initialize::initialize;
use super::session;
use super::stored_session::StoredSession;
use crate::protocol::message::{self, Incoming};
use crate::protocol::shape::shape_result;
use crate::protocol::version::{self, Era};
use crate::server::{ContextParts, HandlerError, LogLevel, RequestContext};
use crate::store::{
    SessionId, SessionRecord, SessionStore, SessionUpdate, StoreError, Topic, unix_now_ms,
};
use crate::transport::McpService;
use crate::transport::http_error::HttpError;
use crate::transport::lease::{CLOCK_SKEW, millis};
use crate::transport::response;
use crate::transport::tail::Tail;
use crate::transport::wind_down::wind_down;

/// The key under which a `notifications/cancelled` for request `id` is recorded.
pub(crate) fn cancel_key(id: &Value) -> String {
    format!("cancel:{}", message::id_key(id))
}

/// Serves a legacy POST: `initialize`, or one message or a 2025-03-26 batch of a session.
pub async fn handle(service: &McpService, headers: &HeaderMap, body: Value) -> Response {
    if let Value::Object(object) = &body
        && object.get("method").and_then(Value::as_str) == Some("initialize")
    {
        return match Incoming::classify(body) {
            Ok(Incoming::Request { id, params, .. }) => initialize(service, id, params).await,
            Ok(_) => HttpError::bad_request("Invalid Request: initialize must be a request")
                .into_response(),
            Err(e) => HttpError::bad_request(format!("Invalid Request: {}", e.reason))
                .with_id(e.id)
                .into_response(),
        };
    }
    let record = match session::load(service, headers).await {
        Ok(record) => record,
        Err(e) => return e.into_response(),
    };
    let (batch, values) = match body {
        Value::Array(items) => {
            if !version::allows_batches(&record.protocol_version) {
                return HttpError::bad_request(format!(
                    "Invalid Request: batches are not part of protocol version {}",
                    record.protocol_version
                ))
                .into_response();
            }
            if items.is_empty() {
                return HttpError::bad_request("Invalid Request: empty batch").into_response();
            }
            (true, items)
        }
        single => (false, vec![single]),
    };

    let mut requests = Vec::new();
    let mut immediate = Vec::new();
    for value in values {
        match Incoming::classify(value) {
            Ok(Incoming::Request { id, method, .. }) if method == "initialize" => {
                immediate.push(message::error_response(
                    &id,
                    &rmcp::model::ErrorData::invalid_request(
                        "initialize must be sent alone, without a session",
                        None,
                    ),
                ));
            }
            Ok(Incoming::Request { id, method, params }) => requests.push((id, method, params)),
            Ok(Incoming::Notification { method, params }) => {
                accept_notification(service, &record, &method, params.as_ref()).await;
            }
            Ok(Incoming::Response { id, .. })
                if !is_our_request_id(service.server.state_codec(), &record.id, &id) =>
            {
                tracing::debug!("dropped a response that answers no request of this server");
            }
            Ok(Incoming::Response { id, raw }) => {
                if let Err(e) = service
                    .store
                    .put_reply(&record.id, &message::id_key(&id), &raw.to_string())
                    .await
                {
                    return HttpError::store(e).into_response();
                }
            }
            Err(invalid) if batch => immediate.push(json!({
                "jsonrpc": "2.0",
                "id": invalid.id.unwrap_or(Value::Null),
                "error": rmcp::model::ErrorData::invalid_request(invalid.reason, None),
            })),
            Err(invalid) => {
                return HttpError::bad_request(format!("Invalid Request: {}", invalid.reason))
                    .with_id(invalid.id)
                    .into_response();
            }
        }
    }
    if requests.is_empty() && immediate.is_empty() {
        return response::accepted();
    }
    if requests.is_empty() {
        return response::json(StatusCode::OK, &Value::Array(immediate));
    }
    run_requests(service, record, requests, immediate, batch).await
}

/// Dispatches the requests of a POST concurrently; answers JSON or SSE.
async fn run_requests(
    service: &McpService,
    record: SessionRecord,
    requests: Vec<(Value, String, Option<Value>)>,
    immediate: Vec<Value>,
    batch: bool,
) -> Response {
    let cancel = CancellationToken::new();
    let (exchange, answer) = LegacyExchange::new(
        service.store.clone(),
        record.id.clone(),
        service.server.state_codec().clone(),
        requests.iter().map(|(id, _, _)| id.clone()).collect(),
        &service.config,
        cancel.clone(),
    );
    let exchange = Arc::new(exchange);
    let disconnect = exchange.disconnect_signal();
    for (id, method, params) in requests {
        let task = RequestTask {
            service: service.clone(),
            record: record.clone(),
            exchange: exchange.clone(),
            cancel: cancel.child_token(),
        };
        tokio::spawn(task.run(id, method, params));
    }
    match answer.await {
        Ok(Answer::Json(mut responses)) => {
            responses.extend(immediate);
            if responses.is_empty() {
                // Every request was cancelled: no response is owed (and `null` or `[]` is
                // not a JSON-RPC message), so the POST ends as an accepted notification does.
                return response::accepted();
            }
            if batch {
                response::json(StatusCode::OK, &Value::Array(responses))
            } else {
                let single = responses.pop().unwrap_or(Value::Null);
                response::json(StatusCode::OK, &single)
            }
        }
        Ok(Answer::Stream(key)) => {
            for early in immediate {
                let _ = service
                    .store
                    .append_event(&key, crate::store::StoredEvent::message(early.to_string()))
                    .await;
            }
            response::sse(
                Tail::opening(service, key, 0)
                    .with_disconnect(disconnect)
                    .into_body(),
            )
        }
        Err(_) => HttpError::internal("the request ended without an answer").into_response(),
    }
}

/// One request of a legacy POST, run on its own task so a disconnect does not cancel it.
struct RequestTask {
    service: McpService,
    record: SessionRecord,
    exchange: Arc<LegacyExchange>,
    cancel: CancellationToken,
}

impl RequestTask {
    async fn run(self, id: Value, method: String, params: Option<Value>) {
        let started_ms = unix_now_ms();
        let progress_token = message::params_meta(params.as_ref())
            .and_then(|m| m.get("progressToken"))
            .cloned();
        // Until the client sets a level, it receives every message.
        let log_level = Some(
            self.record
                .log_level
                .as_deref()
                .and_then(|l| l.parse().ok())
                .unwrap_or(LogLevel::Debug),
        );
        let ctx = RequestContext::new(ContextParts {
            era: Era::Legacy,
            protocol_version: self.record.protocol_version.clone(),
            client_capabilities: self.record.client_capabilities.clone(),
            progress_token,
            log_level,
            input_responses: Default::default(),
            request_state: None,
            outbox: self.exchange.clone(),
            session: Some(Arc::new(StoredSession {
                id: self.record.id.clone(),
                store: self.service.store.clone(),
            })),
            cancel: self.cancel.clone(),
            task_owner: format!("session:{}", self.record.id),
        });
        let server = &self.service.server;
        let marked = AtomicBool::new(false);
        let cancelled = async {
            tokio::select! {
                () = self.cancelled_by_client(&id, started_ms, &marked) => {}
                // The POST's stream was lost to a reader: nobody will read the answer.
                () = self.cancel.cancelled() => {}
            }
            // Tells the handler (the context's token) to stop what it started.
            self.cancel.cancel();
        };
        let dispatch = server.dispatch(&ctx, &method, params);
        let outcome = wind_down(dispatch, cancelled).await;
        self.forget_cancellation(&id, marked.load(Ordering::Relaxed))
            .await;
        let response = match outcome {
            Ok(result) => Some(message::response(
                &id,
                shape_result(
                    Era::Legacy,
                    &method,
                    result,
                    server.info(),
                    server.cache_hints(),
                ),
            )),
            Err(HandlerError::Rpc(error)) => Some(message::error_response(&id, &error)),
            Err(HandlerError::InputRequired) => Some(message::error_response(
                &id,
                &rmcp::model::ErrorData::internal_error(
                    "input_required results are not part of legacy protocol versions",
                    None,
                ),
            )),
            Err(HandlerError::Cancelled) => None,
        };
        self.exchange.finish(response).await;
    }

    /// Resolves when the client cancels request `id` with `notifications/cancelled`, which may
    /// have been posted to any instance; sets `marked` once it has seen a cancellation mark
    /// for the id, whether it applies or not.
    ///
    /// Cancellations are rare and most requests are short, so on a polling store this reads
    /// once after [`FIRST_CANCEL_CHECK`] and then every [`CANCEL_CHECK_EVERY`], not at the
    /// store's stream-polling rate; an in-process store wakes it at once.
    ///
    /// Only a cancellation recorded after this request began counts (less [`CLOCK_SKEW`]
    /// between instances): one for an id that was not in flight when it came must not cancel
    /// a later request that reuses the id. An older mark is not the end of it: a cancellation
    /// of this request replaces it ([`record_cancellation`]), so the watch goes on.
    async fn cancelled_by_client(&self, id: &Value, started_ms: u64, marked: &AtomicBool) {
        let key = cancel_key(id);
        let topic = Topic::Reply {
            session: self.record.id.clone(),
            key: key.clone(),
        };
        let store = &self.service.store;
        let polling = store.poll_interval();
        if polling.is_some() {
            tokio::time::sleep(FIRST_CANCEL_CHECK).await;
        }
        loop {
            let changed = store.subscribe(&topic);
            match store.get_reply(&self.record.id, &key).await {
                Ok(Some(at)) => {
                    marked.store(true, Ordering::Relaxed);
                    if cancel_applies(&at, started_ms) {
                        self.cancel.cancel();
                        return;
                    }
                }
                Ok(None) => {}
                Err(_) => std::future::pending::<()>().await,
            }
            match polling {
                None => changed.await,
                Some(interval) => tokio::time::sleep(interval.max(CANCEL_CHECK_EVERY)).await,
            }
        }
    }

    /// Removes the cancellation mark of request `id` as the request ends, so that a request
    /// reusing the id once this one is answered is served, not cancelled by a mark meant for
    /// this one. On an in-process store that costs nothing and is always done; on a polling
    /// store only when the request saw a mark (`marked`), so that requests nobody cancels
    /// cost no write.
    async fn forget_cancellation(&self, id: &Value, marked: bool) {
        let store = &self.service.store;
        if !marked && store.poll_interval().is_some() {
            return;
        }
        if let Err(e) = store.remove_reply(&self.record.id, &cancel_key(id)).await {
            tracing::warn!(error = %e, "could not remove a request's cancellation mark");
        }
    }
}

/// Whether a cancellation recorded at `at` (milliseconds since the epoch, as written by
/// [`record_cancellation`]) applies to a request that began at `started_ms`.
fn cancel_applies(at: &str, started_ms: u64) -> bool {
    // A mark without a time was written by an older instance (rolling deploy): it counts.
    at.parse::<u64>().map_or(true, |at| {
        at.saturating_add(millis(CLOCK_SKEW)) >= started_ms
    })
}

/// Records a `notifications/cancelled` for `request_id` as its time, replacing an older mark
/// (left by an earlier request with this id, which ended before seeing it): the latest
/// cancellation is the one a running request is judged by.
async fn record_cancellation(
    store: &dyn SessionStore,
    session: &SessionId,
    request_id: &Value,
) -> Result<(), StoreError> {
    let key = cancel_key(request_id);
    let now = unix_now_ms().to_string();
    if !store.put_reply(session, &key, &now).await? {
        store.remove_reply(session, &key).await?;
        store.put_reply(session, &key, &now).await?;
    }
    Ok(())
}

/// The longest request id a cancellation is recorded for, as JSON.
const MAX_REQUEST_ID_BYTES: usize = 256;

/// Whether `id` can name a request: a string or a number, at most [`MAX_REQUEST_ID_BYTES`].
fn is_plausible_request_id(id: &Value) -> bool {
    (id.is_string() || id.is_number()) && id.to_string().len() <= MAX_REQUEST_ID_BYTES
}

/// When a request first looks for a cancellation on a polling store.
const FIRST_CANCEL_CHECK: Duration = Duration::from_millis(250);
/// How often it looks again.
const CANCEL_CHECK_EVERY: Duration = Duration::from_secs(1);

/// Applies a client notification to the session.
async fn accept_notification(
    service: &McpService,
    record: &SessionRecord,
    method: &str,
    params: Option<&Value>,
) {
    let store = &service.store;
    let result = match method {
        "notifications/initialized" => store
            .update_session(&record.id, SessionUpdate::MarkInitialized)
            .await
            .map(|_| ()),
        "notifications/cancelled" => match params.and_then(|p| p.get("requestId")) {
            // A request id is a string or a number (JSON-RPC); a longer one than any client
            // uses would only make the store keep what a stranger sent.
            Some(request_id) if !is_plausible_request_id(request_id) => Ok(()),
            Some(request_id) => record_cancellation(&**store, &record.id, request_id).await,
            None => Ok(()),
        },
        _ => Ok(()),
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, method, "could not record a notification");
    }
}
