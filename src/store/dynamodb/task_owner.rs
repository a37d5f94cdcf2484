//! The per-owner bound on live tasks ([`MAX_TASKS_PER_OWNER`]) on DynamoDB: one item per
//! owner, partition `TO#<owner>`, sort key `TASKS`, whose `live` map holds each of the
//! owner's tasks' id and expiry (ms). Creating a task first reserves its place there: read
//! the item, drop expired entries, refuse if the owner is full, else write the item back on
//! the condition that its `version` is still the one read (retried a few times when another
//! creation won). The table has no index on owners, so this one item is the cheap, atomic
//! count, and also the owner's list of tasks (2025-11-25 `tasks/list`: one read, no scan).
//! A reservation whose task write then fails is released again (best effort: if that write
//! fails too, the place stays taken until the task's expiry).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::super::StoreError;
use super::super::records::unix_now_ms;
use super::super::tasks::{MAX_TASKS_PER_OWNER, TaskId, TaskRecord, owner_full};
use super::DynamoStore;
use super::error::{backend, is_condition_failure};
use super::item::{self, Item};

const OWNER_SK: &str = "TASKS";
const LIVE: &str = "live";
const VERSION: &str = "version";
/// How often a reservation that lost a race is tried again.
const ATTEMPTS: usize = 5;

fn owner_pk(owner: &str) -> String {
    format!("TO#{owner}")
}

/// The live entries of an owner item read at `now`, and its version (0 when absent).
fn live_entries(found: Option<&Item>, now: u64) -> (HashMap<String, AttributeValue>, u64) {
    let Some(found) = found else {
        return (HashMap::new(), 0);
    };
    let version = item::get_n(found, VERSION).unwrap_or(0);
    let mut live = match found.get(LIVE) {
        Some(AttributeValue::M(map)) => map.clone(),
        _ => HashMap::new(),
    };
    live.retain(|_, expires| match expires {
        AttributeValue::N(n) => n.parse::<u64>().is_ok_and(|ms| ms > now),
        _ => false,
    });
    (live, version)
}

fn owner_key(owner: &str) -> Item {
    item::key(owner_pk(owner), OWNER_SK.to_owned())
}

impl DynamoStore {
    /// The owner item, read strongly consistent.
    async fn read_owner_item(&self, key: &Item) -> Result<Option<Item>, StoreError> {
        self.calls.get();
        Ok(self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?
            .item)
    }

    /// The ids of `owner`'s live tasks, from its owner item (one read).
    pub(super) async fn owner_task_ids(&self, owner: &str) -> Result<Vec<TaskId>, StoreError> {
        let found = self.read_owner_item(&owner_key(owner)).await?;
        let (live, _) = live_entries(found.as_ref(), unix_now_ms());
        Ok(live.keys().filter_map(|id| TaskId::parse(id)).collect())
    }

    /// Reserves `record`'s place among its owner's live tasks, or [`StoreError::Full`].
    /// Returns whether a place was taken: `false` when the id already held one (a second
    /// creation of the same id), which [`DynamoStore::release_task_slot`] must then leave.
    pub(super) async fn reserve_task_slot(&self, record: &TaskRecord) -> Result<bool, StoreError> {
        let key = owner_key(&record.owner);
        for _ in 0..ATTEMPTS {
            let found = self.read_owner_item(&key).await?;
            let (mut live, version) = live_entries(found.as_ref(), unix_now_ms());
            let id = record.id.to_string();
            if live.contains_key(&id) {
                return Ok(false);
            }
            if live.len() >= MAX_TASKS_PER_OWNER {
                return Err(owner_full());
            }
            live.insert(id, item::n(record.expires_at_ms));
            let last = (live.values())
                .filter_map(|v| v.as_n().ok()?.parse::<u64>().ok())
                .max()
                .unwrap_or(record.expires_at_ms);
            if self.put_owner_item(&key, live, last, version).await? {
                return Ok(true);
            }
        }
        Err(StoreError::Backend(
            "the owner's task count kept changing; retry".to_owned(),
        ))
    }

    /// Gives back the place [`DynamoStore::reserve_task_slot`] took for `record`, whose
    /// task was not written.
    pub(super) async fn release_task_slot(&self, record: &TaskRecord) -> Result<(), StoreError> {
        let key = owner_key(&record.owner);
        for _ in 0..ATTEMPTS {
            let found = self.read_owner_item(&key).await?;
            let (mut live, version) = live_entries(found.as_ref(), unix_now_ms());
            if live.remove(record.id.as_str()).is_none() {
                return Ok(());
            }
            let last = (live.values())
                .filter_map(|v| v.as_n().ok()?.parse::<u64>().ok())
                .max()
                .unwrap_or(0);
            if self.put_owner_item(&key, live, last, version).await? {
                return Ok(());
            }
        }
        Err(StoreError::Backend(
            "the owner's task count kept changing; retry".to_owned(),
        ))
    }

    /// Writes the owner item with `live` if its version is still `version` (0: absent);
    /// `false` if another writer stored a version first (or the SDK retried ours after it had
    /// succeeded: the caller's next read then finds the change made, which is right).
    async fn put_owner_item(
        &self,
        key: &Item,
        live: HashMap<String, AttributeValue>,
        last_expiry_ms: u64,
        version: u64,
    ) -> Result<bool, StoreError> {
        let mut new = key.clone();
        new.insert(LIVE.to_owned(), AttributeValue::M(live));
        new.insert(VERSION.to_owned(), item::n(version + 1));
        new.insert(
            item::EXPIRES_AT.to_owned(),
            item::n(last_expiry_ms.div_ceil(1000)),
        );
        new.insert(item::WRITER.to_owned(), item::s(item::writer_token()));
        self.calls.put();
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(new))
            .condition_expression("attribute_not_exists(pk) OR #version = :read")
            .expression_attribute_names("#version", VERSION)
            .expression_attribute_values(":read", item::n(version))
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(backend(e)),
        }
    }
}
