//! Task records in process memory (one instance: local runs and tests).

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::super::StoreError;
use super::super::records::unix_now_ms;
use super::{MAX_TASKS_PER_OWNER, TaskId, TaskRecord, TaskStore};

/// The most tasks one memory store keeps: creating one more first drops expired ones; if
/// all are live, it is refused (no owner's live task is dropped for another's).
pub(crate) const MAX_TASKS: usize = 10_000;

/// The largest `data` a memory store keeps, the same as DynamoDB's (so that a task that runs
/// locally also runs on Lambda).
pub(crate) const MAX_TASK_BYTES: usize = crate::store::dynamodb::MAX_ITEM_BYTES - 1_000;

/// Task records in a map: at most 10,000 (`MAX_TASKS`), 100 live per owner
/// ([`MAX_TASKS_PER_OWNER`]), of at most ~400 KB (`MAX_TASK_BYTES`).
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
        let owned = (tasks.values())
            .filter(|t| t.owner == record.owner && t.expires_at_ms > now)
            .count();
        if owned >= MAX_TASKS_PER_OWNER {
            return Err(super::owner_full());
        }
        if tasks.len() >= MAX_TASKS {
            tasks.retain(|_, t| t.expires_at_ms > now);
        }
        if tasks.len() >= MAX_TASKS {
            return Err(StoreError::Full(format!(
                "the server holds {MAX_TASKS} live tasks, the most it keeps; retry later, \
                 or call the tool without a task"
            )));
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

    async fn list_tasks(&self, owner: &str) -> Result<Vec<TaskId>, StoreError> {
        let now = unix_now_ms();
        Ok((self.lock().values())
            .filter(|t| t.owner == owner && t.expires_at_ms > now)
            .map(|t| t.id.clone())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(expires_at_ms: u64, owner: &str) -> TaskRecord {
        TaskRecord {
            id: TaskId::generate(),
            owner: owner.into(),
            version: 1,
            expires_at_ms,
            data: "{}".into(),
        }
    }

    #[tokio::test]
    async fn the_number_of_tasks_is_bounded_without_dropping_live_ones() {
        let store = MemoryTasks::default();
        let soon = unix_now_ms() + 60_000;
        let late = soon + 24 * 3_600_000;
        let first = owned(soon, "first");
        store.create_task(&first).await.unwrap();
        // Many owners (each under its own bound) fill the store with longer-lived tasks.
        for i in 1..MAX_TASKS {
            let owner = format!("o{}", i / MAX_TASKS_PER_OWNER);
            store.create_task(&owned(late, &owner)).await.unwrap();
        }
        assert_eq!(store.lock().len(), MAX_TASKS);
        let refused = store.create_task(&owned(late, "new")).await;
        assert!(matches!(refused, Err(StoreError::Full(_))), "{refused:?}");
        // The task closest to expiry is still there: nobody's live task made room.
        assert!(store.load_task(&first.id).await.unwrap().is_some());
        assert_eq!(store.lock().len(), MAX_TASKS);
    }

    #[tokio::test]
    async fn an_owner_holds_a_bounded_number_of_live_tasks() {
        let store = MemoryTasks::default();
        let far = unix_now_ms() + 60_000;
        for _ in 0..MAX_TASKS_PER_OWNER {
            store.create_task(&owned(far, "greedy")).await.unwrap();
        }
        let refused = store.create_task(&owned(far, "greedy")).await;
        match refused {
            Err(StoreError::Full(message)) => {
                assert!(message.contains("100 live tasks"), "{message}")
            }
            other => panic!("expected Full, got {other:?}"),
        }
        // Others are not affected, and expired tasks do not count.
        store.create_task(&owned(far, "modest")).await.unwrap();
        let store = MemoryTasks::default();
        for _ in 0..MAX_TASKS_PER_OWNER {
            store.create_task(&owned(1, "greedy")).await.unwrap();
        }
        store.create_task(&owned(far, "greedy")).await.unwrap();
    }
}
