//! Running the official conformance suite (installed by scripts/install-test-tools.sh).

use std::process::Command;

use crate::{node22, test_tool};

/// Runs `conformance server --url URL ARGS…` and returns (success, combined output).
pub fn run_suite(url: &str, args: &[&str]) -> (bool, String) {
    let cli = test_tool("npm/node_modules/@modelcontextprotocol/conformance/dist/index.js");
    let output = Command::new(node22())
        .arg(cli)
        .args(["server", "--url", url])
        .args(args)
        .output()
        .expect("running the conformance suite");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// The `Total: N passed, M failed` line of a suite run.
pub fn totals(output: &str) -> (u32, u32) {
    numbers_of(output, "Total:", 0, 1)
}

/// The `Passed: N/M, F failed, W warnings` line of a single-scenario run: (passed, failed).
pub fn scenario_totals(output: &str) -> (u32, u32) {
    numbers_of(output, "Passed:", 0, 2)
}

fn numbers_of(output: &str, prefix: &str, first: usize, second: usize) -> (u32, u32) {
    let line = output
        .lines()
        .rev()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix} line in:\n{output}"));
    let numbers: Vec<u32> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    (numbers[first], numbers[second])
}

/// Both requirement sets must pass with no failed scored check.
pub fn assert_both_requirement_sets_pass(url: &str) {
    for requirements in ["2025-11-25", "2026-07-28"] {
        let (ok, output) = run_suite(url, &["--requirements", requirements]);
        assert!(ok, "--requirements {requirements} failed:\n{output}");
    }
}
