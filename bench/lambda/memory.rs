//! What a warm invocation of the release binary costs at each Lambda memory size, measured
//! through the local API Gateway + Lambda Runtime API of `mcp_testkit::lambda` (crates/testkit).
//!
//! ```text
//! cargo build --release --bin bedrock-usage-mcp
//! cargo run --release --example lambda -- memory [--runs 30] [--cgroup] [--binary PATH]
//! ```
//!
//! Lambda gives a function CPU in proportion to its memory (1,769 MB = one vCPU), so on a
//! busy machine wall times say little. For each operation this measures the **CPU time** the
//! instance spends on one warm invocation (the sum of its threads' on-CPU nanoseconds from
//! `/proc/PID/task/*/schedstat`, cross-checked against `utime + stime` of `/proc/PID/stat`
//! over all runs), and its **wall time** inside the function (harness: event handed over ->
//! answer complete). The duration at memory M is then derived as
//! `cpu / (M / 1769) + wait`, where `wait = wall - cpu` on this (unlimited) machine is the time
//! the invocation spent not computing. Peak RSS (`VmHWM`) says whether 128 MB fits.
//!
//! `--cgroup` cross-checks the derivation: it runs the instance again inside a cgroup v1 `cpu`
//! controller (`/sys/fs/cgroup/cpu/<name>`, needs root) with `cpu.cfs_quota_us` set to
//! `M / 1769` of `cpu.cfs_period_us`, for each M, and reports the measured wall times next to
//! the derived ones. The operations are those of a host using the bundled sample (written to
//! a JSON-lines file, as Lambda has no bundled sample): `initialize`, `notifications/initialized`,
//! `tools/list`, the report of the last day (a small tool call) and of the last 30 days, with
//! the in-memory store (a DynamoDB round trip adds wait, not CPU worth measuring here).
//!
//! A benchmark, not a test: it reports.

use std::path::Path;
use std::time::Duration;

use bedrock_usage_mcp::client::sse::SseDecoder;
use bedrock_usage_mcp::usage::Date;
use bedrock_usage_mcp::usage::source::sample::sample_lines;
use mcp_testkit::jsonrpc;
use mcp_testkit::lambda::{InstanceSpec, LambdaHarness, Options};
use serde_json::{Value, json};

use super::{PROTOCOL, initialize_params, median, ms, target_dir};

/// Memory sizes to report, in MB.
const SIZES: [u32; 4] = [128, 256, 512, 1024];
/// The memory at which Lambda gives one full vCPU.
const MB_PER_VCPU: f64 = 1769.0;
const CGROUP: &str = "/sys/fs/cgroup/cpu/bedrock-usage-mcp-lambda-memory";

/// One measured operation: a name and its JSON-RPC request (without id; null params: a
/// notification).
struct Operation {
    name: &'static str,
    method: &'static str,
    params: Value,
}

fn initialize() -> Operation {
    Operation {
        name: "initialize (new session)",
        method: "initialize",
        params: initialize_params("lambda-memory"),
    }
}

fn operations() -> Vec<Operation> {
    let report =
        |days: u32| json!({ "name": "get_bedrock_usage_report", "arguments": { "days": days } });
    vec![
        initialize(),
        Operation {
            name: "notifications/initialized",
            method: "notifications/initialized",
            params: Value::Null,
        },
        Operation {
            name: "tools/list",
            method: "tools/list",
            params: json!({}),
        },
        Operation {
            name: "report, 1 day (small tool call)",
            method: "tools/call",
            params: report(1),
        },
        Operation {
            name: "report, 30 days (bundled sample)",
            method: "tools/call",
            params: report(30),
        },
    ]
}

/// CPU and wall time of one invocation, and the size of its answer's body.
#[derive(Debug, Clone, Copy)]
struct Sample {
    cpu: Duration,
    wall: Duration,
    bytes: usize,
}

/// What one instance measured: per operation, its samples; plus ticks and peak RSS.
struct Measured {
    samples: Vec<Vec<Sample>>,
    /// utime + stime over all runs of each operation (clock ticks turned into time).
    stat_cpu: Vec<Duration>,
    /// The instance's first request (a session's `initialize`).
    first: Sample,
    /// CPU time from process start to its first `/next` poll (Lambda's init phase).
    init_cpu: Duration,
    peak_rss_kib: u64,
}

