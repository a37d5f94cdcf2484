//! The key that seals `requestState` (2026-07-28 multi-round-trip requests) when none is
//! configured: instances on one DynamoDB table share the one kept in the table, created once
//! with a conditional write; an explicit `--request-state-key` still wins; the memory store
//! keeps a random key per process.
#![allow(clippy::unwrap_used)]

use aws_sdk_dynamodb::types::AttributeValue;
use bedrock_usage_mcp::client::{ClientError, ClientOptions, McpClient};
use bedrock_usage_mcp::serve::REQUEST_STATE_SECRET;
use bedrock_usage_mcp::store::{DynamoStore, MemoryStore, SessionStore, dynamodb};
use mcp_testkit::ServerProcess;
use mcp_testkit::moto::{Moto, unique_table};
use mcp_testkit::proxy::RoundRobin;
use mcp_testkit::suite::run_suite;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_on_one_table_share_one_key_created_once() {
    let moto = Moto::shared();
    let table = unique_table("state-key");
    let client = moto.dynamodb();
    dynamodb::create_table(&client, &table).await.unwrap();

    // The first store creates the key: one read that finds nothing, one conditional put.
    let a = DynamoStore::new(client.clone(), &table);
    let key_a = a
        .shared_secret(REQUEST_STATE_SECRET)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(key_a.len(), 64, "32 random bytes as hex");
    let calls = a.calls();
    assert_eq!((calls.get_item, calls.put_item), (1, 1), "{calls:?}");

    // Another store (another instance) reads the same key and writes nothing.
    let b = DynamoStore::new(moto.dynamodb(), &table);
    let key_b = b
        .shared_secret(REQUEST_STATE_SECRET)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(key_a, key_b);
    let calls = b.calls();
    assert_eq!((calls.get_item, calls.put_item), (1, 0), "{calls:?}");
    // Asking again gives the same key (no rotation on restart).
    assert_eq!(
        a.shared_secret(REQUEST_STATE_SECRET).await.unwrap(),
        Some(key_a.clone())
    );

    // The item is apart from the sessions and has no expires_at, so TTL never removes it.
    let item = client
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S(format!("K#{REQUEST_STATE_SECRET}")))
        .key("sk", AttributeValue::S("SECRET".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .expect("the key's item");
    assert!(!item.contains_key("expires_at"), "{item:?}");
    assert_eq!(
        item.get("secret")
            .and_then(|v| v.as_s().ok())
            .map(String::as_bytes),
        Some(key_a.as_slice())
    );

    // Other names and other tables have other keys.
    let other_name = a.shared_secret("another-secret").await.unwrap().unwrap();
    assert_ne!(other_name, key_a);
    let table2 = unique_table("state-key");
    dynamodb::create_table(&client, &table2).await.unwrap();
    let c = DynamoStore::new(client.clone(), &table2);
    assert_ne!(
        c.shared_secret(REQUEST_STATE_SECRET)
            .await
            .unwrap()
            .unwrap(),
        key_a
    );
}

#[tokio::test]
async fn a_key_written_first_by_another_instance_is_the_one_used() {
    // First writer wins, sequentially: a key already in the table (written by an instance of
    // another version, or by hand) is adopted as is, never overwritten.
    let moto = Moto::shared();
    let table = unique_table("state-key-first");
    let client = moto.dynamodb();
    dynamodb::create_table(&client, &table).await.unwrap();
    let theirs = "f".repeat(64);
    client
        .put_item()
        .table_name(&table)
        .item("pk", AttributeValue::S(format!("K#{REQUEST_STATE_SECRET}")))
        .item("sk", AttributeValue::S("SECRET".into()))
        .item("secret", AttributeValue::S(theirs.clone()))
        .send()
        .await
        .unwrap();
    let store = DynamoStore::new(client.clone(), &table);
    assert_eq!(
        store.shared_secret(REQUEST_STATE_SECRET).await.unwrap(),
        Some(theirs.into_bytes())
    );
    assert_eq!(store.calls().put_item, 0);

    // A key too short to be one is an error, not a weak key.
    client
        .put_item()
        .table_name(&table)
        .item("pk", AttributeValue::S("K#short".into()))
        .item("sk", AttributeValue::S("SECRET".into()))
        .item("secret", AttributeValue::S("abc".into()))
        .send()
        .await
        .unwrap();
    assert!(store.shared_secret("short").await.is_err());
}

#[tokio::test]
async fn the_memory_store_shares_nothing() {
    assert_eq!(
        MemoryStore::new()
            .shared_secret(REQUEST_STATE_SECRET)
            .await
            .unwrap(),
        None
    );
}

/// The multi-round fixture asks questions: the client must say it can answer them.
static META: std::sync::LazyLock<Value> = std::sync::LazyLock::new(
    || json!({ "io.modelcontextprotocol/clientCapabilities": { "elicitation": {} } }),
);

/// A 2026-07-28 client of `url`.
fn modern(url: &str) -> McpClient {
    McpClient::new(ClientOptions {
        url: url.to_owned(),
        headers: Vec::new(),
        protocol: "2026-07-28".to_owned(),
        timeout: std::time::Duration::from_secs(30),
        signer: None,
        bearer: None,
    })
    .unwrap()
}

/// Round one of the multi-round fixture on `url`: the sealed state it hands out.
async fn first_round(url: &str) -> Value {
    let result = modern(url)
        .request(
            "tools/call",
            json!({ "name": "test_input_required_result_multi_round", "_meta": META.clone() }),
            &mut |_| {},
        )
        .await
        .unwrap();
    assert_eq!(result["resultType"], "input_required", "{result}");
    result["requestState"].clone()
}

/// Round two on `url` with `state`: the result, or the JSON-RPC error.
async fn second_round(url: &str, state: &Value) -> Result<Value, ClientError> {
    modern(url)
        .request(
            "tools/call",
            json!({
                "name": "test_input_required_result_multi_round",
                "inputResponses": { "step1": { "action": "accept", "content": { "name": "Ada" } } },
                "requestState": state,
                "_meta": META.clone(),
            }),
            &mut |_| {},
        )
        .await
}

fn conformance_on(moto: &Moto, table: &str, extra: &[&str]) -> ServerProcess {
    let mut args = vec![
        "--session-store",
        "dynamodb",
        "--dynamodb-table",
        table,
        "--create-table",
    ];
    args.extend_from_slice(extra);
    ServerProcess::start_with_env(
        &mcp_testkit::cargo_bin("conformance-server").to_string_lossy(),
        &args,
        &moto.env(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_table_open_each_others_request_state_without_configuration() {
    let moto = Moto::shared();
    let table = unique_table("state-key-procs");
    let a = conformance_on(&moto, &table, &[]);
    let b = conformance_on(&moto, &table, &[]);

    let state = first_round(&a.url).await;
    let second = second_round(&b.url, &state).await.unwrap();
    assert_eq!(second["resultType"], "input_required", "{second}");
    assert!(second["inputRequests"]["step2"].is_object(), "{second}");
    // And back the other way.
    let state = first_round(&b.url).await;
    assert!(second_round(&a.url, &state).await.is_ok());

    // An explicit key wins over the table's: state sealed with the table's key fails there.
    let explicit = conformance_on(
        &moto,
        &table,
        &[
            "--request-state-key",
            "an-explicit-key-of-at-least-32-bytes!",
        ],
    );
    match second_round(&explicit.url, &state).await {
        Err(ClientError::Rpc { code, .. }) => assert_eq!(code, -32602),
        other => panic!("state sealed with another key was accepted: {other:?}"),
    }
    let own = first_round(&explicit.url).await;
    assert!(second_round(&explicit.url, &own).await.is_ok());
}

#[tokio::test]
async fn processes_on_memory_stores_keep_their_own_random_keys() {
    let a = ServerProcess::conformance(&[]);
    let b = ServerProcess::conformance(&[]);
    let state = first_round(&a.url).await;
    assert!(second_round(&a.url, &state).await.is_ok());
    match second_round(&b.url, &state).await {
        Err(ClientError::Rpc { code, .. }) => assert_eq!(code, -32602),
        other => panic!("another process opened the state: {other:?}"),
    }
}

#[test]
fn the_2026_suite_passes_through_a_round_robin_proxy_with_no_key_configured() {
    // Issue 12, defect 9: two instances started as the README says (no key), behind a
    // round-robin proxy, failed the multi-round-trip scenarios.
    let moto = Moto::shared();
    let table = unique_table("state-key-suite");
    let a = conformance_on(&moto, &table, &[]);
    let b = conformance_on(&moto, &table, &[]);
    let proxy = RoundRobin::start(&[&a.url, &b.url]);
    let (ok, output) = run_suite(&proxy.url, &["--requirements", "2026-07-28"]);
    assert!(ok, "{output}");
}
