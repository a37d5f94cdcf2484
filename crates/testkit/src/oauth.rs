//! OAuth 2.1 on 127.0.0.1: a local authorization server ([`LocalIssuer`]) with an ECDSA P-256
//! key generated at start, and the conformance fixtures served in process with authorization
//! on against it ([`OAuthServer`]), for the OAuth clients' tests (`mcp-client`, the official
//! TypeScript SDK).
//!
//! The issuer serves its metadata (RFC 8414, or only OpenID Connect discovery under a path, as
//! Amazon Cognito does), its JWKS, a token endpoint (client credentials with
//! `client_secret_basic` or `client_secret_post`; authorization code with PKCE S256) and an
//! authorization endpoint that approves at once (no login page: what a host's browser would
//! do after the user signs in). Each token names the requested `resource` (RFC 8707) as its
//! `aud`. It records every token request, so a test sees what a client asked for.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bedrock_usage_mcp::config::HttpArgs;
use bedrock_usage_mcp::serve;
use bedrock_usage_mcp::store::StoreArgs;
use clap::Parser;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// The scope the [`OAuthServer`] requires and the issuer grants by default.
pub const SCOPE: &str = "mcp:tools";

/// An ECDSA P-256 signing key and its public JWK.
pub struct SigningKey {
    kid: String,
    pkcs8: Vec<u8>,
    jwk: Value,
    /// The public point (SEC1, uncompressed): what an attacker signs HS256 tokens with.
    public: Vec<u8>,
}

impl SigningKey {
    pub fn generate(kid: &str) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("key generation");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .expect("a P-256 key");
        let point = pair.public_key().as_ref();
        assert_eq!(point.len(), 65, "uncompressed P-256 point");
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        });
        Self {
            kid: kid.to_owned(),
            pkcs8: pkcs8.as_ref().to_vec(),
            jwk,
            public: point.to_vec(),
        }
    }

    /// `claims` as an ES256 JWT naming `kid` in its header.
    pub fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ec_der(&self.pkcs8))
            .expect("signing")
    }

    /// `claims` as an ES256 JWT naming this key's `kid`.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_as(&self.kid, claims)
    }

    pub fn jwk(&self) -> &Value {
        &self.jwk
    }

    pub fn public_point(&self) -> &[u8] {
        &self.public
    }
}

/// One request the token endpoint received (valid or not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    pub grant_type: String,
    /// The client id, from Basic authentication or the form.
    pub client_id: Option<String>,
    /// How the client authenticated: `client_secret_basic`, `client_secret_post` or `none`.
    pub auth_method: &'static str,
    pub scope: Option<String>,
    pub resource: Option<String>,
}

/// A client registered at the issuer.
#[derive(Debug, Clone)]
pub struct RegisteredClient {
    pub id: String,
    /// `None` for a public client (authorization code + PKCE).
    pub secret: Option<String>,
    pub redirect_uris: Vec<String>,
}

/// A code the authorization endpoint issued and the token endpoint has not redeemed yet.
struct PendingCode {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    scope: Option<String>,
    resource: Option<String>,
}

struct IssuerState {
    /// The issuer identifier (`http://127.0.0.1:PORT` plus the path, if any).
    issuer: String,
    key: SigningKey,
    /// Signs the tokens [`LocalIssuer::spoil_next`] asks for; never published.
    stranger: SigningKey,
    clients: Mutex<Vec<RegisteredClient>>,
    lifetime_secs: AtomicU64,
    spoil: AtomicUsize,
    requests: Mutex<Vec<TokenRequest>>,
    codes: Mutex<HashMap<String, PendingCode>>,
    next_code: AtomicUsize,
}

/// The local authorization server; stops when dropped.
pub struct LocalIssuer {
    state: Arc<IssuerState>,
    _stop: oneshot::Sender<()>,
}

impl LocalIssuer {
    /// An issuer at `http://127.0.0.1:PORT` with RFC 8414 metadata.
    pub async fn start() -> Self {
        Self::start_at("", false).await
    }

    /// An issuer at `http://127.0.0.1:PORT/pool-1` that offers only OpenID Connect discovery
    /// (`/pool-1/.well-known/openid-configuration`), as an Amazon Cognito user pool does.
    pub async fn cognito_like() -> Self {
        Self::start_at("/pool-1", true).await
    }

