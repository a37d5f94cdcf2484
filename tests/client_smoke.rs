//! `mcp-client smoke` against the conformance fixture server: it passes where the server
//! works and fails (non-zero) where a check cannot pass.

use std::process::Command;

use mcp_testkit::ServerProcess;

fn smoke(url: &str, tool: &str, arguments: &str) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_mcp-client"))
        .args([
            "--url",
            url,
            "smoke",
            "--tool",
            tool,
            "--arguments",
            arguments,
        ])
        .output()
        .expect("running mcp-client");
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

#[test]
fn smoke_passes_against_a_working_server() {
    let server = ServerProcess::conformance(&[]);
    let (ok, output) = smoke(
        &server.url,
        "test_long_operation",
        r#"{"steps":4,"interval_ms":30}"#,
    );
    assert!(ok, "{output}");
    assert!(output.contains("8 passed, 0 failed"), "{output}");
    assert!(output.contains("response once"), "{output}");
}

#[test]
fn smoke_passes_when_the_server_closes_streams_early() {
    let server = ServerProcess::conformance(&["--max-stream-secs", "1"]);
    let (ok, output) = smoke(
        &server.url,
        "test_long_operation",
        r#"{"steps":6,"interval_ms":400}"#,
    );
    assert!(ok, "{output}");
}

#[test]
fn smoke_fails_when_a_check_cannot_pass() {
    let server = ServerProcess::conformance(&[]);
    // This tool never reports progress, so the progress and resume checks must fail.
    let (ok, output) = smoke(&server.url, "test_simple_text", "{}");
    assert!(!ok, "{output}");
    assert!(
        output.contains("FAIL  legacy: tool call with progress"),
        "{output}"
    );
    let (ok, output) = smoke("http://127.0.0.1:9/mcp", "test_simple_text", "{}");
    assert!(!ok, "smoke passed against a closed port: {output}");
}
