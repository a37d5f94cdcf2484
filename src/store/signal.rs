//! Waking readers when a store changes, without polling inside one process.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::Notify;

use super::records::{SessionId, StreamKey};

/// What a reader waits on: one stream, or one reply of one session.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Topic {
    Stream(StreamKey),
    Reply { session: SessionId, key: String },
}

/// Resolves when the topic it was made for may have changed.
pub type ChangeSignal = Pin<Box<dyn Future<Output = ()> + Send>>;

/// In-process wake-ups keyed by [`Topic`]. Entries live only while someone waits on them.
#[derive(Debug, Default)]
pub(crate) struct Wakeups {
    waiting: Mutex<HashMap<Topic, Weak<Notify>>>,
}

impl Wakeups {
    /// A signal for `topic`; registered at once, so a [`Wakeups::notify`] that happens before
    /// the signal is first polled still wakes it.
    pub fn subscribe(&self, topic: &Topic) -> ChangeSignal {
        let notify = {
            let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
            let existing = waiting.get(topic).and_then(Weak::upgrade);
            existing.unwrap_or_else(|| {
                let fresh = Arc::new(Notify::new());
                waiting.insert(topic.clone(), Arc::downgrade(&fresh));
                // Drop entries nobody waits on any more, at doubling sizes (amortised O(1)).
                if waiting.len() >= 1024 && waiting.len().is_power_of_two() {
                    waiting.retain(|_, weak| weak.strong_count() > 0);
                }
                fresh
            })
        };
        let notified = notify.clone().notified_owned();
        Box::pin(async move {
            // Keep the Notify alive for as long as the signal is.
            let _notify = notify;
            notified.await;
        })
    }

    /// Wakes every signal currently waiting on `topic`.
    pub fn notify(&self, topic: &Topic) {
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(weak) = waiting.get(topic) {
            match weak.upgrade() {
                Some(notify) => notify.notify_waiters(),
                None => {
                    waiting.remove(topic);
                }
            }
        }
    }
}
