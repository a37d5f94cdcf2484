//! 2025-11-25 `tasks/list`: the caller's tasks, a page at a time.
//!
//! The owner's task ids come from the store's per-owner index (on DynamoDB the `TO#<owner>`
//! item: one read, no scan), at most `MAX_TASKS_PER_OWNER` of them. They are listed in
//! task-id order, so a page boundary stays put while tasks come and go: the cursor is the
//! last id of the page before, and the next page starts after it. Each listed task is read
//! (a page's reads run together) and shown as last stored: listing runs no task's step,
//! `tasks/get` does.

use futures_util::future::join_all;
use serde_json::{Value, json};

use super::data::TaskData;
use super::wire;
use crate::server::{HandlerError, McpServer, RequestContext};

/// The most tasks one `tasks/list` page shows. Small because each is one read of a record
/// that may hold a finished result of up to ~400 KB.
pub(crate) const TASKS_PAGE_SIZE: usize = 10;

/// A cursor is the last task id of the previous page (64 hex digits); anything else is not
/// one of ours: -32602, as the revision says for an invalid cursor.
fn cursor(params: Option<&Value>) -> Result<Option<String>, HandlerError> {
    let invalid = || HandlerError::invalid_params("Invalid params: unknown cursor");
    match params.and_then(|p| p.get("cursor")) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(c))
            if c.len() == 64
                && c.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) =>
        {
            Ok(Some(c.clone()))
        }
        Some(_) => Err(invalid()),
    }
}

impl McpServer {
    pub(super) async fn list_tasks(
        &self,
        ctx: &RequestContext,
        params: Option<&Value>,
    ) -> Result<Value, HandlerError> {
        let after = cursor(params)?;
        let book = self.book()?;
        let mut ids = book.list(ctx.task_owner()).await?;
        ids.sort_unstable();
        ids.dedup();
        let rest: Vec<String> = (ids.into_iter())
            .filter(|id| after.as_ref().is_none_or(|after| id > after))
            .collect();
        let page = &rest[..rest.len().min(TASKS_PAGE_SIZE)];
        let loaded = join_all(page.iter().map(|id| book.load(id))).await;
        let mut tasks = Vec::with_capacity(page.len());
        for found in loaded {
            // Gone since (expired, or a creation that failed), or not the caller's: skipped.
            let Some(stored) = found?.filter(|t| t.owner == ctx.task_owner()) else {
                continue;
            };
            let data: TaskData = serde_json::from_str(&stored.data)
                .map_err(|e| HandlerError::internal(format!("unreadable task record: {e}")))?;
            tasks.push(wire::legacy_task(&stored.id, &data));
        }
        let mut result = json!({ "tasks": tasks });
        if rest.len() > page.len()
            && let Some(last) = page.last()
        {
            result["nextCursor"] = json!(last);
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_task_id_shaped_cursors_are_accepted() {
        let id = "ab".repeat(32);
        assert_eq!(
            cursor(Some(&json!({ "cursor": id }))).ok(),
            Some(Some(id.clone()))
        );
        assert_eq!(cursor(None).ok(), Some(None));
        assert_eq!(cursor(Some(&json!({}))).ok(), Some(None));
        for bad in [
            json!("x"),
            json!(3),
            json!("AB".repeat(32)),
            json!(format!("{id}0")),
        ] {
            assert!(cursor(Some(&json!({ "cursor": bad }))).is_err(), "{bad}");
        }
    }
}
