//! The answer channel of one legacy POST, kept in the session store.
//!
//! If every request of the POST finishes before sending anything, the answer is plain JSON and
//! the store is not written. From the first notification or server-to-client request on, the
//! POST becomes an SSE stream whose every event is written to the store *before* it is sent, so
//! a client cut off mid-stream can resume on any instance with `Last-Event-ID`, and an
//! instance that dies loses nothing it had sent. While the handlers run, the stream's lease is
//! renewed, so that readers can tell a dead writer from a quiet one (see `transport::lease`).
//! An exchange whose renewal finds that a reader ended the stream has lost it: its handlers
//! are cancelled and nothing more is stored, as nobody would read it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::sync::{Mutex, Notify, oneshot};
use tokio_util::sync::{CancellationToken, DropGuard};

use super::stored_session::session_error;
use crate::protocol::message;
use crate::server::{HandlerError, Outbox, RequestStateCodec};
use crate::store::{SessionId, SessionStore, StoreError, StoredEvent, StreamId, StreamKey, Topic};
use crate::transport::TransportConfig;
use crate::transport::lease;

/// What the HTTP side learns first.
pub enum Answer {
    /// Every request finished without streaming: the responses, for a JSON body.
    Json(Vec<Value>),
    /// The POST streams: tail this stream of the store.
    Stream(StreamKey),
}

struct State {
    answer: Option<oneshot::Sender<Answer>>,
    stream: Option<StreamKey>,
    outstanding: usize,
    buffered: Vec<Value>,
    /// Renews the stream's lease until dropped (when the last response is stored, or with the
    /// exchange).
    lease: Option<DropGuard>,
}

/// The [`Outbox`] shared by the requests of one legacy POST.
pub(crate) struct LegacyExchange {
    store: Arc<dyn SessionStore>,
    session: SessionId,
    /// Seals the ids of server-to-client requests.
    codec: RequestStateCodec,
    reply_timeout: Duration,
    /// The ids of the POST's requests, kept with the stream's lease.
    request_ids: Vec<Value>,
    stream_lease: Duration,
    /// The parent of every request's cancellation: cancelled when the stream is lost to a
    /// reader (see `lease::keep`), after which the exchange stores nothing more.
    cancel: CancellationToken,
    state: Mutex<State>,
    /// Tells this process's HTTP side to close the POST's connection (not its stream).
    disconnect: Arc<Notify>,
}

impl LegacyExchange {
    /// An exchange awaiting the responses to the requests `request_ids`.
    pub fn new(
        store: Arc<dyn SessionStore>,
        session: SessionId,
        codec: RequestStateCodec,
        request_ids: Vec<Value>,
        timing: &TransportConfig,
        cancel: CancellationToken,
    ) -> (Self, oneshot::Receiver<Answer>) {
        let (tx, rx) = oneshot::channel();
        let exchange = Self {
            store,
            session,
            codec,
            reply_timeout: timing.reply_timeout,
            stream_lease: timing.stream_lease,
            cancel,
            state: Mutex::new(State {
                answer: Some(tx),
                stream: None,
                outstanding: request_ids.len(),
                buffered: Vec::new(),
                lease: None,
            }),
            request_ids,
            disconnect: Arc::new(Notify::new()),
        };
        (exchange, rx)
    }

