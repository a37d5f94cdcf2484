//! OAuth 2.1 authorization as the MCP specification defines it: the server is a resource
//! server. It publishes Protected Resource Metadata (RFC 9728) naming its authorization
//! server, and lets a request through only with a bearer JWT that the issuer signed for this
//! resource (and, when configured, with the required scopes). Tokens are read from the
//! `Authorization` header only; they are never logged nor passed on.
//!
//! - `metadata`: the issuer's metadata (discovery) and our Protected Resource Metadata.
//! - `jwks`: the issuer's keys, cached, refetched on an unknown `kid` at a bounded rate.
//! - `validate`: the JWT checks.
//! - `principal`: whom a valid token speaks for, which legacy sessions are bound to.
//! - `resource`: the resource URL and the metadata URL, fixed or derived from the gateway.
//! - `challenge`: the 401 / 403 / 400 answers and their `WWW-Authenticate` header.
//! - `fetch`: bounded HTTP GETs of the issuer's documents.

mod challenge;
mod fetch;
mod jwks;
mod metadata;
mod principal;
mod resource;
mod validate;

pub use challenge::Denial;
pub use fetch::{CONNECT_TIMEOUT, FETCH_TIMEOUT, FetchError, MAX_DOCUMENT_BYTES};
pub use jwks::{MAX_AGE as JWKS_MAX_AGE, MAX_KEYS as JWKS_MAX_KEYS, REFRESH_INTERVAL};
pub use metadata::{IssuerMetadata, PRM_WELL_KNOWN, discovery_urls};
pub use principal::Principal;
pub use resource::{GatewayBase, ResourceUrls};
pub use validate::{ALLOWED_ALGORITHMS, Claims, LEEWAY_SECS};

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, Uri, header};

use jwks::Jwks;

/// What the flags say about authorization, checked (see `config`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthSettings {
    /// The issuer, exactly as its tokens' `iss` says.
    pub issuer: String,
    /// The audience a token must carry (`aud`); `None`: the resource URL.
    pub audience: Option<String>,
    /// When not empty, the app clients whose tokens are accepted (`client_id`), for issuers
    /// whose access tokens carry no `aud`, such as Amazon Cognito: `client_id` must be one of
    /// these, `aud` must name the audience only when present, and `token_use`, when present,
    /// must be `access`.
    pub client_ids: Vec<String>,
    /// Scopes every request needs (all of them); empty: a valid token is enough.
    pub scopes: Vec<String>,
    /// The resource URL and the metadata URL (`--public-url`); `None`: derived per request
    /// from the gateway that received it (on Lambda; see `resource`).
    pub public: Option<ResourceUrls>,
    /// The endpoint's path in the app (after a gateway stripped its stage), for the
    /// path-suffixed metadata route.
    pub endpoint: String,
    /// The shortest time between two JWKS refetches.
    pub jwks_refresh_interval: Duration,
}

/// Why authorization could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("OAuth issuer metadata: {0}")]
    Fetch(#[from] FetchError),
    #[error("OAuth issuer metadata at {url} names issuer {found:?}, not the configured one")]
    IssuerMismatch { url: String, found: String },
    #[error("no OAuth issuer metadata found ({0})")]
    NoMetadata(String),
}

/// The resource server: settings, the issuer's metadata and its keys. Shared by every request.
pub struct Authorizer {
    settings: OAuthSettings,
    issuer: IssuerMetadata,
    jwks: Jwks,
    /// The Protected Resource Metadata, when its URLs are fixed.
    document: Option<String>,
}

impl std::fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorizer")
            .field("settings", &self.settings)
            .field("jwks_uri", &self.issuer.jwks_uri)
            .finish_non_exhaustive()
    }
}

impl Authorizer {
    /// Discovers the issuer's metadata and fetches its keys: a wrong or unreachable issuer
    /// fails here, at start-up, with a message that says which.
    pub async fn discover(settings: OAuthSettings) -> Result<Self, AuthError> {
        let client = fetch::client();
        let issuer = metadata::discover(&client, &settings.issuer).await?;
        let jwks = Jwks::load(
            client,
            issuer.jwks_uri.clone(),
            settings.jwks_refresh_interval,
        )
        .await?;
        let document = settings
            .public
            .as_ref()
            .map(|urls| metadata::protected_resource(&settings, urls).to_string());
        let from_gateway = "derived from the gateway of each request";
        tracing::info!(
            issuer = %settings.issuer,
            audience = settings.audience.as_deref().unwrap_or("the resource URL"),
            resource = settings.public.as_ref().map_or(from_gateway, |u| u.resource.as_str()),
            "OAuth authorization on"
        );
        Ok(Self {
            settings,
            issuer,
            jwks,
            document,
        })
    }

    pub fn settings(&self) -> &OAuthSettings {
        &self.settings
    }

    /// The issuer's metadata as discovered.
    pub fn issuer(&self) -> &IssuerMetadata {
        &self.issuer
    }

    /// The URLs of the resource for a request received by `gateway` (if a gateway did):
    /// the configured ones, else the gateway's. `None` when neither says (a Lambda invoked
    /// by something other than a gateway, without `--public-url`).
    pub fn resource_urls(&self, gateway: Option<&GatewayBase>) -> Option<ResourceUrls> {
        match (&self.settings.public, gateway) {
            (Some(urls), _) => Some(urls.clone()),
            (None, Some(base)) => Some(ResourceUrls::at(&base.0, &self.settings.endpoint)),
            (None, None) => None,
        }
    }

    /// Lets a request for the resource at `urls` through, naming whom its token speaks for,
    /// or says how to refuse it.
    pub async fn authorize(
        &self,
        headers: &HeaderMap,
        uri: &Uri,
        urls: &ResourceUrls,
    ) -> Result<Principal, Denial> {
        let claims = self.validate(headers, uri, urls).await?;
        Ok(Principal::of(&self.settings.issuer, &claims))
    }

