//! OAuth 2.1 authorization (issue 15): the server as a resource server, started with the
//! `--oauth-*` flags against a local issuer that this test runs on 127.0.0.1 (metadata and a
//! JWKS of ECDSA P-256 keys generated here). Every refusal is checked for its status and its
//! `WWW-Authenticate` challenge; the issuer counts its JWKS fetches, so the rate limit on
//! refetches for unknown `kid`s is observed, not assumed.
//!
//! Legacy sessions are bound to the principal of the token that created them: tried with the
//! memory store and with two instances on one DynamoDB table (moto).

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bedrock_usage_mcp::auth::Authorizer;
use bedrock_usage_mcp::config::HttpArgs;
use bedrock_usage_mcp::serve;
use bedrock_usage_mcp::server::McpServer;
use bedrock_usage_mcp::store::dynamodb::create_table;
use bedrock_usage_mcp::store::{DynamoStore, MemoryStore, SessionId, SessionStore, StoreArgs};
use bedrock_usage_mcp::transport::{McpService, TransportConfig};
use clap::Parser;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mcp_testkit::app::modern_meta;
use mcp_testkit::jsonrpc;
use mcp_testkit::lambda::{GATEWAY_DOMAIN, InstanceSpec, LambdaHarness, Options, STAGE};
use mcp_testkit::moto::{Moto, unique_table};
use mcp_testkit::oauth::SigningKey;
use mcp_testkit::sse::SseReader;
use serde_json::{Value, json};
use tokio::sync::oneshot;

const SCOPE: &str = "mcp:tools";

/// What the local issuer serves, changeable while it runs.
struct IssuerState {
    url: String,
    /// The `issuer` its metadata claims (normally `url`).
    claimed_issuer: Mutex<String>,
    published: Mutex<Vec<Value>>,
    jwks_fetches: AtomicUsize,
    /// Serve only OpenID Connect discovery (no RFC 8414 document).
    oidc_only: bool,
}

struct Issuer {
    state: Arc<IssuerState>,
    _stop: oneshot::Sender<()>,
}

impl Issuer {
    async fn start(keys: &[&SigningKey], oidc_only: bool) -> Self {
        let listener = serve::bind("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("bind the issuer");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(IssuerState {
            claimed_issuer: Mutex::new(url.clone()),
            url,
            published: Mutex::new(keys.iter().map(|k| k.jwk().clone()).collect()),
            jwks_fetches: AtomicUsize::new(0),
            oidc_only,
        });
        let metadata_path = if oidc_only {
            "/.well-known/openid-configuration"
        } else {
            "/.well-known/oauth-authorization-server"
        };
        let app = Router::new()
            .route(metadata_path, axum::routing::get(metadata))
            .route("/jwks", axum::routing::get(jwks))
            .with_state(Arc::clone(&state));
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(serve::serve(listener, app, async {
            let _ = stopped.await;
        }));
        Self { state, _stop: stop }
    }

    fn url(&self) -> &str {
        &self.state.url
    }

    fn publish(&self, keys: &[&SigningKey]) {
        *self.state.published.lock().expect("lock") =
            keys.iter().map(|k| k.jwk().clone()).collect();
    }

    fn jwks_fetches(&self) -> usize {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }
}

async fn metadata(State(state): State<Arc<IssuerState>>) -> Response {
    let body = json!({
        "issuer": *state.claimed_issuer.lock().expect("lock"),
        "jwks_uri": format!("{}/jwks", state.url),
        "token_endpoint": format!("{}/token", state.url),
        "scopes_supported": [SCOPE],
        "oidc_only": state.oidc_only,
    });
    ([("content-type", "application/json")], body.to_string()).into_response()
}

async fn jwks(State(state): State<Arc<IssuerState>>) -> Response {
    state.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let keys = state.published.lock().expect("lock").clone();
    let body = json!({ "keys": keys });
    ([("content-type", "application/json")], body.to_string()).into_response()
}

#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    http: HttpArgs,
    #[command(flatten)]
    store: StoreArgs,
}

/// The MCP server on 127.0.0.1, built from flags as the binaries build it.
struct Server {
    base: String,
    _stop: oneshot::Sender<()>,
}

impl Server {
    /// Starts with `--oauth-issuer ISSUER --public-url URL --oauth-scope mcp:tools`, or with
    /// authorization off when `issuer` is `None`.
    async fn start(issuer: Option<&Issuer>) -> Result<Self, serve::RunError> {
        Self::start_with(issuer, &[]).await
    }

