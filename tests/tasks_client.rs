//! `mcp-client report --task` against `bedrock-usage-mcp` in both eras: it creates the report
//! task, polls it, and prints the report the direct call prints. Against a hostile server, the
//! polling waits on every poll, ends at its bound, and reads `completed` with only an error as
//! a failure.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bedrock_usage_mcp::client::{ClientOptions, McpClient, TaskStatus};
use bedrock_usage_mcp::usage::source::synthetic::{WINDOW_END, WINDOW_START, write_records};
use mcp_testkit::ServerProcess;
use serde_json::{Value, json};

/// A directory removed when dropped.
struct Dir(std::path::PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn report(url: &str, protocol: &str, task: bool) -> Value {
    let mut args = vec![
        "--url",
        url,
        "--protocol",
        protocol,
        "report",
        "--json",
        "--start",
        WINDOW_START,
        "--end",
        WINDOW_END,
    ];
    if task {
        args.push("--task");
    }
    let output = Command::new(env!("CARGO_BIN_EXE_mcp-client"))
        .args(&args)
        .output()
        .expect("running mcp-client");
    assert!(
        output.status.success(),
        "mcp-client {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

#[test]
fn report_task_prints_the_direct_calls_report_in_both_eras() {
    let dir = Dir(std::env::temp_dir().join(format!("tasks-client-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).expect("temp dir");
    let path = dir.0.join("invocations.jsonl");
    write_records(&path, 500, 20..=200, 3).expect("writing the dataset");
    let server = ServerProcess::start(
        env!("CARGO_BIN_EXE_bedrock-usage-mcp"),
        &["--usage-file", path.to_str().expect("utf-8 path")],
    );
    for protocol in ["2026-07-28", "2025-11-25"] {
        let direct = report(&server.url, protocol, false);
        let as_task = report(&server.url, protocol, true);
        assert!(
            direct["totals"]["requests"].as_u64().unwrap_or(0) > 0,
            "{direct}"
        );
        for section in ["totals", "by_model", "by_day"] {
            assert_eq!(as_task[section], direct[section], "{protocol} {section}");
        }
    }
}

/// A 2026-07-28 server that creates a task (`pollIntervalMs: 0`) and answers every `tasks/get`
/// with `answer`; it counts the polls.
struct HostileServer {
    url: String,
    polls: Arc<AtomicUsize>,
    handle: tokio::task::JoinHandle<()>,
}

impl HostileServer {
    async fn start(answer: Value) -> Self {
        let polls = Arc::new(AtomicUsize::new(0));
        let counted = polls.clone();
        let app = axum::Router::new().route(
            "/mcp",
            axum::routing::post(move |body: String| {
                let (answer, polls) = (answer.clone(), counted.clone());
                async move {
                    let request: Value = serde_json::from_str(&body).unwrap_or_default();
                    let task = json!({ "taskId": "t1", "status": "working", "pollIntervalMs": 0 });
                    let result = match request["method"].as_str() {
                        Some("tasks/get") => {
                            polls.fetch_add(1, Ordering::SeqCst);
                            answer
                        }
                        _ => task,
                    };
                    let message =
                        json!({ "jsonrpc": "2.0", "id": request["id"], "result": result });
                    ([("content-type", "application/json")], message.to_string())
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding 127.0.0.1");
        let url = format!("http://{}/mcp", listener.local_addr().expect("address"));
        let handle = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serving");
        });
        Self { url, polls, handle }
    }

    /// Runs a task against the server with `max_wait`, bounded by a generous outer timeout.
    async fn run_task(&self, max_wait: Duration) -> Result<Value, String> {
        let options = ClientOptions {
            url: self.url.clone(),
            headers: Vec::new(),
            protocol: "2026-07-28".into(),
            timeout: Duration::from_secs(30),
            signer: None,
            bearer: None,
        };
        let mut client = McpClient::new(options).expect("client");
        let mut quiet = |_: TaskStatus<'_>| {};
        let called = client.call_as_task("report", json!({}), max_wait, &mut quiet);
        tokio::time::timeout(Duration::from_secs(5), called)
            .await
            .map_err(|_| "still polling after 5 s".to_owned())?
            .map_err(|e| e.to_string())
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// `completed` without its result, forever: every poll waits at least 100 ms (so 1 s of
/// polling makes at most 10 `tasks/get`, however fast the server answers), and polling stops
/// at the bound with an error naming --task-timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_status_without_its_payload_is_polled_slowly_and_not_forever() {
    let answer = json!({ "taskId": "t1", "status": "completed", "pollIntervalMs": 0 });
    let server = HostileServer::start(answer).await;
    let outcome = server.run_task(Duration::from_secs(1)).await;
    let polls = server.polls.load(Ordering::SeqCst);
    assert!(
        matches!(&outcome, Err(e) if e.contains("--task-timeout")),
        "{outcome:?} after {polls} polls"
    );
    assert!((1..=10).contains(&polls), "{polls} polls in 1 s");
}

/// `completed` that carries only an `error` is the task's failure, not a null result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_answer_with_only_an_error_is_an_error() {
    let answer = json!({ "taskId": "t1", "status": "completed",
                         "error": { "code": -32603, "message": "the report broke" } });
    let server = HostileServer::start(answer).await;
    let outcome = server.run_task(Duration::from_secs(60)).await;
    assert!(
        matches!(&outcome, Err(e) if e.contains("the report broke")),
        "{outcome:?}"
    );
    assert_eq!(server.polls.load(Ordering::SeqCst), 1);
}