pub fn run(mut args: impl Iterator<Item = String>) -> anyhow::Result<()> {
    let mut runs = 30usize;
    let mut binary = target_dir().join("release/bedrock-usage-mcp");
    let mut cgroup = false;
    let mut period_us = 20_000u64;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = args.next().unwrap_or_default().parse()?,
            "--binary" => binary = args.next().unwrap_or_default().into(),
            "--cgroup" => cgroup = true,
            "--period-us" => period_us = args.next().unwrap_or_default().parse()?,
            other => anyhow::bail!(
                "unknown argument {other:?} (--runs N, --binary P, --cgroup, --period-us N)"
            ),
        }
    }
    anyhow::ensure!(
        binary.exists(),
        "{} is missing: run `cargo build --release --bin bedrock-usage-mcp` first",
        binary.display()
    );
    let sample = std::env::temp_dir().join(format!("lambda-memory-{}.jsonl", std::process::id()));
    let lines = sample_lines(Date::today());
    let text = lines.join("\n") + "\n";
    std::fs::write(&sample, &text)?;
    println!(
        "bundled sample: {} records, {} bytes of JSON lines (30 days), written to {}",
        lines.len(),
        text.len(),
        sample.display()
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let ops = operations();
    let free = runtime.block_on(measure(&binary, &sample, &ops, runs, None))?;
    print_derived(&ops, &free, runs);

    if cgroup {
        println!(
            "\nCPU limited by cgroup v1 cpu.cfs_quota_us = M/{MB_PER_VCPU} x cpu.cfs_period_us \
             ({period_us} us; {CGROUP}), median wall ms:"
        );
        println!(
            "| operation | {} |",
            SIZES
                .map(|m| format!("{m} MB measured / derived"))
                .join(" | ")
        );
        println!("|---|{}", "---|".repeat(SIZES.len()));
        let mut rows: Vec<Vec<String>> = vec![Vec::new(); ops.len()];
        for memory in SIZES {
            let limited = runtime.block_on(measure(
                &binary,
                &sample,
                &ops,
                runs,
                Some((memory, period_us)),
            ))?;
            for (i, row) in rows.iter_mut().enumerate() {
                let measured = median(limited.samples[i].iter().map(|s| s.wall));
                let derived = derive(&free.samples[i], memory);
                row.push(format!("{:.1} / {:.1}", ms(measured), ms(derived)));
            }
            println!(
                "  ({memory} MB: peak RSS {:.1} MiB)",
                limited.peak_rss_kib as f64 / 1024.0
            );
        }
        for (op, row) in ops.iter().zip(rows) {
            println!("| {} | {} |", op.name, row.join(" | "));
        }
        let _ = std::fs::remove_dir(CGROUP);
    }
    let _ = std::fs::remove_file(&sample);
    Ok(())
}

/// Starts one instance (inside the CPU-limited cgroup when `limit_mb` is given), opens a
/// session, warms up, and measures `runs` invocations of each operation.
async fn measure(
    binary: &Path,
    sample: &Path,
    ops: &[Operation],
    runs: usize,
    limit: Option<(u32, u64)>,
) -> anyhow::Result<Measured> {
    let memory_mb = limit.map_or(512, |(memory, _)| memory);
    let harness = LambdaHarness::new(Options {
        memory_mb,
        ..Options::default()
    });
    let usage_file = sample.display().to_string();
    let spec = match limit {
        None => InstanceSpec::new(binary).args(["--usage-file", usage_file.as_str()]),
        Some((memory, period_us)) => {
            limit_cgroup(memory, period_us)?;
            // The shell joins the cgroup, then becomes the server: every thread it starts,
            // and its initialisation, run under the limit.
            InstanceSpec::new("/bin/sh").args([
                "-c".to_owned(),
                format!(
                    "echo $$ > {CGROUP}/cgroup.procs && exec '{}' --usage-file '{usage_file}'",
                    binary.display()
                ),
            ])
        }
    };
    let instance = harness.add_instance(spec);
    harness.wait_ready(instance, Duration::from_secs(60));
    let pid = harness
        .pid(instance)
        .ok_or_else(|| anyhow::anyhow!("no pid"))?;
    let client = reqwest::Client::new();
    let mut session = Session {
        client,
        url: harness.url(),
        id: None,
        next_id: 0,
    };

    let init_cpu = cpu_now(pid)?;
    let before = init_cpu;
    let mark = harness.invocations().len();
    let init = initialize();
    session.call(init.method, init.params).await?;
    let (wall, bytes) = wall_of(&harness, mark)?;
    let first = Sample {
        cpu: cpu_now(pid)?.saturating_sub(before),
        wall,
        bytes,
    };
    session.notify("notifications/initialized").await?;
    for op in ops
        .iter()
        .filter(|op| op.method != "initialize" && !op.params.is_null())
    {
        for _ in 0..3 {
            session.call(op.method, op.params.clone()).await?;
        }
    }

    let mut samples = Vec::new();
    let mut stat_cpu = Vec::new();
    for op in ops {
        let mut of_op = Vec::with_capacity(runs);
        let stat_before = stat_cpu_now(pid)?;
        for _ in 0..runs {
            let before = cpu_now(pid)?;
            let mark = harness.invocations().len();
            if op.method == "initialize" {
                // A new session each time, on the same instance; the measuring one stays.
                let mut other = Session {
                    client: session.client.clone(),
                    url: session.url.clone(),
                    id: None,
                    next_id: 0,
                };
                other.call(op.method, op.params.clone()).await?;
            } else if op.params.is_null() {
                session.notify(op.method).await?;
            } else {
                session.call(op.method, op.params.clone()).await?;
            }
            // The answer is complete at the client once the function posted its last byte;
            // the instance is idle (and frozen) again before its next event.
            let (wall, bytes) = wall_of(&harness, mark)?;
            of_op.push(Sample {
                cpu: cpu_now(pid)?.saturating_sub(before),
                wall,
                bytes,
            });
        }
        stat_cpu.push(stat_cpu_now(pid)?.saturating_sub(stat_before));
        samples.push(of_op);
    }
    let peak_rss_kib = peak_rss_kib(pid)?;
    let violations = harness.violations();
    anyhow::ensure!(violations.is_empty(), "framing violations: {violations:?}");
    Ok(Measured {
        samples,
        stat_cpu,
        first,
        init_cpu,
        peak_rss_kib,
    })
}

