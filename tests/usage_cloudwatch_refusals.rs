//! CloudWatch Logs refusing calls, against a stub of its JSON 1.1 API on 127.0.0.1 that counts
//! every request: the most requests one report makes when every call is throttled (the bound
//! the README states), the codes the SDK retries for Logs (and one it must not), and that an
//! error's details (account id, ARNs, role names) never reach an MCP client, whichever tool,
//! resource, prompt or completion ran the report, while the server's log keeps them.
//!
//! The clients use the product's retry policy ([`RetryPolicy::DEFAULT`]) with millisecond
//! pauses, so no test waits real seconds.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::SdkConfig;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bedrock_usage_mcp::aws::RetryPolicy;
use bedrock_usage_mcp::store::MemoryStore;
use bedrock_usage_mcp::tools::usage_server;
use bedrock_usage_mcp::transport::TransportConfig;
use bedrock_usage_mcp::usage::source::cloudwatch::{CallTimeouts, ClientCache, InsightsOptions};
use bedrock_usage_mcp::usage::source::{CloudWatchMode, CloudWatchSelector};
use bedrock_usage_mcp::usage::{Granularity, NoProgress, SourceError, Timestamp, UsageQuery};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use mcp_testkit::app::{App, body_json, content_type};
use mcp_testkit::logs_stub::{JSON_1_1, LogsStub, sdk_config};
use mcp_testkit::sse::{EventJson as _, SseReader};

const LOG_GROUP: &str = "/aws/bedrock/modelinvocations";
const ACCOUNT: &str = "123456789012";

/// What CloudWatch says when the caller's role lacks a permission (the shape of IAM's
/// message), with the account id, the role and the log group's ARN in it.
fn access_denied_message(action: &str) -> String {
    format!(
        "User: arn:aws:sts::{ACCOUNT}:assumed-role/BedrockUsageReader/usage-fn is not \
         authorized to perform: logs:{action} on resource: \
         arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{LOG_GROUP}:* because no identity-based \
         policy allows the logs:{action} action"
    )
}

// ---------------------------------------------------------------------------------------------
// A stub of the CloudWatch Logs JSON 1.1 API

/// How the stub answers one request.
enum Answer {
    /// A success with an empty result of the operation's shape.
    Accept,
    /// An error in the protocol's shape: this status, `{"__type": code, "message": ...}`.
    Refuse(StatusCode, &'static str, String),
}

type Policy = dyn Fn(&str, usize) -> Answer + Send + Sync;

struct Stub {
    logs: LogsStub,
    /// The operations called, in order (`StartQuery`, `GetQueryResults`, ...).
    calls: Arc<Mutex<Vec<String>>>,
}

impl Stub {
    /// A stub on 127.0.0.1 answering the `n`th call (from 0) of operation `op` with
    /// `policy(op, n)`.
    async fn start(policy: impl Fn(&str, usize) -> Answer + Send + Sync + 'static) -> Stub {
        let calls = Arc::new(Mutex::new(Vec::<String>::new()));
        let policy: Arc<Policy> = Arc::new(policy);
        let called = calls.clone();
        let logs = LogsStub::start(move |op, _body| answer(op, &called, policy.as_ref())).await;
        Stub { logs, calls }
    }

