//! The answer channel of one modern request: JSON if the handler finishes without sending
//! anything first, SSE from the first notification on. Streams carry no event ids: 2026-07-28
//! streams are not resumable.

use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::protocol::message;
use crate::server::{HandlerError, Outbox};
use crate::transport::sse;

/// What the HTTP side learns first.
pub enum Answer {
    /// The handler finished without a notification: the final message, for a JSON body.
    Json(Value),
    /// The handler sent a notification: SSE frames, the final response last.
    Stream(mpsc::UnboundedReceiver<Bytes>),
}

enum State {
    Pending(oneshot::Sender<Answer>),
    Streaming(mpsc::UnboundedSender<Bytes>),
    Done,
}

/// The [`Outbox`] of a modern request.
pub(crate) struct ModernExchange {
    state: Mutex<State>,
}

impl ModernExchange {
    pub fn new() -> (Self, oneshot::Receiver<Answer>) {
        let (tx, rx) = oneshot::channel();
        (
            Self {
                state: Mutex::new(State::Pending(tx)),
            },
            rx,
        )
    }

    /// Delivers the final message and closes the stream.
    pub fn finish(&self, message: Value) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match std::mem::replace(&mut *state, State::Done) {
            State::Pending(tx) => {
                let _ = tx.send(Answer::Json(message));
            }
            State::Streaming(tx) => {
                let _ = tx.send(sse::anonymous_event(&message::encode(&message)));
            }
            State::Done => {}
        }
    }

    /// Sends a frame, switching to SSE on the first one. Fails once the client has gone.
    fn send(&self, frame: Bytes) -> Result<(), HandlerError> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let State::Pending(_) = &*state {
            let (tx, rx) = mpsc::unbounded_channel();
            if let State::Pending(answer) = std::mem::replace(&mut *state, State::Streaming(tx))
                && answer.send(Answer::Stream(rx)).is_err()
            {
                *state = State::Done;
                return Err(HandlerError::Cancelled);
            }
        }
        match &*state {
            State::Streaming(tx) => tx.send(frame).map_err(|_| HandlerError::Cancelled),
            _ => Err(HandlerError::Cancelled),
        }
    }
}

#[async_trait]
impl Outbox for ModernExchange {
    async fn notify(&self, method: &str, params: Value) -> Result<(), HandlerError> {
        let note = message::notification(method, params);
        self.send(sse::anonymous_event(&message::encode(&note)))
    }

    async fn request(&self, method: &str, _params: Value) -> Result<Value, HandlerError> {
        Err(HandlerError::internal(format!(
            "{method}: 2026-07-28 has no server-to-client requests; use input_required results"
        )))
    }
}
