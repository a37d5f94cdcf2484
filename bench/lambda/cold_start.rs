//! Cold start of the release binary in Lambda mode, on this machine: from process start to
//! the first answer served through the local API Gateway + Lambda Runtime API of
//! `mcp_testkit::lambda` (crates/testkit), median of N runs; and the size of the stripped release binary.
//!
//! ```text
//! cargo build --release -p mcp-conformance --bin conformance-server
//! cargo run --release --example lambda -- cold-start [--runs 30] [--binary PATH]
//!     [--size-of PATH] [--arg ARG]... [--env NAME=VALUE]...
//! # the product binary (on Lambda it needs a log group; nothing is read at start-up):
//! cargo build --release --bin bedrock-usage-mcp
//! cargo run --release --example lambda -- cold-start --binary target/release/bedrock-usage-mcp \
//!     --env BEDROCK_LOG_GROUP=/aws/bedrock/modelinvocations
//! ```
//!
//! Each run starts a fresh gateway, queues an `initialize` request (as the request that
//! triggers a cold start waits for it on AWS), then starts one process with the Lambda
//! environment and times:
//! - **init**: process start to its first `GET …/invocation/next` (Lambda's "Init Duration");
//! - **first answer**: process start to the whole answer at the client.
//!
//! - **of which prelude -> 8 NULs**: from the start of the function's streamed answer to the
//!   end of its prelude delimiter. The Lambda runtime client (lambda_runtime_api_client) does
//!   not set TCP_NODELAY, so the eight NULs, written right after the prelude, wait for the
//!   Runtime API's delayed ACK (about 40 ms on Linux). The harness's Runtime API is a plain
//!   Linux socket, like Lambda's own; the line shows what that wait costs.
//!
//! Targets: first answer < 50 ms, binary < 25 MB. A benchmark, not a test: it reports.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mcp_testkit::jsonrpc;
use mcp_testkit::lambda::{InstanceSpec, LambdaHarness, Options};
use serde_json::json;

use super::{PROTOCOL, ms, target_dir};

struct Run {
    init: Duration,
    first_answer: Duration,
    /// From the start of the function's answer to the end of its prelude's eight NULs.
    prelude_wait: Duration,
    /// A second request on the now warm instance, end to end at the client.
    warm_answer: Duration,
    warm_prelude_wait: Duration,
}

pub fn run(mut args: impl Iterator<Item = String>) -> anyhow::Result<()> {
    let target = target_dir();
    let mut runs = 30usize;
    let mut binary = target.join("release/conformance-server");
    let mut size_of: Option<PathBuf> = None;
    let mut spec_args: Vec<String> = Vec::new();
    let mut spec_env: Vec<(String, String)> = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = args.next().unwrap_or_default().parse()?,
            "--binary" => binary = args.next().unwrap_or_default().into(),
            "--size-of" => size_of = Some(args.next().unwrap_or_default().into()),
            "--arg" => spec_args.push(args.next().unwrap_or_default()),
            "--env" => {
                let pair = args.next().unwrap_or_default();
                let (name, value) = pair
                    .split_once('=')
                    .ok_or_else(|| anyhow::anyhow!("--env wants NAME=VALUE, got {pair:?}"))?;
                spec_env.push((name.to_owned(), value.to_owned()));
            }
            other => anyhow::bail!(
                "unknown argument {other:?} (--runs N, --binary P, --arg A, --env K=V, --size-of P)"
            ),
        }
    }
    anyhow::ensure!(
        binary.exists(),
        "{} is missing: run `cargo build --release -p mcp-conformance --bin conformance-server` first",
        binary.display()
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let client = reqwest::Client::new();
    // One warm-up run: the binary's pages in the page cache, as on a warm Lambda host.
    let spec = InstanceSpec::new(&binary).args(spec_args).envs(spec_env);
    runtime.block_on(cold_start(&client, &spec))?;
    let mut results = Vec::with_capacity(runs);
    for _ in 0..runs {
        results.push(runtime.block_on(cold_start(&client, &spec))?);
    }

    let column = |f: fn(&Run) -> Duration| {
        let mut values: Vec<Duration> = results.iter().map(f).collect();
        values.sort();
        values
    };
    let first = column(|r| r.first_answer);
    println!("cold start of {} ({runs} runs)", binary.display());
    println!(
        "  init (start -> first /next):  {}",
        summary(&column(|r| r.init))
    );
    println!("  first answer (start -> body): {}", summary(&first));
    println!(
        "    of which prelude -> 8 NULs:  {}",
        summary(&column(|r| r.prelude_wait))
    );
    println!(
        "    first answer minus that wait: {}",
        summary(&column(|r| r.first_answer.saturating_sub(r.prelude_wait)))
    );
    println!(
        "  warm answer (2nd request):    {}",
        summary(&column(|r| r.warm_answer))
    );
    println!(
        "    of which prelude -> 8 NULs:  {}",
        summary(&column(|r| r.warm_prelude_wait))
    );
    let median = first[first.len() / 2];
    println!(
        "  median first answer: {:.1} ms (target < 50 ms: {})",
        ms(median),
        if median < Duration::from_millis(50) {
            "met"
        } else {
            "MISSED"
        }
    );

    let product = target.join("release/bedrock-usage-mcp");
    let sized = size_of.unwrap_or(if product.exists() { product } else { binary });
    let (size, stripped) = stripped_size(&sized)?;
    println!(
        "stripped size of {}: {:.2} MB ({size} bytes{}; target < 25 MB: {})",
        sized.display(),
        size as f64 / 1_000_000.0,
        if stripped {
            ", stripped copy"
        } else {
            ", as built"
        },
        if size < 25_000_000 { "met" } else { "MISSED" }
    );
    Ok(())
}