    async fn start_at(path: &str, oidc_only: bool) -> Self {
        let listener = serve::bind("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("bind the issuer");
        let origin = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(IssuerState {
            issuer: format!("{origin}{path}"),
            key: SigningKey::generate("issuer-key"),
            stranger: SigningKey::generate("issuer-key"),
            clients: Mutex::new(Vec::new()),
            lifetime_secs: AtomicU64::new(3600),
            spoil: AtomicUsize::new(0),
            requests: Mutex::new(Vec::new()),
            codes: Mutex::new(HashMap::new()),
            next_code: AtomicUsize::new(0),
        });
        let metadata_path = if oidc_only {
            format!("{path}/.well-known/openid-configuration")
        } else {
            format!("/.well-known/oauth-authorization-server{path}")
        };
        let app = Router::new()
            .route(&metadata_path, axum::routing::get(metadata))
            .route(&format!("{path}/jwks"), axum::routing::get(jwks))
            .route(&format!("{path}/token"), axum::routing::post(token))
            .route(&format!("{path}/authorize"), axum::routing::get(authorize))
            .with_state(Arc::clone(&state));
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(serve::serve(listener, app, async {
            let _ = stopped.await;
        }));
        Self { state, _stop: stop }
    }

    /// The issuer identifier, as `--oauth-issuer` takes it.
    pub fn url(&self) -> &str {
        &self.state.issuer
    }

    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.state.issuer)
    }

    /// Registers a confidential client (client credentials).
    pub fn register_confidential(&self, id: &str, secret: &str) {
        self.register(RegisteredClient {
            id: id.to_owned(),
            secret: Some(secret.to_owned()),
            redirect_uris: Vec::new(),
        });
    }

    /// Registers a public client (authorization code + PKCE) with its redirect URIs, as a
    /// host's client is pre-registered where there is no dynamic registration.
    pub fn register_public(&self, id: &str, redirect_uris: &[&str]) {
        self.register(RegisteredClient {
            id: id.to_owned(),
            secret: None,
            redirect_uris: redirect_uris.iter().map(|u| (*u).to_owned()).collect(),
        });
    }

    fn register(&self, client: RegisteredClient) {
        self.state.clients.lock().expect("lock").push(client);
    }

    /// The `expires_in` (and `exp`) of the tokens issued from now on.
    pub fn set_lifetime(&self, secs: u64) {
        self.state.lifetime_secs.store(secs, Ordering::SeqCst);
    }

    /// The next `count` tokens are signed with a key the issuer never publishes, so the
    /// resource server refuses them with 401 (as it would a revoked token).
    pub fn spoil_next(&self, count: usize) {
        self.state.spoil.store(count, Ordering::SeqCst);
    }

    /// Every token request so far.
    pub fn token_requests(&self) -> Vec<TokenRequest> {
        self.state.requests.lock().expect("lock").clone()
    }

    /// An access token for `resource` with the default scope, signed with the issuer's key,
    /// as if obtained out of band.
    pub fn token_for(&self, resource: &str, subject: &str) -> String {
        self.state.key.sign(&claims(
            &self.state,
            subject,
            subject,
            Some(SCOPE),
            Some(resource),
        ))
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn claims(
    state: &IssuerState,
    subject: &str,
    client_id: &str,
    scope: Option<&str>,
    resource: Option<&str>,
) -> Value {
    let mut claims = json!({
        "iss": state.issuer, "sub": subject, "client_id": client_id, "token_use": "access",
        "scope": scope.unwrap_or(SCOPE), "iat": now(), "nbf": now() - 5,
        "exp": now() + state.lifetime_secs.load(Ordering::SeqCst),
    });
    if let Some(resource) = resource {
        claims["aud"] = json!(resource);
    }
    claims
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [
            ("content-type", "application/json"),
            ("cache-control", "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(
        status,
        &json!({ "error": error, "error_description": description }),
    )
}

async fn metadata(State(state): State<Arc<IssuerState>>) -> Response {
    let issuer = &state.issuer;
    json_response(
        StatusCode::OK,
        &json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "jwks_uri": format!("{issuer}/jwks"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "client_credentials"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported":
                ["client_secret_basic", "client_secret_post", "none"],
            "scopes_supported": [SCOPE],
        }),
    )
}

async fn jwks(State(state): State<Arc<IssuerState>>) -> Response {
    json_response(StatusCode::OK, &json!({ "keys": [state.key.jwk()] }))
}

/// `application/x-www-form-urlencoded` pairs (a body or a query), later keys winning.
fn form(text: &str) -> HashMap<String, String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(text)
        .unwrap_or_default()
        .into_iter()
        .collect()
}

/// The client id and secret of a `Basic` header (each form-decoded, RFC 6749 section 2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let pairs = form(&format!("id={id}&secret={secret}"));
    Some((pairs.get("id")?.clone(), pairs.get("secret")?.clone()))
}

