//! Integrity protection for `requestState` (2026-07-28 multi-round-trip requests).
//!
//! The client echoes `requestState` back verbatim, so a stateless server must not trust it
//! unverified. We seal it as `base64url(json) "." base64url(HMAC-SHA256(key, method "\n"
//! name "\n" json))`: binding the method and the tool/prompt/resource name means state minted
//! for one request cannot be replayed into another (the name also carries whose the request
//! is, see `McpServer::state_binding`, so one user's state cannot be continued by another). The key must be shared by every instance
//! that may receive the retry.
//!
//! A `requestState` also expires: [`RequestStateCodec::seal_state`] wraps the state as
//! `{"expiresAt": unix seconds, "state": ...}` and binds it as `method + STATE_BINDING`, and
//! [`RequestStateCodec::open_state`] refuses it after [`STATE_TTL_SECS`], so a sealed state
//! cannot be replayed forever. The distinct binding makes states sealed before expiry existed
//! (no expiry inside) fail verification here, and ours fail on those older instances, rather
//! than either being read as the other's shape. The plain [`RequestStateCodec::seal`] (no
//! expiry) remains for the legacy transport's server-to-client request ids.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How long a sealed `requestState` opens after it was issued. The rounds of a
/// multi-round-trip request follow each other within a user's answer to an elicitation or a
/// sampling call; the server waits 300 s for such an answer under the legacy era
/// (`reply_timeout`), and twice that leaves room for clock skew between instances. A client
/// that comes back later gets the invalid-state error and starts the request again.
pub(crate) const STATE_TTL_SECS: u64 = 600;

/// Appended to the method in the HMAC binding of an expiring `requestState` (see the module
/// documentation).
const STATE_BINDING: &str = " +expiresAt";

/// Seals and opens `requestState` values.
#[derive(Clone)]
pub(crate) struct RequestStateCodec {
    key: Vec<u8>,
}

impl std::fmt::Debug for RequestStateCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestStateCodec { key: <redacted> }")
    }
}

/// A `requestState` that was not made by this server for this request, or has expired.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("requestState failed verification")]
pub(crate) struct TamperedState;

impl RequestStateCodec {
    /// A codec with a key of the operator's choosing (at least 32 bytes is advisable).
    pub fn new(key: impl Into<Vec<u8>>) -> Self {
        Self { key: key.into() }
    }

    /// A codec with a fresh random key: fine for one process, wrong for several.
    pub fn random() -> Self {
        use rand::RngCore;
        let mut key = vec![0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self { key }
    }

    /// Seals a `requestState` for `method` on `name`, issued at `now` (unix seconds): it opens
    /// until `now + STATE_TTL_SECS`.
    pub(crate) fn seal_state(&self, method: &str, name: &str, state: &Value, now: u64) -> String {
        let envelope = json!({ "expiresAt": now.saturating_add(STATE_TTL_SECS), "state": state });
        self.seal(&format!("{method}{STATE_BINDING}"), name, &envelope)
    }

    /// Opens a `requestState` made by [`Self::seal_state`] at `now` (unix seconds): the same
    /// error for a forged, misbound, old-format or expired state.
    pub(crate) fn open_state(
        &self,
        method: &str,
        name: &str,
        sealed: &str,
        now: u64,
    ) -> Result<Value, TamperedState> {
        let mut envelope = self.open(&format!("{method}{STATE_BINDING}"), name, sealed)?;
        let expires_at = envelope
            .get("expiresAt")
            .and_then(Value::as_u64)
            .ok_or(TamperedState)?;
        if now > expires_at {
            return Err(TamperedState);
        }
        envelope
            .get_mut("state")
            .map(Value::take)
            .ok_or(TamperedState)
    }

    /// Seals `state` without expiry.
    pub fn seal(&self, method: &str, name: &str, state: &Value) -> String {
        let json = state.to_string();
        let mac = self.mac(method, name, json.as_bytes());
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(json.as_bytes()),
            URL_SAFE_NO_PAD.encode(mac)
        )
    }

    /// Opens a value made by [`Self::seal`].
    pub fn open(&self, method: &str, name: &str, sealed: &str) -> Result<Value, TamperedState> {
        let (body, tag) = sealed.split_once('.').ok_or(TamperedState)?;
        let json = URL_SAFE_NO_PAD.decode(body).map_err(|_| TamperedState)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| TamperedState)?;
        let mut mac = self.hmac(method, name);
        mac.update(&json);
        mac.verify_slice(&tag).map_err(|_| TamperedState)?;
        serde_json::from_slice(&json).map_err(|_| TamperedState)
    }

    fn hmac(&self, method: &str, name: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(method.as_bytes());
        mac.update(b"\n");
        mac.update(name.as_bytes());
        mac.update(b"\n");
        mac
    }

    fn mac(&self, method: &str, name: &str, json: &[u8]) -> Vec<u8> {
        let mut mac = self.hmac(method, name);
        mac.update(json);
        mac.finalize().into_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_tampering() {
        let codec = RequestStateCodec::new(b"0123456789abcdef0123456789abcdef".to_vec());
        let sealed = codec.seal("tools/call", "t", &json!({"round": 2}));
        assert_eq!(
            codec.open("tools/call", "t", &sealed),
            Ok(json!({"round": 2}))
        );
        assert_eq!(
            codec.open("tools/call", "other", &sealed),
            Err(TamperedState)
        );
        let mut forged = sealed.clone();
        forged.replace_range(0..1, if sealed.starts_with('e') { "f" } else { "e" });
        assert_eq!(codec.open("tools/call", "t", &forged), Err(TamperedState));
        assert_eq!(codec.open("tools/call", "t", "garbage"), Err(TamperedState));
        let other = RequestStateCodec::random();
        assert_eq!(other.open("tools/call", "t", &sealed), Err(TamperedState));
    }

    #[test]
    fn a_state_opens_until_its_ttl_and_not_after() {
        let codec = RequestStateCodec::new(b"0123456789abcdef0123456789abcdef".to_vec());
        let issued = 1_800_000_000;
        let sealed = codec.seal_state("tools/call", "t", &json!({"round": 2}), issued);
        let open = |now| codec.open_state("tools/call", "t", &sealed, now);
        assert_eq!(open(issued), Ok(json!({"round": 2})));
        assert_eq!(open(issued + STATE_TTL_SECS - 1), Ok(json!({"round": 2})));
        assert_eq!(open(issued + STATE_TTL_SECS + 1), Err(TamperedState));
        assert_eq!(
            codec.open_state("tools/call", "other", &sealed, issued),
            Err(TamperedState)
        );
    }

    #[test]
    fn states_without_expiry_and_expiring_states_do_not_open_as_each_other() {
        let codec = RequestStateCodec::new(b"0123456789abcdef0123456789abcdef".to_vec());
        let old = codec.seal("tools/call", "t", &json!({"round": 2}));
        assert_eq!(
            codec.open_state("tools/call", "t", &old, 0),
            Err(TamperedState),
            "a state sealed before expiry existed has no expiry: refused"
        );
        let new = codec.seal_state("tools/call", "t", &json!({"round": 2}), 0);
        assert_eq!(
            codec.open("tools/call", "t", &new),
            Err(TamperedState),
            "an instance without expiry refuses an expiring state"
        );
    }
}
