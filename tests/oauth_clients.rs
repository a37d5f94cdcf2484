//! OAuth clients no one here wrote (issue 15): the official TypeScript SDK's OAuth support
//! (`tests/interop/ts_oauth.mjs`) against the conformance fixtures served with
//! `--oauth-issuer`, and a local authorization server on 127.0.0.1 (`mcp_testkit::oauth`).
//! The SDK goes through its own 401 -> Protected Resource Metadata -> authorization server
//! metadata -> token -> retry path; the issuer's record shows what it asked for.
//!
//! Needs Node 22 and the TypeScript SDK from `scripts/install-test-tools.sh`; fails (never
//! skips) without them.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use mcp_testkit::oauth::{LocalIssuer, OAuthServer, SCOPE};
use mcp_testkit::{node22, repo_root, test_tool};
use serde_json::Value;

/// Runs `ts_oauth.mjs` with `args` and returns its summary; fails the test unless it exits 0.
async fn ts_oauth(args: Vec<String>) -> Value {
    test_tool("npm/node_modules/@modelcontextprotocol/sdk/package.json");
    let mut command = Command::new(node22());
    command
        .arg(repo_root().join("tests/interop/ts_oauth.mjs"))
        .args(args)
        .current_dir(repo_root());
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "ts_oauth.mjs exited with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The SDK's `ClientCredentialsProvider` (a pipeline's client): one token request, with
/// `client_secret_basic`, naming the server's resource (RFC 8707) and the configured scope.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typescript_sdk_client_credentials_provider_completes_the_flow() {
    let issuer = LocalIssuer::start().await;
    issuer.register_confidential("ts-pipeline", "ts-secret");
    let server = OAuthServer::start(&issuer, &[]).await;
    let summary = ts_oauth(vec![
        server.url.clone(),
        issuer.url().to_owned(),
        "client-credentials".into(),
        "ts-pipeline".into(),
        "ts-secret".into(),
        SCOPE.into(),
    ])
    .await;
    assert_eq!(summary["ok"], true, "{summary}");
    assert!(summary["unauthorized"].as_u64().unwrap() >= 1, "{summary}");

    let requests = issuer.token_requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let request = &requests[0];
    assert_eq!(request.grant_type, "client_credentials");
    assert_eq!(request.client_id.as_deref(), Some("ts-pipeline"));
    assert_eq!(request.auth_method, "client_secret_basic");
    assert_eq!(request.resource.as_deref(), Some(server.url.as_str()));
    assert_eq!(request.scope.as_deref(), Some(SCOPE));
}

/// A host's flow: authorization code with PKCE for a pre-registered public client (what
/// Amazon Cognito needs, having no dynamic client registration). The test issuer approves
/// at once; the SDK builds the authorization URL, exchanges the code with its verifier, and
/// the new connection's requests carry the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typescript_sdk_completes_authorization_code_with_pkce() {
    let issuer = LocalIssuer::start().await;
    let redirect = "http://127.0.0.1:33418/callback";
    issuer.register_public("mcp-host", &[redirect]);
    let server = OAuthServer::start(&issuer, &[]).await;
    let summary = ts_oauth(vec![
        server.url.clone(),
        issuer.url().to_owned(),
        "authorization-code".into(),
        "mcp-host".into(),
        redirect.into(),
    ])
    .await;
    assert_eq!(summary["ok"], true, "{summary}");
    let authorization = &summary["steps"][0];
    assert_eq!(authorization["resource"], server.url.as_str(), "{summary}");
    assert_eq!(authorization["scope"], SCOPE, "{summary}");

    let requests = issuer.token_requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let request = &requests[0];
    assert_eq!(request.grant_type, "authorization_code");
    assert_eq!(request.client_id.as_deref(), Some("mcp-host"));
    assert_eq!(
        request.auth_method, "none",
        "a public client sends no secret"
    );
    assert_eq!(request.resource.as_deref(), Some(server.url.as_str()));
}
