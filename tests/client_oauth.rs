//! `mcp-client` against an OAuth-protected server (issue 15): the conformance fixtures with
//! `--oauth-issuer` pointing at a local authorization server on 127.0.0.1
//! (`mcp_testkit::oauth`). The client obtains a token with client credentials from the token
//! endpoint it discovers through the server's 401 challenge, or sends a token it is given; the
//! issuer records every token request, so caching and renewal are counted, not assumed.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use axum::response::IntoResponse;
use bedrock_usage_mcp::client::{
    BearerAuth, ClientCredentials, ClientError, ClientOptions, McpClient,
};
use bedrock_usage_mcp::serve;
use mcp_testkit::jsonrpc;
use mcp_testkit::oauth::{LocalIssuer, OAuthServer, SCOPE};
use serde_json::{Value, json};

const CLIENT: &str = "pipeline";
const SECRET: &str = "pipeline-secret-value";

/// An issuer with the pipeline's client registered, and the server it protects.
async fn setup() -> (LocalIssuer, OAuthServer) {
    let issuer = LocalIssuer::start().await;
    issuer.register_confidential(CLIENT, SECRET);
    let server = OAuthServer::start(&issuer, &[]).await;
    (issuer, server)
}

/// Runs `mcp-client --url URL ARGS…` with only `env` in its environment (and `stdin`).
async fn mcp_client(url: &str, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mcp-client"));
    command
        .env_clear()
        .envs(env.iter().copied())
        .args(["--url", url])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let stdin = stdin.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().expect("running mcp-client");
        let mut input = child.stdin.take().unwrap();
        std::io::Write::write_all(&mut input, stdin.as_bytes()).unwrap();
        drop(input);
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

const CREDENTIALS_ENV: [(&str, &str); 2] = [
    ("MCP_OAUTH_CLIENT_ID", CLIENT),
    ("MCP_OAUTH_CLIENT_SECRET", SECRET),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_passes_with_client_credentials_from_the_discovered_endpoint() {
    let (issuer, server) = setup().await;
    let output = mcp_client(
        &server.url,
        &[
            "smoke",
            "--tool",
            "test_long_operation",
            "--arguments",
            r#"{"steps":4,"interval_ms":30}"#,
        ],
        &CREDENTIALS_ENV,
        "",
    )
    .await;
    let printed = text(&output);
    assert!(output.status.success(), "{printed}");
    assert!(printed.contains("8 passed, 0 failed"), "{printed}");
    assert!(
        !printed.contains(SECRET),
        "the secret was printed: {printed}"
    );

    // One token for the whole run (both eras, every request), asked for as the MCP
    // authorization specification says: the server's resource and the challenge's scope.
    let requests = issuer.token_requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let request = &requests[0];
    assert_eq!(request.grant_type, "client_credentials");
    assert_eq!(request.client_id.as_deref(), Some(CLIENT));
    assert_eq!(request.auth_method, "client_secret_basic");
    assert_eq!(request.resource.as_deref(), Some(server.url.as_str()));
    assert_eq!(request.scope.as_deref(), Some(SCOPE));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_refusal_says_what_to_pass_without_printing_secrets() {
    let (issuer, server) = setup().await;
    let output = mcp_client(&server.url, &["tools"], &[], "").await;
    let printed = text(&output);
    assert!(!output.status.success(), "{printed}");
    assert!(printed.contains(&server.metadata_url()), "{printed}");
    assert!(
        printed.contains("MCP_BEARER_TOKEN") && printed.contains("--oauth-client-id"),
        "{printed}"
    );

    // A wrong secret: the token endpoint's refusal is shown, the secret is not.
    let output = mcp_client(
        &server.url,
        &["tools"],
        &[
            ("MCP_OAUTH_CLIENT_ID", CLIENT),
            ("MCP_OAUTH_CLIENT_SECRET", "not-the-secret"),
        ],
        "",
    )
    .await;
    let printed = text(&output);
    assert!(!output.status.success(), "{printed}");
    assert!(printed.contains("invalid_client"), "{printed}");
    assert!(!printed.contains("not-the-secret"), "{printed}");

    // A token without the scope the server needs: the 403 names the scope to ask for.
    let output = mcp_client(
        &server.url,
        &["--oauth-scope", "reports:read", "tools"],
        &CREDENTIALS_ENV,
        "",
    )
    .await;
    let printed = text(&output);
    assert!(!output.status.success(), "{printed}");
    assert!(
        printed.contains("insufficient_scope") && printed.contains(&format!("{SCOPE:?}")),
        "{printed}"
    );
    assert_eq!(issuer.token_requests().len(), 2);
    assert_eq!(
        issuer.token_requests()[1].scope.as_deref(),
        Some("reports:read")
    );
}

/// API Gateway renames a proxied answer's `WWW-Authenticate` to
/// `x-amzn-remapped-www-authenticate`; the client reads either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_challenge_is_read_from_the_header_api_gateway_remaps() {
    let prm = "https://abc.execute-api.eu-west-1.amazonaws.com/prod/.well-known/oauth-protected-resource/prod/mcp";
    let app = axum::Router::new().route(
        "/mcp",
        axum::routing::any(move || async move {
            (
                axum::http::StatusCode::UNAUTHORIZED,
                [(
                    "x-amzn-remapped-www-authenticate",
                    format!("Bearer resource_metadata=\"{prm}\", scope=\"{SCOPE}\""),
                )],
                "{\"error\":\"unauthorized\"}",
            )
                .into_response()
        }),
    );
    let listener = serve::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve::serve(listener, app, async {
        let _ = stopped.await;
    }));
    let output = mcp_client(&url, &["tools"], &[], "").await;
    let printed = text(&output);
    assert!(!output.status.success(), "{printed}");
    assert!(printed.contains(prm), "{printed}");
    drop(stop);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_given_token_is_sent_from_the_environment_or_a_file() {
    let (issuer, server) = setup().await;
    let token = issuer.token_for(&server.url, "someone");
    let listed = mcp_client(&server.url, &["tools"], &[("MCP_BEARER_TOKEN", &token)], "").await;
    assert!(listed.status.success(), "{}", text(&listed));
    assert!(
        text(&listed).contains("test_simple_text"),
        "{}",
        text(&listed)
    );

    let dir = std::env::temp_dir().join(format!("client-oauth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("token");
    std::fs::write(&file, format!("{token}\n")).unwrap();
    let called = mcp_client(
        &server.url,
        &[
            "--bearer-token-file",
            file.to_str().unwrap(),
            "call",
            "test_simple_text",
        ],
        &[],
        "",
    )
    .await;
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(called.status.success(), "{}", text(&called));
    assert!(
        text(&called).contains("This is a simple text response"),
        "{}",
        text(&called)
    );

    // A token for another resource is refused, and the client says why.
    let elsewhere = issuer.token_for("https://other.example/mcp", "someone");
    let refused = mcp_client(
        &server.url,
        &["tools"],
        &[("MCP_BEARER_TOKEN", &elsewhere)],
        "",
    )
    .await;
    let printed = text(&refused);
    assert!(!refused.status.success(), "{printed}");
    assert!(
        printed.contains("refused the bearer token") && printed.contains("invalid_token"),
        "{printed}"
    );
    assert!(!printed.contains(&elsewhere), "the token was printed");
    assert!(issuer.token_requests().is_empty());
}

/// A token the server refuses (revoked, signed with a withdrawn key) is replaced once: with
/// the token endpoint given, the first request already carries a token, the server answers
/// 401, and the client obtains another and sends the request again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_obtained_again() {
    let (issuer, server) = setup().await;
    issuer.spoil_next(1);
    let endpoint = issuer.token_endpoint();
    let output = mcp_client(
        &server.url,
        &[
            "--oauth-token-endpoint",
            &endpoint,
            "call",
            "test_simple_text",
        ],
        &CREDENTIALS_ENV,
        "",
    )
    .await;
    assert!(output.status.success(), "{}", text(&output));
    let requests = issuer.token_requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    // With the endpoint given, the resource is the URL the client was given.
    assert_eq!(requests[1].resource.as_deref(), Some(server.url.as_str()));
}

fn credentials() -> ClientCredentials {
    ClientCredentials {
        client_id: CLIENT.into(),
        client_secret: SECRET.into(),
        scope: None,
        token_endpoint: None,
    }
}

fn options(url: &str, bearer: BearerAuth) -> ClientOptions {
    ClientOptions {
        url: url.to_owned(),
        headers: Vec::new(),
        protocol: "2025-11-25".into(),
        timeout: Duration::from_secs(30),
        signer: None,
        bearer: Some(Arc::new(bearer)),
    }
}

/// Connects, lists tools and ends the session; returns how many token requests that cost.
async fn converse(issuer: &LocalIssuer, server: &OAuthServer) -> usize {
    let before = issuer.token_requests().len();
    let bearer = BearerAuth::client_credentials(credentials()).unwrap();
    let mut client = McpClient::new(options(&server.url, bearer)).unwrap();
    client.connect().await.unwrap();
    let tools = client
        .request("tools/list", json!({}), &mut |_| {})
        .await
        .unwrap();
    assert!(tools["tools"].as_array().unwrap().len() > 3, "{tools}");
    let ended = client.terminate().await.unwrap();
    assert!((200..300).contains(&ended), "DELETE answered {ended}");
    issuer.token_requests().len() - before
}

/// A token is reused until shortly before it expires: one for a whole conversation when it
/// lasts an hour, a new one for every request when it expires at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_cached_until_shortly_before_it_expires() {
    let (issuer, server) = setup().await;
    assert_eq!(converse(&issuer, &server).await, 1);
    // `expires_in: 0`: the server still accepts such a token within its 30 s leeway, so every
    // one of the four requests (initialize, initialized, tools/list, DELETE) gets its own.
    issuer.set_lifetime(0);
    assert_eq!(converse(&issuer, &server).await, 4);
}

/// An Amazon Cognito user pool's issuer has a path and offers only OpenID Connect discovery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cognito_like_issuer_is_found_by_openid_discovery() {
    let issuer = LocalIssuer::cognito_like().await;
    issuer.register_confidential(CLIENT, SECRET);
    let server = OAuthServer::start(&issuer, &[]).await;
    assert_eq!(converse(&issuer, &server).await, 1);
}

/// Discovery refuses metadata for another resource, and sends credentials nowhere but https
/// or this machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_go_only_where_the_metadata_is_right() {
    let (issuer, server) = setup().await;
    // The server is reached at another URL than the one its metadata names.
    let other_url = server.url.replace("127.0.0.1", "localhost");
    let bearer = BearerAuth::client_credentials(credentials()).unwrap();
    let mut client = McpClient::new(options(&other_url, bearer)).unwrap();
    let error = client.connect().await.unwrap_err();
    assert!(
        matches!(&error, ClientError::OAuth(m) if m.contains("not for")),
        "{error}"
    );
    assert!(issuer.token_requests().is_empty());
}