async fn token(State(state): State<Arc<IssuerState>>, headers: HeaderMap, body: Bytes) -> Response {
    let params = form(&String::from_utf8_lossy(&body));
    let param = |name: &str| params.get(name).cloned();
    let (client_id, secret, auth_method) = match basic_credentials(&headers) {
        Some((id, secret)) => (Some(id), Some(secret), "client_secret_basic"),
        None => match param("client_secret") {
            Some(secret) => (param("client_id"), Some(secret), "client_secret_post"),
            None => (param("client_id"), None, "none"),
        },
    };
    let grant_type = param("grant_type").unwrap_or_default();
    state.requests.lock().expect("lock").push(TokenRequest {
        grant_type: grant_type.clone(),
        client_id: client_id.clone(),
        auth_method,
        scope: param("scope"),
        resource: param("resource"),
    });
    let Some(client_id) = client_id else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "no client id");
    };
    let registered = state
        .clients
        .lock()
        .expect("lock")
        .iter()
        .find(|c| c.id == client_id)
        .cloned();
    let Some(registered) = registered.filter(|c| c.secret == secret) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or wrong secret",
        );
    };
    let (subject, scope, resource) = match grant_type.as_str() {
        "client_credentials" if registered.secret.is_some() => {
            (client_id.clone(), param("scope"), param("resource"))
        }
        "authorization_code" => {
            let pending = param("code").and_then(|c| state.codes.lock().expect("lock").remove(&c));
            let Some(pending) = pending else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "unknown or used code",
                );
            };
            let verifier = param("code_verifier").unwrap_or_default();
            let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
            if pending.client_id != client_id
                || param("redirect_uri").as_deref() != Some(pending.redirect_uri.as_str())
                || URL_SAFE_NO_PAD.encode(digest.as_ref()) != pending.challenge
            {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "client, redirect_uri or code_verifier does not match the code",
                );
            }
            (
                "user-1".to_owned(),
                pending.scope,
                param("resource").or(pending.resource),
            )
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "client_credentials (confidential clients) or authorization_code",
            );
        }
    };
    let claims = claims(
        &state,
        &subject,
        &client_id,
        scope.as_deref(),
        resource.as_deref(),
    );
    let spoiled = state
        .spoil
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    let key = if spoiled { &state.stranger } else { &state.key };
    json_response(
        StatusCode::OK,
        &json!({
            "access_token": key.sign(&claims),
            "token_type": "Bearer",
            "expires_in": state.lifetime_secs.load(Ordering::SeqCst),
            "scope": claims["scope"],
        }),
    )
}

/// Approves at once: checks the client, its redirect URI and the PKCE challenge, and
/// redirects back with a code.
async fn authorize(State(state): State<Arc<IssuerState>>, uri: Uri) -> Response {
    let params = form(uri.query().unwrap_or(""));
    let param = |name: &str| params.get(name).cloned();
    let client = param("client_id").and_then(|id| {
        state
            .clients
            .lock()
            .expect("lock")
            .iter()
            .find(|c| c.id == id)
            .cloned()
    });
    let Some(client) = client else {
        return (StatusCode::BAD_REQUEST, "unknown client_id").into_response();
    };
    let Some(redirect_uri) = param("redirect_uri").filter(|r| client.redirect_uris.contains(r))
    else {
        return (StatusCode::BAD_REQUEST, "redirect_uri not registered").into_response();
    };
    let challenge = param("code_challenge").filter(|_| {
        param("code_challenge_method").as_deref() == Some("S256")
            && param("response_type").as_deref() == Some("code")
    });
    let Some(challenge) = challenge else {
        return (
            StatusCode::BAD_REQUEST,
            "response_type=code with an S256 code_challenge is required",
        )
            .into_response();
    };
    let code = format!(
        "code-{}",
        state.next_code.fetch_add(1, Ordering::SeqCst) + 1
    );
    state.codes.lock().expect("lock").insert(
        code.clone(),
        PendingCode {
            client_id: client.id,
            redirect_uri: redirect_uri.clone(),
            challenge,
            scope: param("scope"),
            resource: param("resource"),
        },
    );
    let mut query = vec![("code", code)];
    query.extend(param("state").map(|s| ("state", s)));
    query.push(("iss", state.issuer.clone()));
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    let location = format!(
        "{redirect_uri}{separator}{}",
        serde_urlencoded::to_string(&query).expect("encodable")
    );
    (StatusCode::FOUND, [("location", location)]).into_response()
}

#[derive(Debug, Parser)]
struct ServerFlags {
    #[command(flatten)]
    http: HttpArgs,
    #[command(flatten)]
    store: StoreArgs,
}

/// The conformance fixtures on 127.0.0.1, in process, with `--oauth-issuer ISSUER
/// --public-url URL --oauth-scope mcp:tools` and `extra` flags; stops when dropped.
pub struct OAuthServer {
    /// The MCP endpoint, also the OAuth resource identifier.
    pub url: String,
    _stop: oneshot::Sender<()>,
}

impl OAuthServer {
    pub async fn start(issuer: &LocalIssuer, extra: &[&str]) -> Self {
        let listener = serve::bind("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("bind the server");
        let url = format!("http://{}/mcp", listener.local_addr().expect("addr"));
        let mut args = vec![
            "oauth-server",
            "--oauth-issuer",
            issuer.url(),
            "--public-url",
            &url,
            "--oauth-scope",
            SCOPE,
        ];
        args.extend_from_slice(extra);
        let flags = ServerFlags::try_parse_from(args).expect("flags");
        let server = mcp_conformance::conformance_server(None);
        let app = serve::app(server, &flags.http, &flags.store)
            .await
            .expect("the server starts against the local issuer");
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(serve::serve(listener, app, async {
            let _ = stopped.await;
        }));
        Self { url, _stop: stop }
    }

    /// The path-suffixed Protected Resource Metadata URL its challenges name.
    pub fn metadata_url(&self) -> String {
        self.url
            .replace("/mcp", "/.well-known/oauth-protected-resource/mcp")
    }
}
