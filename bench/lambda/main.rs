//! Benchmarks of the release binary in Lambda mode, through the local API Gateway + Lambda
//! Runtime API of `mcp_testkit::lambda` (crates/testkit):
//!
//! ```text
//! cargo run --release --example lambda -- cold-start [OPTIONS]   # cold_start.rs
//! cargo run --release --example lambda -- memory [OPTIONS]       # memory.rs
//! ```
//!
//! `cold-start` times a fresh process to its first answer (and the binary's stripped size);
//! `memory` measures the CPU time of warm invocations and derives their duration at each
//! Lambda memory size. Benchmarks, not tests: they report.

mod cold_start;
mod memory;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

/// The legacy protocol version both benchmarks initialise with.
const PROTOCOL: &str = "2025-11-25";

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("cold-start") => cold_start::run(args),
        Some("memory") => memory::run(args),
        other => anyhow::bail!("usage: lambda cold-start|memory [OPTIONS] (got {other:?})"),
    }
}

/// Cargo's target directory, where the release binaries are.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// The params of an `initialize` from client `name` (the kit's message, `mcp_testkit::jsonrpc`).
fn initialize_params(name: &str) -> Value {
    mcp_testkit::jsonrpc::initialize(0, PROTOCOL, name, json!({}))["params"].take()
}

fn median(values: impl Iterator<Item = Duration>) -> Duration {
    let mut sorted: Vec<Duration> = values.collect();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