/// A bearer token goes to https or to http on loopback only: with any other `--url`, a given
/// token and client credentials (with `--oauth-token-endpoint`) are both refused before a
/// request leaves, and the error names the URL and the rule.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_is_sent_to_plain_http_elsewhere() {
    const PLAIN: &str = "http://mcp.invalid/mcp";
    let refused = |message: &str| message.contains(PLAIN) && message.contains("loopback");
    let output = mcp_client(PLAIN, &["tools"], &[("MCP_BEARER_TOKEN", "a-token")], "").await;
    assert!(!output.status.success());
    assert!(refused(&text(&output)), "{}", text(&output));

    let (issuer, _server) = setup().await;
    let given = ClientCredentials {
        token_endpoint: Some(issuer.token_endpoint()),
        ..credentials()
    };
    let bearer = BearerAuth::client_credentials(given).unwrap();
    for protocol in ["2025-11-25", "2026-07-28"] {
        let options = ClientOptions {
            protocol: protocol.into(),
            ..options(
                PLAIN,
                BearerAuth::client_credentials(credentials()).unwrap(),
            )
        };
        let error = McpClient::new(options)
            .unwrap()
            .connect()
            .await
            .unwrap_err();
        assert!(refused(&error.to_string()), "{protocol}: {error}");
    }
    let mut client = McpClient::new(options(PLAIN, bearer)).unwrap();
    let error = client.connect().await.unwrap_err();
    assert!(refused(&error.to_string()), "{error}");
    assert!(issuer.token_requests().is_empty());
}

/// `mcp-client proxy` (a stdio host's view) obtains and sends the token too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_sends_the_token() {
    let (issuer, server) = setup().await;
    let lines = [
        jsonrpc::initialize(1, "2025-11-25", "host", json!({})),
        jsonrpc::notification("notifications/initialized", Value::Null),
        jsonrpc::request(2, "tools/list", Value::Null),
    ];
    let stdin: String = lines.iter().map(|l| format!("{l}\n")).collect();
    // Stdin closes at once: the proxy still answers what it read before ending the session.
    let output = mcp_client(&server.url, &["proxy"], &CREDENTIALS_ENV, &stdin).await;
    let answers: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        answers
            .iter()
            .any(|a| a["id"] == 1 && a["result"]["serverInfo"].is_object()),
        "{answers:?}\n{}",
        text(&output)
    );
    assert_eq!(issuer.token_requests().len(), 1);
}
