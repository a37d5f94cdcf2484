//! What must not leak or slip through: session ids in logs, and `Host` values that are not a
//! `host[:port]` (user info, a port past 65535, none at all).

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use bedrock_usage_mcp::store::MemoryStore;
use bedrock_usage_mcp::transport::{McpService, TransportConfig};
use http::{Request, StatusCode};
use mcp_conformance::conformance_server;
use sha2::{Digest, Sha256};
use tower::ServiceExt;
use tracing_subscriber::fmt::MakeWriter;

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;

fn app() -> Router {
    McpService::new(
        conformance_server(None),
        Arc::new(MemoryStore::new()),
        TransportConfig::default(),
    )
    .router()
}

/// An `initialize` POST with these `Host` header values (none, one, or several).
fn initialize(hosts: &[&str]) -> Request<Body> {
    let mut request = Request::post("/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    for host in hosts {
        request = request.header("host", *host);
    }
    request.body(Body::from(INITIALIZE)).expect("request")
}

#[tokio::test]
async fn host_must_be_one_valid_authority() {
    let app = app();
    for (hosts, want) in [
        (&["localhost:8080"][..], StatusCode::OK),
        (&["[::1]:3000"], StatusCode::OK),
        (&["127.0.0.1:80@evil.example"], StatusCode::BAD_REQUEST),
        (&["localhost@evil.example"], StatusCode::BAD_REQUEST),
        (&["localhost:99999"], StatusCode::BAD_REQUEST),
        (&["127.0.0.1:"], StatusCode::BAD_REQUEST),
        (&["localhost", "evil.example"], StatusCode::BAD_REQUEST),
        (&[], StatusCode::BAD_REQUEST),
        (&["evil.example:8080"], StatusCode::FORBIDDEN),
    ] {
        let response = app
            .clone()
            .oneshot(initialize(hosts))
            .await
            .expect("answer");
        assert_eq!(response.status(), want, "Host {hosts:?}");
    }
}

/// Log lines written while it is the thread's default subscriber.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut lines) = self.0.lock() {
            lines.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Capture {
    fn text(&self) -> String {
        self.0
            .lock()
            .map(|lines| String::from_utf8_lossy(&lines).into_owned())
            .unwrap_or_default()
    }
}

#[tokio::test]
async fn session_ids_are_logged_as_a_short_hash_only() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(capture.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);

    let app = app();
    let response = app
        .clone()
        .oneshot(initialize(&["127.0.0.1"]))
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::OK);
    let session = response
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .expect("a session id")
        .to_owned();
    let delete = Request::delete("/mcp")
        .header("host", "127.0.0.1")
        .header("mcp-session-id", &session)
        .body(Body::empty())
        .expect("request");
    let deleted = app.oneshot(delete).await.expect("answer");
    assert_eq!(deleted.status(), StatusCode::OK);

    let logs = capture.text();
    assert!(logs.contains("session created"), "logs: {logs}");
    assert!(logs.contains("session terminated"), "logs: {logs}");
    assert!(
        !logs.contains(&session),
        "the session id was logged: {logs}"
    );
    assert!(
        !logs.contains(&session[..16]),
        "part of the session id was logged: {logs}"
    );
    let tag: String = Sha256::digest(session.as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        logs.matches(&tag).count(),
        2,
        "create and delete name the session by its tag {tag}: {logs}"
    );
}
