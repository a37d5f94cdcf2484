//! Keys, attribute names and the conversion of records to and from DynamoDB items.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use sha2::{Digest, Sha256};

use super::super::StoreError;
use super::super::records::{EventSeq, SessionId, SessionRecord, StoredEvent, StreamId};

/// An item as the SDK takes and returns it.
pub type Item = HashMap<String, AttributeValue>;

/// The partition key: one partition per session.
pub(crate) const PK: &str = "pk";
/// The sort key: what the item is within its session.
pub(crate) const SK: &str = "sk";
/// Seconds since the Unix epoch; the table's TTL attribute, on every item.
pub(crate) const EXPIRES_AT: &str = "expires_at";

pub(crate) const PROTOCOL_VERSION: &str = "protocol_version";
pub(crate) const CLIENT_CAPABILITIES: &str = "client_capabilities";
pub(crate) const CLIENT_INFO: &str = "client_info";
pub(crate) const LOG_LEVEL: &str = "log_level";
pub(crate) const SUBSCRIPTIONS: &str = "subscriptions";
pub(crate) const INITIALIZED: &str = "initialized";
pub(crate) const TERMINATED: &str = "terminated";
/// Whom the session belongs to (a digest, see [`SessionRecord::principal`]); absent when none.
pub(crate) const PRINCIPAL: &str = "principal";
/// The writer token of the call that terminated the session.
pub(crate) const TERMINATED_BY: &str = "terminated_by";
pub(crate) const DATA: &str = "data";
pub(crate) const LAST: &str = "last";
/// A random token per write, on events and session records (and `terminated_by`): a
/// conditional write that the SDK retried after it had in fact succeeded finds its own token,
/// and knows the item is its own.
pub(crate) const WRITER: &str = "writer";
pub(crate) const MESSAGE: &str = "message";
/// On a POST stream's priming event: the writer's lease, in milliseconds since the epoch.
pub(crate) const LEASE_UNTIL: &str = "lease_until";
/// On a POST stream's priming event: the POST's request ids, as a JSON array.
pub(crate) const REQUEST_IDS: &str = "request_ids";

/// The largest item this store writes, attribute names and values included: DynamoDB's
/// 400 KB limit, read as 400,000 bytes rather than 409,600 to leave room for differences in
/// how sizes are counted (moto, for one, refuses items over 405,000 bytes).
pub const MAX_ITEM_BYTES: usize = 400_000;

/// The sort key of the session record.
pub(crate) const SESSION_SK: &str = "SESSION";

/// Reply keys longer than this are stored under their SHA-256 (sort keys stop at 1024 bytes,
/// and the client chooses request ids).
const MAX_PLAIN_REPLY_KEY: usize = 256;

/// Sequence numbers are zero-padded to the width of `u64::MAX`, so that sort keys order like
/// the numbers they hold.
const SEQ_WIDTH: usize = 20;

/// A fresh token for [`WRITER`].
pub(crate) fn writer_token() -> String {
    format!("{:016x}", rand::random::<u64>())
}

pub fn pk(session: &SessionId) -> String {
    format!("S#{session}")
}

/// The prefix shared by every event of one stream.
pub(crate) fn event_prefix(stream: &StreamId) -> String {
    format!("E#{}#", stream.as_str())
}

pub(crate) fn event_sk(stream: &StreamId, seq: EventSeq) -> String {
    format!("E#{}#{seq:0width$}", stream.as_str(), width = SEQ_WIDTH)
}

/// A sort key above every event of `stream` (`~` sorts after the digits).
pub(crate) fn event_sk_end(stream: &StreamId) -> String {
    format!("E#{}#~", stream.as_str())
}

pub(crate) fn reply_sk(key: &str) -> String {
    if key.len() <= MAX_PLAIN_REPLY_KEY {
        return format!("R#{key}");
    }
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("R#sha256:{hex}")
}

