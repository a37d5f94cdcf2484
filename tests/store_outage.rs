//! A session store that does not answer, or fails: every request that needs it is answered
//! 503 with `Retry-After` and a generic message, within the store's timeouts, and nothing of
//! the backend's error reaches the client.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use bedrock_usage_mcp::store::{
    ChangeSignal, DynamoStore, EventSeq, SessionId, SessionRecord, SessionStore, SessionUpdate,
    StoreArgs, StoreError, StoredEvent, StreamKey, Topic,
};
use bedrock_usage_mcp::transport::{McpService, TransportConfig};
use clap::Parser;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use mcp_conformance::conformance_server;
use mcp_testkit::moto::dynamodb_at;
use serde_json::Value;
use tower::ServiceExt;

/// A session id of the right shape that no store knows.
const SESSION: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":7,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;

#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    store: StoreArgs,
}

/// The store flags at their defaults, as the binaries parse them.
fn default_store_args() -> StoreArgs {
    Cli::parse_from([
        "test",
        "--session-store",
        "dynamodb",
        "--dynamodb-table",
        "t",
    ])
    .store
}

/// The requests of a legacy client that each need the store first.
fn requests() -> Vec<(&'static str, Request<Body>)> {
    let post = || {
        Request::post("/mcp")
            .header("host", "127.0.0.1")
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
    };
    vec![
        (
            "initialize",
            post().body(Body::from(INITIALIZE)).expect("request"),
        ),
        (
            "a request in a session",
            post()
                .header("mcp-session-id", SESSION)
                .body(Body::from(
                    r#"{"jsonrpc":"2.0","id":8,"method":"tools/list"}"#,
                ))
                .expect("request"),
        ),
        (
            "GET",
            Request::get("/mcp")
                .header("host", "127.0.0.1")
                .header("accept", "text/event-stream")
                .header("mcp-session-id", SESSION)
                .body(Body::empty())
                .expect("request"),
        ),
        (
            "DELETE",
            Request::delete("/mcp")
                .header("host", "127.0.0.1")
                .header("mcp-session-id", SESSION)
                .body(Body::empty())
                .expect("request"),
        ),
    ]
}

/// Sends every request at once and checks each answer is a generic 503 with `Retry-After`
/// within `within`; returns the slowest answer's time.
async fn assert_all_unavailable(app: Router, within: Duration, secrets: &[&str]) -> Duration {
    let tasks: Vec<_> = requests()
        .into_iter()
        .map(|(name, request)| {
            let app = app.clone();
            tokio::spawn(async move {
                let start = Instant::now();
                let answer = tokio::time::timeout(within, app.oneshot(request)).await;
                (name, start.elapsed(), answer)
            })
        })
        .collect();
    let mut slowest = Duration::ZERO;
    for task in tasks {
        let (name, took, answer) = task.await.expect("a request task");
        let response = answer
            .unwrap_or_else(|_| panic!("{name}: no answer within {within:?}"))
            .expect("the router is infallible");
        slowest = slowest.max(took);
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{name}");
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u32>().ok());
        assert!(
            retry_after.is_some_and(|s| (1..=60).contains(&s)),
            "{name}: Retry-After {retry_after:?}"
        );
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        for secret in secrets {
            assert!(
                !text.contains(secret),
                "{name}: {secret:?} leaked in {text}"
            );
        }
        let body: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{name}: body is not JSON ({e}): {text}"));
        assert_eq!(body["jsonrpc"], "2.0", "{name}: {body}");
        assert!(body["error"]["code"].is_i64(), "{name}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with("Service Unavailable"), "{name}: {body}");
        if name == "initialize" {
            assert_eq!(body["id"], 7, "the answer names the request: {body}");
        }
    }
    slowest
}

