//! A POST stream's lease: how a reader tells a stream whose writer is gone from one that is
//! only quiet.
//!
//! The instance running a POST's handlers stores a lease with the stream's priming event and
//! moves it forward while they run. A reader that finds nothing new on a stream whose lease has
//! lapsed ends the stream itself, with an error for the requests still unanswered (see
//! `transport::lease`). Before storing that error the reader ends the lease (a conditional
//! write over the expiry it read, so a writer's renewal in between wins), and from then on the
//! writer's renewals fail: a writer that was only frozen learns at its next renewal that it
//! lost the stream, and stops.

use serde_json::Value;

/// The most bytes of request ids (as JSON) a lease keeps. A lease is rewritten on every
/// renewal, and DynamoDB bills an update by the size of the whole item, so it stays small; the
/// ids of a POST beyond this are not kept, and a stream whose writer is lost then ends with one
/// error whose id is `null` (JSON-RPC's "id unknown").
pub(crate) const MAX_LEASE_IDS_BYTES: usize = 1024;

/// The writer's promise about one POST's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamLease {
    /// Milliseconds since the Unix epoch until which the writer vouches for the stream.
    pub until_ms: u64,
    /// The JSON-RPC ids of the POST's requests, in order; empty when they did not fit in
    /// `MAX_LEASE_IDS_BYTES`.
    pub request_ids: Vec<Value>,
}

impl StreamLease {
    /// The expiry of a lease a reader has ended (see [`StreamLease::is_ended`]). No writer
    /// vouches until the epoch, and a reader of an older version takes it for a lapsed lease.
    pub const ENDED_MS: u64 = 0;

    /// Whether a reader ended the lease: its writer lost the stream, and its renewals fail.
    pub fn is_ended(&self) -> bool {
        self.until_ms == Self::ENDED_MS
    }

    /// A lease until `until_ms` for the requests `ids`, keeping the ids if they are small.
    pub fn new(until_ms: u64, ids: &[Value]) -> Self {
        let fits = Value::from(ids.to_vec()).to_string().len() <= MAX_LEASE_IDS_BYTES;
        Self {
            until_ms,
            request_ids: if fits { ids.to_vec() } else { Vec::new() },
        }
    }

    /// The request ids as stored: a JSON array.
    pub(crate) fn ids_json(&self) -> String {
        Value::from(self.request_ids.clone()).to_string()
    }

    /// Reads ids stored by [`StreamLease::ids_json`]; anything else reads as none.
    pub(crate) fn parse_ids(raw: &str) -> Vec<Value> {
        match serde_json::from_str(raw) {
            Ok(Value::Array(ids)) => ids,
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn leases_keep_small_ids_only() {
        let lease = StreamLease::new(5, &[json!(1), json!("two")]);
        assert_eq!(lease.request_ids, [json!(1), json!("two")]);
        assert_eq!(StreamLease::parse_ids(&lease.ids_json()), lease.request_ids);
        let long = json!("x".repeat(MAX_LEASE_IDS_BYTES));
        assert!(StreamLease::new(5, &[long]).request_ids.is_empty());
        assert!(StreamLease::parse_ids("not json").is_empty());
        assert!(!lease.is_ended());
        assert!(StreamLease::new(StreamLease::ENDED_MS, &[]).is_ended());
    }
}
