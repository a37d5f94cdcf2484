//! Fuzz target: the request path of both eras, in process. Each case is one HTTP request to
//! the conformance app: a well-formed message of 2026-07-28 (stateless) or of a 2025-11-25,
//! 2025-06-18 or 2025-03-26 session (initialized first; the case runs inside it), then edited:
//! wrong types, huge and odd ids, nesting, missing fields, batches, bytes that are not UTF-8,
//! odd numbers, and the headers (`Host`, `Origin`, `Accept`, `Content-Type`,
//! `MCP-Protocol-Version`, `Mcp-Session-Id`, `Last-Event-ID`, `Mcp-Method`, `Mcp-Name`,
//! `Mcp-Param-*`) dropped, repeated or replaced.
//!
//! What must hold for every case (see `oracle.rs`): no panic anywhere in the server, no hang,
//! no 5xx, a status from the spec's set for the HTTP method, every body a JSON-RPC message
//! (JSON or SSE), responses carrying the id that was sent (or null when it could not be
//! read; never null for errors about params, version or method, which need the message read),
//! 202 only for bodies without requests. Afterwards the app still serves a good
//! 2026-07-28 request and the case's session still answers a ping (unless the case ended it).
//!
//! The corpus is `tests/data/fuzz/request_path/*.json`; `FUZZ_CASES` (default 250) and
//! `FUZZ_SEED` choose the random cases (see `tests/fuzz/mod.rs`).

#[path = "../fuzz/mod.rs"]
mod fuzz;

mod case;
mod oracle;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use bedrock_usage_mcp::store::MemoryStore;
use bedrock_usage_mcp::transport::{McpService, TransportConfig};
use bytes::Bytes;
use case::{Case, ENDED_SESSION, ERAS, MODERN, OTHER_SESSION, SESSION};
use fuzz::FuzzRun;
use http::{HeaderName, HeaderValue, Method, Request};
use http_body_util::BodyExt;
use mcp_conformance::conformance_server;
use oracle::{Reply, cancellations, excerpt, judge};
use serde_json::{Value, json};
use tokio::time::{Instant, timeout_at};
use tower::ServiceExt;

const DEFAULT_CASES: u64 = 250;
/// Longest an answer may take before it counts as a hang.
const PATIENCE: Duration = Duration::from_secs(10);
/// How long an answer that may stay open (GET, `subscriptions/listen`) is read.
const OPEN_STREAM_WINDOW: Duration = Duration::from_millis(200);

/// Panics anywhere in the process (the server catches a handler's and answers -32603, so
/// the answer alone does not show one).
static PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        previous(info);
    }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_of_both_eras_get_spec_shaped_answers() {
    count_panics();
    let mut run = FuzzRun::from_env("request_path", DEFAULT_CASES);
    let mut harness = Harness::start().await;
    for (name, bytes) in run.corpus() {
        let case: Case = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("corpus file {name} is not a case: {e}"));
        let problems = harness.run(&case).await;
        run.check(&format!("corpus file {name}"), &bytes, problems);
    }
    for index in run.case_indices() {
        if run.enough() {
            break;
        }
        let case = case::generate(&mut run.rng(index));
        let problems = harness.run(&case).await;
        let input = serde_json::to_vec_pretty(&case).expect("a case as JSON");
        run.check(&run.case_name(index), &input, problems);
    }
    eprintln!("answers by method, status and type: {:#?}", harness.seen);
    run.finish();
}

/// The app, with one live session of each legacy version and one terminated session.
struct Harness {
    router: Router,
    sessions: HashMap<&'static str, String>,
    ended: String,
    /// Every `requestId` the cases have cancelled.
    cancelled: Vec<Value>,
    /// How many answers had each status and content type: what the run reached.
    seen: BTreeMap<String, u64>,
}