/// Sends `initialize` through the gateway; returns when the whole answer is in.
async fn initialize(client: reqwest::Client, url: String) -> anyhow::Result<Instant> {
    let response = client
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(jsonrpc::initialize(0, PROTOCOL, "cold-start", json!({})).to_string())
        .send()
        .await?;
    let status = response.status();
    let body = response.bytes().await?;
    anyhow::ensure!(
        status.is_success(),
        "initialize answered {status}: {}",
        String::from_utf8_lossy(&body)
    );
    Ok(Instant::now())
}

/// How long the prelude of invocation `index` took to complete once the answer began.
fn prelude_wait(harness: &LambdaHarness, index: usize) -> Duration {
    let invocation = &harness.invocations()[index];
    match (invocation.answer_started, invocation.prelude) {
        (Some(start), Some(end)) => end.saturating_sub(start),
        _ => Duration::ZERO,
    }
}

/// One cold start: a fresh gateway with the request already queued, then a new process.
async fn cold_start(client: &reqwest::Client, spec: &InstanceSpec) -> anyhow::Result<Run> {
    let harness = LambdaHarness::new(Options {
        // Nothing is frozen on the measured path anyway (the event is waiting); keep it so.
        freeze_idle: false,
        ..Options::default()
    });
    let answer = tokio::spawn(initialize(client.clone(), harness.url()));
    while harness.invocations().is_empty() {
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    let start_offset = harness.now();
    let started = Instant::now();
    harness.add_instance(spec.clone());
    let done = tokio::time::timeout(Duration::from_secs(30), answer)
        .await
        .map_err(|_| anyhow::anyhow!("no answer within 30 s:\n{}", harness.logs_tail(20)))?
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .map_err(|e| anyhow::anyhow!("{e}\n{}", harness.logs_tail(20)))?;
    let first_poll = harness
        .polls()
        .first()
        .map(|p| p.at)
        .ok_or_else(|| anyhow::anyhow!("no poll recorded"))?;

    let warm_sent = Instant::now();
    let warm_done = initialize(client.clone(), harness.url()).await?;
    let violations = harness.violations();
    anyhow::ensure!(violations.is_empty(), "framing violations: {violations:?}");
    Ok(Run {
        init: first_poll.saturating_sub(start_offset),
        first_answer: done.duration_since(started),
        prelude_wait: prelude_wait(&harness, 0),
        warm_answer: warm_done.duration_since(warm_sent),
        warm_prelude_wait: prelude_wait(&harness, 1),
    })
}

fn summary(sorted: &[Duration]) -> String {
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    format!(
        "median {:.1} ms, min {:.1}, p90 {:.1}, max {:.1}",
        ms(at(0.5)),
        ms(at(0.0)),
        ms(at(0.9)),
        ms(at(1.0))
    )
}

/// The size of `binary` once stripped: the file's own size when it has no symbol table,
/// else a stripped copy's (with `strip`, if installed).
fn stripped_size(binary: &Path) -> anyhow::Result<(u64, bool)> {
    let size = std::fs::metadata(binary)?.len();
    let copy = std::env::temp_dir().join(format!("cold-start-strip-{}", std::process::id()));
    std::fs::copy(binary, &copy)?;
    let stripped = std::process::Command::new("strip")
        .arg(&copy)
        .status()
        .is_ok_and(|s| s.success());
    let result = if stripped {
        let stripped_size = std::fs::metadata(&copy)?.len();
        Ok((stripped_size, stripped_size < size))
    } else {
        Ok((size, false))
    };
    let _ = std::fs::remove_file(&copy);
    result
}