/// The key attributes of one item.
pub fn key(pk: String, sk: String) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The item that holds a session record.
pub fn session(record: &SessionRecord) -> Item {
    let mut item = key(pk(&record.id), SESSION_SK.to_owned());
    item.insert(PROTOCOL_VERSION.to_owned(), s(&record.protocol_version));
    item.insert(
        CLIENT_CAPABILITIES.to_owned(),
        s(record.client_capabilities.to_string()),
    );
    item.insert(CLIENT_INFO.to_owned(), s(record.client_info.to_string()));
    if let Some(level) = &record.log_level {
        item.insert(LOG_LEVEL.to_owned(), s(level));
    }
    // A string set cannot be empty: no subscriptions, no attribute.
    if !record.subscriptions.is_empty() {
        item.insert(
            SUBSCRIPTIONS.to_owned(),
            AttributeValue::Ss(record.subscriptions.iter().cloned().collect()),
        );
    }
    item.insert(
        INITIALIZED.to_owned(),
        AttributeValue::Bool(record.initialized),
    );
    item.insert(
        TERMINATED.to_owned(),
        AttributeValue::Bool(record.terminated),
    );
    item.insert(EXPIRES_AT.to_owned(), n(record.expires_at));
    if let Some(principal) = &record.principal {
        item.insert(PRINCIPAL.to_owned(), s(principal));
    }
    item
}

/// Reads a session record back from its item.
pub(crate) fn parse_session(id: &SessionId, item: &Item) -> Result<SessionRecord, StoreError> {
    let json = |name: &str| -> Result<serde_json::Value, StoreError> {
        serde_json::from_str(get_s(item, name)?).map_err(|e| malformed(name, &e.to_string()))
    };
    let subscriptions = match item.get(SUBSCRIPTIONS) {
        None => BTreeSet::new(),
        Some(AttributeValue::Ss(uris)) => uris.iter().cloned().collect(),
        Some(_) => return Err(malformed(SUBSCRIPTIONS, "not a string set")),
    };
    Ok(SessionRecord {
        id: id.clone(),
        protocol_version: get_s(item, PROTOCOL_VERSION)?.to_owned(),
        client_capabilities: json(CLIENT_CAPABILITIES)?,
        client_info: json(CLIENT_INFO)?,
        log_level: item.get(LOG_LEVEL).and_then(|v| v.as_s().ok()).cloned(),
        subscriptions,
        initialized: get_bool(item, INITIALIZED)?,
        terminated: get_bool(item, TERMINATED)?,
        expires_at: get_n(item, EXPIRES_AT)?,
        principal: match item.get(PRINCIPAL) {
            None => None,
            Some(AttributeValue::S(principal)) => Some(principal.clone()),
            Some(_) => return Err(malformed(PRINCIPAL, "not a string")),
        },
    })
}

/// The item of one event, without its sort key (which the append loop chooses).
pub fn event(pk: String, event: &StoredEvent, writer: &str, expires_at: u64) -> Item {
    HashMap::from([
        (PK.to_owned(), s(pk)),
        (DATA.to_owned(), s(&event.data)),
        (LAST.to_owned(), AttributeValue::Bool(event.last)),
        (WRITER.to_owned(), s(writer)),
        (EXPIRES_AT.to_owned(), n(expires_at)),
    ])
}

/// Reads an event back: its sequence number (from the sort key) and content.
pub(crate) fn parse_event(
    prefix: &str,
    item: &Item,
) -> Result<(EventSeq, StoredEvent), StoreError> {
    let seq = parse_seq(prefix, item)?;
    let event = StoredEvent {
        data: get_s(item, DATA)?.to_owned(),
        last: get_bool(item, LAST)?,
    };
    Ok((seq, event))
}

/// The sequence number in an event's sort key.
pub(crate) fn parse_seq(prefix: &str, item: &Item) -> Result<EventSeq, StoreError> {
    get_s(item, SK)?
        .strip_prefix(prefix)
        .and_then(|seq| seq.parse().ok())
        .ok_or_else(|| malformed(SK, "not an event key"))
}

/// The item of one reply.
pub fn reply(pk: String, key: &str, message: &str, expires_at: u64) -> Item {
    let mut item = self::key(pk, reply_sk(key));
    item.insert(MESSAGE.to_owned(), s(message));
    item.insert(EXPIRES_AT.to_owned(), n(expires_at));
    item
}

/// Whether an item's TTL has passed (DynamoDB deletes expired items lazily, within days).
pub(crate) fn is_expired(item: &Item, now: u64) -> bool {
    get_n(item, EXPIRES_AT).is_ok_and(|at| at <= now)
}

