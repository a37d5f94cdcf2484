//! The cost model under `bench/cost/` stays true to the code: its DynamoDB counts per
//! operation are what the store does, and the README's cost table is what the model prints.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use bedrock_usage_mcp::store::DynamoStore;
use bedrock_usage_mcp::store::dynamodb::{CallCounts, create_table};
use bedrock_usage_mcp::transport::TransportConfig;
use mcp_testkit::app::{App, call, content_type};
use mcp_testkit::moto::{Moto, unique_table};
use mcp_testkit::sse::SseReader;
use serde_json::{Value, json};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

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

async fn spent<F: std::future::Future>(store: &DynamoStore, op: F) -> (F::Output, CallCounts) {
    let before = store.calls();
    let output = op.await;
    (output, store.calls().since(&before))
}

/// Measures, on two instances sharing a table on moto, each operation a connected host makes,
/// and compares it with `bench/cost/workload.json`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workload_dynamodb_counts_are_what_the_store_does() {
    let w = workload();
    let moto = Moto::shared();
    let client = moto.dynamodb();
    let table = unique_table("cost-model");
    assert!(create_table(&client, &table).await.unwrap(), "a new table");
    // Polling far slower than the test, so that no poll tick adds a read on a slow machine
    // (the per-poll read of an open stream is the workload's `reads_per_poll`).
    let poll = Duration::from_secs(60);
    let store_a = Arc::new(DynamoStore::new(client.clone(), &table).with_poll_interval(poll));
    let store_b = Arc::new(DynamoStore::new(client, &table).with_poll_interval(poll));
    let a = App::with_store(TransportConfig::default(), store_a.clone());
    let b = App::with_store(TransportConfig::default(), store_b.clone());

    let init = json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": { "name": "cost-model", "version": "1" } } });
    let (response, cost) = spent(&store_a, a.post(None, init)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        (cost.reads(), cost.writes()),
        modelled(&w, "initialize"),
        "initialize: {cost:?}"
    );
    let session = response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();

    let initialized = json!({ "jsonrpc": "2.0", "method": "notifications/initialized" });
    let (response, cost) = spent(&store_b, b.post(Some(&session), initialized)).await;
    assert_eq!(response.status(), 202);
    assert_eq!(
        (cost.reads(), cost.writes()),
        modelled(&w, "notifications/initialized"),
        "notifications/initialized: {cost:?}"
    );

    let list = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" });
    let (response, cost) = spent(&store_a, a.post(Some(&session), list)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        (cost.reads(), cost.writes()),
        modelled(&w, "tools/list"),
        "tools/list: {cost:?}"
    );

    // A quick call answered as JSON: the session load; its first cancellation check comes
    // 250 ms in, which a busy machine can reach (the model adds one a second of waiting).
    let (response, cost) = spent(
        &store_b,
        b.post(Some(&session), call(2, "test_simple_text", json!({}), None)),
    )
    .await;
    assert_eq!(content_type(&response), "application/json");
    let (reads, writes) = modelled(&w, "tools/call answered as JSON");
    assert_eq!(cost.writes(), writes, "tools/call as JSON: {cost:?}");
    assert!(
        cost.reads() == reads || cost.reads() == reads + 1,
        "tools/call as JSON: {cost:?}, modelled {reads} (+1 past 250 ms)"
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
    let (response, cost) = spent(&store_b, off.get(&session, None)).await;
    assert_eq!(response.status(), 405);
    assert_eq!(
        (cost.reads(), cost.writes()),
        modelled(&w, "standalone GET refused (405)"),
        "standalone GET refused: {cost:?}"
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
