//! Stream leases: kept on a POST stream's priming event (number 0), so opening a stream costs
//! no extra write; a renewal is one `UpdateItem` of that item, a check one `GetItem`, and a
//! reader ending the lease of a writer gone one conditional `UpdateItem`.

use super::super::StoreError;
use super::super::lease::StreamLease;
use super::super::records::{StreamKey, unix_now};
use super::DynamoStore;
use super::error::{backend, is_condition_failure};
use super::item;

impl DynamoStore {
    pub(super) async fn renew(&self, key: &StreamKey, until_ms: u64) -> Result<bool, StoreError> {
        // Never gives a lease to a stream that has none (or to an item that is gone), nor back
        // to a writer whose lease a reader ended.
        let condition = "attribute_exists(#lease_until) AND #lease_until <> :ended";
        self.set_until(key, until_ms, condition, None).await
    }

    /// Ends the lease if it still runs until `until_ms` (or is already ended); fails if the
    /// writer renewed it in between.
    pub(super) async fn end(&self, key: &StreamKey, until_ms: u64) -> Result<bool, StoreError> {
        let condition = "#lease_until = :seen OR #lease_until = :ended";
        (self.set_until(key, StreamLease::ENDED_MS, condition, Some(until_ms))).await
    }

    /// Sets the lease's expiry to `until_ms` with one `UpdateItem`, if `condition` holds (over
    /// `#lease_until`, `:ended` and, when given, `:seen`); `false` if it does not.
    async fn set_until(
        &self,
        key: &StreamKey,
        until_ms: u64,
        condition: &str,
        seen: Option<u64>,
    ) -> Result<bool, StoreError> {
        self.calls.update();
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(priming_key(key)))
            .update_expression("SET #lease_until = :until")
            .condition_expression(condition)
            .expression_attribute_names("#lease_until", item::LEASE_UNTIL)
            .expression_attribute_values(":until", item::n(until_ms))
            .expression_attribute_values(":ended", item::n(StreamLease::ENDED_MS));
        let update = match seen {
            Some(seen) => update.expression_attribute_values(":seen", item::n(seen)),
            None => update,
        };
        match update.send().await {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(backend(e)),
        }
    }

    pub(super) async fn lease(&self, key: &StreamKey) -> Result<Option<StreamLease>, StoreError> {
        self.calls.get();
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(priming_key(key)))
            .consistent_read(true)
            .projection_expression("#lease_until, #request_ids, #expires_at")
            .expression_attribute_names("#lease_until", item::LEASE_UNTIL)
            .expression_attribute_names("#request_ids", item::REQUEST_IDS)
            .expression_attribute_names("#expires_at", item::EXPIRES_AT)
            .send()
            .await
            .map_err(backend)?;
        let Some(found) = output.item else {
            return Ok(None);
        };
        if item::is_expired(&found, unix_now()) || !found.contains_key(item::LEASE_UNTIL) {
            return Ok(None);
        }
        let ids = item::get_s(&found, item::REQUEST_IDS).unwrap_or("[]");
        Ok(Some(StreamLease {
            until_ms: item::get_n(&found, item::LEASE_UNTIL)?,
            request_ids: StreamLease::parse_ids(ids),
        }))
    }
}

/// The key of a POST stream's priming event, which holds its lease.
fn priming_key(key: &StreamKey) -> item::Item {
    item::key(item::pk(&key.session), item::event_sk(&key.stream, 0))
}
