//! A report task over Logs Insights (issue 18, done-when 2): against a scripted stand-in for
//! the CloudWatch Logs API whose queries stay `Running` for a few `GetQueryResults` calls, two
//! server instances on one DynamoDB table (moto), polls alternating between them:
//!
//! - the task's report equals the direct call's (`compare_to` too: two reads, six slices), in
//!   both eras;
//! - every poll answers with the task working after one `GetQueryResults` per running query,
//!   and nothing calls CloudWatch between polls (no request or loop held open);
//! - `tasks/cancel` sends `StopQuery` for every running query, and no more queries start;
//! - `--max-scan-gb` holds across polls: the poll whose answers pass the cap stops every
//!   running query and fails the task with the cap's message.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::Response;
use bedrock_usage_mcp::aws::RetryPolicy;
use bedrock_usage_mcp::store::dynamodb::create_table;
use bedrock_usage_mcp::store::{DynamoStore, SessionStore, TaskId};
use bedrock_usage_mcp::tools::usage_server;
use bedrock_usage_mcp::transport::TransportConfig;
use bedrock_usage_mcp::usage::Timestamp;
use bedrock_usage_mcp::usage::source::cloudwatch::{Backoff, ClientCache, InsightsOptions};
use bedrock_usage_mcp::usage::source::{CloudWatchMode, CloudWatchSelector};
use mcp_testkit::app::{App, body_json, response_message};
use mcp_testkit::logs_stub::{self, LogsStub, json_response};
use mcp_testkit::moto::{Moto, unique_table};
use serde_json::{Value, json};

const TOOL: &str = "get_bedrock_usage_report";
const GROUP: &str = "/aws/bedrock/modelinvocations";
const DAY_MS: i64 = 86_400_000;
/// `GetQueryResults` answers `Running` this many times before `Complete`.
const RUNNING_ANSWERS: u32 = 2;
const TASKS: &str = "io.modelcontextprotocol/tasks";

struct Query {
    id: String,
    from_ms: i64,
    to_ms: i64,
    answers: u32,
}

#[derive(Default)]
struct Stub {
    queries: Vec<Query>,
    /// Every call, in order: (operation, query id).
    calls: Vec<(String, String)>,
    /// Bytes a query reports per answer while it runs (0: half its final figure once).
    growing: u64,
    /// Holds the answers that complete `q1` until two have arrived (two polls racing).
    race: Option<Arc<AtomicUsize>>,
    /// Queries never complete: `GetQueryResults` always answers `Running`.
    endless: bool,
    /// Holds every `StartQuery` until the gate opens.
    hold_starts: Option<Gate>,
    /// Holds the next `GetQueryResults` of `q1` until the gate opens, then refuses it.
    fail_next_q1: Option<Gate>,
}

/// Requests held at the stand-in: how many arrived, and whether they may go on.
#[derive(Clone, Default)]
struct Gate {
    arrived: Arc<AtomicUsize>,
    open: Arc<std::sync::atomic::AtomicBool>,
}

