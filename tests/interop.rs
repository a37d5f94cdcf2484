//! Interoperability with the official MCP SDK clients: the TypeScript SDK
//! (`tests/interop/ts_client.mjs`) and the Python SDK (`tests/interop/py_client.py`) each drive a
//! full conversation against `conformance-server` and assert on what they see, on the wire as
//! well as through the SDK's API. Each script exits 0 on success and prints a JSON summary.
//!
//! Needs Node 22, the TypeScript SDK and the Python venv from `scripts/install-test-tools.sh`;
//! fails (never skips) without them.

use std::path::PathBuf;
use std::process::{Command, Output};

use mcp_testkit::{ServerProcess, node22, repo_root, test_tool};

fn script(name: &str) -> PathBuf {
    repo_root().join("tests").join("interop").join(name)
}

/// Runs `program script args…` and fails the test, showing everything the script printed,
/// unless it exits 0.
fn run_client(program: PathBuf, script: PathBuf, args: &[&str]) -> Output {
    let output = Command::new(&program)
        .arg(&script)
        .args(args)
        .current_dir(repo_root())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "could not run {} {}: {e}",
                program.display(),
                script.display()
            )
        });
    assert!(
        output.status.success(),
        "{} exited with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        script.display(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    output
}

/// The TypeScript SDK is installed where the script imports it from.
fn ts_sdk() {
    test_tool("npm/node_modules/@modelcontextprotocol/sdk/package.json");
}

/// The TypeScript SDK's `Client` + `StreamableHTTPClientTransport`: initialize with sampling and
/// elicitation, tools, progress, sampling and elicitation round trips, resources, prompts, SDK
/// resumption after the server cuts a stream (`test_reconnection`), a raw cut-and-resume check
/// that the remaining events arrive exactly once, and 404 after `terminateSession()`.
#[test]
fn typescript_sdk_client_interoperates() {
    ts_sdk();
    let server = ServerProcess::conformance(&[]);
    run_client(node22(), script("ts_client.mjs"), &[&server.url]);
}

/// The same client against a server that closes every SSE connection after one second: the
/// elicitation handler answers only after 2.5 s, so the tool's POST stream is cut while it waits
/// and the SDK must resume it with `Last-Event-ID`; the standalone GET stream is cut and resumed
/// too. Every step must still pass, with no event delivered twice.
#[test]
fn typescript_sdk_client_resumes_when_streams_are_capped() {
    ts_sdk();
    let server = ServerProcess::conformance(&["--max-stream-secs", "1"]);
    run_client(
        node22(),
        script("ts_client.mjs"),
        &[&server.url, "--slow-elicitation", "2500"],
    );
}

/// The Python SDK (`mcp` 2.3.0): a legacy session through `ClientSession` (progress callback,
/// sampling and elicitation callbacks, resumption, DELETE on exit, then 404 on a raw request),
/// then the stateless 2026-07-28 revision through `mcp.Client` (discovery, progress, an
/// `input_required` round trip, no session).
#[test]
fn python_sdk_client_interoperates() {
    let python = test_tool("venv/bin/python");
    let server = ServerProcess::conformance(&[]);
    run_client(python, script("py_client.py"), &[&server.url]);
}
