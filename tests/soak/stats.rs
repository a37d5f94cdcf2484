//! What the soak counted, shared by its virtual clients and printed at the end.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters; each is only ever increased.
#[derive(Debug, Default)]
pub struct Stats {
    /// Sessions initialized.
    pub sessions: AtomicU64,
    /// Sessions ended with DELETE (each then checked to answer 404).
    pub deletes: AtomicU64,
    /// JSON-RPC requests (of both eras) that ended: answered, cancelled, lost or orphaned.
    pub requests: AtomicU64,
    /// Answers received, each with its request's id.
    pub answers: AtomicU64,
    /// Answers that were JSON-RPC errors (allowed for a tool call only when a fault overlapped).
    pub error_answers: AtomicU64,
    /// SSE events with data (JSON-RPC messages) received.
    pub events: AtomicU64,
    /// `GET` with `Last-Event-ID` that resumed a stream.
    pub resumptions: AtomicU64,
    /// Streams the client cut on purpose (then resumed on the other instance).
    pub cuts: AtomicU64,
    /// `notifications/cancelled` sent for calls in flight.
    pub cancels: AtomicU64,
    /// Cancelled calls whose stream ended without an answer.
    pub cancelled_unanswered: AtomicU64,
    /// 2026-07-28 (stateless) calls.
    pub stateless_calls: AtomicU64,
    /// 503 answers (each had `Retry-After`; the client waited and tried again).
    pub unavailable: AtomicU64,
    /// Connection errors on an instance that was being killed (the client went on elsewhere).
    pub connection_errors: AtomicU64,
    /// Requests whose instance died before the client learnt their stream: tried again.
    pub lost_to_kill: AtomicU64,
    /// Calls whose writer died mid-call and whose stream then never ended (see
    /// `ORPHANS_END_WITH_ERROR`).
    pub orphaned: AtomicU64,
    /// Orphaned calls that ended with a JSON-RPC error for their id.
    pub orphans_ended: AtomicU64,
    /// Instance kills (SIGKILL) and restarts.
    pub kills: AtomicU64,
    /// Store pauses (SIGSTOP, then SIGCONT).
    pub pauses: AtomicU64,
}

impl Stats {
    pub fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// One line per counter, for the test's output.
    pub fn summary(&self) -> String {
        let rows: [(&str, &AtomicU64); 18] = [
            ("sessions", &self.sessions),
            ("deletes", &self.deletes),
            ("requests", &self.requests),
            ("answers", &self.answers),
            ("error answers", &self.error_answers),
            ("events", &self.events),
            ("resumptions", &self.resumptions),
            ("cuts", &self.cuts),
            ("cancels", &self.cancels),
            ("cancelled, unanswered", &self.cancelled_unanswered),
            ("stateless calls", &self.stateless_calls),
            ("503s", &self.unavailable),
            ("connection errors", &self.connection_errors),
            ("lost to a kill", &self.lost_to_kill),
            ("orphaned, never answered", &self.orphaned),
            ("orphans ended with an error", &self.orphans_ended),
            ("kills", &self.kills),
            ("pauses", &self.pauses),
        ];
        rows.iter()
            .map(|(name, counter)| format!("  {name:<28} {}\n", Self::get(counter)))
            .collect()
    }
}
