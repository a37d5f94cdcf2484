//! What each operation costs in DynamoDB requests, measured once against both places that state
//! it: the cost table in the `store::dynamodb` module docs, and the cost model under
//! `bench/cost/` (whose output is the README's cost table, also checked here).

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use bedrock_usage_mcp::store::dynamodb::create_table;
use bedrock_usage_mcp::store::{
    DynamoStore, SessionId, SessionStore, StreamId, StreamKey, StreamLease, unix_now_ms,
};
use bedrock_usage_mcp::transport::TransportConfig;
use mcp_testkit::app::{App, call, content_type};
use mcp_testkit::jsonrpc;
use mcp_testkit::moto::{Moto, calls_during, unique_table};
use mcp_testkit::sse::{EventJson as _, SseReader};
use serde_json::{Value, json};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// How long a test waits for an answer that comes at once on an idle machine.
const WAIT: Duration = Duration::from_secs(5);

fn workload() -> Value {
    let text = std::fs::read_to_string(format!("{ROOT}/bench/cost/workload.json"))
        .expect("bench/cost/workload.json");
    serde_json::from_str(&text).expect("workload.json is JSON")
}

/// `(reads, writes)` the workload gives `operation`.
fn modelled(workload: &Value, operation: &str) -> (u64, u64) {
    let op = &workload["dynamodb"]["operations"][operation];
    let count = |field: &str| {
        op[field]
            .as_u64()
            .unwrap_or_else(|| panic!("workload.json: {operation}.{field}"))
    };
    (count("reads"), count("writes"))
}

