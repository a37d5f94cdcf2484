//! Checking a bearer JWT: an allowed asymmetric algorithm, a signature by one of the issuer's
//! keys, the issuer, the lifetime (with [`LEEWAY_SECS`] for clock skew) and the audience. What
//! is wrong is named for the `error_description`, never with the token's content.

use jsonwebtoken::{Algorithm, Header, Validation, errors::ErrorKind};
use serde::Deserialize;
use serde_json::Value;

use super::OAuthSettings;
use super::jwks::{Jwks, VerifyingKey};

/// The algorithms accepted: asymmetric only. `none` does not parse as an algorithm at all,
/// and HMAC is refused whatever the key, since the "secret" would be the public key.
pub const ALLOWED_ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Seconds of clock skew allowed on `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 30;

/// The claims the server reads once the token is valid.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Claims {
    #[serde(default)]
    pub sub: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    /// A string or a list (RFC 7519).
    #[serde(default)]
    aud: Option<Value>,
    /// Amazon Cognito: `access` or `id`.
    #[serde(default)]
    token_use: Option<String>,
    /// RFC 9068 / RFC 8693: space-separated scopes.
    #[serde(default)]
    scope: Option<String>,
    /// Some issuers (Azure AD, Okta) use `scp`, as a list or a string.
    #[serde(default)]
    scp: Option<Value>,
}

impl Claims {
    /// Whether the token grants `wanted`.
    pub fn has_scope(&self, wanted: &str) -> bool {
        let in_scope = self
            .scope
            .as_deref()
            .is_some_and(|s| s.split_whitespace().any(|s| s == wanted));
        let in_scp = match &self.scp {
            Some(Value::String(s)) => s.split_whitespace().any(|s| s == wanted),
            Some(Value::Array(list)) => list.iter().any(|s| s.as_str() == Some(wanted)),
            _ => false,
        };
        in_scope || in_scp
    }
}

/// Why a token is not valid (each is a 401 `invalid_token`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    Malformed,
    Algorithm,
    UnknownKey,
    Signature,
    Expired,
    NotYetValid,
    Issuer,
    Audience,
    MissingClaim,
    Client,
    TokenUse,
}

impl Invalid {
    /// The `error_description` sent to the client.
    pub fn description(self) -> &'static str {
        match self {
            Self::Malformed => "the token is not a well-formed JWT",
            Self::Algorithm => "the token's algorithm is not accepted",
            Self::UnknownKey => "the token is signed with a key the issuer does not publish",
            Self::Signature => "the token's signature is invalid",
            Self::Expired => "the token has expired",
            Self::NotYetValid => "the token is not valid yet",
            Self::Issuer => "the token is from another issuer",
            Self::Audience => "the token is not meant for this resource",
            Self::MissingClaim => "the token lacks a required claim (exp, iss, aud)",
            Self::Client => "the token was issued to a client this server does not accept",
            Self::TokenUse => "the token is not an access token",
        }
    }
}

/// Validates `token` against the issuer's keys and the settings, for `audience`.
pub async fn validate(
    token: &str,
    jwks: &Jwks,
    settings: &OAuthSettings,
    audience: &str,
) -> Result<Claims, Invalid> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| Invalid::Malformed)?;
    if !ALLOWED_ALGORITHMS.contains(&header.alg) {
        return Err(Invalid::Algorithm);
    }
    let key = jwks
        .key(header.kid.as_deref())
        .await
        .ok_or(Invalid::UnknownKey)?;
    check(token, &header, &key, settings, audience)
}

/// The checks once the key is known.
fn check(
    token: &str,
    header: &Header,
    key: &VerifyingKey,
    settings: &OAuthSettings,
    audience: &str,
) -> Result<Claims, Invalid> {
    if key.alg.is_some_and(|alg| alg != header.alg) {
        return Err(Invalid::Algorithm);
    }
    let mut validation = Validation::new(header.alg);
    validation.leeway = LEEWAY_SECS;
    validation.validate_nbf = true;
    validation.set_issuer(&[&settings.issuer]);
    if settings.client_ids.is_empty() {
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    } else {
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "iss"]);
    }
    let claims = jsonwebtoken::decode::<Claims>(token, &key.key, &validation)
        .map(|data| data.claims)
        .map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature => Invalid::Signature,
            ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => Invalid::Algorithm,
            ErrorKind::ExpiredSignature => Invalid::Expired,
            ErrorKind::ImmatureSignature => Invalid::NotYetValid,
            ErrorKind::InvalidIssuer => Invalid::Issuer,
            ErrorKind::InvalidAudience => Invalid::Audience,
            ErrorKind::MissingRequiredClaim(_) => Invalid::MissingClaim,
            _ => Invalid::Malformed,
        })?;
    if !settings.client_ids.is_empty() {
        check_client(&claims, settings, audience)?;
    }
    Ok(claims)
}

/// The binding of a token without `aud` (Amazon Cognito access tokens): no ID token, an
/// accepted `client_id`, and an `aud` naming the audience if there is one.
fn check_client(claims: &Claims, settings: &OAuthSettings, audience: &str) -> Result<(), Invalid> {
    if claims.token_use.as_deref().is_some_and(|u| u != "access") {
        return Err(Invalid::TokenUse);
    }
    if !claims
        .client_id
        .as_ref()
        .is_some_and(|id| settings.client_ids.contains(id))
    {
        return Err(Invalid::Client);
    }
    let aud_ok = match &claims.aud {
        None => true,
        Some(Value::String(aud)) => aud == audience,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(audience)),
        Some(_) => false,
    };
    if aud_ok {
        Ok(())
    } else {
        Err(Invalid::Audience)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scopes_are_read_from_scope_or_scp() {
        let claims = |v: Value| serde_json::from_value::<Claims>(v).unwrap();
        assert!(claims(json!({ "scope": "openid mcp:tools" })).has_scope("mcp:tools"));
        assert!(!claims(json!({ "scope": "mcp:toolsx" })).has_scope("mcp:tools"));
        assert!(claims(json!({ "scp": ["a", "mcp:tools"] })).has_scope("mcp:tools"));
        assert!(claims(json!({ "scp": "mcp:tools" })).has_scope("mcp:tools"));
        assert!(!claims(json!({})).has_scope("mcp:tools"));
    }

    #[test]
    fn no_symmetric_algorithm_is_allowed() {
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            assert!(!ALLOWED_ALGORITHMS.contains(&alg));
        }
    }
}
