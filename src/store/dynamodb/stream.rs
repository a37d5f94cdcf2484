//! Stream events: one item per event, keyed so that a query pages through one stream in order.
//!
//! Sequence numbers are claimed optimistically: an append writes the number it expects to be
//! next with `attribute_not_exists(sk)`, and if another writer took it, reads the stream's last
//! number and tries the one after. The expected number is one past this instance's last
//! append to the stream; for a stream it has only read, or the standalone stream (which every
//! instance writes), the last number is queried first; a stream it has neither written nor
//! read is taken to be a POST's fresh stream, starting at 0. Either way a number is only
//! written once the one before it is stored, so numbers are dense and a strongly consistent
//! reader that saw `n` never later finds an event below `n` appearing.

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;

use super::super::StoreError;
use super::super::lease::StreamLease;
use super::super::records::{EventSeq, StoredEvent, StreamKey, unix_now};
use super::super::signal::Topic;
use super::DynamoStore;
use super::cache::Next;
use super::error::{backend, is_condition_failure};
use super::item::{self, Item};

/// Appends that lose this many races in a row give up (each lost race means another writer
/// made progress, so this only trips under extreme contention).
const MAX_ATTEMPTS: usize = 64;

impl DynamoStore {
    pub(super) async fn append(
        &self,
        key: &StreamKey,
        event: StoredEvent,
    ) -> Result<EventSeq, StoreError> {
        let (mut item, writer) = self.event_item(key, &event, None).await?;
        let mut seq = match self.next_seq.get(key) {
            Some(Next::Wrote(next)) => next,
            Some(Next::Read(at_least)) => self.next_free(key).await?.max(at_least),
            // Every instance writes the standalone stream; a POST's stream that this instance
            // has neither written nor read is most likely one it is opening.
            None if key.stream.is_standalone() => self.next_free(key).await?,
            None => 0,
        };
        for _ in 0..MAX_ATTEMPTS {
            if self.put_event_at(key, &mut item, &writer, seq).await? {
                return Ok(self.appended(key, seq, event.last));
            }
            seq = self.next_free(key).await?.max(seq + 1);
        }
        Err(StoreError::Backend(format!(
            "gave up appending to stream {} after {MAX_ATTEMPTS} lost races",
            key.stream.as_str()
        )))
    }

    /// A POST's stream starts at 0 with its priming event, which carries the writer's lease.
    pub(super) async fn open(
        &self,
        key: &StreamKey,
        lease: &StreamLease,
    ) -> Result<EventSeq, StoreError> {
        let (mut item, writer) =
            (self.event_item(key, &StoredEvent::priming(), Some(lease))).await?;
        if !self.put_event_at(key, &mut item, &writer, 0).await? {
            return Err(StoreError::AlreadyExists(format!(
                "stream {}",
                key.stream.as_str()
            )));
        }
        Ok(self.appended(key, 0, false))
    }

    /// Stores `event` as number `after + 1`, if that number is free.
    pub(super) async fn append_after(
        &self,
        key: &StreamKey,
        after: EventSeq,
        event: StoredEvent,
    ) -> Result<bool, StoreError> {
        let Some(seq) = after.checked_add(1) else {
            return Ok(false);
        };
        let (mut item, writer) = self.event_item(key, &event, None).await?;
        let stored = self.put_event_at(key, &mut item, &writer, seq).await?;
        if stored {
            self.appended(key, seq, event.last);
        }
        Ok(stored)
    }

    /// The item of `event` on `key`'s stream (its sort key left to [`Self::put_event_at`]),
    /// with a fresh writer token, refused if it is over the item limit. Checks that the
    /// session is live.
    async fn event_item(
        &self,
        key: &StreamKey,
        event: &StoredEvent,
        lease: Option<&StreamLease>,
    ) -> Result<(Item, String), StoreError> {
        let expires_at = self.live_until(&key.session).await?;
        let item_expires_at = expires_at.max(unix_now()) + self.item_grace.as_secs();
        let writer = item::writer_token();
        let mut item = item::event(item::pk(&key.session), event, &writer, item_expires_at);
        if let Some(lease) = lease {
            item.insert(item::LEASE_UNTIL.to_owned(), item::n(lease.until_ms));
            item.insert(item::REQUEST_IDS.to_owned(), item::s(lease.ids_json()));
        }
        // Sized with the widest sort key, so the check does not depend on the number.
        item.insert(
            item::SK.to_owned(),
            item::s(item::event_sk(&key.stream, EventSeq::MAX)),
        );
        item::check_size(&item, event.data.len())?;
        Ok((item, writer))
    }

