//! Task records in process memory (one instance: local runs and tests).

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::super::StoreError;
use super::super::records::unix_now_ms;
use super::{TaskId, TaskRecord, TaskStore};

/// The most tasks one memory store keeps: creating one more first drops expired ones, then
/// the one closest to expiry. A flood of task creations thus costs old tasks, not memory.
pub(crate) const MAX_TASKS: usize = 10_000;

/// The largest `data` a memory store keeps, the same as DynamoDB's (so that a task that runs
/// locally also runs on Lambda).
pub(crate) const MAX_TASK_BYTES: usize = crate::store::dynamodb::MAX_ITEM_BYTES - 1_000;

/// Task records in a map: at most 10,000 (`MAX_TASKS`) of at most ~400 KB (`MAX_TASK_BYTES`).
#[derive(Debug, Default)]
pub struct MemoryTasks {
    tasks: Mutex<HashMap<TaskId, TaskRecord>>,
}

impl MemoryTasks {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TaskId, TaskRecord>> {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn check_size(record: &TaskRecord) -> Result<(), StoreError> {
    if record.data.len() > MAX_TASK_BYTES {
        return Err(StoreError::TooLarge {
            size: record.data.len(),
            limit: MAX_TASK_BYTES,
        });
    }
    Ok(())
}

#[async_trait]
impl TaskStore for MemoryTasks {
    async fn create_task(&self, record: &TaskRecord) -> Result<(), StoreError> {
        check_size(record)?;
        let now = unix_now_ms();
        let mut tasks = self.lock();
        if tasks.get(&record.id).is_some_and(|t| t.expires_at_ms > now) {
            return Err(StoreError::AlreadyExists(format!("task {}", record.id)));
        }
        if tasks.len() >= MAX_TASKS {
            tasks.retain(|_, t| t.expires_at_ms > now);
        }
        if tasks.len() >= MAX_TASKS
            && let Some(oldest) = tasks
                .values()
                .min_by_key(|t| t.expires_at_ms)
                .map(|t| t.id.clone())
        {
            tasks.remove(&oldest);
        }
        tasks.insert(record.id.clone(), record.clone());
        Ok(())
    }

    async fn load_task(&self, id: &TaskId) -> Result<Option<TaskRecord>, StoreError> {
        let now = unix_now_ms();
        Ok(self
            .lock()
            .get(id)
            .filter(|t| t.expires_at_ms > now)
            .cloned())
    }

    async fn replace_task(&self, record: &TaskRecord) -> Result<bool, StoreError> {
        check_size(record)?;
        let now = unix_now_ms();
        let mut tasks = self.lock();
        match tasks.get_mut(&record.id) {
            Some(stored) if stored.expires_at_ms > now && stored.version + 1 == record.version => {
                *stored = record.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(expires_at_ms: u64) -> TaskRecord {
        TaskRecord {
            id: TaskId::generate(),
            owner: "o".into(),
            version: 1,
            expires_at_ms,
            data: "{}".into(),
        }
    }

    #[tokio::test]
    async fn the_number_of_tasks_is_bounded() {
        let store = MemoryTasks::default();
        let far = unix_now_ms() + 60_000;
        let first = record(far);
        store.create_task(&first).await.unwrap();
        for i in 0..MAX_TASKS {
            store
                .create_task(&record(far + 1 + i as u64))
                .await
                .unwrap();
        }
        assert_eq!(store.lock().len(), MAX_TASKS);
        // The one closest to expiry made room.
        assert!(store.load_task(&first.id).await.unwrap().is_none());
    }
}
