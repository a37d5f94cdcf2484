//! The issuer's signing keys (JWKS), cached. A token signed with a key the cache does not know
//! triggers a refetch, so a rotated key is picked up on its first use; refetches are at most
//! one per [`REFRESH_INTERVAL`] however many unknown `kid`s arrive, so a flood of made-up
//! `kid`s costs the issuer one request per interval. Keys are also refetched (on use) once the
//! set is [`MAX_AGE`] old, so a key the issuer withdrew stops working within that time.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use serde_json::Value;
use tokio::time::Instant;

use super::fetch::{self, FetchError};

/// The shortest time between two refetches of the JWKS.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(60);
/// A key set older than this is refetched when next used.
pub const MAX_AGE: Duration = Duration::from_secs(3600);
/// Most keys kept from one JWKS document; the rest are ignored.
pub const MAX_KEYS: usize = 64;

/// A public key from the JWKS, with the algorithm the issuer bound it to, if any.
pub struct VerifyingKey {
    pub key: DecodingKey,
    pub alg: Option<Algorithm>,
}

struct KeySet {
    by_kid: HashMap<String, Arc<VerifyingKey>>,
    /// Keys published without a `kid`: usable only by a token without one, when alone.
    unnamed: Vec<Arc<VerifyingKey>>,
    fetched: Instant,
}

/// The cache. One refetch runs at a time; tasks that find an unknown `kid` meanwhile wait for
/// it rather than starting their own.
pub struct Jwks {
    uri: String,
    client: reqwest::Client,
    current: RwLock<Arc<KeySet>>,
    /// When the last refetch was tried (`None`: only the start-up fetch so far).
    last_refresh: tokio::sync::Mutex<Option<Instant>>,
    refresh_interval: Duration,
}

impl Jwks {
    /// Fetches the key set at `uri`.
    pub async fn load(
        client: reqwest::Client,
        uri: String,
        refresh_interval: Duration,
    ) -> Result<Self, FetchError> {
        let set = fetch_set(&client, &uri).await?;
        Ok(Self {
            uri,
            client,
            current: RwLock::new(Arc::new(set)),
            last_refresh: tokio::sync::Mutex::new(None),
            refresh_interval,
        })
    }

    /// The key a token names with `kid` (or the only unnamed key, for a token without one),
    /// refetching the set first when the key is unknown or the set is stale and the rate limit
    /// allows.
    pub async fn key(&self, kid: Option<&str>) -> Option<Arc<VerifyingKey>> {
        let set = self.snapshot();
        let found = lookup(&set, kid);
        if found.is_some() && set.fetched.elapsed() < MAX_AGE {
            return found;
        }
        let mut last = self.last_refresh.lock().await;
        // Another task may have refetched while this one waited for the lock.
        let set = self.snapshot();
        let found = lookup(&set, kid);
        if found.is_some() && set.fetched.elapsed() < MAX_AGE {
            return found;
        }
        if !may_refresh(*last, Instant::now(), self.refresh_interval) {
            return found;
        }
        *last = Some(Instant::now());
        match fetch_set(&self.client, &self.uri).await {
            Ok(fresh) => {
                let fresh = Arc::new(fresh);
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::clone(&fresh);
                tracing::info!(
                    keys = fresh.by_kid.len() + fresh.unnamed.len(),
                    "JWKS refetched"
                );
                lookup(&fresh, kid)
            }
            Err(e) => {
                tracing::warn!(error = %e, "JWKS refetch failed; keeping the keys we have");
                found
            }
        }
    }

    fn snapshot(&self) -> Arc<KeySet> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Whether a refetch may start at `now`, the last one having been tried at `last`.
fn may_refresh(last: Option<Instant>, now: Instant, interval: Duration) -> bool {
    last.is_none_or(|at| now.duration_since(at) >= interval)
}

fn lookup(set: &KeySet, kid: Option<&str>) -> Option<Arc<VerifyingKey>> {
    match kid {
        Some(kid) => set.by_kid.get(kid).cloned(),
        None if set.unnamed.len() == 1 && set.by_kid.is_empty() => set.unnamed.first().cloned(),
        None => None,
    }
}

#[derive(Deserialize)]
struct Document {
    keys: Vec<Value>,
}

async fn fetch_set(client: &reqwest::Client, uri: &str) -> Result<KeySet, FetchError> {
    let document: Document = fetch::json(client, uri).await?;
    Ok(key_set(document.keys))
}

/// The usable signing keys of a JWKS: public keys (RSA, EC, OKP) meant for signatures. Secret
/// (`oct`) keys, encryption keys and keys this crate cannot read are skipped, never fatal,
/// so one odd key does not take the others down.
fn key_set(keys: Vec<Value>) -> KeySet {
    let mut set = KeySet {
        by_kid: HashMap::new(),
        unnamed: Vec::new(),
        fetched: Instant::now(),
    };
    for value in keys.into_iter().take(MAX_KEYS) {
        let Ok(jwk) = serde_json::from_value::<Jwk>(value) else {
            continue;
        };
        let Some(key) = verifying_key(&jwk) else {
            continue;
        };
        match jwk.common.key_id {
            Some(kid) => {
                set.by_kid.insert(kid, Arc::new(key));
            }
            None => set.unnamed.push(Arc::new(key)),
        }
    }
    set
}

fn verifying_key(jwk: &Jwk) -> Option<VerifyingKey> {
    if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
        return None;
    }
    if jwk
        .common
        .public_key_use
        .as_ref()
        .is_some_and(|u| *u != PublicKeyUse::Signature)
    {
        return None;
    }
    let alg = match jwk.common.key_algorithm {
        Some(alg) => Some(Algorithm::from_str(&alg.to_string()).ok()?),
        None => None,
    };
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some(VerifyingKey { key, alg })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refetches_are_rate_limited_from_the_last_attempt() {
        let now = Instant::now();
        let interval = Duration::from_secs(60);
        assert!(
            may_refresh(None, now, interval),
            "the first refetch is free"
        );
        assert!(!may_refresh(
            Some(now),
            now + Duration::from_secs(59),
            interval
        ));
        assert!(may_refresh(Some(now), now + interval, interval));
    }

    #[test]
    fn only_public_signing_keys_are_kept() {
        let ec = json!({ "kty": "EC", "crv": "P-256", "kid": "ec",
            "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
            "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM" });
        let mut encryption = ec.clone();
        encryption["kid"] = json!("enc");
        encryption["use"] = json!("enc");
        let secret = json!({ "kty": "oct", "kid": "hmac", "k": "c2VjcmV0" });
        let broken = json!({ "kty": "RSA", "kid": "broken" });
        let set = key_set(vec![ec, encryption, secret, broken, json!("junk")]);
        let mut kids: Vec<_> = set.by_kid.keys().cloned().collect();
        kids.sort();
        assert_eq!(kids, ["ec"]);
    }
}
