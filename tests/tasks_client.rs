//! `mcp-client report --task` against `bedrock-usage-mcp` in both eras: it creates the report
//! task, polls it, and prints the report the direct call prints.

use std::process::Command;

use bedrock_usage_mcp::usage::source::synthetic::{WINDOW_END, WINDOW_START, write_records};
use mcp_testkit::ServerProcess;
use serde_json::Value;

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