impl Gate {
    /// Waits (blocking the stand-in's thread, bounded: never hangs) until the gate opens.
    fn pass(&self) {
        self.arrived.fetch_add(1, Ordering::SeqCst);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while !self.open.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

/// A slice's final `bytesScanned`: the same for the same slice, whoever queries it.
fn final_bytes(from_ms: i64, to_ms: i64) -> u64 {
    u64::try_from((to_ms - from_ms) / 1000).unwrap() + u64::try_from(from_ms / DAY_MS).unwrap()
}

fn number_after(text: &str, marker: &str) -> i64 {
    let rest = &text[text.find(marker).unwrap() + marker.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap()
}

/// The rows of a slice: for each day in it, two models and two users with counts that
/// depend on the day, so that a slice lost, repeated or misplaced changes the report.
fn rows(from_ms: i64, to_ms: i64) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut day = from_ms.div_euclid(DAY_MS);
    while day * DAY_MS < to_ms {
        let when = Timestamp::from_unix_millis(day * DAY_MS)
            .unwrap()
            .to_string();
        let when = format!("{} 00:00:00.000", &when[..10]);
        for (m, model) in ["anthropic.claude-v2", "amazon.titan-text"]
            .iter()
            .enumerate()
        {
            for (u, user) in ["arn:aws:iam::1:user/ana", "arn:aws:iam::1:user/bo"]
                .iter()
                .enumerate()
            {
                let n = (day % 97) as usize * 10 + m * 3 + u + 1;
                rows.push(json!([
                    { "field": "bin(24h)", "value": when },
                    { "field": "region", "value": "us-east-1" },
                    { "field": "modelId", "value": model },
                    { "field": "identity.arn", "value": user },
                    { "field": "operation", "value": "InvokeModel" },
                    { "field": "events", "value": n.to_string() },
                    { "field": "records", "value": n.to_string() },
                    { "field": "input_tokens", "value": (n * 100).to_string() },
                    { "field": "output_tokens", "value": (n * 7).to_string() },
                    { "field": "errors", "value": (n % 3).to_string() },
                ]));
            }
        }
        day += 1;
    }
    rows
}

impl Stub {
    /// The gate a request waits at before it is answered, if it is one of the racing ones.
    fn gate(&self, operation: &str, body: &str) -> Option<Arc<AtomicUsize>> {
        let input: Value = serde_json::from_str(body).ok()?;
        let q1 = self.queries.iter().find(|q| q.id == "q1")?;
        (operation == "GetQueryResults"
            && input["queryId"] == "q1"
            && q1.answers == RUNNING_ANSWERS)
            .then(|| self.race.clone())
            .flatten()
    }

    /// The gate a request waits at, and whether it is then refused.
    fn held(&mut self, operation: &str, body: &str) -> Option<(Gate, bool)> {
        if operation == "StartQuery" {
            return self.hold_starts.clone().map(|gate| (gate, false));
        }
        let input: Value = serde_json::from_str(body).ok()?;
        (operation == "GetQueryResults" && input["queryId"] == "q1")
            .then(|| self.fail_next_q1.take())
            .flatten()
            .map(|gate| (gate, true))
    }

    fn handle(&mut self, operation: &str, body: &str) -> Response {
        let input: Value = serde_json::from_str(body).unwrap();
        let id = input["queryId"].as_str().unwrap_or_default().to_owned();
        match operation {
            "StartQuery" => {
                assert_eq!(input["logGroupName"], GROUP);
                let text = input["queryString"].as_str().unwrap();
                let id = format!("q{}", self.queries.len() + 1);
                self.queries.push(Query {
                    id: id.clone(),
                    from_ms: number_after(text, "toMillis(@timestamp) >= "),
                    to_ms: number_after(text, "toMillis(@timestamp) < "),
                    answers: 0,
                });
                self.calls.push((operation.to_owned(), id.clone()));
                ok(json!({ "queryId": id }))
            }
            "GetQueryResults" => {
                self.calls.push((operation.to_owned(), id.clone()));
                let growing = self.growing;
                let query = self.queries.iter_mut().find(|q| q.id == id).unwrap();
                query.answers += 1;
                let bytes = final_bytes(query.from_ms, query.to_ms);
                if growing > 0 || self.endless || query.answers <= RUNNING_ANSWERS {
                    let so_far = if growing > 0 {
                        growing * u64::from(query.answers)
                    } else {
                        bytes / 2
                    };
                    return ok(json!({
                        "results": [],
                        "statistics": { "bytesScanned": so_far as f64 },
                        "status": "Running",
                    }));
                }
                ok(json!({
                    "results": rows(query.from_ms, query.to_ms),
                    "statistics": { "bytesScanned": bytes as f64 },
                    "status": "Complete",
                }))
            }
            "StopQuery" => {
                self.calls.push((operation.to_owned(), id));
                ok(json!({ "success": true }))
            }
            // No preflight estimate: the running cap alone holds.
            "DescribeLogGroups" => json_response(
                StatusCode::BAD_REQUEST,
                json!({ "__type": "AccessDeniedException", "message": "no" }).to_string(),
            ),
            other => panic!("unexpected {other}"),
        }
    }

    fn count(&self, operation: &str) -> usize {
        self.calls.iter().filter(|(op, _)| op == operation).count()
    }

    /// Queries started and not answered `Complete`.
    fn running(&self) -> Vec<String> {
        let mut ids: Vec<String> = (self.queries.iter())
            .filter(|q| q.answers <= RUNNING_ANSWERS || self.growing > 0 || self.endless)
            .map(|q| q.id.clone())
            .collect();
        ids.sort();
        ids
    }

    fn stops(&self) -> Vec<String> {
        let mut ids: Vec<String> = (self.calls.iter())
            .filter(|(op, _)| op == "StopQuery")
            .map(|(_, id)| id.clone())
            .collect();
        ids.sort();
        ids
    }
}

fn ok(body: Value) -> Response {
    json_response(StatusCode::OK, body.to_string())
}

/// The stand-in, two instances on one DynamoDB table, and what the report asks.
struct Setup {
    stub: Arc<Mutex<Stub>>,
    _logs: LogsStub,
    _moto: Arc<Moto>,
    /// The table both instances keep their tasks in.
    store: DynamoStore,
    a: App,
    b: App,
}

/// Both instances step a task on every poll (these tests poll back to back and count steps).
async fn setup(max_scan_gb: Option<f64>) -> Setup {
    setup_stepping(max_scan_gb, Duration::ZERO).await
}

/// [`setup`] whose instance `a` steps a task at most once per `a_step_interval`.
async fn setup_stepping(max_scan_gb: Option<f64>, a_step_interval: Duration) -> Setup {
    let stub = Arc::new(Mutex::new(Stub::default()));
    let handler = stub.clone();
    let logs = LogsStub::start(move |op, body| {
        let held = handler.lock().unwrap().held(op, body);
        if let Some((gate, refuse)) = held {
            gate.pass();
            if refuse {
                handler
                    .lock()
                    .unwrap()
                    .calls
                    .push((op.to_owned(), "refused".to_owned()));
                return json_response(
                    StatusCode::BAD_REQUEST,
                    json!({ "__type": "InvalidParameterException", "message": "refused" })
                        .to_string(),
                );
            }
        }
        let gate = handler.lock().unwrap().gate(op, body);
        if let Some(arrived) = gate {
            // Both racing polls ask before either is answered (bounded: never hangs).
            arrived.fetch_add(1, Ordering::SeqCst);
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            while arrived.load(Ordering::SeqCst) < 2 && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        handler.lock().unwrap().handle(op, body)
    })
    .await;
    let moto = Moto::shared();
    let dynamodb = moto.dynamodb();
    let table = unique_table("taskins");
    assert!(create_table(&dynamodb, &table).await.unwrap());
    let instance = |store: Arc<dyn SessionStore>, step_interval: Duration| {
        let retries = RetryPolicy {
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(40),
            ..RetryPolicy::DEFAULT
        };
        let config = logs_stub::sdk_config(&logs.url, "us-east-1", &retries);
        let options = InsightsOptions {
            max_concurrent_queries: 2,
            poll: Backoff {
                initial: Duration::from_millis(5),
                max: Duration::from_millis(20),
            },
            max_scan_gb,
            ..InsightsOptions::default()
        };
        let selector = CloudWatchSelector::with_options(
            CloudWatchMode::Insights,
            GROUP,
            Some("us-east-1".to_owned()),
            Arc::new(ClientCache::with_config(config)),
            options,
            Default::default(),
        )
        .unwrap()
        // As deployed: the fallback wraps Logs Insights (never used: the group exists).
        .with_metrics_fallback(true);
        let key = b"tasks-report-insights-request-state-key-0123".to_vec();
        App::serving(
            usage_server(Arc::new(selector), None, Some(key))
                .with_task_step_interval(step_interval),
            store,
            TransportConfig::default(),
        )
    };
    let a = instance(
        Arc::new(DynamoStore::new(dynamodb.clone(), &table)),
        a_step_interval,
    );
    let b = instance(
        Arc::new(DynamoStore::new(dynamodb.clone(), &table)),
        Duration::ZERO,
    );
    Setup {
        stub,
        _logs: logs,
        _moto: moto,
        store: DynamoStore::new(dynamodb, &table),
        a,
        b,
    }
}

/// Three weeks from Thursday 2026-10-01 (three 7-day slices) compared with the three weeks
/// before (three more): two reads, six queries, two at a time.
fn arguments() -> Value {
    json!({
        "start": "2026-10-01T00:00:00Z",
        "end": "2026-10-22T00:00:00Z",
        "compare_to": "previous_period",
    })
}

fn tasks_meta() -> Value {
    json!({ "io.modelcontextprotocol/clientCapabilities": { "extensions": { TASKS: {} } } })
}

async fn modern(app: &App, id: u64, method: &str, params: Value) -> Value {
    body_json(app.modern(id, method, params, tasks_meta()).await).await
}

/// What the stand-in saw of one poll: it answers `working` after exactly one
/// `GetQueryResults` per query that was running, and nothing more reaches CloudWatch after
/// it, before the next poll.
struct Polls {
    stub: Arc<Mutex<Stub>>,
    /// Calls seen when the last poll answered.
    seen: usize,
}

impl Polls {
    fn new(stub: &Arc<Mutex<Stub>>) -> Self {
        let seen = stub.lock().unwrap().calls.len();
        Polls {
            stub: stub.clone(),
            seen,
        }
    }

    /// Checks that nothing reached the stand-in since the last poll answered (after a
    /// pause in which a loop held open would have asked again), and returns what is
    /// running before the next poll.
    async fn quiet_since_last(&mut self) -> Vec<String> {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let stub = self.stub.lock().unwrap();
        assert_eq!(
            stub.calls.len(),
            self.seen,
            "CloudWatch was called between polls: {:?}",
            &stub.calls[self.seen..]
        );
        stub.running()
    }

    /// After a poll answered: the GetQueryResults it sent were one per running query.
    fn answered(&mut self, running_before: &[String]) {
        let stub = self.stub.lock().unwrap();
        let asked: Vec<String> = (stub.calls[self.seen..].iter())
            .filter(|(op, _)| op == "GetQueryResults")
            .map(|(_, id)| id.clone())
            .collect();
        let mut sorted = asked.clone();
        sorted.sort();
        assert_eq!(
            sorted, running_before,
            "one GetQueryResults per running query"
        );
        self.seen = stub.calls.len();
    }
}

/// The direct call's result on instance `a` (the stand-in's calls then forgotten).
async fn direct(setup: &Setup) -> Value {
    let direct = setup.a.call_tool(1, TOOL, arguments()).await;
    assert_eq!(direct["resultType"], "complete", "{direct}");
    assert!(direct.get("isError").is_none_or(|e| e == false), "{direct}");
    let stub = setup.stub.lock().unwrap();
    assert_eq!(stub.count("StartQuery"), 6, "six slices");
    assert!(stub.stops().is_empty());
    direct
}

/// The report's parts a task must give exactly as the direct call does.
fn report(result: &Value) -> Value {
    json!({ "structuredContent": result["structuredContent"], "content": result["content"] })
}

#[tokio::test]
async fn a_2026_07_28_task_over_insights_completes_across_alternating_instances() {
    let setup = setup(None).await;
    let direct = direct(&setup).await;
    assert!(
        direct["structuredContent"]["totals"]["requests"]
            .as_u64()
            .unwrap()
            > 0
    );
    let mut polls = Polls::new(&setup.stub);
    let call = json!({ "name": TOOL, "arguments": arguments() });
    let created = modern(&setup.a, 2, "tools/call", call).await;
    assert_eq!(created["result"]["resultType"], "task", "{created}");
    assert_eq!(created["result"]["status"], "working", "{created}");
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();
    {
        // Creation started two queries (the concurrency) and asked nothing yet.
        let stub = setup.stub.lock().unwrap();
        let new = &stub.calls[polls.seen..];
        assert_eq!(new.len(), 2, "{new:?}");
        assert!(new.iter().all(|(op, _)| op == "StartQuery"), "{new:?}");
        polls.seen = stub.calls.len();
    }
    let mut result = Value::Null;
    let mut working_polls = 0;
    for n in 0..100u64 {
        let running = polls.quiet_since_last().await;
        let app = if n % 2 == 0 { &setup.b } else { &setup.a };
        let got = modern(app, 10 + n, "tasks/get", json!({ "taskId": id })).await;
        polls.answered(&running);
        match got["result"]["status"].as_str() {
            Some("working") => {
                working_polls += 1;
                let message = got["result"]["statusMessage"].as_str().unwrap();
                assert!(message.starts_with("Logs Insights: "), "{message}");
            }
            Some("completed") => {
                result = got["result"]["result"].clone();
                break;
            }
            other => panic!("{other:?}: {got}"),
        }
    }
    // Six queries (two reads of three slices, one read after the other), two at a time, each
    // answering Running twice: eleven polls find the task working, the twelfth completes it.
    assert_eq!(working_polls, 11);
    assert_eq!(report(&result), report(&direct));
    // Each query was started once and asked until complete; nothing was stopped.
    let stub = setup.stub.lock().unwrap();
    assert_eq!(stub.count("StartQuery"), 12);
    // The direct call and the task asked the same: three answers for each of six queries.
    assert_eq!(stub.count("GetQueryResults"), 2 * 18);
    assert!(stub.stops().is_empty());
    assert!(stub.running().is_empty());
}

/// A 2025-11-25 session on instance `a`.
/// The stored version of task `id`: a poll that writes the task raises it.
async fn task_version(setup: &Setup, id: &str) -> u64 {
    let tasks = setup.store.tasks().unwrap();
    let record = tasks.load_task(&TaskId::parse(id).unwrap()).await.unwrap();
    record.unwrap().version
}

/// Review A finding 5: a poll sooner than the tool's least step interval after the task's
/// last stored step answers the task as stored, asking CloudWatch nothing and writing
/// nothing, however often it comes; an instance stepping every poll still completes it.
#[tokio::test]
async fn polls_sooner_than_the_step_interval_ask_nothing_and_write_nothing() {
    let setup = setup_stepping(None, Duration::from_secs(3600)).await;
    let call = json!({ "name": TOOL, "arguments": arguments() });
    let created = modern(&setup.a, 2, "tools/call", call).await;
    assert_eq!(created["result"]["status"], "working", "{created}");
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();
    let version = task_version(&setup, &id).await;
    let seen = setup.stub.lock().unwrap().calls.len();
    for n in 0..5u64 {
        let got = modern(&setup.a, 10 + n, "tasks/get", json!({ "taskId": id })).await;
        assert_eq!(got["result"]["status"], "working", "{got}");
    }
    {
        let stub = setup.stub.lock().unwrap();
        assert_eq!(stub.calls.len(), seen, "{:?}", &stub.calls[seen..]);
        assert_eq!(stub.running(), ["q1", "q2"]);
    }
    assert_eq!(task_version(&setup, &id).await, version, "no write");
    // Instance b steps on every poll: the same eleven working polls and one that completes.
    let mut working_polls = 0;
    let mut completed = false;
    for n in 0..100u64 {
        let got = modern(&setup.b, 20 + n, "tasks/get", json!({ "taskId": id })).await;
        match got["result"]["status"].as_str() {
            Some("working") => working_polls += 1,
            Some("completed") => {
                completed = true;
                break;
            }
            other => panic!("{other:?}: {got}"),
        }
    }
    assert!(completed);
    assert_eq!(working_polls, 11);
    assert_eq!(task_version(&setup, &id).await, version + 12);
    let stub = setup.stub.lock().unwrap();
    assert_eq!(
        stub.count("GetQueryResults"),
        18,
        "three answers for each of six queries"
    );
}

async fn legacy_session(app: &App) -> String {
    app.initialize("2025-11-25").await
}

async fn legacy(app: &App, session: &str, id: u64, method: &str, params: Value) -> Value {
    let body = mcp_testkit::jsonrpc::request(id, method, params);
    response_message(app.post(Some(session), body).await).await
}

#[tokio::test]
async fn a_2025_11_25_task_over_insights_completes_across_alternating_instances() {
    let setup = setup(None).await;
    let direct = direct(&setup).await;
    let session = legacy_session(&setup.a).await;
    let mut polls = Polls::new(&setup.stub);
    let call = json!({ "name": TOOL, "arguments": arguments(), "task": { "ttl": 600_000 } });
    let created = legacy(&setup.a, &session, 2, "tools/call", call).await;
    let task = &created["result"]["task"];
    assert_eq!(task["status"], "working", "{created}");
    let id = task["taskId"].as_str().unwrap().to_owned();
    polls.seen = setup.stub.lock().unwrap().calls.len();
    let mut completed = false;
    for n in 0..100u64 {
        let running = polls.quiet_since_last().await;
        let app = if n % 2 == 0 { &setup.b } else { &setup.a };
        let got = legacy(app, &session, 10 + n, "tasks/get", json!({ "taskId": id })).await;
        polls.answered(&running);
        match got["result"]["status"].as_str() {
            Some("working") => {}
            Some("completed") => {
                completed = true;
                break;
            }
            other => panic!("{other:?}: {got}"),
        }
    }
    assert!(completed);
    // The result, on the other instance: the direct call's report, with no CloudWatch call.
    let result = legacy(
        &setup.b,
        &session,
        200,
        "tasks/result",
        json!({ "taskId": id }),
    )
    .await;
    polls.quiet_since_last().await;
    assert_eq!(report(&result["result"]), report(&direct));
    assert_eq!(
        result["result"]["_meta"]["io.modelcontextprotocol/related-task"]["taskId"],
        id.as_str()
    );
}

#[tokio::test]
async fn cancelling_a_task_stops_every_running_query() {
    for modern_era in [true, false] {
        let setup = setup(None).await;
        let session = legacy_session(&setup.a).await;
        let call = json!({ "name": TOOL, "arguments": arguments() });
        let id = if modern_era {
            let created = modern(&setup.a, 2, "tools/call", call).await;
            created["result"]["taskId"].as_str().unwrap().to_owned()
        } else {
            let mut call = call;
            call["task"] = json!({});
            let created = legacy(&setup.a, &session, 2, "tools/call", call).await;
            created["result"]["task"]["taskId"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        // One poll: both queries the creation started still run.
        for n in 0..1u64 {
            let params = json!({ "taskId": id });
            let got = if modern_era {
                modern(&setup.b, 10 + n, "tasks/get", params).await
            } else {
                legacy(&setup.b, &session, 10 + n, "tasks/get", params).await
            };
            assert_eq!(got["result"]["status"], "working", "{got}");
        }
        let running = setup.stub.lock().unwrap().running();
        assert_eq!(running, ["q1", "q2"]);
        let params = json!({ "taskId": id });
        let cancelled = if modern_era {
            modern(&setup.a, 20, "tasks/cancel", params.clone()).await
        } else {
            legacy(&setup.a, &session, 20, "tasks/cancel", params.clone()).await
        };
        assert!(cancelled.get("error").is_none(), "{cancelled}");
        let stub_calls = {
            let stub = setup.stub.lock().unwrap();
            assert_eq!(stub.stops(), running, "StopQuery for every running query");
            stub.calls.len()
        };
        // The task is cancelled; polling it asks CloudWatch nothing and starts nothing.
        let got = if modern_era {
            modern(&setup.b, 21, "tasks/get", params).await
        } else {
            legacy(&setup.b, &session, 21, "tasks/get", params).await
        };
        assert_eq!(got["result"]["status"], "cancelled", "{got}");
        assert_eq!(setup.stub.lock().unwrap().calls.len(), stub_calls);
    }
}

#[tokio::test]
async fn the_scan_cap_holds_across_polls() {
    // Each query reports 2 MB more per answer and never ends; the cap is 7 MB. Two run: after
    // the second poll they have 8 MB together, past the cap.
    let setup = setup(Some(0.007)).await;
    setup.stub.lock().unwrap().growing = 2_000_000;
    let call = json!({ "name": TOOL, "arguments": arguments() });
    let created = modern(&setup.a, 2, "tools/call", call).await;
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();
    let first = modern(&setup.b, 3, "tasks/get", json!({ "taskId": id })).await;
    assert_eq!(first["result"]["status"], "working", "{first}");
    assert!(setup.stub.lock().unwrap().stops().is_empty());
    let second = modern(&setup.a, 4, "tasks/get", json!({ "taskId": id })).await;
    // A tool error is a completed task's result in 2026-07-28.
    assert_eq!(second["result"]["status"], "completed", "{second}");
    let result = &second["result"]["result"];
    assert_eq!(result["isError"], true, "{result}");
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("over the cap of 0.007 GB"), "{text}");
    assert!(text.contains("(8000000 bytes)"), "{text}");
    let stub = setup.stub.lock().unwrap();
    assert_eq!(stub.stops(), ["q1", "q2"]);
    assert_eq!(stub.count("StartQuery"), 2, "no query starts past the cap");
}

/// Two polls on two instances at once, both about to start the period's last slice: each
/// starts a query for it, one step is stored, and the other poll stops the query it started
/// (nobody would read it); the task still gives the direct call's report.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_poll_that_loses_the_race_stops_the_query_it_started() {
    let setup = setup(None).await;
    let direct = direct(&setup).await;
    let call = json!({ "name": TOOL, "arguments": arguments() });
    let created = modern(&setup.a, 2, "tools/call", call).await;
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();
    let get = json!({ "taskId": id });
    // q1 and q2 answer Running twice.
    for n in 0..2u64 {
        let got = modern(&setup.b, 10 + n, "tasks/get", get.clone()).await;
        assert_eq!(got["result"]["status"], "working", "{got}");
    }
    let started = setup.stub.lock().unwrap().count("StartQuery");
    setup.stub.lock().unwrap().race = Some(Arc::new(AtomicUsize::new(0)));
    let (on_a, on_b) = tokio::join!(
        modern(&setup.a, 20, "tasks/get", get.clone()),
        modern(&setup.b, 21, "tasks/get", get.clone())
    );
    assert_eq!(on_a["result"]["status"], "working", "{on_a}");
    assert_eq!(on_b["result"]["status"], "working", "{on_b}");
    let lost = {
        let mut stub = setup.stub.lock().unwrap();
        stub.race = None;
        assert_eq!(
            stub.count("StartQuery"),
            started + 2,
            "both polls started the slice"
        );
        let stops = stub.stops();
        assert_eq!(stops.len(), 1, "{:?}", stub.calls);
        stops[0].clone()
    };
    let mut result = Value::Null;
    for n in 0..100u64 {
        let app = if n % 2 == 0 { &setup.a } else { &setup.b };
        let got = modern(app, 30 + n, "tasks/get", get.clone()).await;
        if got["result"]["status"] == "completed" {
            result = got["result"]["result"].clone();
            break;
        }
        assert_eq!(got["result"]["status"], "working", "{got}");
    }
    assert_eq!(report(&result), report(&direct));
    // The stopped query was never asked again: the stored step did not know it.
    let stub = setup.stub.lock().unwrap();
    let asked = (stub.calls.iter()).filter(|(op, q)| op == "GetQueryResults" && *q == lost);
    assert_eq!(asked.count(), 0, "{lost}");
}

/// Waits until `done` holds of the stand-in, for at most a minute (generous: it only bounds a
/// failing run); whether it came to hold.
async fn eventually(stub: &Arc<Mutex<Stub>>, done: impl Fn(&Stub) -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while tokio::time::Instant::now() < deadline {
        if done(&stub.lock().unwrap()) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Every query started, in order.
fn started(stub: &Stub) -> Vec<String> {
    let mut ids: Vec<String> = stub.queries.iter().map(|q| q.id.clone()).collect();
    ids.sort();
    ids
}

/// A 2026-07-28 direct call whose client goes away while its queries run: the server stops
/// them (the handler is told to stop and let finish, not dropped).
#[tokio::test]
async fn a_direct_call_whose_connection_drops_stops_its_queries() {
    let setup = setup(None).await;
    setup.stub.lock().unwrap().endless = true;
    tokio::select! {
        result = setup.a.call_tool(1, TOOL, arguments()) => panic!("answered: {result}"),
        running = eventually(&setup.stub, |s| s.count("StartQuery") == 2) => assert!(running),
    }
    // The request's future is dropped: the connection is gone.
    let stopped = eventually(&setup.stub, |s| s.stops() == started(s)).await;
    let stub = setup.stub.lock().unwrap();
    assert!(stopped, "StopQuery for every query: {:?}", stub.calls);
    assert_eq!(started(&stub), ["q1", "q2"]);
}

/// A 2025-11-25 direct call the client cancels with `notifications/cancelled`: the server
/// stops its queries.
#[tokio::test]
async fn a_direct_call_the_client_cancels_stops_its_queries() {
    let setup = setup(None).await;
    setup.stub.lock().unwrap().endless = true;
    let session = legacy_session(&setup.a).await;
    let call = mcp_testkit::jsonrpc::request(
        7,
        "tools/call",
        json!({ "name": TOOL, "arguments": arguments() }),
    );
    let cancel = mcp_testkit::jsonrpc::notification(
        "notifications/cancelled",
        json!({ "requestId": 7, "reason": "enough" }),
    );
    let (_answer, accepted) = tokio::join!(setup.a.post(Some(&session), call), async {
        assert!(eventually(&setup.stub, |s| s.count("StartQuery") == 2).await);
        setup.a.post(Some(&session), cancel).await
    });
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    let stopped = eventually(&setup.stub, |s| s.stops() == started(s)).await;
    let stub = setup.stub.lock().unwrap();
    assert!(stopped, "StopQuery for every query: {:?}", stub.calls);
    assert_eq!(started(&stub), ["q1", "q2"]);
}

/// A 2026-07-28 task creation whose client goes away while `StartQuery` is in flight: the
/// step is let finish, and the queries it started, which no task holds (nobody learnt its
/// id), are stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_task_creation_whose_connection_drops_stops_its_queries() {
    let setup = setup(None).await;
    let gate = Gate::default();
    {
        let mut stub = setup.stub.lock().unwrap();
        stub.endless = true;
        stub.hold_starts = Some(gate.clone());
    }
    let call = json!({ "name": TOOL, "arguments": arguments() });
    tokio::select! {
        created = modern(&setup.a, 2, "tools/call", call) => panic!("answered: {created}"),
        () = async {
            while gate.arrived.load(Ordering::SeqCst) == 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        } => {}
    }
    // Dropped while StartQuery is held; then CloudWatch answers.
    gate.open();
    let stopped = eventually(&setup.stub, |s| {
        !s.queries.is_empty() && s.stops() == started(s)
    })
    .await;
    let stub = setup.stub.lock().unwrap();
    assert!(stopped, "StopQuery for every query: {:?}", stub.calls);
}

/// A 2025-11-25 task asked to be kept 1 ms: while its queries run it stays known and
/// cancellable (kept at least an hour after a working step), and cancelling stops them.
#[tokio::test]
async fn a_task_with_a_tiny_ttl_stays_cancellable_while_its_queries_run() {
    let setup = setup(None).await;
    setup.stub.lock().unwrap().endless = true;
    let session = legacy_session(&setup.a).await;
    let call = json!({ "name": TOOL, "arguments": arguments(), "task": { "ttl": 1 } });
    let created = legacy(&setup.a, &session, 2, "tools/call", call).await;
    let id = created["result"]["task"]["taskId"]
        .as_str()
        .unwrap()
        .to_owned();
    // Well past the ttl.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let params = json!({ "taskId": id });
    let got = legacy(&setup.b, &session, 3, "tasks/get", params.clone()).await;
    assert_eq!(got["result"]["status"], "working", "{got}");
    let listed = legacy(&setup.b, &session, 4, "tasks/list", json!({})).await;
    assert_eq!(
        listed["result"]["tasks"][0]["taskId"],
        id.as_str(),
        "{listed}"
    );
    let cancelled = legacy(&setup.a, &session, 5, "tasks/cancel", params).await;
    assert_eq!(cancelled["result"]["status"], "cancelled", "{cancelled}");
    let stub = setup.stub.lock().unwrap();
    assert_eq!(stub.stops(), ["q1", "q2"], "{:?}", stub.calls);
}

/// Two polls race; the one whose step fails (a `GetQueryResults` refused) loses the race to
/// store: it must not stop the queries the stored step still runs, and the task goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_racing_poll_whose_step_fails_leaves_the_winners_queries_running() {
    let setup = setup(None).await;
    setup.stub.lock().unwrap().endless = true;
    let call = json!({ "name": TOOL, "arguments": arguments() });
    let created = modern(&setup.a, 2, "tools/call", call).await;
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();
    let get = json!({ "taskId": id });
    let gate = Gate::default();
    setup.stub.lock().unwrap().fail_next_q1 = Some(gate.clone());
    let (loser, winner) = tokio::join!(modern(&setup.a, 3, "tasks/get", get.clone()), async {
        // The loser's q1 answer is held; the winner polls meanwhile and stores its step.
        while gate.arrived.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let winner = modern(&setup.b, 4, "tasks/get", get.clone()).await;
        gate.open();
        winner
    });
    assert_eq!(winner["result"]["status"], "working", "{winner}");
    // The loser answers with the stored task: still working.
    assert_eq!(loser["result"]["status"], "working", "{loser}");
    {
        let stub = setup.stub.lock().unwrap();
        assert!(
            stub.calls.iter().any(|(_, q)| q == "refused"),
            "{:?}",
            stub.calls
        );
        assert!(stub.stops().is_empty(), "{:?}", stub.calls);
    }
    let again = modern(&setup.b, 5, "tasks/get", get).await;
    assert_eq!(again["result"]["status"], "working", "{again}");
    assert!(setup.stub.lock().unwrap().stops().is_empty());
}

/// A step that fails and is stored stops the queries the task ran before it.
#[tokio::test]
async fn a_stored_failed_step_stops_the_tasks_queries() {
    let setup = setup(None).await;
    setup.stub.lock().unwrap().endless = true;
    let call = json!({ "name": TOOL, "arguments": arguments() });
    let created = modern(&setup.a, 2, "tools/call", call).await;
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();
    let gate = Gate::default();
    gate.open();
    setup.stub.lock().unwrap().fail_next_q1 = Some(gate);
    let got = modern(&setup.b, 3, "tasks/get", json!({ "taskId": id })).await;
    assert_eq!(got["result"]["status"], "completed", "{got}");
    assert_eq!(got["result"]["result"]["isError"], true, "{got}");
    let stub = setup.stub.lock().unwrap();
    assert_eq!(stub.stops(), ["q1", "q2"], "{:?}", stub.calls);
}
