//! Turning a usage source's progress into MCP progress notifications and log messages.
//!
//! Sources report synchronously, from wherever they run; notifications are async and may
//! write to the session store. So the sink only queues events, and the tool forwards them
//! while it waits for the source, throttled so a fast source does not flood the client.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::mpsc;

use crate::server::{HandlerError, LogLevel, RequestContext};
use crate::usage::ProgressSink;

/// The least time between two progress notifications of one report (phase changes excepted).
const MIN_INTERVAL: Duration = Duration::from_millis(200);

/// What a source told the sink.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ProgressEvent {
    Phase(String),
    Progress { done: u64, total: Option<u64> },
}

/// A [`ProgressSink`] that queues events for [`Forwarder`].
pub(crate) struct ChannelSink(mpsc::UnboundedSender<ProgressEvent>);

impl ChannelSink {
    pub fn new() -> (Self, mpsc::UnboundedReceiver<ProgressEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self(tx), rx)
    }
}

impl ProgressSink for ChannelSink {
    fn phase(&self, message: &str) {
        let _ = self.0.send(ProgressEvent::Phase(message.to_owned()));
    }

    fn progress(&self, done: u64, total: Option<u64>) {
        let _ = self.0.send(ProgressEvent::Progress { done, total });
    }
}

/// Sends queued events to the client: each phase as an `info` log message and a progress
/// notification; progress within a phase as `phase + fraction` (so the value only grows
/// across phases) with a message saying how far the phase is.
pub(crate) struct Forwarder {
    phases: u32,
    phase: String,
    last_value: f64,
    last_sent: Option<Instant>,
}

impl Forwarder {
    pub fn new() -> Self {
        Self {
            phases: 0,
            phase: String::new(),
            last_value: -1.0,
            last_sent: None,
        }
    }

    pub async fn forward(
        &mut self,
        ctx: &RequestContext,
        event: ProgressEvent,
    ) -> Result<(), HandlerError> {
        match event {
            ProgressEvent::Phase(message) => {
                self.phases += 1;
                self.phase = message;
                ctx.log(LogLevel::Info, Some("bedrock-usage"), json!(self.phase))
                    .await?;
                self.send(ctx, f64::from(self.phases - 1), self.phase.clone(), true)
                    .await
            }
            ProgressEvent::Progress { done, total } => {
                let fraction = total
                    .filter(|t| *t > 0)
                    .map_or(0.0, |t| (done as f64 / t as f64).clamp(0.0, 0.999));
                let base = f64::from(self.phases.saturating_sub(1));
                let message = match total {
                    Some(total) => format!("{} ({done} of {total})", self.phase),
                    None => format!("{} ({done})", self.phase),
                };
                self.send(ctx, base + fraction, message, false).await
            }
        }
    }

    async fn send(
        &mut self,
        ctx: &RequestContext,
        value: f64,
        message: String,
        force: bool,
    ) -> Result<(), HandlerError> {
        let due = force || self.last_sent.is_none_or(|at| at.elapsed() >= MIN_INTERVAL);
        if value <= self.last_value || !due {
            return Ok(());
        }
        self.last_value = value;
        self.last_sent = Some(Instant::now());
        ctx.progress(value, None, Some(&message)).await
    }
}

impl Default for Forwarder {
    fn default() -> Self {
        Self::new()
    }
}