impl Harness {
    async fn start() -> Self {
        let config = TransportConfig {
            reply_timeout: Duration::from_secs(5),
            ..TransportConfig::default()
        };
        let key = b"fuzz-request-path-request-state-key-32-bytes".to_vec();
        let router = McpService::new(
            conformance_server(Some(key)),
            Arc::new(MemoryStore::new()),
            config,
        )
        .router();
        let mut harness = Self {
            router,
            sessions: HashMap::new(),
            ended: String::new(),
            cancelled: Vec::new(),
            seen: BTreeMap::new(),
        };
        for version in &ERAS[1..] {
            let id = harness.initialize(version).await;
            harness.sessions.insert(version, id);
        }
        harness.ended = harness.initialize("2025-11-25").await;
        let delete = Request::delete("/mcp")
            .header("host", "127.0.0.1")
            .header("mcp-session-id", &harness.ended)
            .body(Body::empty())
            .expect("a DELETE");
        let reply = send(&harness.router, delete, false).await.expect("DELETE");
        assert!(reply.status.is_success(), "DELETE: {}", reply.status);
        harness
    }

    /// `initialize` and `notifications/initialized`; the session id.
    async fn initialize(&self, version: &str) -> String {
        let body = json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": version, "capabilities": {},
            "clientInfo": { "name": "fuzz", "version": "1" } } });
        let reply = send(&self.router, post(None, version, &body), false)
            .await
            .expect("initialize");
        assert_eq!(reply.status, 200, "initialize: {}", excerpt(&reply.body));
        let id = reply
            .headers
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .expect("a session id")
            .to_owned();
        let note = json!({ "jsonrpc": "2.0", "method": "notifications/initialized" });
        let reply = send(&self.router, post(Some(&id), version, &note), false)
            .await
            .expect("initialized");
        assert_eq!(reply.status, 202, "initialized: {}", excerpt(&reply.body));
        id
    }

    /// The session a case of `era` means by `{session}`, and by `{other_session}`.
    fn session_of(&self, era: &str) -> (&str, &str) {
        let (own, other) = match era {
            "2025-06-18" => ("2025-06-18", "2025-03-26"),
            "2025-03-26" => ("2025-03-26", "2025-11-25"),
            _ => ("2025-11-25", "2025-03-26"),
        };
        (&self.sessions[own], &self.sessions[other])
    }

    /// The case as an HTTP request, stand-ins replaced.
    fn request(&self, case: &Case) -> Result<Request<Body>, String> {
        let (own, other) = self.session_of(&case.era);
        let method = Method::from_bytes(case.method.as_bytes()).map_err(|e| e.to_string())?;
        let mut builder = Request::builder().method(method).uri("/mcp");
        for (name, value) in &case.headers {
            let value = String::from_utf8(value.bytes()).map_or_else(
                |e| e.into_bytes(),
                |text| {
                    text.replace(SESSION, own)
                        .replace(OTHER_SESSION, other)
                        .replace(ENDED_SESSION, &self.ended)
                        .into_bytes()
                },
            );
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?;
            let value = HeaderValue::from_bytes(&value).map_err(|e| e.to_string())?;
            builder = builder.header(name, value);
        }
        let bytes = case.body.bytes();
        let body = match case.chunked {
            None => Body::from(bytes),
            Some(size) => {
                let chunks: Vec<Result<Bytes, std::convert::Infallible>> = bytes
                    .chunks(size.max(1))
                    .map(|c| Ok(Bytes::copy_from_slice(c)))
                    .collect();
                Body::from_stream(futures_util::stream::iter(chunks))
            }
        };
        builder.body(body).map_err(|e| e.to_string())
    }

    /// Sends one case and judges its answer and the app afterwards.
    async fn run(&mut self, case: &Case) -> Vec<String> {
        let panics = PANICS.load(Ordering::SeqCst);
        let body = case.body.bytes();
        let may_stay_open = case.method == "GET"
            || body
                .windows(b"subscriptions/listen".len())
                .any(|w| w == b"subscriptions/listen");
        let mut problems = match self.request(case) {
            Err(e) => vec![format!("not a valid HTTP request: {e}")],
            Ok(request) => match send(&self.router, request, may_stay_open).await {
                Ok(reply) => {
                    let kind = reply.headers.get("content-type").map(|v| v.as_bytes());
                    let kind = String::from_utf8_lossy(kind.unwrap_or_default());
                    let kind = kind.split(';').next().unwrap_or_default();
                    let key = format!("{} {} {kind}", case.method, reply.status.as_u16());
                    *self.seen.entry(key).or_default() += 1;
                    self.cancelled.extend(cancellations(&body));
                    judge(&case.method, &body, &reply, &self.cancelled)
                }
                Err(e) => vec![e],
            },
        };
        problems.extend(self.still_serving(case).await);
        if PANICS.load(Ordering::SeqCst) != panics {
            problems.push("the server panicked (the message is in the test's output)".into());
        }
        problems
    }

    /// A good 2026-07-28 request is served, and the case's session still answers (a
    /// session the case ended is replaced).
    async fn still_serving(&mut self, case: &Case) -> Vec<String> {
        let mut problems = Vec::new();
        let discover = json!({ "jsonrpc": "2.0", "id": "probe", "method": "server/discover",
            "params": { "_meta": {
                "io.modelcontextprotocol/protocolVersion": MODERN,
                "io.modelcontextprotocol/clientInfo": { "name": "fuzz", "version": "1" },
                "io.modelcontextprotocol/clientCapabilities": {} } } });
        let mut request = post(None, MODERN, &discover);
        request
            .headers_mut()
            .insert("mcp-method", HeaderValue::from_static("server/discover"));
        match send(&self.router, request, false).await {
            Ok(reply) if reply.status == 200 => {}
            Ok(reply) => problems.push(format!(
                "afterwards, server/discover got HTTP {}: {}",
                reply.status,
                excerpt(&reply.body)
            )),
            Err(e) => problems.push(format!("afterwards, server/discover: {e}")),
        }
        for version in &ERAS[1..] {
            let id = self.sessions[version].clone();
            let ping = json!({ "jsonrpc": "2.0", "id": "probe", "method": "ping" });
            match send(&self.router, post(Some(&id), version, &ping), false).await {
                Ok(reply) if reply.status == 200 => {}
                Ok(reply) if reply.status == 404 && case.method == "DELETE" => {
                    let fresh = self.initialize(version).await;
                    self.sessions.insert(version, fresh);
                }
                Ok(reply) => problems.push(format!(
                    "afterwards, a ping in the {version} session got HTTP {}: {}",
                    reply.status,
                    excerpt(&reply.body)
                )),
                Err(e) => problems.push(format!("afterwards, a {version} ping: {e}")),
            }
        }
        problems
    }
}

