//! `bedrock-usage-mcp` end to end, driven by `mcp-client` and by the official Python SDK
//! client in both eras, with numbers checked against values computed here from the dataset
//! itself (plain loops over the records, not the server's aggregator).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use bedrock_usage_mcp::usage::source::synthetic::{WINDOW_END, WINDOW_START, write_records};
use mcp_testkit::{ServerProcess, test_tool};
use serde_json::{Value, json};

/// Totals and per-model totals, counted straight from the JSON lines.
#[derive(Debug, Default, PartialEq)]
struct Expected {
    requests: u64,
    input_tokens: u64,
    output_tokens: u64,
    total_tokens: u64,
    errors: u64,
    tokens_by_model: BTreeMap<String, u64>,
}

fn count(path: &Path) -> Expected {
    let mut expected = Expected::default();
    for line in std::fs::read_to_string(path).expect("dataset").lines() {
        let Ok(record) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let n = |v: &Value| v.as_u64().unwrap_or(0);
        let input = n(&record["input"]["inputTokenCount"]);
        let output = n(&record["output"]["outputTokenCount"]);
        let cache = n(&record["input"]["cacheReadInputTokenCount"])
            + n(&record["input"]["cacheWriteInputTokenCount"]);
        let total = input + output + cache;
        expected.requests += 1;
        expected.input_tokens += input;
        expected.output_tokens += output;
        expected.total_tokens += total;
        expected.errors += u64::from(record["errorCode"].as_str().is_some_and(|e| !e.is_empty()));
        let model = record["modelId"].as_str().unwrap_or("(unknown)").to_owned();
        *expected.tokens_by_model.entry(model).or_default() += total;
    }
    expected
}

fn observed(report: &Value) -> Expected {
    let t = &report["totals"];
    let n = |v: &Value| v.as_u64().expect("a count");
    Expected {
        requests: n(&t["requests"]),
        input_tokens: n(&t["input_tokens"]),
        output_tokens: n(&t["output_tokens"]),
        total_tokens: n(&t["total_tokens"]),
        errors: n(&t["errors"]),
        tokens_by_model: report["by_model"]
            .as_array()
            .expect("by_model")
            .iter()
            .map(|row| {
                (
                    row["key"].as_str().expect("key").to_owned(),
                    n(&row["total_tokens"]),
                )
            })
            .collect(),
    }
}

struct Fixture {
    _dir: tempdir::Dir,
    server: ServerProcess,
    expected: Expected,
}

