//! The official MCP conformance suite against `conformance-server`, both protocol eras.
//!
//! Needs the suite and Node 22 from `scripts/install-test-tools.sh`; fails (never skips) without.

use mcp_testkit::ServerProcess;
use mcp_testkit::suite::{run_suite, scenario_totals, totals};

#[test]
fn requirements_2025_11_25_pass_with_no_failed_check() {
    let server = ServerProcess::conformance(&[]);
    let (ok, output) = run_suite(&server.url, &["--requirements", "2025-11-25"]);
    assert!(ok, "scored scenarios failed:\n{output}");
    let (passed, failed) = totals(&output);
    assert_eq!(failed, 0, "{output}");
    assert!(passed >= 80, "only {passed} checks passed:\n{output}");
}

#[test]
fn requirements_2026_07_28_pass_with_no_failed_scored_check() {
    let server = ServerProcess::conformance(&[]);
    let (ok, output) = run_suite(&server.url, &["--requirements", "2026-07-28"]);
    assert!(ok, "scored scenarios failed:\n{output}");
    assert!(!output.contains("✗ server-stateless"), "{output}");
}

/// Scenarios the requirement sets run unscored (or only `--suite all` runs) that this server
/// does implement: each must pass with neither failures nor warnings.
#[test]
fn unscored_scenarios_we_implement_pass_cleanly() {
    let server = ServerProcess::conformance(&[]);
    for (scenario, version) in [
        ("server-sse-polling", "2025-11-25"),
        ("server-session-lifecycle", "2025-11-25"),
        ("json-schema-2020-12", "2025-11-25"),
        ("json-schema-2020-12", "2026-07-28"),
        ("http-header-validation", "2026-07-28"),
        ("http-custom-header-server-validation", "2026-07-28"),
    ] {
        let (ok, output) = run_suite(
            &server.url,
            &["--scenario", scenario, "--spec-version", version, "--force"],
        );
        assert!(ok, "{scenario} at {version} failed:\n{output}");
        let (passed, failed) = scenario_totals(&output);
        assert!(
            passed > 0 && failed == 0,
            "{scenario} at {version}:\n{output}"
        );
        assert!(
            output.contains(", 0 warnings"),
            "{scenario} at {version} has warnings:\n{output}"
        );
    }
}

/// Every `tasks-*` scenario of the 2026-07-28 set (unscored there: the tasks extension).
#[test]
fn task_scenarios_pass() {
    let server = ServerProcess::conformance(&[]);
    mcp_testkit::task_suite::assert_task_scenarios_pass(&server.url);
}
