//! The server's [`TaskBook`] over the session store's task records.

use std::sync::Arc;

use async_trait::async_trait;

use crate::server::TaskBook;
use crate::server::tasks::{StoredTask, TaskBookError};
use crate::store::{SessionStore, StoreError, TaskId, TaskRecord};

/// Tasks kept by a [`SessionStore`] that keeps tasks ([`SessionStore::tasks`]).
pub(crate) struct StoreTaskBook(pub Arc<dyn SessionStore>);

fn book_error(e: StoreError) -> TaskBookError {
    match e {
        StoreError::TooLarge { limit, .. } => TaskBookError::TooLarge { limit },
        StoreError::Full(message) => TaskBookError::Full(message),
        other => {
            tracing::warn!(error = %other, "task store operation failed");
            TaskBookError::Unavailable
        }
    }
}

impl StoreTaskBook {
    fn store(&self) -> Result<&dyn crate::store::TaskStore, TaskBookError> {
        self.0.tasks().ok_or(TaskBookError::Unavailable)
    }
}

fn record(task: &StoredTask) -> Result<TaskRecord, TaskBookError> {
    Ok(TaskRecord {
        id: TaskId::parse(&task.id).ok_or(TaskBookError::Unavailable)?,
        owner: task.owner.clone(),
        version: task.version,
        expires_at_ms: task.expires_at_ms,
        data: task.data.clone(),
    })
}

#[async_trait]
impl TaskBook for StoreTaskBook {
    async fn create(&self, task: &StoredTask) -> Result<(), TaskBookError> {
        self.store()?
            .create_task(&record(task)?)
            .await
            .map_err(book_error)
    }

    async fn load(&self, id: &str) -> Result<Option<StoredTask>, TaskBookError> {
        // A malformed id names no task: no store read.
        let Some(id) = TaskId::parse(id) else {
            return Ok(None);
        };
        let found = self.store()?.load_task(&id).await.map_err(book_error)?;
        Ok(found.map(|r| StoredTask {
            id: r.id.as_str().to_owned(),
            owner: r.owner,
            version: r.version,
            expires_at_ms: r.expires_at_ms,
            data: r.data,
        }))
    }

    async fn replace(&self, task: &StoredTask) -> Result<bool, TaskBookError> {
        self.store()?
            .replace_task(&record(task)?)
            .await
            .map_err(book_error)
    }

    async fn check_room(&self, owner: &str) -> Result<(), TaskBookError> {
        let held = self.store()?.list_tasks(owner).await.map_err(book_error)?;
        if held.len() >= crate::store::MAX_TASKS_PER_OWNER {
            return Err(book_error(crate::store::tasks::owner_full()));
        }
        Ok(())
    }

    async fn list(&self, owner: &str) -> Result<Vec<String>, TaskBookError> {
        let ids = self.store()?.list_tasks(owner).await.map_err(book_error)?;
        Ok(ids.into_iter().map(|id| id.as_str().to_owned()).collect())
    }
}
