//! Issue 17, "done when" 1: a report over `bedrock-usage-mcp`'s bundled sample, grouped by
//! team, compared with the previous period and with anomalies, flags the sample's planted spike
//! (the support agent's retry loop the day before today: the user, team `support` and Claude
//! 3.5 Haiku) through three clients: `mcp-client report`, the MCP Inspector's CLI, and the
//! Python SDK client (`tests/interop/py_what_changed.py`, which also checks that the review
//! prompt carries the comparison and the anomalies). The Inspector and the Python venv come
//! from `scripts/install-test-tools.sh`; the tests fail (never skip) without them.

use std::collections::BTreeSet;
use std::process::{Command, Output};

use bedrock_usage_mcp::usage::Date;
use mcp_testkit::{ServerProcess, node22, repo_root, test_tool};
use serde_json::Value;

const SUPPORT: &str = "arn:aws:sts::111122223333:assumed-role/SupportAgentRole/support-agent";
const HAIKU: &str = "anthropic.claude-3-5-haiku-20241022-v1:0";

/// The report's arguments, as the issue states them.
const DAYS: &str = "7";
const GROUP_BY: &str = "team";
const COMPARE_TO: &str = "previous_period";

fn server() -> ServerProcess {
    ServerProcess::start(env!("CARGO_BIN_EXE_bedrock-usage-mcp"), &[])
}

/// `output`'s stdout, after checking that the program succeeded.
fn stdout_of(what: &str, output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what} exited with {}\n--- stdout ---\n{stdout}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr),
    );
    stdout
}

/// Checks a structured report (`structuredContent`) for the comparison and the planted spike:
/// the support agent's tokens and errors, team `support`'s tokens and Claude 3.5 Haiku's
/// tokens, all flagged on the day before the period's last day, and nothing about the support
/// agent on another day.
fn assert_shows_the_spike(report: &Value) {
    assert_eq!(report["compare_to"]["kind"], COMPARE_TO, "{report}");
    let teams = &report["by_metadata"][0];
    assert_eq!(teams["key"], GROUP_BY, "{teams}");
    let rows = teams["rows"].as_array().expect("team rows");
    assert!(
        rows.iter()
            .any(|row| row["key"] == "support" && row["change"].is_object()),
        "{teams}"
    );
    // The period ends (exclusive) at the start of tomorrow: the spike is two days before.
    let end = report["period"]["end"].as_str().expect("the period's end");
    let today = Date::parse(&end[..10])
        .ok()
        .and_then(|d| d.checked_add_days(-1))
        .expect("a date");
    let spike_day = today.checked_add_days(-1).expect("a date").to_string();
    let items = report["anomalies"]["items"].as_array().expect("anomalies");
    let flagged: BTreeSet<(String, String, String, String)> = items
        .iter()
        .map(|item| {
            let text = |field: &str| item[field].as_str().unwrap_or_default().to_owned();
            (text("day"), text("dimension"), text("key"), text("metric"))
        })
        .collect();
    for (dimension, key, metric) in [
        ("user", SUPPORT, "total_tokens"),
        ("user", SUPPORT, "errors"),
        ("metadata", "support", "total_tokens"),
        ("model", HAIKU, "total_tokens"),
    ] {
        let wanted = (
            spike_day.clone(),
            dimension.into(),
            key.into(),
            metric.into(),
        );
        assert!(flagged.contains(&wanted), "{wanted:?} not in {flagged:#?}");
    }
    assert!(
        !flagged.iter().any(|f| f.0 != spike_day && f.2 == SUPPORT),
        "the support agent flagged on another day than {spike_day}: {flagged:#?}"
    );
}

#[test]
fn mcp_client_report_shows_the_planted_spike() {
    let server = server();
    let report = |json: bool| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mcp-client"));
        command.args(["--url", &server.url, "report", "--days", DAYS]);
        command.args(["--group-by-metadata", GROUP_BY, "--compare-to", COMPARE_TO]);
        command.arg("--anomalies");
        if json {
            command.arg("--json");
        }
        stdout_of(
            "mcp-client report",
            &command.output().expect("run mcp-client"),
        )
    };
    let json: Value = serde_json::from_str(&report(true)).expect("the report as JSON");
    assert_shows_the_spike(&json);
    // The readable report has both sections, with the spike's lines.
    let text = report(false);
    assert!(
        text.contains("\nCompared with the previous period, "),
        "{text}"
    );
    let anomalies = text
        .split("\nAnomalies\n")
        .nth(1)
        .expect("an Anomalies section");
    for line in [
        format!("user {SUPPORT}"),
        "metadata team=support".into(),
        format!("model {HAIKU}"),
    ] {
        assert!(anomalies.contains(&line), "{line} not in\n{anomalies}");
    }
}

#[test]
fn the_mcp_inspector_cli_sees_the_planted_spike() {
    let launcher = test_tool(
        "inspector/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js",
    );
    let server = server();
    // The Inspector keeps state under the home folder: a fresh one, removed afterwards.
    let home = std::env::temp_dir().join(format!("inspector-home-{}", std::process::id()));
    std::fs::create_dir_all(&home).expect("a home for the Inspector");
    let output = Command::new(node22())
        .arg(&launcher)
        .args(["--cli", &server.url, "--transport", "http"])
        .args([
            "--method",
            "tools/call",
            "--tool-name",
            "get_bedrock_usage_report",
        ])
        .arg("--tool-arg")
        .args([
            format!("days={DAYS}"),
            format!("group_by_metadata=[\"{GROUP_BY}\"]"),
            format!("compare_to={COMPARE_TO}"),
            "anomalies=true".into(),
        ])
        .env("HOME", &home)
        .env("MCP_CATALOG_PATH", home.join("mcp.json"))
        .output()
        .expect("run the MCP Inspector");
    let _ = std::fs::remove_dir_all(&home);
    let stdout = stdout_of("the MCP Inspector CLI", &output);
    let result: Value = serde_json::from_str(&stdout).expect("the tool result as JSON");
    assert_eq!(result["isError"], false, "{result}");
    assert_shows_the_spike(&result["structuredContent"]);
    let text = result["content"][0]["text"].as_str().unwrap_or_default();
    assert!(text.contains("\nAnomalies\n"), "{text}");
}

#[test]
fn the_python_sdk_sees_the_planted_spike() {
    let python = test_tool("venv/bin/python");
    let server = server();
    let script = repo_root().join("tests/interop/py_what_changed.py");
    let output = Command::new(&python)
        .arg(&script)
        .arg(&server.url)
        .current_dir(repo_root())
        .output()
        .expect("run the Python client");
    let stdout = stdout_of(&script.display().to_string(), &output);
    assert!(
        stdout.contains(&format!("user {SUPPORT} total_tokens")),
        "{stdout}"
    );
    assert!(
        stdout.contains("prompt: comparison and anomalies present"),
        "{stdout}"
    );
}