    /// An instance on `store` (instances sharing a store serve each other's sessions), with
    /// authorization from `issuer` as [`Server::start`] sets it, for the resource at `public`
    /// (instances behind one URL share it), by default its own URL.
    async fn start_on(issuer: &Issuer, store: Arc<dyn SessionStore>, public: Option<&str>) -> Self {
        let (listener, base) = Self::listen().await;
        let public = public.map_or_else(|| format!("{base}/mcp"), str::to_owned);
        let cli = Self::flags(Some(issuer), &public, &[]);
        let settings = cli.http.oauth_settings().expect("settings").expect("on");
        let auth = Authorizer::discover(settings).await.expect("discovery");
        let server = mcp_conformance::conformance_server(None);
        let app = McpService::new(server, store, TransportConfig::default())
            .with_authorizer(Arc::new(auth))
            .router();
        Self::serving(listener, base, app)
    }

    /// [`Server::start`] with more flags.
    async fn start_with(issuer: Option<&Issuer>, extra: &[&str]) -> Result<Self, serve::RunError> {
        let (listener, base) = Self::listen().await;
        let cli = Self::flags(issuer, &format!("{base}/mcp"), extra);
        let server = McpServer::builder("oauth-test", "1").build();
        let app = serve::app(server, &cli.http, &cli.store).await?;
        Ok(Self::serving(listener, base, app))
    }

    /// A listener on 127.0.0.1 and its base URL.
    async fn listen() -> (tokio::net::TcpListener, String) {
        let listener = serve::bind("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("bind the server");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        (listener, base)
    }

    /// The flags of an instance: `--oauth-issuer ISSUER --public-url PUBLIC --oauth-scope
    /// mcp:tools` (none of them without an issuer), then `extra`.
    fn flags(issuer: Option<&Issuer>, public: &str, extra: &[&str]) -> Cli {
        let mut args = vec!["test"];
        if let Some(issuer) = issuer {
            args.extend(["--oauth-issuer", issuer.url(), "--public-url", public]);
            args.extend(["--oauth-scope", SCOPE]);
        }
        args.extend(extra);
        Cli::try_parse_from(args).expect("flags")
    }

    /// Serves `app` on `listener` until the returned server is dropped.
    fn serving(listener: tokio::net::TcpListener, base: String, app: Router) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(serve::serve(listener, app, async {
            let _ = stopped.await;
        }));
        Self { base, _stop: stop }
    }

    fn resource(&self) -> String {
        format!("{}/mcp", self.base)
    }

    fn metadata_url(&self) -> String {
        format!("{}/.well-known/oauth-protected-resource/mcp", self.base)
    }
}

/// An answer, read whole.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn challenge(&self) -> &str {
        self.headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

