//! Where tasks are kept, as the server layer sees it: the transport implements [`TaskBook`]
//! over its session store, so handlers never see the store.

use async_trait::async_trait;

/// One task record: its owner, its version and its state as JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTask {
    pub id: String,
    /// Whom the task belongs to: a legacy session, or a principal (or everyone, without
    /// authorization) in the modern era. Requests of anyone else find no task.
    pub owner: String,
    /// 1 when created, one more per step stored.
    pub version: u64,
    /// Milliseconds since the Unix epoch after which the task is gone.
    pub expires_at_ms: u64,
    pub data: String,
}

/// Why the task book failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskBookError {
    /// The task's state is larger than the book holds.
    #[error("the task's state exceeds the store's limit of {limit} bytes")]
    TooLarge { limit: usize },
    /// The book holds as many tasks as it keeps for this owner (or at all); the text says
    /// which, for the client.
    #[error("{0}")]
    Full(String),
    /// The backend failed.
    #[error("the task store is unavailable; retry later")]
    Unavailable,
}

/// Task records, by id.
#[async_trait]
pub trait TaskBook: Send + Sync {
    /// Stores a new task (ids are random: a clash is a failure).
    async fn create(&self, task: &StoredTask) -> Result<(), TaskBookError>;
    /// The live task `id`, or `None` if it is unknown, malformed or expired.
    async fn load(&self, id: &str) -> Result<Option<StoredTask>, TaskBookError>;
    /// Stores `task` if the stored version is `task.version - 1`; `false` if another writer
    /// stored that version first (or the task expired).
    async fn replace(&self, task: &StoredTask) -> Result<bool, TaskBookError>;
    /// The ids of `owner`'s live tasks (at most the store's per-owner bound), in no
    /// particular order; an id may name a task that has gone since.
    async fn list(&self, owner: &str) -> Result<Vec<String>, TaskBookError>;
    /// `Ok` if `owner` holds fewer live tasks than the book keeps for one owner, else
    /// [`TaskBookError::Full`]: asked before a task's first step runs, so that a creation
    /// the store would refuse does no work. [`TaskBook::create`] still enforces the bound.
    async fn check_room(&self, owner: &str) -> Result<(), TaskBookError>;
}