/// Measures, on two instances sharing a table on moto, each operation a connected host makes,
/// and compares it with the deterministic rows of the cost table in the `store::dynamodb`
/// module docs and with `bench/cost/workload.json`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_cost_what_the_docs_and_the_model_say() {
    // Polling far slower than the test: a poll tick wakes a waiting stream reader for one more
    // read whenever the machine is slow, so on a busy machine the counts would depend on
    // timing. Nothing here waits for another instance; in-process wake-ups do the rest.
    let w = workload();
    let moto = Moto::shared();
    let client = moto.dynamodb();
    let table = unique_table("cost-model");
    assert!(create_table(&client, &table).await.unwrap(), "a new table");
    let poll = Duration::from_secs(60);
    let store_a = Arc::new(DynamoStore::new(client.clone(), &table).with_poll_interval(poll));
    let store_b = Arc::new(DynamoStore::new(client, &table).with_poll_interval(poll));
    let a = App::with_store(TransportConfig::default(), store_a.clone());
    let b = App::with_store(TransportConfig::default(), store_b.clone());
    let init = jsonrpc::initialize(0, "2025-11-25", "costs", json!({}));
    let (response, cost) = calls_during(&store_a, a.post(None, init)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        (cost.reads(), cost.writes()),
        (0, 1),
        "initialize: {cost:?}"
    );
    assert_eq!(
        (cost.reads(), cost.writes()),
        modelled(&w, "initialize"),
        "initialize, modelled: {cost:?}"
    );
    let session = response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();

    let initialized = jsonrpc::notification("notifications/initialized", Value::Null);
    let (response, cost) = calls_during(&store_b, b.post(Some(&session), initialized)).await;
    assert_eq!(response.status(), 202);
    assert_eq!(
        (cost.get_item, cost.update_item, cost.writes()),
        (1, 1, 1),
        "notifications/initialized: {cost:?}"
    );
    assert_eq!(
        (cost.reads(), cost.writes()),
        modelled(&w, "notifications/initialized"),
        "notifications/initialized, modelled: {cost:?}"
    );

    let list = jsonrpc::request(1, "tools/list", Value::Null);
    let (response, cost) = calls_during(&store_a, a.post(Some(&session), list)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        (cost.reads(), cost.writes()),
        modelled(&w, "tools/list"),
        "tools/list: {cost:?}"
    );

    // A quick tool answered as JSON: the load, and at most the first cancellation check,
    // which comes 250 ms in and a busy machine can reach (the model adds one a second of
    // waiting).
    let (response, cost) = calls_during(
        &store_b,
        b.post(Some(&session), call(2, "test_simple_text", json!({}), None)),
    )
    .await;
    assert_eq!(content_type(&response), "application/json");
    assert_eq!(cost.writes(), 0, "tools/call as JSON: {cost:?}");
    assert!(
        (1..=2).contains(&cost.reads()),
        "tools/call as JSON: {cost:?}"
    );
    let (reads, writes) = modelled(&w, "tools/call answered as JSON");
    assert_eq!(
        cost.writes(),
        writes,
        "tools/call as JSON, modelled: {cost:?}"
    );
    assert!(
        cost.reads() == reads || cost.reads() == reads + 1,
        "tools/call as JSON: {cost:?}, modelled {reads} (+1 past 250 ms)"
    );

    // A streaming tool: priming, one event per notification, the response; no query for the
    // stream's first number, no session read beyond the load (within the liveness cache).
    let (response, cost) = calls_during(&store_a, async {
        let response = a
            .post(
                Some(&session),
                call(
                    3,
                    "test_long_operation",
                    json!({ "steps": 3, "interval_ms": 1 }),
                    Some("p3"),
                ),
            )
            .await;
        let events = SseReader::new(response.into_body())
            .until_response(WAIT)
            .await;
        assert!(
            events
                .last()
                .and_then(|e| e.json())
                .is_some_and(|m| m["id"] == 3)
        );
        events
    })
    .await;
    assert_eq!(response.len(), 5, "priming, 3 progress, response");
    assert_eq!(cost.put_item, 5, "3 notifications streamed: {cost:?}");
    assert_eq!(cost.update_item, 0, "3 notifications streamed: {cost:?}");
    // The reader queries once when it starts, and then, for each of the 4 later events, at
    // most twice: once finding nothing yet (before it waits) and once finding the event. How
    // the events batch depends on timing (all 5 can arrive in one read), so only the range is
    // fixed: 1 to 2N + 3 for N notifications.
    assert!(
        cost.query >= 1 && cost.query <= 2 * 3 + 3,
        "3 notifications streamed: {cost:?}"
    );

    // Resuming on the other instance: the load, the resumed event read back, the marker that
    // claims the stream (after a query for its last number), the replay.
    let first_id = response[0].id.clone().expect("an event id");
    let (events, cost) = calls_during(&store_b, async {
        let resumed = b.get(&session, Some(&first_id)).await;
        SseReader::new(resumed.into_body())
            .until_response(WAIT)
            .await
    })
    .await;
    assert_eq!(events.len(), 4);
    assert_eq!(
        (cost.get_item, cost.query, cost.put_item, cost.update_item),
        (1, 3, 1, 0),
        "resume: {cost:?}"
    );

    // Resuming a stream whose writer is gone (its lease stored here, already lapsed): the load,
    // the resumed event, the marker (after a query for the last number), the replay, a query
    // finding nothing, the lease, ending it (a conditional update), the terminator, and the
    // query that reads it back.
    let abandoned = StreamKey::new(SessionId::parse(&session).unwrap(), StreamId::generate());
    let lapsed = StreamLease::new(unix_now_ms() - 60_000, &[json!(9)]);
    store_a.open_stream(&abandoned, &lapsed).await.unwrap();
    let (events, cost) = calls_during(&store_b, async {
        let resumed = b.get(&session, Some(&abandoned.event_id(0))).await;
        SseReader::new(resumed.into_body())
            .until_response(WAIT)
            .await
    })
    .await;
    let error = events.last().and_then(|e| e.json()).expect("an error");
    assert_eq!(
        (&error["id"], &error["error"]["code"]),
        (&json!(9), &json!(-32603))
    );
    assert_eq!(
        (cost.query, cost.put_item, cost.update_item),
        (5, 2, 1),
        "resume of an abandoned stream: {cost:?}"
    );
    // The load and the lease; a third read if more than the liveness cache's 1 s passed
    // between the load and the terminator's write (a busy machine).
    assert!(
        (2..=3).contains(&cost.get_item),
        "resume of an abandoned stream: {cost:?}"
    );

    // The standalone GET stream, open and waiting: the session load, the claim marker, the
    // query that finds it (the priming event) and the one that finds nothing before the wait.
    // That last one can come just after the priming event reaches the client, so the count is
    // taken once it has settled; only a poll tick (60 s away) could add another.
    let before = store_a.calls();
    let response = a.get(&session, None).await;
    assert_eq!(response.status(), 200);
    let mut reader = SseReader::new(response.into_body());
    assert!(
        reader.next(Duration::from_secs(30)).await.is_some(),
        "the standalone stream's priming event"
    );
    let (reads, writes) = modelled(&w, "standalone GET");
    let settled = std::time::Instant::now() + Duration::from_secs(10);
    while store_a.calls().since(&before).reads() < reads && std::time::Instant::now() < settled {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cost = store_a.calls().since(&before);
    assert_eq!(
        (cost.reads(), cost.writes()),
        (reads, writes),
        "standalone GET, open and waiting: {cost:?}"
    );
    drop(reader);

    // With the standalone stream off (the default on Lambda), the same GET is refused.
    let off = App::with_store(
        TransportConfig {
            standalone_stream: false,
            ..TransportConfig::default()
        },
        store_b.clone(),
    );
    let (response, cost) = calls_during(&store_b, off.get(&session, None)).await;
    assert_eq!(response.status(), 405);
    assert_eq!(
        (cost.reads(), cost.writes()),
        modelled(&w, "standalone GET refused (405)"),
        "standalone GET refused: {cost:?}"
    );

    let (response, cost) = calls_during(&store_b, b.delete(&session)).await;
    assert_eq!(response.status(), 200);
    assert_eq!((cost.reads(), cost.update_item), (0, 1), "DELETE: {cost:?}");
    let (response, cost) = calls_during(&store_a, a.delete(&session)).await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        (cost.reads(), cost.update_item),
        (0, 1),
        "DELETE again: {cost:?}"
    );
}

/// The README's "What it costs to run" table is the output of the command written above it.
#[test]
fn readme_cost_table_is_the_models_output() {
    let readme = std::fs::read_to_string(format!("{ROOT}/README.md")).expect("README.md");
    let begin = "<!-- cost-table: ";
    let start = readme
        .find(begin)
        .expect("a `<!-- cost-table: COMMAND -->` marker");
    let rest = &readme[start + begin.len()..];
    let (command, rest) = rest.split_once(" -->\n").expect("the marker's end");
    let (table, _) = rest
        .split_once("<!-- /cost-table -->")
        .expect("a `<!-- /cost-table -->` marker");
    let args: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(
        args.get(..2),
        Some(&["python3", "bench/cost/model.py"][..]),
        "{command}"
    );
    let output = std::process::Command::new("python3")
        .args(&args[1..])
        .current_dir(ROOT)
        .output()
        .expect("running python3");
    assert!(
        output.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8(output.stdout).expect("UTF-8");
    assert_eq!(
        table.trim(),
        printed.trim(),
        "the README's cost table is stale: run `{command}` and paste its output"
    );
}