async fn read(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    let body =
        serde_json::from_slice(&bytes).unwrap_or_else(|_| json!(String::from_utf8_lossy(&bytes)));
    Answer {
        status,
        headers,
        body,
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// Claims of a token valid for `server` from `issuer`.
fn claims(issuer: &Issuer, server: &Server) -> Value {
    json!({
        "iss": issuer.url(), "aud": server.resource(), "sub": "user-1",
        "client_id": "host", "scope": format!("openid {SCOPE}"),
        "iat": now(), "nbf": now() - 5, "exp": now() + 300,
    })
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

/// POSTs a legacy `initialize` (2025-11-25) with the given `Authorization` values and query.
async fn initialize(server: &Server, authorization: &[&str], query: &str) -> Answer {
    initialize_at(&format!("{}/mcp{query}", server.base), authorization).await
}

/// [`initialize`] at `url`.
async fn initialize_at(url: &str, authorization: &[&str]) -> Answer {
    let body = jsonrpc::initialize(1, "2025-11-25", "oauth-test", json!({}));
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    for value in authorization {
        request = request.header("authorization", *value);
    }
    read(request.body(body.to_string()).send().await.expect("POST")).await
}

async fn with_token(server: &Server, token: &str) -> Answer {
    initialize(server, &[&format!("Bearer {token}")], "").await
}

/// A 2026-07-28 `tools/list`.
async fn modern_list(server: &Server, token: Option<&str>) -> Answer {
    let body = jsonrpc::request(2, "tools/list", json!({ "_meta": modern_meta(json!({})) }));
    let mut request = reqwest::Client::new()
        .post(server.resource())
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/list");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    read(request.body(body.to_string()).send().await.expect("POST")).await
}

async fn get(url: &str) -> Answer {
    read(reqwest::get(url).await.expect("GET")).await
}

#[tokio::test]
async fn without_a_token_the_challenge_names_the_public_metadata() {
    let key = SigningKey::generate("k1");
    let issuer = Issuer::start(&[&key], false).await;
    let server = Server::start(Some(&issuer)).await.expect("server starts");

    let refused = initialize(&server, &[], "").await;
    assert_eq!(refused.status, 401, "{refused:?}");
    assert_eq!(
        refused.challenge(),
        format!(
            "Bearer resource_metadata=\"{}\", scope=\"{SCOPE}\"",
            server.metadata_url()
        ),
        "no error code when no token was sent"
    );
    let basic = initialize(&server, &["Basic dXNlcjpwYXNz"], "").await;
    assert_eq!(basic.status, 401);
    assert!(!basic.challenge().contains("error="), "{basic:?}");
    assert_eq!(modern_list(&server, None).await.status, 401);

    let expected = json!({
        "resource": server.resource(),
        "authorization_servers": [issuer.url()],
        "bearer_methods_supported": ["header"],
        "scopes_supported": [SCOPE],
        "resource_name": "Bedrock usage MCP server",
    });
    for url in [
        server.metadata_url(),
        format!("{}/.well-known/oauth-protected-resource", server.base),
    ] {
        let document = get(&url).await;
        assert_eq!(document.status, 200, "{url}: {document:?}");
        assert_eq!(document.body, expected, "{url}");
    }

    // A browser host on an allowed origin can read the challenge, and its preflight needs
    // no token.
    let browser = reqwest::Client::new()
        .post(server.resource())
        .header("origin", "http://localhost:6274")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body("{}")
        .send()
        .await
        .expect("POST");
    let browser = read(browser).await;
    assert_eq!(browser.status, 401);
    let exposed = browser.headers["access-control-expose-headers"]
        .to_str()
        .expect("ascii");
    assert!(exposed.contains("www-authenticate"), "{exposed}");
    let preflight = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, server.resource())
        .header("origin", "http://localhost:6274")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("OPTIONS");
    assert_eq!(preflight.status(), 204);
}

#[tokio::test]
async fn a_valid_token_is_accepted_in_both_eras() {
    let key = SigningKey::generate("k1");
    let issuer = Issuer::start(&[&key], false).await;
    let server = Server::start(Some(&issuer)).await.expect("server starts");
    let token = key.sign(&claims(&issuer, &server));

    let initialized = with_token(&server, &token).await;
    assert_eq!(initialized.status, 200, "{initialized:?}");
    assert_eq!(initialized.body["result"]["protocolVersion"], "2025-11-25");
    let session = initialized.headers["mcp-session-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let note = jsonrpc::notification("notifications/initialized", Value::Null);
    let in_session = |token: Option<String>| {
        let mut request = reqwest::Client::new()
            .post(server.resource())
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-session-id", &session)
            .header("mcp-protocol-version", "2025-11-25");
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.body(note.to_string()).send()
    };
    let accepted = in_session(Some(token.clone())).await.expect("POST");
    assert_eq!(accepted.status(), 202);
    let refused = in_session(None).await.expect("POST");
    assert_eq!(
        refused.status(),
        401,
        "a session id is no substitute for the token"
    );

    let listed = modern_list(&server, Some(&token)).await;
    assert_eq!(listed.status, 200, "{listed:?}");
    assert!(listed.body["result"]["tools"].is_array(), "{listed:?}");
    // An audience given as a list that contains the resource is accepted too.
    let listed_aud = with(
        claims(&issuer, &server),
        "aud",
        json!(["other", server.resource()]),
    );
    assert_eq!(
        with_token(&server, &key.sign(&listed_aud)).await.status,
        200
    );
    assert_eq!(issuer.jwks_fetches(), 1, "valid tokens need no refetch");
}

#[tokio::test]
async fn each_bad_token_gets_401_invalid_token() {
    let key = SigningKey::generate("k1");
    let stranger = SigningKey::generate("k1");
    let issuer = Issuer::start(&[&key], false).await;
    let server = Server::start(Some(&issuer)).await.expect("server starts");
    let good = claims(&issuer, &server);
    let mut without_exp = good.clone();
    without_exp.as_object_mut().expect("object").remove("exp");

    let encode = |part: &Value| URL_SAFE_NO_PAD.encode(part.to_string());
    let alg_none = format!(
        "{}.{}.",
        encode(&json!({ "alg": "none", "typ": "JWT", "kid": "k1" })),
        encode(&good)
    );
    let mut hs256 = Header::new(Algorithm::HS256);
    hs256.kid = Some("k1".into());
    let hmac_with_public_key = |secret: &[u8]| {
        jsonwebtoken::encode(&hs256, &good, &EncodingKey::from_secret(secret)).expect("HS256")
    };

    let cases = [
        ("signed by another key", stranger.sign(&good)),
        (
            "wrong issuer",
            key.sign(&with(good.clone(), "iss", json!("http://127.0.0.1:1"))),
        ),
        (
            "wrong audience",
            key.sign(&with(
                good.clone(),
                "aud",
                json!("https://other.example/mcp"),
            )),
        ),
        ("no audience", {
            let mut c = good.clone();
            c.as_object_mut().expect("object").remove("aud");
            key.sign(&c)
        }),
        (
            "expired beyond the leeway",
            key.sign(&with(good.clone(), "exp", json!(now() - 120))),
        ),
        (
            "not valid for another two minutes",
            key.sign(&with(good.clone(), "nbf", json!(now() + 120))),
        ),
        ("without exp", key.sign(&without_exp)),
        ("alg none", alg_none),
        (
            "HS256 keyed with the public point",
            hmac_with_public_key(key.public_point()),
        ),
        (
            "HS256 keyed with the public JWK",
            hmac_with_public_key(key.jwk().to_string().as_bytes()),
        ),
        ("not a JWT", "abc.def.ghi".to_owned()),
        ("a tampered payload", {
            let token = key.sign(&good);
            let parts: Vec<&str> = token.split('.').collect();
            let forged = encode(&with(good.clone(), "scope", json!("admin mcp:tools")));
            format!("{}.{forged}.{}", parts[0], parts[2])
        }),
    ];
    for (case, token) in &cases {
        let refused = with_token(&server, token).await;
        assert_eq!(refused.status, 401, "{case}: {refused:?}");
        let challenge = refused.challenge();
        assert!(
            challenge.starts_with(&format!(
                "Bearer resource_metadata=\"{}\"",
                server.metadata_url()
            )) && challenge.contains("error=\"invalid_token\""),
            "{case}: {challenge}"
        );
        assert_eq!(refused.body["error"], "invalid_token", "{case}");
    }
    // Within the 30 s leeway a token is still good on either side.
    let skewed = with(
        with(good.clone(), "exp", json!(now() - 10)),
        "nbf",
        json!(now() + 10),
    );
    assert_eq!(with_token(&server, &key.sign(&skewed)).await.status, 200);
    assert_eq!(
        issuer.jwks_fetches(),
        1,
        "no token with a known kid makes the server refetch the keys"
    );
}

#[tokio::test]
async fn malformed_requests_get_400_invalid_request() {
    let key = SigningKey::generate("k1");
    let issuer = Issuer::start(&[&key], false).await;
    let server = Server::start(Some(&issuer)).await.expect("server starts");
    let token = key.sign(&claims(&issuer, &server));
    let bearer = format!("Bearer {token}");

    let cases: [(&str, Vec<&str>, String); 4] = [
        (
            "token in the query string",
            vec![],
            format!("?access_token={token}"),
        ),
        (
            "token in the query string beside a valid header",
            vec![bearer.as_str()],
            format!("?access_token={token}"),
        ),
        ("Bearer without a token", vec!["Bearer"], String::new()),
        (
            "two Authorization headers",
            vec![bearer.as_str(), bearer.as_str()],
            String::new(),
        ),
    ];
    for (case, authorization, query) in &cases {
        let refused = initialize(&server, authorization, query).await;
        assert_eq!(refused.status, 400, "{case}: {refused:?}");
        assert!(
            refused.challenge().contains("error=\"invalid_request\"")
                && refused.challenge().contains(&server.metadata_url()),
            "{case}: {}",
            refused.challenge()
        );
    }
    assert_eq!(initialize(&server, &[&bearer], "").await.status, 200);
}

#[tokio::test]
async fn a_token_without_the_scope_gets_403_insufficient_scope() {
    let key = SigningKey::generate("k1");
    let issuer = Issuer::start(&[&key], false).await;
    let server = Server::start(Some(&issuer)).await.expect("server starts");
    for scope in [json!("openid profile"), json!(null)] {
        let token = key.sign(&with(claims(&issuer, &server), "scope", scope.clone()));
        let refused = with_token(&server, &token).await;
        assert_eq!(refused.status, 403, "scope {scope}: {refused:?}");
        assert_eq!(
            refused.challenge(),
            format!(
                "Bearer resource_metadata=\"{}\", scope=\"{SCOPE}\", \
                 error=\"insufficient_scope\", \
                 error_description=\"the token lacks a scope this server requires\"",
                server.metadata_url()
            )
        );
    }
    // `scp` as a list (Okta, Azure AD) grants the scope as well.
    let mut scp = claims(&issuer, &server);
    scp.as_object_mut().expect("object").remove("scope");
    scp["scp"] = json!([SCOPE]);
    assert_eq!(with_token(&server, &key.sign(&scp)).await.status, 200);
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_and_unknown_kids_refetch_at_most_once_a_minute() {
    let old = SigningKey::generate("old");
    let new = SigningKey::generate("new");
    let issuer = Issuer::start(&[&old], false).await;
    let server = Server::start(Some(&issuer)).await.expect("server starts");
    assert_eq!(issuer.jwks_fetches(), 1, "keys fetched once at start-up");

    // The issuer rotates: the new key's first token makes the server refetch, once.
    issuer.publish(&[&new]);
    let fresh = new.sign(&claims(&issuer, &server));
    assert_eq!(with_token(&server, &fresh).await.status, 200);
    assert_eq!(issuer.jwks_fetches(), 2);
    assert_eq!(with_token(&server, &fresh).await.status, 200);
    assert_eq!(issuer.jwks_fetches(), 2, "the new key is cached");

    // A flood of made-up kids, sent at once: every token refused, no further fetch.
    let forger = SigningKey::generate("forger");
    let flood: Vec<_> = (0..20)
        .map(|i| {
            let token = forger.sign_as(&format!("bogus-{i}"), &claims(&issuer, &server));
            let server = &server;
            async move { with_token(server, &token).await }
        })
        .collect();
    for refused in futures_util::future::join_all(flood).await {
        assert_eq!(refused.status, 401, "{refused:?}");
        assert!(refused.challenge().contains("error=\"invalid_token\""));
    }
    assert_eq!(
        issuer.jwks_fetches(),
        2,
        "unknown kids within a minute of the last refetch cost the issuer nothing"
    );
    // The price of the limit: a key published within that minute waits for the next one.
    let late = SigningKey::generate("late");
    issuer.publish(&[&new, &late]);
    assert_eq!(
        with_token(&server, &late.sign(&claims(&issuer, &server)))
            .await
            .status,
        401
    );
    assert_eq!(issuer.jwks_fetches(), 2);
}

#[tokio::test]
async fn the_issuer_is_found_by_openid_discovery_and_must_name_itself() {
    let key = SigningKey::generate("k1");
    let oidc = Issuer::start(&[&key], true).await;
    let server = Server::start(Some(&oidc)).await.expect("server starts");
    let token = key.sign(&claims(&oidc, &server));
    assert_eq!(with_token(&server, &token).await.status, 200);

    let impostor = Issuer::start(&[&key], false).await;
    *impostor.state.claimed_issuer.lock().expect("lock") = "https://someone.else".into();
    let error = Server::start(Some(&impostor))
        .await
        .err()
        .expect("a server whose issuer names another issuer does not start");
    assert!(error.to_string().contains("someone.else"), "{error}");
}

/// Amazon Cognito access tokens carry `client_id`, `token_use: access` and the resource
/// server's scopes, and no `aud`; its ID tokens carry `aud` = the app client id and
/// `token_use: id`. With `--oauth-client-id`, the first are accepted from the listed clients
/// and the second never.
#[tokio::test]
async fn cognito_access_tokens_are_bound_by_client_id() {
    let key = SigningKey::generate("k1");
    let issuer = Issuer::start(&[&key], false).await;
    let server = Server::start_with(Some(&issuer), &["--oauth-client-id", "mcp-host,pipeline"])
        .await
        .expect("server starts");
    let access = |client: &str| {
        json!({
            "iss": issuer.url(), "sub": "user-1", "client_id": client, "token_use": "access",
            "scope": format!("openid {SCOPE}"), "username": "user-1",
            "iat": now(), "auth_time": now(), "exp": now() + 300,
        })
    };
    for client in ["mcp-host", "pipeline"] {
        let accepted = with_token(&server, &key.sign(&access(client))).await;
        assert_eq!(accepted.status, 200, "{client}: {accepted:?}");
    }
    let with_resource = with(access("mcp-host"), "aud", json!(server.resource()));
    assert_eq!(
        with_token(&server, &key.sign(&with_resource)).await.status,
        200
    );

    let mut no_client = access("mcp-host");
    no_client
        .as_object_mut()
        .expect("object")
        .remove("client_id");
    let id_token = json!({
        "iss": issuer.url(), "sub": "user-1", "aud": "mcp-host", "token_use": "id",
        "client_id": "mcp-host", "iat": now(), "exp": now() + 300,
    });
    let cases = [
        (
            "another app client",
            access("someone-else"),
            "a client this server does not accept",
        ),
        (
            "no client_id",
            no_client,
            "a client this server does not accept",
        ),
        ("an ID token", id_token, "not an access token"),
        (
            "an aud naming another resource",
            with(
                access("mcp-host"),
                "aud",
                json!("https://other.example/mcp"),
            ),
            "not meant for this resource",
        ),
    ];
    for (case, claims, description) in cases {
        let refused = with_token(&server, &key.sign(&claims)).await;
        assert_eq!(refused.status, 401, "{case}: {refused:?}");
        assert!(
            refused.challenge().contains("error=\"invalid_token\"")
                && refused.challenge().contains(description),
            "{case}: {}",
            refused.challenge()
        );
    }
    // The scope is still required.
    let unscoped = with(access("mcp-host"), "scope", json!("openid"));
    assert_eq!(with_token(&server, &key.sign(&unscoped)).await.status, 403);
}

#[tokio::test]
async fn with_authorization_off_nothing_changes() {
    let server = Server::start(None).await.expect("server starts");
    let open = initialize(&server, &[], "").await;
    assert_eq!(open.status, 200, "{open:?}");
    assert!(open.headers.get("www-authenticate").is_none());
    assert_eq!(get(&server.metadata_url()).await.status, 404);
}

/// Which session store the instances of a binding test share.
#[derive(Clone, Copy, Debug)]
enum Backend {
    Memory,
    DynamoDb,
}

/// Two instances on one store of `backend`, the store, and (DynamoDB) the table and moto.
async fn two_instances(
    issuer: &Issuer,
    backend: Backend,
) -> (
    Server,
    Server,
    Arc<dyn SessionStore>,
    Option<(Arc<Moto>, String)>,
) {
    let (store, moto): (Arc<dyn SessionStore>, _) = match backend {
        Backend::Memory => (Arc::new(MemoryStore::new()), None),
        Backend::DynamoDb => {
            let moto = Moto::shared();
            let table = unique_table("oauth-sessions");
            assert!(create_table(&moto.dynamodb(), &table).await.expect("table"));
            let store = Arc::new(DynamoStore::new(moto.dynamodb(), &table));
            (store, Some((moto, table)))
        }
    };
    let one = Server::start_on(issuer, Arc::clone(&store), None).await;
    let two = Server::start_on(issuer, Arc::clone(&store), Some(&one.resource())).await;
    (one, two, store, moto)
}

/// A request in session `session` of `server` with `token`: `method` POST (with `body`), GET
/// (with `last_event_id`, if any) or DELETE.
async fn in_session(
    server: &Server,
    method: reqwest::Method,
    session: &str,
    token: &str,
    body: Option<Value>,
    last_event_id: Option<&str>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .request(method, server.resource())
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", "2025-11-25")
        .bearer_auth(token);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    request.send().await.expect("request")
}

/// A legacy session is bound to the principal of the token that created it (issuer and `sub`,
/// or `client_id` for a token with no user): a valid token of anyone else gets 404 on every
/// request in it (POST, GET, resumption, DELETE), on either instance, and the owner's session
/// is left exactly as it was. The store keeps a digest, never the token nor the subject.
async fn sessions_are_bound_to_their_principal(backend: Backend) {
    let key = SigningKey::generate("k1");
    let issuer = Issuer::start(&[&key], false).await;
    let (one, two, store, moto) = two_instances(&issuer, backend).await;
    let token_of = |sub: Option<&str>, client: &str| {
        let mut claims = with(claims(&issuer, &one), "client_id", json!(client));
        match sub {
            Some(sub) => claims["sub"] = json!(sub),
            None => {
                claims.as_object_mut().expect("object").remove("sub");
            }
        }
        key.sign(&claims)
    };
    let alice = token_of(Some("alice"), "host");
    let strangers = [
        ("another user", token_of(Some("bob"), "host")),
        ("a client named like the user", token_of(None, "alice")),
    ];
    let pipeline = token_of(None, "pipeline");
    let other_client = token_of(None, "reporter");

    let created = with_token(&one, &alice).await;
    assert_eq!(created.status, 200, "{created:?}");
    let session = created.headers["mcp-session-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let note = jsonrpc::notification("notifications/initialized", Value::Null);
    let post = |server, token, body| {
        in_session(
            server,
            reqwest::Method::POST,
            &session,
            token,
            Some(body),
            None,
        )
    };
    assert_eq!(post(&two, &alice, note.clone()).await.status(), 202);
    // Alice's standalone stream, for an event id to resume from.
    let opened = in_session(&two, reqwest::Method::GET, &session, &alice, None, None).await;
    assert_eq!(opened.status(), 200);
    let mut events = SseReader::from_response(opened);
    let priming = events
        .next(Duration::from_secs(30))
        .await
        .expect("the priming event");
    let event_id = priming.id.expect("an event id");
    drop(events);

    let id = SessionId::parse(&session).expect("a session id");
    let before = store.load_session(&id).await.expect("load").expect("live");
    let principal = before.principal.clone().expect("bound");
    assert_eq!(principal.len(), 64, "a SHA-256 digest");
    for secret in [alice.as_str(), "alice"] {
        assert!(!principal.contains(secret), "the store keeps a digest");
    }
    if let Some((moto, table)) = &moto {
        let item = moto
            .dynamodb()
            .get_item()
            .table_name(table)
            .key("pk", AttributeValue::S(format!("S#{session}")))
            .key("sk", AttributeValue::S("SESSION".into()))
            .send()
            .await
            .expect("GetItem")
            .item
            .expect("the session item");
        assert_eq!(item["principal"], AttributeValue::S(principal.clone()));
        let signature = alice.rsplit('.').next().expect("signature");
        assert!(!format!("{item:?}").contains(signature), "no token stored");
    }

    let ping = jsonrpc::request(7, "ping", Value::Null);
    for (who, token) in &strangers {
        for server in [&one, &two] {
            let posted = post(server, token, ping.clone()).await;
            assert_eq!(posted.status(), 404, "{who}: POST");
            let listen = in_session(server, reqwest::Method::GET, &session, token, None, None);
            assert_eq!(listen.await.status(), 404, "{who}: GET");
            let resume = in_session(
                server,
                reqwest::Method::GET,
                &session,
                token,
                None,
                Some(&event_id),
            );
            assert_eq!(resume.await.status(), 404, "{who}: GET with Last-Event-ID");
            let end = in_session(server, reqwest::Method::DELETE, &session, token, None, None);
            assert_eq!(end.await.status(), 404, "{who}: DELETE");
        }
    }
    let after = store.load_session(&id).await.expect("load").expect("live");
    assert_eq!(
        after, before,
        "the strangers changed nothing of the session"
    );

    // Alice still has all of it: her stream resumes, her requests pass, and she ends it.
    let resumed = in_session(
        &one,
        reqwest::Method::GET,
        &session,
        &alice,
        None,
        Some(&event_id),
    )
    .await;
    assert_eq!(resumed.status(), 200, "the owner resumes");
    drop(resumed);
    assert_eq!(post(&one, &alice, note.clone()).await.status(), 202);
    let end = in_session(&two, reqwest::Method::DELETE, &session, &alice, None, None);
    assert_eq!(end.await.status(), 200, "the owner ends it");
    assert_eq!(post(&one, &alice, note.clone()).await.status(), 404);

    // Tokens with no user are bound by their client.
    let machine = with_token(&two, &pipeline).await;
    assert_eq!(machine.status, 200, "{machine:?}");
    let machine_session = machine.headers["mcp-session-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let machine_post = |token| {
        in_session(
            &one,
            reqwest::Method::POST,
            &machine_session,
            token,
            Some(note.clone()),
            None,
        )
    };
    assert_eq!(machine_post(&other_client).await.status(), 404);
    assert_eq!(machine_post(&alice).await.status(), 404);
    assert_eq!(machine_post(&pipeline).await.status(), 202);
}

#[tokio::test]
async fn memory_sessions_are_bound_to_their_principal() {
    sessions_are_bound_to_their_principal(Backend::Memory).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_sessions_are_bound_to_their_principal() {
    sessions_are_bound_to_their_principal(Backend::DynamoDb).await;
}

/// On Lambda behind API Gateway, without `--public-url`: the resource is the URL the gateway
/// received the request on (its domain and stage, from the event), in the metadata, in the
/// challenge and as the audience. Through the emulated REST API, the function's challenge
/// arrives renamed `x-amzn-remapped-www-authenticate`, as on AWS, and the path-suffixed
/// metadata URL (where 2025-11-25 hosts look when the challenge names none) needs no token.
#[tokio::test(flavor = "multi_thread")]
async fn behind_api_gateway_the_resource_is_the_url_the_gateway_received() {
    let key = SigningKey::generate("k1");
    let issuer = Issuer::start(&[&key], false).await;
    let spec = InstanceSpec::conformance().args(["--oauth-issuer", issuer.url()]);
    let spec = spec.args(["--oauth-scope", SCOPE]);
    let harness = tokio::task::spawn_blocking(move || {
        LambdaHarness::with_instances(Options::oauth(), &[spec])
    })
    .await
    .expect("the harness starts");
    let base = format!("https://{GATEWAY_DOMAIN}/{STAGE}");
    let resource = format!("{base}/mcp");
    let metadata_url = format!("{base}/.well-known/oauth-protected-resource/mcp");

    let refused = initialize_at(&harness.url(), &[]).await;
    assert_eq!(refused.status, 401, "{refused:?}");
    assert!(
        refused.headers.get("www-authenticate").is_none(),
        "REST proxy integrations rename the header: {refused:?}"
    );
    let remapped = refused.headers.get("x-amzn-remapped-www-authenticate");
    assert_eq!(
        remapped.and_then(|v| v.to_str().ok()),
        Some(format!("Bearer resource_metadata=\"{metadata_url}\", scope=\"{SCOPE}\"").as_str()),
        "the challenge names the gateway's URL"
    );

    let origin = harness.origin();
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let document = get(&format!("{origin}/{STAGE}{path}")).await;
        assert_eq!(document.status, 200, "{path}: {document:?}");
        assert_eq!(document.body["resource"], json!(resource), "{path}");
        assert_eq!(
            document.body["authorization_servers"],
            json!([issuer.url()])
        );
    }

    let token = |aud: &str| {
        key.sign(&json!({
            "iss": issuer.url(), "aud": aud, "sub": "user-1", "scope": SCOPE,
            "iat": now(), "exp": now() + 300,
        }))
    };
    let accepted = initialize_at(&harness.url(), &[&format!("Bearer {}", token(&resource))]).await;
    assert_eq!(accepted.status, 200, "{accepted:?}");
    let elsewhere = token("http://127.0.0.1:9/mcp");
    let foreign = initialize_at(&harness.url(), &[&format!("Bearer {elsewhere}")]).await;
    assert_eq!(foreign.status, 401, "another resource's token: {foreign:?}");
    harness.assert_clean();
}

/// The stateless era has no sessions, but a multi-round request carries `requestState` from
/// one round to the next. It is sealed for the caller too: another user's valid token cannot
/// continue a request with it, the owner can.
#[tokio::test]
async fn request_state_is_bound_to_its_principal() {
    let key = SigningKey::generate("k1");
    let issuer = Issuer::start(&[&key], false).await;
    let server = Server::start_on(&issuer, Arc::new(MemoryStore::new()), None).await;
    let token = |sub: &str| key.sign(&with(claims(&issuer, &server), "sub", json!(sub)));
    let (alice, bob) = (token("alice"), token("bob"));
    let tool = "test_input_required_result_multi_round";
    let call = |token: String, extra: Value| {
        let mut params =
            json!({ "name": tool, "_meta": modern_meta(json!({ "elicitation": {} })) });
        params
            .as_object_mut()
            .expect("object")
            .extend(extra.as_object().cloned().unwrap_or_default());
        let body = jsonrpc::request(1, "tools/call", params);
        let request = reqwest::Client::new()
            .post(server.resource())
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/call")
            .header("mcp-name", tool)
            .bearer_auth(token)
            .body(body.to_string());
        async move { read(request.send().await.expect("POST")).await }
    };
    let first = call(alice.clone(), json!({})).await;
    assert_eq!(
        first.body["result"]["resultType"], "input_required",
        "{first:?}"
    );
    let state = first.body["result"]["requestState"].clone();
    assert!(state.is_string(), "{first:?}");
    let next = json!({
        "inputResponses": { "step1": { "action": "accept", "content": { "name": "Ada" } } },
        "requestState": state,
    });
    let stolen = call(bob, next.clone()).await;
    assert_eq!(stolen.body["error"]["code"], -32602, "{stolen:?}");
    let owned = call(alice, next).await;
    assert_eq!(
        owned.body["result"]["resultType"], "input_required",
        "{owned:?}"
    );
}

/// A writer that keeps every log line in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn tokens_are_never_logged() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let key = SigningKey::generate("k1");
    let issuer = Issuer::start(&[&key], false).await;
    let server = Server::start(Some(&issuer)).await.expect("server starts");
    let good = key.sign(&claims(&issuer, &server));
    let expired = key.sign(&with(claims(&issuer, &server), "exp", json!(now() - 600)));
    let unknown = key.sign_as("unknown", &claims(&issuer, &server));
    assert_eq!(with_token(&server, &good).await.status, 200);
    assert_eq!(with_token(&server, &expired).await.status, 401);
    assert_eq!(with_token(&server, &unknown).await.status, 401);
    let query = format!("?access_token={good}");
    assert_eq!(initialize(&server, &[], &query).await.status, 400);

    let logs = String::from_utf8_lossy(&captured.0.lock().expect("lock")).into_owned();
    assert!(
        logs.contains("OAuth authorization on"),
        "logs were captured"
    );
    assert!(logs.contains("bearer token refused"), "refusals are logged");
    for token in [&good, &expired, &unknown] {
        let signature = token.rsplit('.').next().expect("signature");
        assert!(!logs.contains(signature), "a token's signature was logged");
    }
}
