//! `mcp-client proxy`: a stdio host (the official Python SDK's stdio client, and a scripted
//! exchange) reaches a Streamable HTTP endpoint through the proxy, directly and through an
//! IAM gateway that accepts only correctly signed requests.
#![allow(clippy::unwrap_used)]

mod sigv4_gateway;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use mcp_testkit::{ServerProcess, jsonrpc, repo_root, test_tool};
use serde_json::{Value, json};
use sigv4_gateway::{Gateway, credentials_env};

/// The Python SDK's stdio client drives the proxy; returns its summary.
async fn python_host(url: &str, args: &[&str], env: Vec<(&'static str, String)>) -> Value {
    let python = test_tool("venv/bin/python");
    let mut command = Command::new(python);
    command
        .arg(repo_root().join("tests/interop/py_stdio_proxy.py"))
        .arg(env!("CARGO_BIN_EXE_mcp-client"))
        .arg(url)
        .args(args)
        .envs(env);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "the stdio host failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn assert_host_worked(summary: &Value) {
    assert_eq!(
        summary["server"], "mcp-conformance-test-server",
        "{summary}"
    );
    assert_eq!(summary["protocol"], "2025-11-25", "{summary}");
    let tools: Vec<&str> = summary["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(tools.contains(&"test_elicitation"), "{summary}");
    assert!(
        summary["progress"].as_array().unwrap().len() >= 2,
        "progress notifications reach the host: {summary}"
    );
    assert_eq!(summary["progress_error"], false);
    assert_eq!(summary["elicitations"], 1, "{summary}");
    assert!(
        summary["elicited"]
            .as_str()
            .unwrap()
            .contains("proxied answer"),
        "the host's reply reached the tool: {summary}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_sdk_stdio_client_works_through_the_proxy() {
    let server = ServerProcess::conformance(&[]);
    let summary = python_host(&server.url, &["--header", "x-api-key: k"], Vec::new()).await;
    assert_host_worked(&summary);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_signs_for_an_iam_gateway() {
    let server = ServerProcess::conformance(&[]);
    let gateway = Gateway::start(&server.url).await;
    let summary = python_host(&gateway.url, &["--sigv4"], credentials_env()).await;
    assert_host_worked(&summary);
    assert!(gateway.refused().is_empty(), "{:?}", gateway.refused());
    let records = gateway.records();
    // Closing stdin ended the session.
    assert!(
        records.iter().any(|r| r["method"] == "DELETE"),
        "{records:?}"
    );
}

/// Writes `lines` to a proxy's stdin, closes it, and returns every line it wrote.
fn scripted(url: &str, lines: &[Value], raw: &[&str]) -> Vec<Value> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-client"))
        .args(["--url", url, "--timeout", "10", "proxy"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut answers = stdout.lines();
    let mut out = Vec::new();
    for line in raw {
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
        // Each gets its parse error at once.
        out.push(serde_json::from_str(&answers.next().unwrap().unwrap()).unwrap());
    }
    for line in lines {
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
        // Wait for the answer to each request before the next one, as a host would.
        if line.get("id").is_some() {
            let answer: Value = serde_json::from_str(&answers.next().unwrap().unwrap()).unwrap();
            out.push(answer);
        }
    }
    drop(stdin);
    for line in answers {
        out.push(serde_json::from_str(&line.unwrap()).unwrap());
    }
    assert!(child.wait().unwrap().success());
    out
}

#[test]
fn a_scripted_exchange_gets_one_answer_per_request_and_errors_never_hang() {
    let server = ServerProcess::conformance(&[]);
    let initialize = jsonrpc::initialize(1, "2025-06-18", "scripted", json!({}));
    let out = scripted(
        &server.url,
        &[
            initialize.clone(),
            jsonrpc::notification("notifications/initialized", Value::Null),
            jsonrpc::request("two", "tools/list", Value::Null),
            jsonrpc::call(3, "test_simple_text", json!({}), None),
            jsonrpc::request(4, "no/such/method", Value::Null),
        ],
        &["this is not json"],
    );
    // The unparsable line first, then one answer per request, in order, with its id.
    assert_eq!(out[0]["error"]["code"], -32700, "{out:?}");
    assert_eq!(out[1]["id"], 1);
    assert_eq!(out[1]["result"]["protocolVersion"], "2025-06-18");
    assert_eq!(out[2]["id"], "two");
    assert!(out[2]["result"]["tools"].as_array().unwrap().len() > 5);
    assert_eq!(out[3]["id"], 3);
    assert!(out[3]["result"]["content"].is_array(), "{:?}", out[3]);
    assert_eq!(out[4]["id"], 4);
    assert_eq!(out[4]["error"]["code"], -32601);
    assert_eq!(out.len(), 5, "{out:?}");

    // An endpoint that cannot be reached: every request still gets an answer, with its id.
    let out = scripted("http://127.0.0.1:9/mcp", &[initialize], &[]);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0]["id"], 1);
    assert_eq!(out[0]["error"]["code"], -32000);
}