    /// Records the response of one request (`None` for a cancelled one). The last response
    /// completes the JSON answer or closes the stream.
    pub async fn finish(&self, response: Option<Value>) {
        let mut state = self.state.lock().await;
        state.outstanding = state.outstanding.saturating_sub(1);
        let done = state.outstanding == 0;
        match state.stream.clone() {
            Some(_) if self.lost() => {
                if done {
                    state.lease = None;
                }
            }
            Some(key) => {
                let event = |data: String| {
                    if done {
                        StoredEvent::final_message(data)
                    } else {
                        StoredEvent::message(data)
                    }
                };
                let data = match &response {
                    Some(r) => message::encode(r),
                    None if done => String::new(),
                    None => return,
                };
                match self.store.append_event(&key, event(data)).await {
                    Ok(_) => {}
                    // The answer cannot be stored (over the store's item size): the client gets
                    // an error in its place rather than a stream that never ends.
                    Err(e @ StoreError::TooLarge { .. }) => {
                        let id = response.as_ref().map_or(Value::Null, |r| r["id"].clone());
                        let error = rmcp::model::ErrorData::internal_error(
                            format!("the response could not be delivered: {e}"),
                            None,
                        );
                        let fallback = message::error_response(&id, &error).to_string();
                        if let Err(e) = self.store.append_event(&key, event(fallback)).await {
                            tracing::warn!(error = %e, "could not store an error response");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "could not store a response event"),
                }
                if done {
                    state.lease = None;
                }
            }
            None => {
                state.buffered.extend(response);
                if done {
                    let responses = std::mem::take(&mut state.buffered);
                    if let Some(tx) = state.answer.take() {
                        let _ = tx.send(Answer::Json(responses));
                    }
                }
            }
        }
    }

    /// Fires when a handler asks to close the POST's connection early.
    pub(crate) fn disconnect_signal(&self) -> Arc<Notify> {
        self.disconnect.clone()
    }

    /// Whether the stream was lost to a reader that ended it.
    fn lost(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Stores one message on the POST's stream, opening the stream on first use.
    async fn send(&self, message: Value) -> Result<(), HandlerError> {
        let mut state = self.state.lock().await;
        if self.lost() {
            return Err(HandlerError::Cancelled);
        }
        let key = self.open_stream(&mut state).await?;
        self.store
            .append_event(&key, StoredEvent::message(message::encode(&message)))
            .await
            .map_err(store_failure)?;
        Ok(())
    }

    /// The POST's stream, opened (priming event stored, HTTP side told) on first use.
    async fn open_stream(&self, state: &mut State) -> Result<StreamKey, HandlerError> {
        let key = match &state.stream {
            Some(key) => key.clone(),
            None => {
                let key = StreamKey::new(self.session.clone(), StreamId::generate());
                let lease = lease::new_lease(self.stream_lease, &self.request_ids);
                self.store
                    .open_stream(&key, &lease)
                    .await
                    .map_err(store_failure)?;
                state.lease = Some(lease::keep(
                    self.store.clone(),
                    key.clone(),
                    self.stream_lease,
                    self.cancel.clone(),
                ));
                state.stream = Some(key.clone());
                if let Some(tx) = state.answer.take() {
                    let _ = tx.send(Answer::Stream(key.clone()));
                }
                key
            }
        };
        Ok(key)
    }

    /// Waits for the client's reply to server-to-client request `id`, however it arrives.
    async fn await_reply(&self, id: &str) -> Result<Value, HandlerError> {
        let key = message::id_key(&json!(id));
        let topic = Topic::Reply {
            session: self.session.clone(),
            key: key.clone(),
        };
        let deadline = tokio::time::Instant::now() + self.reply_timeout;
        loop {
            let changed = self.store.subscribe(&topic);
            if let Some(raw) = self
                .store
                .get_reply(&self.session, &key)
                .await
                .map_err(store_failure)?
            {
                return reply_outcome(&raw);
            }
            tokio::select! {
                () = changed => {}
                () = self.cancel.cancelled() => return Err(HandlerError::Cancelled),
                () = tokio::time::sleep_until(deadline) => {
                    return Err(HandlerError::internal(format!(
                        "the client did not answer request {id} within {:?}",
                        self.reply_timeout
                    )));
                }
            }
        }
    }
}

#[async_trait]
impl Outbox for LegacyExchange {
    async fn notify(&self, method: &str, params: Value) -> Result<(), HandlerError> {
        self.send(message::notification(method, params)).await
    }

    async fn request(&self, method: &str, params: Value) -> Result<Value, HandlerError> {
        let id = new_request_id(&self.codec, &self.session);
        self.send(message::request(&id, method, params)).await?;
        self.await_reply(&id).await
    }

    async fn close_connection(&self) -> Result<(), HandlerError> {
        let mut state = self.state.lock().await;
        self.open_stream(&mut state).await?;
        self.disconnect.notify_one();
        Ok(())
    }
}

/// What sealed server-to-client request ids are bound to, apart from their session (the
/// codec's other uses bind a method name: this keeps the two from opening each other's seals).
const REQUEST_ID_PURPOSE: &str = "server-to-client request id";

/// A unique id for a server-to-client request of `session`, sealed so that any instance
/// sharing the key can tell, without a store read, that this server made it (see
/// [`is_our_request_id`]).
///
/// Sealed without expiry, unlike `requestState` (`STATE_TTL_SECS`), on purpose: expiry would
/// bound nothing more. The seal is bound to one session, and a reply is only accepted in a
/// POST of that live session; an id exists only for a request this server made; and the store
/// keeps the first reply per id (`put_reply`: a replay is a duplicate, not a second copy). So
/// however late or often a client answers, the session holds at most one reply per request
/// the server sent, within the store's reply bounds (memory: `MAX_REPLIES_PER_SESSION`;
/// DynamoDB: replies expire a day after their session). A reply after `reply_timeout` is
/// such a reply: stored once, read by nobody, gone with its session.
fn new_request_id(codec: &RequestStateCodec, session: &SessionId) -> String {
    let nonce = json!(StreamId::generate().as_str());
    format!(
        "srv-{}",
        codec.seal(REQUEST_ID_PURPOSE, session.as_str(), &nonce)
    )
}

/// Whether `id` names a server-to-client request this server made in `session`. A client's
/// response with any other id answers nothing and is dropped rather than kept: otherwise a
/// client could make the store hold whatever it posts for the session's lifetime.
pub(crate) fn is_our_request_id(
    codec: &RequestStateCodec,
    session: &SessionId,
    id: &Value,
) -> bool {
    id.as_str()
        .and_then(|id| id.strip_prefix("srv-"))
        .is_some_and(|sealed| {
            codec
                .open(REQUEST_ID_PURPOSE, session.as_str(), sealed)
                .is_ok()
        })
}

/// The client's reply: its `result`, or its `error` passed on to the handler.
fn reply_outcome(raw: &str) -> Result<Value, HandlerError> {
    let reply: Value = serde_json::from_str(raw)
        .map_err(|_| HandlerError::internal("the client's reply was not JSON"))?;
    if let Some(result) = reply.get("result") {
        return Ok(result.clone());
    }
    let error = reply
        .get("error")
        .and_then(|e| serde_json::from_value(e.clone()).ok())
        .unwrap_or_else(|| {
            rmcp::model::ErrorData::internal_error("the client's reply had no result", None)
        });
    Err(HandlerError::Rpc(error))
}

/// A store failure while answering: an ended session means nobody is listening any more.
fn store_failure(e: StoreError) -> HandlerError {
    match e {
        StoreError::SessionNotFound => HandlerError::Cancelled,
        other => session_error(other).into(),
    }
}
