//! The Python SDK client (`tests/interop/py_what_changed.py`) against `bedrock-usage-mcp` on
//! its bundled sample: a report grouped by team with `compare_to` and `anomalies` flags the
//! sample's planted spike, and the review prompt carries the comparison and the anomalies
//! (issue 17, "done when" 1). Needs the Python venv from `scripts/install-test-tools.sh`;
//! fails (never skips) without it.

use std::process::Command;

use mcp_testkit::{ServerProcess, repo_root, test_tool};

#[test]
fn the_python_sdk_sees_the_planted_spike() {
    let python = test_tool("venv/bin/python");
    let server = ServerProcess::start(env!("CARGO_BIN_EXE_bedrock-usage-mcp"), &[]);
    let script = repo_root().join("tests/interop/py_what_changed.py");
    let output = Command::new(&python)
        .arg(&script)
        .arg(&server.url)
        .current_dir(repo_root())
        .output()
        .expect("run the Python client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{} exited with {}\n--- stdout ---\n{stdout}\n--- stderr ---\n{}",
        script.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(stdout.contains("user arn:aws:sts::111122223333:assumed-role/SupportAgentRole/support-agent total_tokens"), "{stdout}");
    assert!(
        stdout.contains("prompt: comparison and anomalies present"),
        "{stdout}"
    );
}
