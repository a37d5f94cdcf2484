//! A fresh account's first smoke test: Bedrock logging is managed elsewhere and not turned on,
//! so the log group the server reads does not exist. The server (against moto) must still
//! pass `mcp-client smoke` in both eras and both CloudWatch modes, and its report must say
//! why it counts nothing: a warning naming the log group, the region and how to turn
//! logging on.

use std::process::Command;

use mcp_testkit::ServerProcess;
use mcp_testkit::moto::{self, Moto};
use serde_json::Value;

/// A log group name nobody created.
fn missing_group() -> String {
    format!("/aws/bedrock/fresh-{:016x}", rand::random::<u64>())
}

fn server(moto: &Moto, group: &str, mode: &str) -> ServerProcess {
    ServerProcess::start_with_env(
        env!("CARGO_BIN_EXE_bedrock-usage-mcp"),
        &[
            "--log-group",
            group,
            "--region",
            moto::REGION,
            "--cloudwatch-mode",
            mode,
            // The zero-usage answer itself (the metrics fallback speaks CBOR, which moto does
            // not; tests/usage_metrics.rs covers it).
            "--metrics-fallback",
            "off",
        ],
        &moto.env(),
    )
}

/// Runs `mcp-client` with `args`; returns success and stdout + stderr.
fn client(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_mcp-client"))
        .args(args)
        .output()
        .expect("running mcp-client");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn assert_warns(message: &str, group: &str) {
    for needle in [group, moto::REGION, "model invocation logging"] {
        assert!(message.contains(needle), "{needle:?} not in {message:?}");
    }
}

#[test]
fn smoke_passes_and_the_report_warns_when_the_log_group_does_not_exist() {
    let moto = Moto::shared();
    for mode in ["insights", "scan"] {
        let group = missing_group();
        let server = server(&moto, &group, mode);

        let (ok, stdout, stderr) = client(&["--url", &server.url, "smoke"]);
        assert!(ok, "{mode}: smoke failed:\n{stdout}{stderr}");
        assert!(
            stdout.contains("8 passed, 0 failed"),
            "{mode}:\n{stdout}{stderr}"
        );
        // The pipeline's log says why the numbers are zero, in both eras.
        assert_eq!(
            stdout
                .matches("(report warnings: log_group_not_found)")
                .count(),
            2,
            "{mode}:\n{stdout}"
        );

        for protocol in ["2025-11-25", "2026-07-28"] {
            let (ok, stdout, stderr) = client(&[
                "--url",
                &server.url,
                "--protocol",
                protocol,
                "report",
                "--days",
                "7",
                "--json",
            ]);
            assert!(ok, "{mode} {protocol}: {stdout}{stderr}");
            let report: Value = serde_json::from_str(&stdout)
                .unwrap_or_else(|e| panic!("{mode} {protocol}: {e}: {stdout}"));
            assert_eq!(report["totals"]["requests"], 0, "{report}");
            assert_eq!(report["daily"].as_array().map(Vec::len), Some(7));
            assert_eq!(report["source"]["log_group"], group.as_str());
            let warnings = report["warnings"].as_array().expect("a warnings list");
            assert_eq!(warnings.len(), 1, "{report}");
            assert_eq!(warnings[0]["code"], "log_group_not_found");
            assert_warns(warnings[0]["message"].as_str().unwrap_or(""), &group);
        }

        // The readable report says it too.
        let (ok, stdout, stderr) = client(&["--url", &server.url, "report", "--days", "1"]);
        assert!(ok, "{mode}: {stdout}{stderr}");
        assert!(
            stdout.contains("WARNING (log_group_not_found)"),
            "{mode}: {stdout}"
        );
        assert_warns(&stdout, &group);
    }
}
