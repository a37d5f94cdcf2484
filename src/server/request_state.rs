//! Integrity protection for `requestState` (2026-07-28 multi-round-trip requests).
//!
//! The client echoes `requestState` back verbatim, so a stateless server must not trust it
//! unverified. We seal it as `base64url(json) "." base64url(HMAC-SHA256(key, method "\n"
//! name "\n" json))`: binding the method and the tool/prompt/resource name means state minted
//! for one request cannot be replayed into another. The key must be shared by every instance
//! that may receive the retry.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Seals and opens `requestState` values.
#[derive(Clone)]
pub struct RequestStateCodec {
    key: Vec<u8>,
}

impl std::fmt::Debug for RequestStateCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestStateCodec { key: <redacted> }")
    }
}

/// A `requestState` that was not made by this server for this request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("requestState failed verification")]
pub struct TamperedState;

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

    pub fn seal(&self, method: &str, name: &str, state: &Value) -> String {
        let json = state.to_string();
        let mac = self.mac(method, name, json.as_bytes());
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(json.as_bytes()),
            URL_SAFE_NO_PAD.encode(mac)
        )
    }

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
    use serde_json::json;

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
}