    /// The checks of [`Authorizer::authorize`]: the token's claims once it passed them all.
    async fn validate(
        &self,
        headers: &HeaderMap,
        uri: &Uri,
        urls: &ResourceUrls,
    ) -> Result<Claims, Denial> {
        let prm = urls.metadata_url.as_str();
        if uri.query().is_some_and(has_query_token) {
            return Err(Denial::invalid_request(
                prm,
                "access tokens are accepted in the Authorization header only",
            ));
        }
        let mut values = headers.get_all(header::AUTHORIZATION).iter();
        let value = match (values.next(), values.next()) {
            (None, _) => return Err(Denial::unauthenticated(prm, self.scope_hint())),
            (Some(_), Some(_)) => {
                return Err(Denial::invalid_request(
                    prm,
                    "more than one Authorization header",
                ));
            }
            (Some(value), None) => value,
        };
        let token = match bearer_token(value) {
            Bearer::Token(token) => token,
            Bearer::OtherScheme => return Err(Denial::unauthenticated(prm, self.scope_hint())),
            Bearer::Malformed => {
                return Err(Denial::invalid_request(
                    prm,
                    "the Authorization header is not `Bearer <token>`",
                ));
            }
        };
        let audience = self.settings.audience.as_deref().unwrap_or(&urls.resource);
        let claims = validate::validate(token, &self.jwks, &self.settings, audience)
            .await
            .map_err(|invalid| {
                tracing::debug!(reason = invalid.description(), "bearer token refused");
                Denial::invalid_token(prm, invalid.description())
            })?;
        if let Some(missing) = self.settings.scopes.iter().find(|s| !claims.has_scope(s)) {
            tracing::debug!(scope = %missing, "bearer token lacks a required scope");
            return Err(Denial::insufficient_scope(
                prm,
                self.settings.scopes.join(" "),
            ));
        }
        Ok(claims)
    }

    fn scope_hint(&self) -> Option<String> {
        (!self.settings.scopes.is_empty()).then(|| self.settings.scopes.join(" "))
    }

    /// The Protected Resource Metadata routes (the plain and the endpoint-suffixed well-known
    /// paths), open to anyone, any origin.
    pub fn metadata_routes(self: &Arc<Self>) -> Router {
        let suffixed = format!("{PRM_WELL_KNOWN}{}", self.settings.endpoint);
        let this = Arc::clone(self);
        let handler = move |request: axum::extract::Request| {
            let this = Arc::clone(&this);
            async move { this.metadata_response(request.extensions().get::<GatewayBase>()) }
        };
        Router::new()
            .route(PRM_WELL_KNOWN, axum::routing::get(handler.clone()))
            .route(&suffixed, axum::routing::get(handler))
    }

    fn metadata_response(&self, gateway: Option<&GatewayBase>) -> Response {
        let document = match (&self.document, self.resource_urls(gateway)) {
            (Some(document), _) => document.clone(),
            (None, Some(urls)) => metadata::protected_resource(&self.settings, &urls).to_string(),
            (None, None) => return unknown_public_url(),
        };
        let headers = [
            (header::CONTENT_TYPE, "application/json"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ];
        (headers, document).into_response()
    }
}

/// The answer when the resource has no URL to name: 500, since only configuration
/// (`--public-url`) or a gateway in front can fix it.
pub fn unknown_public_url() -> Response {
    let body = serde_json::json!({
        "error": "server_error",
        "error_description": "the server's public URL is unknown: set --public-url (MCP_PUBLIC_URL)",
    });
    (
        http::StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

enum Bearer<'a> {
    Token(&'a str),
    OtherScheme,
    Malformed,
}

/// The token of `Bearer <token68>` (RFC 6750 section 2.1; the scheme is case-insensitive).
fn bearer_token(value: &HeaderValue) -> Bearer<'_> {
    let Ok(value) = value.to_str() else {
        return Bearer::Malformed;
    };
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Bearer::OtherScheme;
    }
    let token = rest.trim_matches(' ');
    let token68 = |c: char| c.is_ascii_alphanumeric() || "-._~+/".contains(c);
    let body = token.trim_end_matches('=');
    if body.is_empty() || !body.chars().all(token68) {
        return Bearer::Malformed;
    }
    Bearer::Token(token)
}

/// Whether a query string carries an `access_token` parameter (RFC 6750 section 2.3, which
/// this server refuses: URLs end up in logs).
fn has_query_token(query: &str) -> bool {
    query.split('&').any(|pair| {
        let name = pair.split('=').next().unwrap_or("");
        name.to_ascii_lowercase().replace("%5f", "_") == "access_token"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_from_the_header_only() {
        let read = |v: &str| match bearer_token(&HeaderValue::from_str(v).unwrap()) {
            Bearer::Token(t) => Ok(t.to_owned()),
            Bearer::OtherScheme => Err("other"),
            Bearer::Malformed => Err("malformed"),
        };
        assert_eq!(read("Bearer abc.def.ghi"), Ok("abc.def.ghi".into()));
        assert_eq!(read("bearer abc"), Ok("abc".into()));
        assert_eq!(read("Basic dXNlcjpwYXNz"), Err("other"));
        assert_eq!(read("Bearer"), Err("malformed"));
        assert_eq!(read("Bearer a b"), Err("malformed"));
        assert_eq!(read("Bearer ==="), Err("malformed"));
        assert!(has_query_token("x=1&access_token=abc"));
        assert!(has_query_token("ACCESS%5FTOKEN=abc"));
        assert!(!has_query_token("token=abc"));
    }
}
