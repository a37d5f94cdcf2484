//! The official TypeScript SDK client (1.32, 2025-11-25 experimental tasks) runs a report task
//! end to end against `bedrock-usage-mcp` on the bundled sample
//! (`tests/interop/ts_task.mjs`: `client.experimental.tasks.callToolStream`). Needs Node 22 and
//! the SDK from `scripts/install-test-tools.sh`; fails (never skips) without them.

use std::process::Command;

use mcp_testkit::{ServerProcess, node22, repo_root, test_tool};

#[test]
fn typescript_sdk_runs_a_report_task() {
    test_tool("npm/node_modules/@modelcontextprotocol/sdk/package.json");
    let server = ServerProcess::start(env!("CARGO_BIN_EXE_bedrock-usage-mcp"), &[]);
    let script = repo_root().join("tests/interop/ts_task.mjs");
    let output = Command::new(node22())
        .arg(&script)
        .arg(&server.url)
        .current_dir(repo_root())
        .output()
        .expect("running node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(r#""messages":["taskCreated","#), "{stdout}");
}
