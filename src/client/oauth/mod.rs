//! Bearer tokens for endpoints that are OAuth 2.1 resource servers (MCP authorization): a
//! token given by the user, or one obtained with the client-credentials grant (pipelines).
//!
//! A client-credentials token is obtained when the server first answers 401: the challenge
//! names the Protected Resource Metadata, which names the authorization server, whose metadata
//! names the token endpoint (or `--oauth-token-endpoint` gives it, and then the first request
//! already carries a token). The token is cached and shared by every client of one
//! [`BearerAuth`], obtained again shortly before it expires, and once more when the server
//! answers 401 to it (revoked, keys rotated). Tokens and secrets are never logged: the `Debug`
//! forms leave them out, and the header carrying them is marked sensitive.

pub mod challenge;
mod discovery;
mod grant;

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

pub use challenge::Challenge;
pub(crate) use discovery::check_secure;

use super::ClientError;

/// A token is obtained again this long before it expires, at most.
const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// A client registered for the client-credentials grant.
#[derive(Clone)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: String,
    /// The scope to ask for (space-separated); default: the scope the server's challenge names.
    pub scope: Option<String>,
    /// The token endpoint; default: discovered from the server's metadata.
    pub token_endpoint: Option<String>,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("scope", &self.scope)
            .field("token_endpoint", &self.token_endpoint)
            .finish_non_exhaustive()
    }
}

/// Where bearer tokens come from, and the token in use.
pub struct BearerAuth {
    source: Source,
    state: tokio::sync::Mutex<State>,
}

/// A [`BearerAuth`] shared by the clients of one run.
pub type SharedBearer = Arc<BearerAuth>;

enum Source {
    Fixed(String),
    Credentials(ClientCredentials),
}

#[derive(Default)]
struct State {
    token: Option<Cached>,
    /// The token endpoint and the `resource` to name there, once known.
    endpoint: Option<(String, Option<String>)>,
}

struct Cached {
    value: String,
    /// When to obtain the next one; never, when the endpoint did not say how long it lasts.
    refresh_at: Option<Instant>,
}

impl Cached {
    fn fresh(&self) -> bool {
        self.refresh_at.is_none_or(|at| Instant::now() < at)
    }
}

impl std::fmt::Debug for BearerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            Source::Fixed(_) => f.write_str("BearerAuth(fixed token)"),
            Source::Credentials(c) => write!(f, "BearerAuth({c:?})"),
        }
    }
}

impl BearerAuth {
    /// A token obtained elsewhere, sent as it is.
    pub fn fixed(token: &str) -> Result<Self, ClientError> {
        let token = token.trim();
        if token.is_empty() || !token.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err(ClientError::Option(
                "the bearer token is empty or has characters a header cannot carry".into(),
            ));
        }
        Ok(Self::from_source(Source::Fixed(token.to_owned())))
    }

    /// Tokens obtained with the client-credentials grant.
    pub fn client_credentials(credentials: ClientCredentials) -> Result<Self, ClientError> {
        if credentials.client_id.is_empty() || credentials.client_secret.is_empty() {
            return Err(ClientError::Option(
                "client credentials need a client id and a secret".into(),
            ));
        }
        if let Some(endpoint) = &credentials.token_endpoint {
            check_secure(endpoint)?;
        }
        Ok(Self::from_source(Source::Credentials(credentials)))
    }

    fn from_source(source: Source) -> Self {
        Self {
            source,
            state: tokio::sync::Mutex::new(State::default()),
        }
    }

    /// Whether a 401 may be answered with another token.
    pub(crate) fn can_renew(&self) -> bool {
        matches!(self.source, Source::Credentials(_))
    }

    /// The token to send to `mcp_url` now: the fixed one, or a cached one that is not about to
    /// expire, or a new one when the token endpoint is known. `None` until a 401 tells where
    /// tokens come from.
    pub(crate) async fn current(
        &self,
        http: &reqwest::Client,
        mcp_url: &str,
    ) -> Result<Option<String>, ClientError> {
        let credentials = match &self.source {
            Source::Fixed(token) => return Ok(Some(token.clone())),
            Source::Credentials(credentials) => credentials,
        };
        let mut state = self.state.lock().await;
        if let Some(cached) = state.token.as_ref().filter(|c| c.fresh()) {
            return Ok(Some(cached.value.clone()));
        }
        if state.endpoint.is_none() && credentials.token_endpoint.is_none() {
            return Ok(None);
        }
        self.obtain(&mut state, credentials, http, mcp_url, None)
            .await
            .map(Some)
    }

    /// A token to try after the server answered 401 (with `challenge`) to a request that
    /// carried `sent`; `None` when there is nothing else to try.
    pub(crate) async fn renew(
        &self,
        http: &reqwest::Client,
        mcp_url: &str,
        sent: Option<&str>,
        challenge: Option<&Challenge>,
    ) -> Result<Option<String>, ClientError> {
        let Source::Credentials(credentials) = &self.source else {
            return Ok(None);
        };
        let mut state = self.state.lock().await;
        // Another request renewed it meanwhile.
        if let Some(cached) = state.token.as_ref().filter(|c| c.fresh())
            && Some(cached.value.as_str()) != sent
        {
            return Ok(Some(cached.value.clone()));
        }
        self.obtain(&mut state, credentials, http, mcp_url, challenge)
            .await
            .map(Some)
    }

    /// Obtains a token (discovering the endpoint first when needed) and caches it.
    async fn obtain(
        &self,
        state: &mut State,
        credentials: &ClientCredentials,
        http: &reqwest::Client,
        mcp_url: &str,
        challenge: Option<&Challenge>,
    ) -> Result<String, ClientError> {
        state.token = None;
        let (endpoint, resource) = match (&state.endpoint, &credentials.token_endpoint) {
            (Some(known), _) => known.clone(),
            (None, Some(given)) => {
                check_secure(given)?;
                (given.clone(), Some(mcp_url.to_owned()))
            }
            (None, None) => {
                let prm = challenge.and_then(|c| c.resource_metadata.as_deref());
                let found = discovery::discover(http, mcp_url, prm).await?;
                (found.token_endpoint, Some(found.resource))
            }
        };
        let scope = credentials
            .scope
            .as_deref()
            .or_else(|| challenge.and_then(|c| c.scope.as_deref()));
        let ask = |resource: Option<String>| {
            let endpoint = endpoint.clone();
            async move {
                grant::client_credentials(
                    http,
                    &endpoint,
                    &credentials.client_id,
                    &credentials.client_secret,
                    scope,
                    resource.as_deref(),
                )
                .await
            }
        };
        let (issued, resource) = match ask(resource.clone()).await {
            // An authorization server that knows no resource indicators may refuse one
            // (RFC 8707 `invalid_target`): ask again without, and stop naming it.
            Err(ClientError::TokenRefused { error, .. })
                if error == "invalid_target" && resource.is_some() =>
            {
                (ask(None).await?, None)
            }
            other => (other?, resource),
        };
        state.endpoint = Some((endpoint.clone(), resource));
        state.token = Some(Cached {
            value: issued.access_token.clone(),
            refresh_at: issued.lifetime.and_then(|l| refresh_at(Instant::now(), l)),
        });
        Ok(issued.access_token)
    }
}

