//! Server processes sharing one DynamoDB table on moto, as Lambda instances behind one URL do,
//! and a legacy-session client for them over real sockets.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::jsonrpc;
use crate::moto::{Moto, unique_table};
use crate::{ServerProcess, cargo_bin};

/// The requestState key every instance of a test shares.
pub const STATE_KEY: &str = "scale-out-test-request-state-key-0123456789";

/// Two `conformance-server` instances on one fresh table.
pub struct Pair {
    pub a: ServerProcess,
    pub b: ServerProcess,
    pub _moto: Arc<Moto>,
}

/// Two instances on one fresh table, polling it every 50 ms, with `extra` flags.
pub fn pair(extra: &[&str]) -> Pair {
    let moto = Moto::shared();
    let table = unique_table("scale");
    let instance = |create: bool| {
        let mut args = vec![
            "--session-store",
            "dynamodb",
            "--dynamodb-table",
            &table,
            "--request-state-key",
            STATE_KEY,
            "--store-poll-ms",
            "50",
        ];
        if create {
            args.push("--create-table");
        }
        args.extend_from_slice(extra);
        ServerProcess::start_with_env(
            &cargo_bin("conformance-server").to_string_lossy(),
            &args,
            &moto.env(),
        )
    };
    let a = instance(true);
    let b = instance(false);
    Pair { a, b, _moto: moto }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// POSTs a legacy message, in a session if one is given.
pub async fn post(url: &str, session: Option<&str>, body: Value) -> reqwest::Response {
    let mut request = http()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body.to_string());
    if let Some(session) = session {
        request = request.header("mcp-session-id", session);
    }
    request.send().await.expect("POST")
}

/// GETs the session's standalone stream, or resumes one with `Last-Event-ID`.
pub async fn get(url: &str, session: &str, last_event_id: Option<&str>) -> reqwest::Response {
    let mut request = http()
        .get(url)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", session);
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    request.send().await.expect("GET")
}

/// Opens a 2025-11-25 session; returns its id.
pub async fn initialize(url: &str) -> String {
    let response = post(
        url,
        None,
        jsonrpc::initialize(
            0,
            "2025-11-25",
            "scale-out",
            json!({ "elicitation": {}, "sampling": {} }),
        ),
    )
    .await;
    assert_eq!(response.status(), 200);
    response.headers()["mcp-session-id"]
        .to_str()
        .expect("ascii")
        .to_owned()
}
