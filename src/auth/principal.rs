//! Whom a valid token speaks for, as a legacy session remembers it.
//!
//! The MCP security best practices ask servers to bind a session id to the user it was
//! created for, so that a leaked or guessed id is no use to anyone else. A session is bound
//! to its creator's [`Principal`], and a request with a valid token of another principal does
//! not reach it.

use sha2::{Digest, Sha256};

use super::Claims;

/// An opaque digest of the issuer and the subject of a token: SHA-256 of the issuer, which
/// claim named the subject, and its value. The subject is `sub`; a token without one (an
/// Amazon Cognito client-credentials token from some pools, or another issuer's machine
/// token) is the client's own, named by `client_id`. A token naming neither speaks for no one
/// in particular: all such tokens of one issuer share one principal, since the server cannot
/// tell their holders apart better than the issuer does.
///
/// The store keeps this digest, never the token, and not the subject in clear (a `sub` can be
/// an e-mail address; the digest is of no use to a reader of the table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal(String);

impl Principal {
    /// The principal of `claims`, from a token `issuer` signed.
    pub fn of(issuer: &str, claims: &Claims) -> Self {
        let (kind, value) = match (&claims.sub, &claims.client_id) {
            (Some(sub), _) => ("sub", sub.as_str()),
            (None, Some(client)) => ("client_id", client.as_str()),
            (None, None) => ("none", ""),
        };
        // The issuer is a URL (no newline) and `kind` is ours: the encoding is unambiguous.
        let digest = Sha256::digest(format!("{issuer}\n{kind}\n{value}").as_bytes());
        Self(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn principal(issuer: &str, claims: serde_json::Value) -> Principal {
        Principal::of(issuer, &serde_json::from_value(claims).unwrap())
    }

    #[test]
    fn principals_differ_by_issuer_subject_and_kind() {
        let a = principal("https://a", json!({ "sub": "u1", "client_id": "host" }));
        assert_eq!(
            a,
            principal("https://a", json!({ "sub": "u1", "client_id": "other" }))
        );
        assert_ne!(
            a,
            principal("https://a", json!({ "sub": "u2", "client_id": "host" }))
        );
        assert_ne!(a, principal("https://b", json!({ "sub": "u1" })));
        // A client named like a user is not that user.
        assert_ne!(a, principal("https://a", json!({ "client_id": "u1" })));
        assert_eq!(a.as_str().len(), 64);
        assert!(!a.as_str().contains("u1"));
    }
}