/// How long before expiry a token of `lifetime` is replaced: a quarter of its life, at most a
/// minute, so that a request never leaves with a token about to expire on its way.
fn refresh_margin(lifetime: Duration) -> Duration {
    (lifetime / 4).min(MAX_REFRESH_MARGIN)
}

/// When a token of `lifetime` issued at `now` is replaced; `None` (until the server refuses it)
/// when that lies beyond what a clock can hold: an issuer's `expires_in` is not trusted to be
/// sane, and the client never panics on it.
fn refresh_at(now: Instant, lifetime: Duration) -> Option<Instant> {
    now.checked_add(lifetime - refresh_margin(lifetime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_lifetime_an_issuer_names_gives_a_refresh_time_without_panicking() {
        let now = Instant::now();
        assert_eq!(
            refresh_at(now, Duration::from_secs(3600)),
            Some(now + Duration::from_secs(3540))
        );
        // expires_in = 18446744073709551615 (u64::MAX seconds), and the largest Duration.
        assert_eq!(refresh_at(now, Duration::from_secs(u64::MAX)), None);
        assert_eq!(refresh_at(now, Duration::MAX), None);
    }

    #[test]
    fn tokens_are_replaced_shortly_before_they_expire() {
        assert_eq!(
            refresh_margin(Duration::from_secs(3600)),
            Duration::from_secs(60)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(40)),
            Duration::from_secs(10)
        );
        assert_eq!(refresh_margin(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn debug_forms_leave_secrets_out() {
        let fixed = BearerAuth::fixed("eyJhbGciOi.secret-token.sig").unwrap();
        assert!(!format!("{fixed:?}").contains("secret-token"));
        let credentials = ClientCredentials {
            client_id: "pipeline".into(),
            client_secret: "s3cr3t-value".into(),
            scope: None,
            token_endpoint: None,
        };
        let debug = format!("{:?}", BearerAuth::client_credentials(credentials).unwrap());
        assert!(
            debug.contains("pipeline") && !debug.contains("s3cr3t"),
            "{debug}"
        );
    }

    #[test]
    fn unusable_tokens_and_endpoints_are_refused_up_front() {
        assert!(BearerAuth::fixed("").is_err());
        assert!(BearerAuth::fixed("two words").is_err());
        assert!(BearerAuth::fixed("line\nbreak").is_err());
        assert!(BearerAuth::fixed("  trimmed-token\n").is_ok());
        let credentials = ClientCredentials {
            client_id: "pipeline".into(),
            client_secret: "secret".into(),
            scope: None,
            token_endpoint: Some("http://auth.example/oauth2/token".into()),
        };
        assert!(BearerAuth::client_credentials(credentials).is_err());
    }

    #[test]
    fn a_cached_token_is_used_until_its_refresh_time() {
        let at = |offset: Duration| Cached {
            value: "t".into(),
            refresh_at: Some(Instant::now() + offset),
        };
        assert!(at(Duration::from_secs(30)).fresh());
        assert!(!at(Duration::ZERO).fresh());
        let forever = Cached {
            value: "t".into(),
            refresh_at: None,
        };
        assert!(forever.fresh());
    }
}