/// Prints the unlimited run: CPU, wall, wait, and the derived duration and cost per size.
fn print_derived(ops: &[Operation], measured: &Measured, runs: usize) {
    println!(
        "\nwarm invocations, {runs} runs each, unlimited CPU (medians; cpu/stat = utime+stime mean):"
    );
    println!(
        "| operation | cpu ms | cpu/stat ms | wall ms | wait ms | answer bytes | {} |",
        SIZES.map(|m| format!("{m} MB ms")).join(" | ")
    );
    println!("|---|---|---|---|---|---|{}", "---|".repeat(SIZES.len()));
    let row = |name: &str, samples: &[Sample], stat: Option<Duration>| {
        let cpu = median(samples.iter().map(|s| s.cpu));
        let wall = median(samples.iter().map(|s| s.wall));
        let stat = stat.map_or("-".to_owned(), |d| format!("{:.2}", ms(d) / runs as f64));
        let mut bytes: Vec<usize> = samples.iter().map(|s| s.bytes).collect();
        bytes.sort_unstable();
        println!(
            "| {name} | {:.2} | {stat} | {:.2} | {:.2} | {} | {} |",
            ms(cpu),
            ms(wall),
            ms(wall.saturating_sub(cpu)),
            bytes[bytes.len() / 2],
            SIZES
                .map(|m| format!("{:.1}", ms(derive(samples, m))))
                .join(" | ")
        );
    };
    row(
        "first request of the instance (initialize)",
        &[measured.first],
        None,
    );
    for (i, op) in ops.iter().enumerate() {
        row(op.name, &measured.samples[i], Some(measured.stat_cpu[i]));
    }
    println!(
        "init (process start -> first /next): cpu {:.2} ms, so {} at {} MB",
        ms(measured.init_cpu),
        SIZES
            .map(|m| format!(
                "{:.0} ms",
                ms(measured.init_cpu) / (f64::from(m) / MB_PER_VCPU).min(1.0)
            ))
            .join(", "),
        SIZES.map(|m| m.to_string()).join(" / ")
    );
    println!(
        "peak RSS (VmHWM) after all runs: {:.1} MiB",
        measured.peak_rss_kib as f64 / 1024.0
    );
    println!(
        "derived duration at M MB = cpu / (M / {MB_PER_VCPU}) + wait; GB-s per invocation = M/1024 x duration"
    );
}

/// Duration at `memory_mb` from unlimited samples: median CPU scaled to the vCPU share, plus
/// the median time spent not computing.
fn derive(samples: &[Sample], memory_mb: u32) -> Duration {
    let cpu = median(samples.iter().map(|s| s.cpu));
    let wall = median(samples.iter().map(|s| s.wall));
    let share = (f64::from(memory_mb) / MB_PER_VCPU).min(1.0);
    Duration::from_secs_f64(cpu.as_secs_f64() / share) + wall.saturating_sub(cpu)
}

/// A legacy-era session through the gateway.
struct Session {
    client: reqwest::Client,
    url: String,
    id: Option<String>,
    next_id: u64,
}