mod tempdir {
    /// A temporary directory removed on drop.
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new(name: &str) -> Self {
            let path = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
            std::fs::create_dir_all(&path).expect("temp dir");
            Self(path)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn fixture(name: &str) -> Fixture {
    let dir = tempdir::Dir::new(name);
    let path = dir.0.join("invocations.jsonl");
    write_records(&path, 3_000, 20..=200, 7).expect("writing the dataset");
    let expected = count(&path);
    assert!(expected.requests > 2_000 && expected.tokens_by_model.len() >= 4);
    let server = ServerProcess::start(
        env!("CARGO_BIN_EXE_bedrock-usage-mcp"),
        &["--usage-file", path.to_str().expect("utf-8 path")],
    );
    Fixture {
        _dir: dir,
        server,
        expected,
    }
}

fn arguments() -> Value {
    json!({ "start": WINDOW_START, "end": WINDOW_END, "top_n": 50 })
}

fn mcp_client(url: &str, protocol: &str, args: &[&str]) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_mcp-client"))
        .args(["--url", url, "--protocol", protocol])
        .args(args)
        .output()
        .expect("running mcp-client");
    assert!(
        output.status.success(),
        "mcp-client failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

#[test]
fn mcp_client_reports_match_the_dataset_in_both_eras() {
    let f = fixture("product-cli");
    for protocol in ["2025-11-25", "2026-07-28"] {
        let report = mcp_client(
            &f.server.url,
            protocol,
            &[
                "report",
                "--start",
                WINDOW_START,
                "--end",
                WINDOW_END,
                "--top-n",
                "50",
                "--json",
            ],
        );
        assert_eq!(observed(&report), f.expected, "{protocol}");
        assert_eq!(report["source"]["kind"], "file");
        let daily: u64 = report["daily"]
            .as_array()
            .expect("daily")
            .iter()
            .map(|d| d["total_tokens"].as_u64().unwrap_or(0))
            .sum();
        assert_eq!(daily, f.expected.total_tokens);
    }
}

#[test]
fn python_sdk_reports_match_the_dataset_in_both_eras() {
    let f = fixture("product-py");
    let python = test_tool("venv/bin/python");
    let script = mcp_testkit::repo_root().join("tests/interop/py_usage_report.py");
    let output = Command::new(python)
        .arg(script)
        .arg(&f.server.url)
        .arg(arguments().to_string())
        .output()
        .expect("running the Python SDK client");
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let reports: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(observed(&reports["legacy"]), f.expected);
    assert_eq!(observed(&reports["modern"]), f.expected);
    assert!(
        reports["progress"].as_u64().unwrap_or(0) >= 1,
        "no progress reached the SDK"
    );
}

#[test]
fn cost_estimates_follow_the_operators_table() {
    let dir = tempdir::Dir::new("product-pricing");
    let data = dir.0.join("invocations.jsonl");
    write_records(&data, 1_000, 20..=100, 11).expect("dataset");
    let expected = count(&data);
    let model = expected
        .tokens_by_model
        .keys()
        .next()
        .expect("a model")
        .clone();
    let prices = dir.0.join("prices.json");
    let table = json!({ "currency": "EUR", "note": "test prices", "models": [
        { "match": model, "input_per_million": 2.0, "output_per_million": 10.0,
          "cache_read_per_million": 0.5, "cache_write_per_million": 4.0 } ] });
    std::fs::write(&prices, table.to_string()).expect("prices");
    // The cost of that model, from the raw records, in micro-units (prices per million
    // tokens times tokens, divided by a million tokens once, rounded half up).
    let mut pico: u128 = 0;
    for line in std::fs::read_to_string(&data).expect("dataset").lines() {
        let r: Value = serde_json::from_str(line).expect("record");
        if r["modelId"] != model.as_str() {
            continue;
        }
        let n = |v: &Value| u128::from(v.as_u64().unwrap_or(0));
        pico += n(&r["input"]["inputTokenCount"]) * 2_000_000
            + n(&r["output"]["outputTokenCount"]) * 10_000_000
            + n(&r["input"]["cacheReadInputTokenCount"]) * 500_000
            + n(&r["input"]["cacheWriteInputTokenCount"]) * 4_000_000;
    }
    let micros = (pico + 500_000) / 1_000_000;
    let cost = format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000);
    let server = ServerProcess::start(
        env!("CARGO_BIN_EXE_bedrock-usage-mcp"),
        &[
            "--usage-file",
            data.to_str().expect("utf-8"),
            "--pricing-file",
            prices.to_str().expect("utf-8"),
        ],
    );
    let report = mcp_client(
        &server.url,
        "2026-07-28",
        &[
            "report",
            "--start",
            WINDOW_START,
            "--end",
            WINDOW_END,
            "--top-n",
            "1",
            "--json",
        ],
    );
    let estimate = &report["estimated_cost"];
    assert_eq!(estimate["currency"], "EUR");
    assert_eq!(estimate["total"], cost.as_str(), "a decimal string, exact");
    let unpriced: std::collections::BTreeSet<&str> = estimate["unpriced_models"]
        .as_array()
        .expect("unpriced_models")
        .iter()
        .filter_map(|u| u["model"].as_str())
        .collect();
    assert_eq!(
        unpriced.len(),
        expected.tokens_by_model.len() - 1,
        "every other model is listed as unpriced, even those folded into (other)"
    );
    assert!(!unpriced.contains(model.as_str()));
}

#[test]
fn charts_filters_and_argument_errors() {
    let f = fixture("product-chart");
    let model = f
        .expected
        .tokens_by_model
        .keys()
        .next()
        .expect("a model")
        .clone();
    let mut args = arguments();
    args["model_id"] = json!(model);
    args["include_chart"] = json!(true);
    let result = mcp_client(
        &f.server.url,
        "2025-11-25",
        &["call", "get_bedrock_usage_report", &args.to_string()],
    );
    let content = result["content"].as_array().expect("content");
    assert!(
        content
            .iter()
            .any(|c| c["type"] == "image" && c["mimeType"] == "image/png")
    );
    let report = &result["structuredContent"];
    assert_eq!(report["by_model"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        report["totals"]["total_tokens"],
        f.expected.tokens_by_model[&model]
    );

    let output = Command::new(env!("CARGO_BIN_EXE_mcp-client"))
        .args([
            "--url",
            &f.server.url,
            "call",
            "get_bedrock_usage_report",
            r#"{"days": 400}"#,
        ])
        .output()
        .expect("running mcp-client");
    assert!(
        !output.status.success(),
        "an invalid argument must be a tool error"
    );
    let result: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(result["isError"], true);
    assert!(
        result["content"][0]["text"]
            .as_str()
            .unwrap_or("")
            .contains("days")
    );
}