    /// A stub refusing every call with `code` (HTTP 400, as Logs sends its client errors).
    async fn refusing(code: &'static str, message: &str) -> Stub {
        let message = message.to_owned();
        Stub::start(move |_, _| Answer::Refuse(StatusCode::BAD_REQUEST, code, message.clone()))
            .await
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn count(&self, op: &str) -> usize {
        self.calls().iter().filter(|c| *c == op).count()
    }

    /// The product's client configuration pointed at the stub, with millisecond pauses.
    fn config(&self) -> SdkConfig {
        logs_config(&self.logs.url)
    }

    /// The server's sources on the stub: the log group in us-east-1, read in `mode`, with
    /// the product's options.
    fn selector(&self, mode: CloudWatchMode) -> CloudWatchSelector {
        let clients = Arc::new(ClientCache::with_config(self.config()));
        CloudWatchSelector::with_clients(mode, LOG_GROUP, Some("us-east-1".into()), clients)
            .unwrap()
    }

    /// The product's MCP server on the stub, in process.
    fn app(&self, mode: CloudWatchMode) -> App {
        let server = usage_server(Arc::new(self.selector(mode)), None, None);
        App::serving(
            server,
            Arc::new(MemoryStore::new()),
            TransportConfig::default(),
        )
    }
}

/// The product's client configuration pointed at `url`, with millisecond pauses.
fn logs_config(url: &str) -> SdkConfig {
    let retries = RetryPolicy {
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(10),
        ..RetryPolicy::DEFAULT
    };
    sdk_config(url, "us-east-1", &retries)
}

fn answer(op: &str, calls: &Mutex<Vec<String>>, policy: &Policy) -> Response {
    let nth = {
        let mut calls = calls.lock().unwrap();
        let nth = calls.iter().filter(|c| *c == op).count();
        calls.push(op.to_owned());
        nth
    };
    let (status, body) = match policy(op, nth) {
        Answer::Refuse(status, code, message) => {
            (status, json!({ "__type": code, "message": message }))
        }
        Answer::Accept => (StatusCode::OK, success(op, nth)),
    };
    (
        status,
        [
            ("content-type", JSON_1_1),
            ("x-amzn-requestid", "00000000-0000-4000-8000-000000000000"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// An empty success of `op`: a started query, a complete query without rows, a last page.
fn success(op: &str, nth: usize) -> Value {
    match op {
        "StartQuery" => json!({ "queryId": format!("00000000-0000-4000-8000-{nth:012}") }),
        "GetQueryResults" => json!({
            "results": [],
            "statistics": { "recordsMatched": 0.0, "recordsScanned": 0.0, "bytesScanned": 0.0 },
            "status": "Complete",
        }),
        "StopQuery" => json!({ "success": true }),
        "FilterLogEvents" => json!({ "events": [], "searchedLogStreams": [] }),
        other => panic!("unexpected operation {other}"),
    }
}

// ---------------------------------------------------------------------------------------------
// MCP helpers

/// The JSON-RPC answer of a 2026-07-28 request, from a JSON body or its SSE stream.
async fn rpc(app: &App, id: u64, method: &str, params: Value) -> Value {
    let response = app.modern(id, method, params, json!({})).await;
    assert_eq!(response.status(), 200);
    if content_type(&response) == "text/event-stream" {
        let events = SseReader::new(response.into_body())
            .until_response(Duration::from_secs(30))
            .await;
        return events
            .iter()
            .filter_map(|event| event.json())
            .rfind(|message| message.get("id") == Some(&json!(id)))
            .unwrap_or_else(|| panic!("no answer for {id} in {events:?}"));
    }
    body_json(response).await
}

/// Calls the report tool with `arguments`; returns its result.
async fn report(app: &App, arguments: Value) -> Value {
    let answer = rpc(
        app,
        1,
        "tools/call",
        json!({ "name": "get_bedrock_usage_report", "arguments": arguments }),
    )
    .await;
    answer
        .get("result")
        .cloned()
        .unwrap_or_else(|| panic!("no result: {answer}"))
}

/// The text of a tool result's first content item.
fn text(result: &Value) -> &str {
    result["content"][0]["text"].as_str().unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// How many requests a throttled report makes

/// Requests per call: the policy's attempts.
fn attempts() -> usize {
    RetryPolicy::DEFAULT.max_attempts as usize
}

/// Queries a Logs Insights report runs at once, by default.
fn concurrency() -> usize {
    InsightsOptions::default().max_concurrent_queries
}

#[tokio::test]
async fn a_report_throttled_from_the_start_makes_at_most_attempts_times_concurrency_requests() {
    let stub = Stub::refusing("ThrottlingException", "Rate exceeded").await;
    let app = stub.app(CloudWatchMode::Insights);
    // 30 days: at least 5 slices of 7 days, more than run at once.
    let result = report(&app, json!({ "days": 30 })).await;
    let calls = stub.calls();
    let bound = attempts() * concurrency();
    assert_eq!(bound, 12, "the README states 12");
    assert!(calls.len() <= bound, "{} requests: {calls:?}", calls.len());
    // The SDK did retry (one call used all its attempts), and only StartQuery ran.
    assert!(calls.len() >= attempts(), "{calls:?}");
    assert!(calls.iter().all(|c| c == "StartQuery"), "{calls:?}");
    // A clear error: the call, the code, what to do.
    assert_eq!(result["isError"], true, "{result}");
    let message = text(&result);
    for says in ["StartQuery", "(ThrottlingException)", "try again"] {
        assert!(message.contains(says), "{message}");
    }
}

#[tokio::test]
async fn a_report_throttled_once_its_queries_run_makes_at_most_six_more_requests_per_query() {
    // Queries start; every other call is throttled.
    let stub = Stub::start(|op, _| match op {
        "StartQuery" => Answer::Accept,
        _ => Answer::Refuse(
            StatusCode::BAD_REQUEST,
            "ThrottlingException",
            "Rate exceeded".into(),
        ),
    })
    .await;
    let app = stub.app(CloudWatchMode::Insights);
    let result = report(&app, json!({ "days": 30 })).await;
    let started = stub.count("StartQuery");
    let refused = stub.calls().len() - started;
    assert!(started <= concurrency(), "{:?}", stub.calls());
    assert!(
        refused <= 2 * attempts() * started,
        "{refused} refused requests for {started} queries: {:?}",
        stub.calls()
    );
    assert!(stub.count("GetQueryResults") >= attempts());
    // Every query started was asked to stop (throttled too, but asked).
    assert!(stub.count("StopQuery") >= started, "{:?}", stub.calls());
    assert_eq!(result["isError"], true, "{result}");
    let message = text(&result);
    assert!(message.contains("GetQueryResults"), "{message}");
    assert!(message.contains("(ThrottlingException)"), "{message}");
}

#[tokio::test]
async fn a_throttled_scan_makes_at_most_one_call_s_attempts() {
    let stub = Stub::refusing("ThrottlingException", "Rate exceeded").await;
    let app = stub.app(CloudWatchMode::Scan);
    let result = report(&app, json!({ "days": 30 })).await;
    assert_eq!(stub.calls().len(), attempts(), "{:?}", stub.calls());
    assert_eq!(result["isError"], true, "{result}");
    assert!(text(&result).contains("FilterLogEvents"), "{result}");
}

// ---------------------------------------------------------------------------------------------
// Which codes are retried

fn one_day() -> UsageQuery {
    let start: Timestamp = "2026-11-01T00:00:00Z".parse().unwrap();
    let end: Timestamp = "2026-11-02T00:00:00Z".parse().unwrap();
    UsageQuery::new(start, end, Granularity::Day).unwrap()
}

/// Runs a one-day report in `mode` against a stub that refuses the first `refusals` calls of
/// `op` with `code` (HTTP 400) and accepts everything else.
async fn refused_then_accepted(
    mode: CloudWatchMode,
    op: &'static str,
    code: &'static str,
    refusals: usize,
) -> (Stub, Result<(), SourceError>) {
    let stub = Stub::start(move |called, nth| {
        if called == op && nth < refusals {
            Answer::Refuse(StatusCode::BAD_REQUEST, code, "for now".into())
        } else {
            Answer::Accept
        }
    })
    .await;
    let outcome = stub
        .selector(mode)
        .default_source()
        .collect(&one_day(), &NoProgress, &CancellationToken::new())
        .await
        .map(|_| ());
    (stub, outcome)
}

#[tokio::test]
async fn the_codes_logs_uses_for_passing_trouble_are_retried_by_the_sdk() {
    // LimitExceededException: too many Logs Insights queries in the account (in the SDK's
    // throttling list); ServiceUnavailableException: retried by our classifier, here with a
    // 400 so that the SDK's 5xx rule cannot be what retried it.
    for code in [
        "ThrottlingException",
        "LimitExceededException",
        "ServiceUnavailableException",
    ] {
        for (mode, op) in [
            (CloudWatchMode::Insights, "StartQuery"),
            (CloudWatchMode::Scan, "FilterLogEvents"),
        ] {
            let refusals = attempts() - 1;
            let (stub, outcome) = refused_then_accepted(mode, op, code, refusals).await;
            assert!(outcome.is_ok(), "{code} on {op}: {outcome:?}");
            assert_eq!(stub.count(op), attempts(), "{code} on {op}");
        }
    }
}

#[tokio::test]
async fn a_refusal_that_waiting_cannot_fix_is_not_retried() {
    for (mode, op) in [
        (CloudWatchMode::Insights, "StartQuery"),
        (CloudWatchMode::Scan, "FilterLogEvents"),
    ] {
        let (stub, outcome) =
            refused_then_accepted(mode, op, "AccessDeniedException", usize::MAX).await;
        let err = outcome.unwrap_err();
        assert!(matches!(err, SourceError::Backend(_)), "{err:?}");
        assert_eq!(stub.calls(), [op], "one request");
    }
}

// ---------------------------------------------------------------------------------------------
// A CloudWatch that never answers

#[tokio::test]
async fn a_cloudwatch_that_never_answers_ends_the_report_within_the_call_timeout() {
    // A black hole: it accepts connections, holds them and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let connections = Arc::new(Mutex::new(Vec::new()));
    let held = connections.clone();
    let hole = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            held.lock().unwrap().push(socket);
        }
    });
    let timeouts = CallTimeouts {
        attempt: Duration::from_millis(300),
        call: Duration::from_millis(1500),
    };
    for (mode, op) in [
        (CloudWatchMode::Insights, "StartQuery"),
        (CloudWatchMode::Scan, "FilterLogEvents"),
    ] {
        let clients = Arc::new(ClientCache::with_config(logs_config(&url)).with_timeouts(timeouts));
        let selector =
            CloudWatchSelector::with_clients(mode, LOG_GROUP, Some("us-east-1".into()), clients)
                .unwrap();
        let started = std::time::Instant::now();
        let outcome = selector
            .default_source()
            .collect(&one_day(), &NoProgress, &CancellationToken::new())
            .await;
        let took = started.elapsed();
        let err = outcome.unwrap_err();
        assert!(matches!(err, SourceError::Backend(_)), "{op}: {err:?}");
        assert!(err.to_string().contains("did not answer"), "{op}: {err}");
        assert!(err.to_string().contains(op), "{op}: {err}");
        // Without the timeouts the report would wait forever; a generous margin for a busy
        // machine, far below "forever" and below any function timeout.
        assert!(took < Duration::from_secs(30), "{op}: ended after {took:?}");
    }
    assert!(
        !connections.lock().unwrap().is_empty(),
        "the black hole was called"
    );
    hole.abort();
}

// ---------------------------------------------------------------------------------------------
// What a client sees of an error

/// Collects what the server logs, for the current thread (the tests below run the server on
/// a current-thread runtime, so every task logs here).
#[derive(Clone, Default)]
struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogCapture {
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The account id, the role and ARNs are nowhere in what the client got.
fn assert_private(what: &str, answer: &Value) {
    let answer = answer.to_string();
    for private in [ACCOUNT, "arn:aws", "BedrockUsageReader", "usage-fn"] {
        assert!(
            !answer.contains(private),
            "{what} shows {private}: {answer}"
        );
    }
}

#[tokio::test]
async fn access_denied_shows_the_client_the_code_and_never_the_account() {
    let logs = LogCapture::default();
    let _guard = logs.install();
    // Refused at each call a report can fail on: StartQuery, GetQueryResults, FilterLogEvents.
    for (mode, denied) in [
        (CloudWatchMode::Insights, "StartQuery"),
        (CloudWatchMode::Insights, "GetQueryResults"),
        (CloudWatchMode::Scan, "FilterLogEvents"),
    ] {
        let stub = Stub::start(move |op, _| {
            if op == denied || op == "StopQuery" {
                Answer::Refuse(
                    StatusCode::BAD_REQUEST,
                    "AccessDeniedException",
                    access_denied_message(op),
                )
            } else {
                Answer::Accept
            }
        })
        .await;
        let app = stub.app(mode);
        let what = format!("{mode} denied {denied}");

        // The report tool: a tool error with the call and the code.
        let result = report(&app, json!({ "days": 3 })).await;
        assert_eq!(result["isError"], true, "{what}: {result}");
        assert!(
            text(&result).contains(&format!(
                "refused the {denied} call (AccessDeniedException)"
            )),
            "{what}: {result}"
        );
        assert_private(&what, &result);

        // The report resource, the review prompt and argument completion run the same report
        // and fail with a JSON-RPC error.
        for (method, params) in [
            (
                "resources/read",
                json!({ "uri": "bedrock-usage://report/3" }),
            ),
            (
                "prompts/get",
                json!({ "name": "review_bedrock_usage", "arguments": { "days": "3" } }),
            ),
            (
                "completion/complete",
                json!({
                    "ref": { "type": "ref/prompt", "name": "review_bedrock_usage" },
                    "argument": { "name": "model_id", "value": "" },
                }),
            ),
        ] {
            let answer = rpc(&app, 2, method, params).await;
            assert!(answer.get("error").is_some(), "{what}, {method}: {answer}");
            assert!(
                answer.to_string().contains("AccessDeniedException"),
                "{what}, {method}: {answer}"
            );
            assert_private(&format!("{what}, {method}"), &answer);
        }
    }
    // The server's log has the whole story, at WARN.
    let log = logs.text();
    let warned = log
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("CloudWatch Logs call failed"))
        .collect::<Vec<_>>();
    assert!(
        warned.iter().any(|l| l.contains(ACCOUNT)),
        "the full error is logged: {log}"
    );
}