impl Session {
    async fn call(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        self.next_id += 1;
        let body = jsonrpc::request(self.next_id, method, params);
        let (is_sse, text) = self.send(body).await?;
        // JSON or SSE: the answer is the last JSON-RPC message carrying our id.
        let messages = if is_sse {
            let events = SseDecoder::default().push(text.as_bytes());
            events.into_iter().map(|e| e.data).collect()
        } else {
            vec![text.clone()]
        };
        let answer = messages
            .iter()
            .filter_map(|m| serde_json::from_str::<Value>(m).ok())
            .rfind(|m| m["id"] == self.next_id)
            .ok_or_else(|| anyhow::anyhow!("{method}: no answer in {text:.300}"))?;
        anyhow::ensure!(
            answer.get("error").is_none() && answer["result"]["isError"] != true,
            "{method} failed: {answer}"
        );
        Ok(answer)
    }

    async fn notify(&mut self, method: &str) -> anyhow::Result<()> {
        self.send(jsonrpc::notification(method, Value::Null))
            .await
            .map(drop)
    }

    /// Posts `body`; returns whether the answer is an SSE stream, and its text.
    async fn send(&mut self, body: Value) -> anyhow::Result<(bool, String)> {
        let mut request = self
            .client
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-protocol-version", PROTOCOL);
        if let Some(id) = &self.id {
            request = request.header("mcp-session-id", id);
        }
        let response = request.body(body.to_string()).send().await?;
        if let Some(id) = response.headers().get("mcp-session-id") {
            self.id = Some(id.to_str()?.to_owned());
        }
        let status = response.status();
        let is_sse = response
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
        let text = response.text().await?;
        anyhow::ensure!(status.is_success(), "{status}: {text:.300}");
        Ok((is_sse, text))
    }
}

/// How long invocation `index` ran inside the function (event handed over -> answer
/// complete), and its answer's body bytes.
fn wall_of(harness: &LambdaHarness, index: usize) -> anyhow::Result<(Duration, usize)> {
    // The client has the whole answer; the harness records completion as the stream ends.
    for _ in 0..1000 {
        if let Some(invocation) = harness.invocations().get(index)
            && let (Some(start), Some(end)) = (invocation.dispatched, invocation.completed)
        {
            return Ok((end.saturating_sub(start), invocation.body_bytes));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    anyhow::bail!("invocation {index} did not complete")
}

/// On-CPU time of every thread of `pid`, from `/proc/PID/task/*/schedstat` (nanoseconds).
fn cpu_now(pid: u32) -> anyhow::Result<Duration> {
    let mut total = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let path = task?.path().join("schedstat");
        if let Ok(text) = std::fs::read_to_string(path) {
            total += text
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Ok(Duration::from_nanos(total))
}

/// `utime + stime` of `pid` (all threads, dead ones included), from `/proc/PID/stat`.
fn stat_cpu_now(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // After `pid (comm)`: state is field 0, utime field 11, stime field 12.
    let ticks: u64 = fields
        .get(11..13)
        .ok_or_else(|| anyhow::anyhow!("short /proc/{pid}/stat"))?
        .iter()
        .map(|f| f.parse::<u64>().unwrap_or(0))
        .sum();
    // USER_HZ is 100 on Linux.
    Ok(Duration::from_millis(ticks * 10))
}

fn peak_rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no VmHWM in /proc/{pid}/status"))
}

/// Creates the cgroup (if needed) and gives it `memory_mb / 1769` of one CPU, in slices of
/// `period_us` (short, so that a few milliseconds of work cannot run unthrottled on a
/// period's whole quota; the kernel's minimum quota is 1,000 us).
fn limit_cgroup(memory_mb: u32, period_us: u64) -> anyhow::Result<()> {
    std::fs::create_dir_all(CGROUP).map_err(|e| {
        anyhow::anyhow!("{CGROUP}: {e} (--cgroup needs root and a cgroup v1 cpu controller)")
    })?;
    let quota = (period_us as f64 * f64::from(memory_mb) / MB_PER_VCPU).round() as u64;
    anyhow::ensure!(
        quota >= 1000,
        "a quota of {quota} us is below the kernel's 1,000 us: raise --period-us"
    );
    // Lower the quota before the period, so that the pair is valid at every step.
    std::fs::write(format!("{CGROUP}/cpu.cfs_quota_us"), "-1")?;
    std::fs::write(format!("{CGROUP}/cpu.cfs_period_us"), period_us.to_string())?;
    std::fs::write(format!("{CGROUP}/cpu.cfs_quota_us"), quota.to_string())?;
    Ok(())
}
