//! 2025-11-25 `notifications/tasks/status`, which a receiver MAY send when a task's status
//! changes. A task here changes only when a request polls it (nothing runs between polls),
//! so the news goes out from that request, to where the client is listening:
//!
//! - `tasks/result` holds a stream open while it waits: each change it sees (its own steps,
//!   or another poll's) goes on that stream, before the result.
//! - `tasks/get` answers the new status itself, and should not upgrade to a stream (the
//!   revision: "servers SHOULD NOT upgrade to an SSE stream in response to a tasks/get
//!   request"); a change its step made goes to the session's standalone (GET) stream, only
//!   if the client has opened one and the server keeps one, so a client that only polls
//!   costs no write. One store read to learn that, one write to send it.
//!
//! The notification is the full `Task`, without related-task `_meta` (the revision: it
//! "SHOULD NOT include the io.modelcontextprotocol/related-task metadata"). 2026-07-28 sends
//! none: its `notifications/tasks` travel on the `subscriptions/listen` stream, which this
//! server opens only for list changes.

use super::data::TaskData;
use super::wire;
use crate::protocol::version::Era;
use crate::server::{HandlerError, McpServer, RequestContext};

const STATUS_NOTIFICATION: &str = "notifications/tasks/status";

impl McpServer {
    /// Sends the task's new status on this request's own stream (`tasks/result`).
    pub(super) async fn status_on_stream(
        &self,
        ctx: &RequestContext,
        id: &str,
        data: &TaskData,
    ) -> Result<(), HandlerError> {
        if ctx.era() != Era::Legacy {
            return Ok(());
        }
        ctx.notify(STATUS_NOTIFICATION, wire::legacy_task(id, data))
            .await
    }

    /// Sends the task's new status to the session's standalone stream, if the client has
    /// one open (`tasks/get`). A failure is logged, not answered: the poll's own answer
    /// carries the status anyway.
    pub(super) async fn status_to_listener(&self, ctx: &RequestContext, id: &str, data: &TaskData) {
        let (Era::Legacy, Some(session), true) =
            (ctx.era(), ctx.session(), self.sends_change_notifications())
        else {
            return;
        };
        let params = wire::legacy_task(id, data);
        if let Err(e) = session
            .notify_if_listening(STATUS_NOTIFICATION, params)
            .await
        {
            tracing::warn!(error = %e, "a task status notification was not sent");
        }
    }
}
