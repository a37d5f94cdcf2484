//! The per-owner bound on live tasks ([`MAX_TASKS_PER_OWNER`]) on DynamoDB: one item per
//! owner, partition `TO#<owner>`, sort key `TASKS`, whose `live` map holds each of the
//! owner's tasks' id and expiry (ms). Creating a task first reserves its place there: read
//! the item, drop expired entries, refuse if the owner is full, else write the item back on
//! the condition that its `version` is still the one read (retried a few times when another
//! creation won). The table has no index on owners, so this one item is the cheap, atomic
//! count. A reservation whose task was then not written stays until its expiry.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::super::StoreError;
use super::super::records::unix_now_ms;
use super::super::tasks::{MAX_TASKS_PER_OWNER, TaskRecord, owner_full};
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

impl DynamoStore {
    /// Reserves `record`'s place among its owner's live tasks, or [`StoreError::Full`].
    pub(super) async fn reserve_task_slot(&self, record: &TaskRecord) -> Result<(), StoreError> {
        let key = item::key(owner_pk(&record.owner), OWNER_SK.to_owned());
        for _ in 0..ATTEMPTS {
            self.calls.get();
            let found = self
                .client
                .get_item()
                .table_name(&self.table)
                .set_key(Some(key.clone()))
                .consistent_read(true)
                .send()
                .await
                .map_err(backend)?
                .item;
            let (mut live, version) = live_entries(found.as_ref(), unix_now_ms());
            if live.len() >= MAX_TASKS_PER_OWNER {
                return Err(owner_full());
            }
            live.insert(record.id.to_string(), item::n(record.expires_at_ms));
            let last = (live.values())
                .filter_map(|v| v.as_n().ok()?.parse::<u64>().ok())
                .max()
                .unwrap_or(record.expires_at_ms);
            let writer = item::writer_token();
            let mut new = key.clone();
            new.insert(LIVE.to_owned(), AttributeValue::M(live));
            new.insert(VERSION.to_owned(), item::n(version + 1));
            new.insert(item::EXPIRES_AT.to_owned(), item::n(last.div_ceil(1000)));
            new.insert(item::WRITER.to_owned(), item::s(&writer));
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
                Ok(_) => return Ok(()),
                // Another creation stored a version first (or the SDK retried ours after it
                // had succeeded: then the next read finds our entry counted, which is right).
                Err(e) if is_condition_failure(&e) => {}
                Err(e) => return Err(backend(e)),
            }
        }
        Err(StoreError::Backend(
            "the owner's task count kept changing; retry".to_owned(),
        ))
    }
}