/// A POST with a client's usual headers, in `session` if given.
fn post(session: Option<&str>, version: &str, body: &Value) -> Request<Body> {
    let mut request = Request::post("/mcp")
        .header("host", "127.0.0.1")
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", version);
    if let Some(session) = session {
        request = request.header("mcp-session-id", session);
    }
    request
        .body(Body::from(body.to_string()))
        .expect("a request")
}

/// Sends `request` and reads the answer: to its end, or for [`OPEN_STREAM_WINDOW`] when
/// it may stay open. A panic, or no end within [`PATIENCE`], is an error.
async fn send(
    router: &Router,
    request: Request<Body>,
    may_stay_open: bool,
) -> Result<Reply, String> {
    let router = router.clone();
    let task = tokio::spawn(async move {
        let deadline = Instant::now() + PATIENCE;
        let response = match timeout_at(deadline, router.oneshot(request)).await {
            Ok(Ok(response)) => response,
            Ok(Err(never)) => match never {},
            Err(_) => return Err(format!("no answer within {PATIENCE:?} (hang)")),
        };
        let (parts, mut body) = response.into_parts();
        let read_until = if may_stay_open {
            Instant::now() + OPEN_STREAM_WINDOW
        } else {
            deadline
        };
        let mut bytes = Vec::new();
        loop {
            match timeout_at(read_until, body.frame()).await {
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        bytes.extend_from_slice(&data);
                    }
                }
                Ok(Some(Err(e))) => return Err(format!("the body failed: {e}")),
                Ok(None) => break,
                Err(_) if may_stay_open => break,
                Err(_) => {
                    return Err(format!(
                        "HTTP {}: the body did not end within {PATIENCE:?} (hang): {}",
                        parts.status,
                        excerpt(&bytes)
                    ));
                }
            }
        }
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body: bytes,
        })
    });
    match task.await {
        Ok(reply) => reply,
        Err(e) if e.is_panic() => Err("the request task panicked".into()),
        Err(e) => Err(format!("the request task failed: {e}")),
    }
}
