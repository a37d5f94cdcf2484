//! The session record: one item per session, changed only by conditional writes.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};

use super::super::StoreError;
use super::super::records::{SessionId, SessionRecord, SessionUpdate, unix_now};
use super::DynamoStore;
use super::error::{backend, is_condition_failure};
use super::item::{self, Item};

/// The condition of every change to a live session.
const LIVE: &str = "attribute_exists(pk) AND #terminated = :false AND #expires_at > :now";

impl DynamoStore {
    pub(super) async fn put_session(&self, record: &SessionRecord) -> Result<(), StoreError> {
        let mut item = item::session(record);
        let writer = item::writer_token();
        item.insert(item::WRITER.to_owned(), item::s(&writer));
        let size = item::size(&item);
        item::check_size(&item, size)?;
        self.calls.put();
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            // An expired leftover that DynamoDB has not deleted yet does not count.
            .condition_expression("attribute_not_exists(pk) OR #expires_at <= :now")
            .expression_attribute_names("#expires_at", item::EXPIRES_AT)
            .expression_attribute_values(":now", item::n(unix_now()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let created = match put {
            Ok(_) => true,
            // Ours, if the SDK retried a write that had succeeded.
            Err(e) if is_condition_failure(&e) => failed_put_item(e.into_service_error())
                .is_some_and(|old| item::get_s(&old, item::WRITER).is_ok_and(|w| w == writer)),
            Err(e) => return Err(backend(e)),
        };
        if !created {
            return Err(StoreError::AlreadyExists(format!("session {}", record.id)));
        }
        self.liveness.put(&record.id, record.expires_at);
        Ok(())
    }

    /// The session's item, read strongly consistently, whatever its state.
    async fn session_item(&self, id: &SessionId) -> Result<Option<Item>, StoreError> {
        self.calls.get();
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(session_key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        Ok(output.item)
    }

    pub(super) async fn get_session(
        &self,
        id: &SessionId,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let Some(item) = self.session_item(id).await? else {
            return Ok(None);
        };
        let record = item::parse_session(id, &item)?;
        if record.is_expired(unix_now()) {
            self.liveness.forget(id);
            return Ok(None);
        }
        if record.terminated {
            self.liveness.forget(id);
        } else {
            self.liveness.put(id, record.expires_at);
        }
        Ok(Some(record))
    }

    /// The expiry of a live session, from the liveness cache or a read;
    /// [`StoreError::SessionNotFound`] if it is missing, expired or terminated.
    pub(super) async fn live_until(&self, id: &SessionId) -> Result<u64, StoreError> {
        if let Some(expires_at) = self.liveness.get(id) {
            return Ok(expires_at);
        }
        match self.get_session(id).await? {
            Some(record) if !record.terminated => Ok(record.expires_at),
            _ => Err(StoreError::SessionNotFound),
        }
    }

    pub(super) async fn change_session(
        &self,
        id: &SessionId,
        update: SessionUpdate,
    ) -> Result<(), StoreError> {
        let mut names = HashMap::from([
            ("#terminated".to_owned(), item::TERMINATED.to_owned()),
            ("#expires_at".to_owned(), item::EXPIRES_AT.to_owned()),
        ]);
        let mut values = HashMap::from([
            (":false".to_owned(), AttributeValue::Bool(false)),
            (":now".to_owned(), item::n(unix_now())),
        ]);
        let mut condition = LIVE.to_owned();
        let expression = match &update {
            SessionUpdate::MarkInitialized => {
                names.insert("#a".to_owned(), item::INITIALIZED.to_owned());
                values.insert(":v".to_owned(), AttributeValue::Bool(true));
                "SET #a = :v"
            }
            SessionUpdate::SetLogLevel(level) => {
                names.insert("#a".to_owned(), item::LOG_LEVEL.to_owned());
                values.insert(":v".to_owned(), item::s(level));
                "SET #a = :v"
            }
            SessionUpdate::Subscribe(uri) => {
                names.insert("#a".to_owned(), item::SUBSCRIPTIONS.to_owned());
                values.insert(":v".to_owned(), AttributeValue::Ss(vec![uri.clone()]));
                "ADD #a :v"
            }
            SessionUpdate::Unsubscribe(uri) => {
                names.insert("#a".to_owned(), item::SUBSCRIPTIONS.to_owned());
                values.insert(":v".to_owned(), AttributeValue::Ss(vec![uri.clone()]));
                "DELETE #a :v"
            }
            SessionUpdate::ExtendTo(expires_at) => {
                // Only ever forward: a failed condition on a live session means "already later".
                values.insert(":v".to_owned(), item::n(*expires_at));
                condition.push_str(" AND #expires_at < :v");
                "SET #expires_at = :v"
            }
        };
        self.calls.update();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(session_key(id)))
            .update_expression(expression)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => {
                if let SessionUpdate::ExtendTo(expires_at) = update {
                    self.liveness.put(id, expires_at);
                }
                Ok(())
            }
            Err(e) if is_condition_failure(&e) => {
                let old = self.item_on_failure(id, e.into_service_error()).await?;
                let live = old
                    .map(|item| item::parse_session(id, &item))
                    .transpose()?
                    .filter(|r| r.is_live(unix_now()));
                match (live, update) {
                    (Some(_), SessionUpdate::ExtendTo(_)) => Ok(()),
                    _ => {
                        self.liveness.forget(id);
                        Err(StoreError::SessionNotFound)
                    }
                }
            }
            Err(e) => Err(backend(e)),
        }
    }

    pub(super) async fn end_session(&self, id: &SessionId) -> Result<bool, StoreError> {
        self.liveness.forget(id);
        let writer = item::writer_token();
        self.calls.update();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(session_key(id)))
            .update_expression("SET #terminated = :true, #terminated_by = :writer")
            .condition_expression(LIVE)
            .expression_attribute_names("#terminated", item::TERMINATED)
            .expression_attribute_names("#terminated_by", item::TERMINATED_BY)
            .expression_attribute_names("#expires_at", item::EXPIRES_AT)
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":writer", item::s(&writer))
            .expression_attribute_values(":now", item::n(unix_now()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => {
                // Someone else ended it first (or this call did, if the SDK retried it), or
                // there is nothing to end.
                let old = self.item_on_failure(id, e.into_service_error()).await?;
                let Some(old) = old else {
                    return Err(StoreError::SessionNotFound);
                };
                let record = item::parse_session(id, &old)?;
                if record.is_expired(unix_now()) || !record.terminated {
                    return Err(StoreError::SessionNotFound);
                }
                Ok(item::get_s(&old, item::TERMINATED_BY).is_ok_and(|w| w == writer))
            }
            Err(e) => Err(backend(e)),
        }
    }

    /// The item as it was when a conditional update failed: returned by DynamoDB with the
    /// error, or read again where a backend leaves it out.
    async fn item_on_failure(
        &self,
        id: &SessionId,
        error: UpdateItemError,
    ) -> Result<Option<Item>, StoreError> {
        match error {
            UpdateItemError::ConditionalCheckFailedException(e) if e.item.is_some() => Ok(e.item),
            _ => self.session_item(id).await,
        }
    }
}

/// The item returned with a failed conditional put, if any.
fn failed_put_item(error: PutItemError) -> Option<Item> {
    match error {
        PutItemError::ConditionalCheckFailedException(e) => e.item,
        _ => None,
    }
}

fn session_key(id: &SessionId) -> Item {
    item::key(item::pk(id), item::SESSION_SK.to_owned())
}