/// The item's size as DynamoDB counts it against its limit: the UTF-8 length of every
/// attribute name plus its value (numbers counted at one byte per digit, a slight overcount).
pub fn size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) | AttributeValue::N(s) => s.len(),
        AttributeValue::Ss(set) | AttributeValue::Ns(set) => set.iter().map(String::len).sum(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::L(list) => 3 + list.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
        _ => 0,
    }
}

/// Refuses an item over the limit, naming the size of its `payload` and the largest payload
/// this item could carry.
pub(crate) fn check_size(item: &Item, payload: usize) -> Result<(), StoreError> {
    let total = size(item);
    if total > MAX_ITEM_BYTES {
        return Err(StoreError::TooLarge {
            size: payload,
            limit: MAX_ITEM_BYTES.saturating_sub(total - payload),
        });
    }
    Ok(())
}

pub(crate) fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(s)) => Ok(s),
        _ => Err(malformed(name, "missing or not a string")),
    }
}

pub(crate) fn get_n(item: &Item, name: &str) -> Result<u64, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(n)) => n.parse().map_err(|_| malformed(name, "not a u64")),
        _ => Err(malformed(name, "missing or not a number")),
    }
}

pub(crate) fn get_bool(item: &Item, name: &str) -> Result<bool, StoreError> {
    match item.get(name) {
        Some(AttributeValue::Bool(b)) => Ok(*b),
        _ => Err(malformed(name, "missing or not a boolean")),
    }
}

fn malformed(attribute: &str, why: &str) -> StoreError {
    StoreError::Backend(format!("malformed item: attribute {attribute} {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_sort_like_their_numbers() {
        let stream = StreamId::standalone();
        assert!(event_sk(&stream, 9) < event_sk(&stream, 10));
        assert!(event_sk(&stream, u64::MAX) < event_sk_end(&stream));
        assert!(event_sk(&stream, 0).starts_with(&event_prefix(&stream)));
        let item = key("S#x".into(), event_sk(&stream, 42));
        assert_eq!(parse_seq(&event_prefix(&stream), &item).unwrap(), 42);
    }

    #[test]
    fn long_reply_keys_are_hashed() {
        assert_eq!(reply_sk("s:1"), "R#s:1");
        let long = "x".repeat(5000);
        let sk = reply_sk(&long);
        assert!(sk.len() < 100 && sk.starts_with("R#sha256:"));
        assert_ne!(sk, reply_sk(&"y".repeat(5000)));
    }

    #[test]
    fn session_records_round_trip() {
        let record = SessionRecord {
            id: SessionId::generate(),
            protocol_version: "2025-06-18".into(),
            client_capabilities: serde_json::json!({"sampling": {}}),
            client_info: serde_json::json!({"name": "c", "version": "1"}),
            log_level: Some("info".into()),
            subscriptions: ["a".to_owned(), "b".to_owned()].into(),
            initialized: true,
            terminated: false,
            expires_at: 1_900_000_000,
            principal: Some("9f86d081884c7d65".into()),
        };
        let item = session(&record);
        assert_eq!(parse_session(&record.id, &item).unwrap(), record);
        let anyone = SessionRecord {
            principal: None,
            ..record
        };
        let item = session(&anyone);
        assert!(!item.contains_key(PRINCIPAL));
        assert_eq!(parse_session(&anyone.id, &item).unwrap(), anyone);
    }

    #[test]
    fn sizes_count_names_and_values() {
        let item = HashMap::from([
            ("ab".to_owned(), s("xyz")),
            ("c".to_owned(), AttributeValue::Bool(true)),
        ]);
        assert_eq!(size(&item), 2 + 3 + 1 + 1);
        assert!(check_size(&item, 3).is_ok());
        let big = HashMap::from([("data".to_owned(), s("x".repeat(MAX_ITEM_BYTES)))]);
        assert!(matches!(
            check_size(&big, MAX_ITEM_BYTES),
            Err(StoreError::TooLarge { size, limit }) if size == MAX_ITEM_BYTES && limit == MAX_ITEM_BYTES - 4
        ));
    }
}
