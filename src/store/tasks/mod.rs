//! Task records: the state of MCP tasks ("call now, fetch later"), kept so that any instance
//! can answer any poll of any task.
//!
//! The store knows nothing of what a task does: a record is an opaque JSON text (`data`) with
//! an owner, a version and an expiry. The server layer reads a record, advances the task and
//! writes the next version back with [`TaskStore::replace_task`], which succeeds only if the
//! stored version is still the one it read. Two polls that race on two instances thus
//! advance a task once: the loser finds its write refused, reads the winner's record and
//! answers from it.

mod memory;

pub use memory::MemoryTasks;

/// The most live tasks one owner (a session, a principal) may hold: creating one more is
/// refused with [`StoreError::Full`] until one expires. A caller thus cannot crowd out
/// other owners' tasks, whatever TTL it asks for.
pub const MAX_TASKS_PER_OWNER: usize = 100;

/// The refusal of a task whose owner already holds [`MAX_TASKS_PER_OWNER`] live ones.
pub(crate) fn owner_full() -> StoreError {
    StoreError::Full(format!(
        "this caller already holds {MAX_TASKS_PER_OWNER} live tasks, the most one may; \
         retry when one expires, or call the tool without a task"
    ))
}

use std::fmt;

use async_trait::async_trait;

use super::StoreError;

/// A task id: 32 random bytes as 64 lowercase hex characters, like a session id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(String);

/// Task ids have the shape of session ids (and are drawn the same way).
impl TaskId {
    /// A fresh, cryptographically random id.
    pub fn generate() -> Self {
        Self(super::SessionId::generate().as_str().to_owned())
    }

    /// Accepts a client-supplied id if it has the shape of ours; anything else names no task.
    pub fn parse(raw: &str) -> Option<Self> {
        super::SessionId::parse(raw).map(|id| Self(id.as_str().to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One task as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRecord {
    pub id: TaskId,
    /// Whom the task belongs to (a legacy session, a principal): only requests of the same
    /// owner may see it. Opaque to the store.
    pub owner: String,
    /// 1 when created, one more on each replacement.
    pub version: u64,
    /// Milliseconds since the Unix epoch after which the task is gone.
    pub expires_at_ms: u64,
    /// The task's state, as JSON text, written and read by the server layer.
    pub data: String,
}

/// Where task records live. Every method touches one task.
#[async_trait]
pub trait TaskStore: Send + Sync + 'static {
    /// Creates a task; [`StoreError::AlreadyExists`] if the id is taken,
    /// [`StoreError::TooLarge`] if `data` is larger than the store holds, and
    /// [`StoreError::Full`] if the owner already holds [`MAX_TASKS_PER_OWNER`] live tasks
    /// (or the store is full).
    async fn create_task(&self, record: &TaskRecord) -> Result<(), StoreError>;

    /// Loads a task (strongly consistent). Expired tasks read as `None`.
    async fn load_task(&self, id: &TaskId) -> Result<Option<TaskRecord>, StoreError>;

    /// Stores `record` if the task is live and its stored version is `record.version - 1`;
    /// returns whether it was stored. `false` means another writer got there first (or the
    /// task expired): reload it.
    async fn replace_task(&self, record: &TaskRecord) -> Result<bool, StoreError>;

    /// The ids of `owner`'s live tasks: at most [`MAX_TASKS_PER_OWNER`], in no particular
    /// order, read without scanning other owners' tasks. An id may name a task that has
    /// expired since, or (DynamoDB, briefly) one whose creation is still under way: callers
    /// load each task and check its owner.
    async fn list_tasks(&self, owner: &str) -> Result<Vec<TaskId>, StoreError>;
}