fn app_on(store: Arc<dyn SessionStore>) -> Router {
    McpService::new(conformance_server(None), store, TransportConfig::default()).router()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_black_holed_dynamodb_is_answered_503_within_the_store_timeouts() {
    // A black hole: it accepts connections and never answers.
    let hole = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = hole.local_addr().expect("address");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = hole.accept().await {
            held.push(socket);
        }
    });
    let args = default_store_args();
    let client = args.with_timeouts(&dynamodb_at(&format!("http://{addr}")));
    let store = Arc::new(DynamoStore::new(client, "sessions"));
    let operation = Duration::from_millis(args.operation_timeout_ms);
    let slowest = assert_all_unavailable(
        app_on(store),
        operation + Duration::from_secs(10),
        &["DynamoDB", "dispatch", "timeout", "127.0.0.1"],
    )
    .await;
    assert!(
        slowest >= Duration::from_millis(args.attempt_timeout_ms),
        "answered after {slowest:?}: before the store could have timed out"
    );
}

/// A store whose backend fails every call, with details a client must never see.
struct FailingStore;

const INTERNALS: &str =
    "DynamoDB InternalServerError: arn:aws:dynamodb:eu-west-1:123456789012:table/secret-sessions";

fn failed<T>() -> Result<T, StoreError> {
    Err(StoreError::Backend(INTERNALS.to_owned()))
}

#[async_trait]
impl SessionStore for FailingStore {
    async fn create_session(&self, _: &SessionRecord) -> Result<(), StoreError> {
        failed()
    }
    async fn load_session(&self, _: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        failed()
    }
    async fn update_session(&self, _: &SessionId, _: SessionUpdate) -> Result<(), StoreError> {
        failed()
    }
    async fn terminate_session(&self, _: &SessionId) -> Result<bool, StoreError> {
        failed()
    }
    async fn append_event(&self, _: &StreamKey, _: StoredEvent) -> Result<EventSeq, StoreError> {
        failed()
    }
    async fn read_events(
        &self,
        _: &StreamKey,
        _: Option<EventSeq>,
        _: usize,
    ) -> Result<Vec<(EventSeq, StoredEvent)>, StoreError> {
        failed()
    }
    async fn has_event(&self, _: &StreamKey, _: EventSeq) -> Result<bool, StoreError> {
        failed()
    }
    async fn put_reply(&self, _: &SessionId, _: &str, _: &str) -> Result<bool, StoreError> {
        failed()
    }
    async fn get_reply(&self, _: &SessionId, _: &str) -> Result<Option<String>, StoreError> {
        failed()
    }
    fn subscribe(&self, _: &Topic) -> ChangeSignal {
        Box::pin(std::future::pending())
    }
}

#[tokio::test]
async fn a_failing_store_is_answered_503_with_no_backend_details() {
    assert_all_unavailable(
        app_on(Arc::new(FailingStore)),
        Duration::from_secs(10),
        &[
            "arn:aws",
            "secret-sessions",
            "InternalServerError",
            "DynamoDB",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_binary_bounds_store_calls_with_the_timeouts_from_its_environment() {
    let hole = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = hole.local_addr().expect("address");
    std::thread::spawn(move || {
        let held: Vec<_> = hole.incoming().collect();
        drop(held);
    });
    let server = mcp_testkit::ServerProcess::start_with_env(
        &mcp_testkit::cargo_bin("conformance-server").to_string_lossy(),
        &[
            "--session-store",
            "dynamodb",
            "--dynamodb-table",
            "sessions",
        ],
        &[
            ("AWS_ENDPOINT_URL", format!("http://{addr}")),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            // A given key: start-up then needs nothing from the store.
            ("MCP_REQUEST_STATE_KEY", "k".repeat(32)),
            ("MCP_STORE_ATTEMPT_TIMEOUT_MS", "500".to_owned()),
            ("MCP_STORE_OPERATION_TIMEOUT_MS", "1500".to_owned()),
        ],
    );
    let client = reqwest::Client::new();
    let answer = tokio::time::timeout(
        Duration::from_secs(15),
        client
            .post(&server.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(INITIALIZE)
            .send(),
    )
    .await
    .expect("an answer within 15 s")
    .expect("an HTTP answer");
    assert_eq!(answer.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    assert!(answer.headers().contains_key("retry-after"));
    let text = answer.text().await.expect("a body");
    let body: Value = serde_json::from_str(&text).expect("a JSON body");
    assert_eq!(body["id"], 7, "{body}");
}
