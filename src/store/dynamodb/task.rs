//! Task records: one item each, under their own partition `T#<task id>`, sort key `TASK`;
//! each owner's live tasks are counted in an item of their own (`task_owner`).
//!
//! Creation is conditional on the item being absent (or expired); a replacement on the
//! stored `version` being the one before it, and the item not expired. A replacement the SDK
//! retried after it had in fact succeeded finds its own `writer` token and counts as stored.
//! An owner's tasks are listed from its owner item, never by a scan.

use super::super::StoreError;
use super::super::records::unix_now_ms;
use super::super::tasks::{TaskId, TaskRecord, TaskStore};
use super::DynamoStore;
use super::error::{backend, is_condition_failure};
use super::item::{self, Item};

const TASK_SK: &str = "TASK";
const OWNER: &str = "owner";
const VERSION: &str = "version";
/// The expiry in milliseconds (`expires_at`, in seconds, is the table's TTL attribute).
const EXPIRES_AT_MS: &str = "expires_at_ms";

fn task_pk(id: &TaskId) -> String {
    format!("T#{id}")
}

fn to_item(record: &TaskRecord, writer: &str) -> Item {
    let mut item = item::key(task_pk(&record.id), TASK_SK.to_owned());
    item.insert(OWNER.to_owned(), item::s(&record.owner));
    item.insert(VERSION.to_owned(), item::n(record.version));
    item.insert(EXPIRES_AT_MS.to_owned(), item::n(record.expires_at_ms));
    item.insert(
        item::EXPIRES_AT.to_owned(),
        item::n(record.expires_at_ms.div_ceil(1000)),
    );
    item.insert(item::DATA.to_owned(), item::s(&record.data));
    item.insert(item::WRITER.to_owned(), item::s(writer));
    item
}

fn parse(id: &TaskId, item: &Item) -> Result<TaskRecord, StoreError> {
    Ok(TaskRecord {
        id: id.clone(),
        owner: item::get_s(item, OWNER)?.to_owned(),
        version: item::get_n(item, VERSION)?,
        expires_at_ms: item::get_n(item, EXPIRES_AT_MS)?,
        data: item::get_s(item, item::DATA)?.to_owned(),
    })
}

impl DynamoStore {
    async fn read_task_item(&self, id: &TaskId) -> Result<Option<Item>, StoreError> {
        self.calls.get();
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(item::key(task_pk(id), TASK_SK.to_owned())))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        Ok(output.item)
    }
}

impl DynamoStore {
    /// Puts `record` under `condition` (with `#expires_at_ms` and `:now` bound, and `extra`
    /// names and values). A refused write that the SDK retried after it had in fact
    /// succeeded finds its own `writer` token, and counts as stored: `Err(())` is a refusal.
    async fn put_task(
        &self,
        record: &TaskRecord,
        condition: &str,
        extra: Option<(&str, &str, u64)>,
    ) -> Result<Result<(), ()>, StoreError> {
        let writer = item::writer_token();
        let new = to_item(record, &writer);
        item::check_size(&new, record.data.len())?;
        self.calls.put();
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(new))
            .condition_expression(condition)
            .expression_attribute_names("#expires_at_ms", EXPIRES_AT_MS)
            .expression_attribute_values(":now", item::n(unix_now_ms()));
        if let Some((name, value, number)) = extra {
            put = put
                .expression_attribute_names(name, VERSION)
                .expression_attribute_values(value, item::n(number));
        }
        match put.send().await {
            Ok(_) => Ok(Ok(())),
            Err(e) if is_condition_failure(&e) => {
                let ours = self.read_task_item(&record.id).await?.is_some_and(|found| {
                    item::get_s(&found, item::WRITER).is_ok_and(|w| w == writer)
                });
                Ok(if ours { Ok(()) } else { Err(()) })
            }
            Err(e) => Err(backend(e)),
        }
    }
}

#[async_trait::async_trait]
impl TaskStore for DynamoStore {
    async fn create_task(&self, record: &TaskRecord) -> Result<(), StoreError> {
        // Refuse a record too large before it takes one of its owner's places.
        item::check_size(&to_item(record, &item::writer_token()), record.data.len())?;
        let reserved = self.reserve_task_slot(record).await?;
        let condition = "attribute_not_exists(pk) OR #expires_at_ms <= :now";
        let outcome = match self.put_task(record, condition, None).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(())) => Err(StoreError::AlreadyExists(format!("task {}", record.id))),
            Err(e) => Err(e),
        };
        // The task was not written: give its place back, so that a failed creation does
        // not hold one of the owner's places until the task's expiry.
        if reserved && let Err(e) = self.release_task_slot(record).await {
            tracing::warn!(error = %e, "a failed task creation's place could not be released");
        }
        outcome
    }

    async fn load_task(&self, id: &TaskId) -> Result<Option<TaskRecord>, StoreError> {
        let Some(found) = self.read_task_item(id).await? else {
            return Ok(None);
        };
        let record = parse(id, &found)?;
        Ok((record.expires_at_ms > unix_now_ms()).then_some(record))
    }

    async fn replace_task(&self, record: &TaskRecord) -> Result<bool, StoreError> {
        let condition = "#version = :previous AND #expires_at_ms > :now";
        let previous = record.version.saturating_sub(1);
        let stored = self
            .put_task(record, condition, Some(("#version", ":previous", previous)))
            .await?;
        Ok(stored.is_ok())
    }

    async fn list_tasks(&self, owner: &str) -> Result<Vec<TaskId>, StoreError> {
        self.owner_task_ids(owner).await
    }
}
