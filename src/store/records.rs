//! The records a [`super::SessionStore`] keeps.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A session id: 32 random bytes as 64 lowercase hex characters (visible ASCII, as the
/// transport requires; 256 bits from rand's CSPRNG, seeded by the OS).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SessionId(String);

impl SessionId {
    /// A fresh, cryptographically random id.
    pub fn generate() -> Self {
        use rand::RngCore;
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Accepts a client-supplied id if it has the shape of ours; anything else can't name a
    /// session, so callers answer 404 without asking the store.
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = raw.len() == 64 && raw.bytes().all(|b| b.is_ascii_hexdigit());
        ok.then(|| Self(raw.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Names one SSE stream of a session: `"get"` for the standalone GET stream, or a random id
/// for the stream that answers one POST.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StreamId(String);

impl StreamId {
    /// The session's standalone stream (opened by GET without `Last-Event-ID`).
    pub fn standalone() -> Self {
        Self("get".to_owned())
    }

    /// A fresh id for a POST's response stream.
    pub fn generate() -> Self {
        use rand::RngCore;
        let mut bytes = [0u8; 8];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    pub(crate) fn is_standalone(&self) -> bool {
        self.0 == "get"
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses the stream part of an event id.
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = raw == "get" || (raw.len() == 16 && raw.bytes().all(|b| b.is_ascii_hexdigit()));
        ok.then(|| Self(raw.to_owned()))
    }
}

/// A position within one stream.
pub type EventSeq = u64;

/// One stream of one session.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StreamKey {
    pub session: SessionId,
    pub stream: StreamId,
}

impl StreamKey {
    pub fn new(session: SessionId, stream: StreamId) -> Self {
        Self { session, stream }
    }

    /// The SSE event id for an event of this stream: `<stream>.<seq>`. Event ids encode their
    /// stream, so a resuming GET replays exactly the stream it was cut from.
    pub fn event_id(&self, seq: EventSeq) -> String {
        format!("{}.{seq}", self.stream.as_str())
    }

    /// Splits an SSE event id made by [`StreamKey::event_id`].
    pub(crate) fn parse_event_id(raw: &str) -> Option<(StreamId, EventSeq)> {
        let (stream, seq) = raw.split_once('.')?;
        Some((StreamId::parse(stream)?, seq.parse().ok()?))
    }
}

/// One event of a stream: a JSON-RPC message as sent, or the stream's priming event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// The serialized JSON-RPC message; empty for a priming event.
    pub data: String,
    /// Set on the event that completes a POST stream (its final response): a reader that
    /// delivers it closes the stream.
    pub last: bool,
}

impl StoredEvent {
    pub fn priming() -> Self {
        Self {
            data: String::new(),
            last: false,
        }
    }

    pub fn message(data: String) -> Self {
        Self { data, last: false }
    }

    pub fn final_message(data: String) -> Self {
        Self { data, last: true }
    }
}

/// What a legacy session negotiated and what the client has asked for since.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub id: SessionId,
    /// The protocol version that `initialize` settled on.
    pub protocol_version: String,
    /// The client's declared capabilities, as sent.
    pub client_capabilities: serde_json::Value,
    /// The client's `clientInfo`, as sent.
    pub client_info: serde_json::Value,
    /// The level set by `logging/setLevel`; `None` until the client sets one.
    pub log_level: Option<String>,
    /// Resource URIs the client subscribed to.
    pub subscriptions: BTreeSet<String>,
    /// Set once the client sent `notifications/initialized`.
    pub initialized: bool,
    /// Set by DELETE; the session answers 404 from then on.
    pub terminated: bool,
    /// Seconds since the Unix epoch after which the session and all its items are gone.
    pub expires_at: u64,
    /// Whom the session belongs to when authorization is on: an opaque digest of the token's
    /// issuer and subject, made by the transport (never the token itself). Only requests of
    /// the same principal reach the session. `None` for a session made without authorization.
    #[serde(default)]
    pub principal: Option<String>,
}

impl SessionRecord {
    /// What a store that keeps only a tombstone of an ended session reports for it.
    pub fn ended(id: SessionId, expires_at: u64) -> Self {
        Self {
            id,
            protocol_version: String::new(),
            client_capabilities: serde_json::Value::Null,
            client_info: serde_json::Value::Null,
            log_level: None,
            subscriptions: BTreeSet::new(),
            initialized: false,
            terminated: true,
            expires_at,
            principal: None,
        }
    }

    pub(crate) fn is_expired(&self, now: u64) -> bool {
        self.expires_at <= now
    }

    /// Whether the session can still be used at `now`: neither ended nor expired.
    pub(crate) fn is_live(&self, now: u64) -> bool {
        !self.terminated && !self.is_expired(now)
    }
}

/// A change to a live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionUpdate {
    MarkInitialized,
    SetLogLevel(String),
    Subscribe(String),
    Unsubscribe(String),
    /// Moves the expiry forward (sliding TTL).
    ExtendTo(u64),
}

pub use crate::clock::{unix_now, unix_now_ms};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_256_bit_hex_and_round_trip() {
        let id = SessionId::generate();
        assert_eq!(id.as_str().len(), 64);
        assert_eq!(SessionId::parse(id.as_str()), Some(id.clone()));
        assert_ne!(id, SessionId::generate());
        assert_eq!(SessionId::parse("not-a-session"), None);
    }

    #[test]
    fn event_ids_encode_their_stream() {
        let key = StreamKey::new(SessionId::generate(), StreamId::generate());
        let id = key.event_id(42);
        assert_eq!(
            StreamKey::parse_event_id(&id),
            Some((key.stream.clone(), 42))
        );
        assert_eq!(
            StreamKey::parse_event_id("get.7"),
            Some((StreamId::standalone(), 7))
        );
        assert_eq!(StreamKey::parse_event_id("bogus"), None);
        assert_eq!(StreamKey::parse_event_id("get.x"), None);
    }
}