    /// Puts `item` as event number `seq` unless that number is taken; `true` if it is stored
    /// (by this call, or by the SDK's retry of it).
    async fn put_event_at(
        &self,
        key: &StreamKey,
        item: &mut Item,
        writer: &str,
        seq: EventSeq,
    ) -> Result<bool, StoreError> {
        item.insert(
            item::SK.to_owned(),
            item::s(item::event_sk(&key.stream, seq)),
        );
        self.calls.put();
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item.clone()))
            .condition_expression("attribute_not_exists(sk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => {
                Ok(taken_by(e.into_service_error()).as_deref() == Some(writer))
            }
            Err(e) => Err(backend(e)),
        }
    }

    /// Notes a stored event and wakes this instance's readers; returns its number.
    fn appended(&self, key: &StreamKey, seq: EventSeq, last: bool) -> EventSeq {
        if last {
            self.next_seq.forget(key);
        } else {
            self.next_seq.wrote(key, seq + 1);
        }
        self.wakeups.notify(&Topic::Stream(key.clone()));
        seq
    }

    /// One past the stream's last stored number (0 for an empty stream).
    async fn next_free(&self, key: &StreamKey) -> Result<EventSeq, StoreError> {
        let prefix = item::event_prefix(&key.stream);
        self.calls.query();
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", item::s(item::pk(&key.session)))
            .expression_attribute_values(":prefix", item::s(prefix.as_str()))
            .scan_index_forward(false)
            .limit(1)
            .consistent_read(true)
            .projection_expression("sk")
            .send()
            .await
            .map_err(backend)?;
        match output.items().first() {
            Some(last) => Ok(item::parse_seq(&prefix, last)? + 1),
            None => Ok(0),
        }
    }

    pub(super) async fn read(
        &self,
        key: &StreamKey,
        after: Option<EventSeq>,
        limit: usize,
    ) -> Result<Vec<(EventSeq, StoredEvent)>, StoreError> {
        let from = match after {
            None => 0,
            Some(seq) => match seq.checked_add(1) {
                Some(next) => next,
                None => return Ok(Vec::new()),
            },
        };
        let prefix = item::event_prefix(&key.stream);
        let now = unix_now();
        let mut events = Vec::new();
        let mut start: Option<Item> = None;
        while events.len() < limit {
            let page_limit = i32::try_from(limit - events.len()).unwrap_or(i32::MAX);
            self.calls.query();
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
                .expression_attribute_values(":pk", item::s(item::pk(&key.session)))
                .expression_attribute_values(":from", item::s(item::event_sk(&key.stream, from)))
                .expression_attribute_values(":to", item::s(item::event_sk_end(&key.stream)))
                .consistent_read(true)
                .limit(page_limit)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(backend)?;
            for found in output.items() {
                if !item::is_expired(found, now) {
                    events.push(item::parse_event(&prefix, found)?);
                }
            }
            match output.last_evaluated_key {
                Some(last) if !last.is_empty() => start = Some(last),
                _ => break,
            }
        }
        events.truncate(limit);
        // A stream read here may be appended to here (a resumed stream's marker): it is not
        // a fresh one whose first number is 0.
        if let Some((last, _)) = events.last() {
            self.next_seq.read(key, last + 1);
        }
        Ok(events)
    }

    pub(super) async fn event_exists(
        &self,
        key: &StreamKey,
        seq: EventSeq,
    ) -> Result<bool, StoreError> {
        self.calls.get();
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(item::key(
                item::pk(&key.session),
                item::event_sk(&key.stream, seq),
            )))
            .consistent_read(true)
            .projection_expression("#expires_at")
            .expression_attribute_names("#expires_at", item::EXPIRES_AT)
            .send()
            .await
            .map_err(backend)?;
        Ok(output
            .item
            .is_some_and(|found| !item::is_expired(&found, unix_now())))
    }
}

/// The writer token of the event that made an append's condition fail: ours when the SDK
/// retried a write that had succeeded.
fn taken_by(error: PutItemError) -> Option<String> {
    match error {
        PutItemError::ConditionalCheckFailedException(e) => {
            let item = e.item?;
            item::get_s(&item, item::WRITER).ok().map(str::to_owned)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;

    use super::*;

    #[test]
    fn an_append_recognises_its_own_event() {
        let mut stored = item::key("S#x".into(), "E#get#0".into());
        stored.insert(item::WRITER.to_owned(), item::s("00000000000000ab"));
        let error = |item: Option<Item>| {
            PutItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder()
                    .set_item(item)
                    .build(),
            )
        };
        assert_eq!(
            taken_by(error(Some(stored))).as_deref(),
            Some("00000000000000ab")
        );
        assert_eq!(taken_by(error(None)), None);
    }
}
