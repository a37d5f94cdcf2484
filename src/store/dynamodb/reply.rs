//! Replies to server-to-client requests (and cancellations): one item each, first write wins
//! until the item is deleted.

use super::super::StoreError;
use super::super::records::{SessionId, unix_now};
use super::super::signal::Topic;
use super::DynamoStore;
use super::error::{backend, is_condition_failure};
use super::item;

impl DynamoStore {
    pub(super) async fn put_reply_item(
        &self,
        session: &SessionId,
        key: &str,
        message: &str,
    ) -> Result<bool, StoreError> {
        let expires_at = self.live_until(session).await?;
        let item_expires_at = expires_at.max(unix_now()) + self.item_grace.as_secs();
        let item = item::reply(item::pk(session), key, message, item_expires_at);
        item::check_size(&item, message.len())?;
        self.calls.put();
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(sk) OR #expires_at <= :now")
            .expression_attribute_names("#expires_at", item::EXPIRES_AT)
            .expression_attribute_values(":now", item::n(unix_now()))
            .send()
            .await;
        match put {
            Ok(_) => {
                self.wakeups.notify(&Topic::Reply {
                    session: session.clone(),
                    key: key.to_owned(),
                });
                Ok(true)
            }
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(backend(e)),
        }
    }

    pub(super) async fn get_reply_item(
        &self,
        session: &SessionId,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        self.calls.get();
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(item::key(item::pk(session), item::reply_sk(key))))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        match output.item {
            Some(found) if !item::is_expired(&found, unix_now()) => {
                Ok(Some(item::get_s(&found, item::MESSAGE)?.to_owned()))
            }
            _ => Ok(None),
        }
    }

    pub(super) async fn remove_reply_item(
        &self,
        session: &SessionId,
        key: &str,
    ) -> Result<(), StoreError> {
        self.calls.delete();
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(item::key(item::pk(session), item::reply_sk(key))))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }
}
