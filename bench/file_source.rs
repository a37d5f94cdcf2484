//! Benchmark of the JSON-lines file source: generates invocation-log records with 1–4 KB
//! bodies to a temporary file, aggregates them on one thread, and prints records/s, MB/s and
//! the process's peak RSS (`VmHWM`).
//!
//! ```text
//! cargo run --release --example file_source -- \
//!     [--records 1000000] [--min-body 1024] [--max-body 4096] [--runs 3] [--gzip] [--keep]
//! ```
//!
//! The file is read from the page cache right after being written, so this measures parsing
//! and aggregation, not the disk. It is a benchmark, not a test: it asserts nothing.

use std::time::Instant;

use anyhow::{Context, bail};
use bedrock_usage_mcp::usage::source::{FileSource, synthetic};
use bedrock_usage_mcp::usage::{Granularity, UsageQuery};
use tokio_util::sync::CancellationToken;

/// Peak resident set size in MiB, from `/proc/self/status`.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() -> anyhow::Result<()> {
    let mut records: u64 = 1_000_000;
    let (mut min_body, mut max_body) = (1024usize, 4096usize);
    let mut runs = 3;
    let mut gzip = false;
    let mut keep = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> anyhow::Result<u64> {
            args.next()
                .with_context(|| format!("{name} needs a number"))?
                .parse()
                .with_context(|| format!("{name} needs a number"))
        };
        match arg.as_str() {
            "--records" => records = number("--records")?,
            "--min-body" => min_body = usize::try_from(number("--min-body")?)?,
            "--max-body" => max_body = usize::try_from(number("--max-body")?)?,
            "--runs" => runs = number("--runs")?.max(1),
            "--gzip" => gzip = true,
            "--keep" => keep = true,
            other => bail!("unknown argument {other}"),
        }
    }

    let name = format!(
        "bench-file-source-{}.jsonl{}",
        std::process::id(),
        if gzip { ".gz" } else { "" }
    );
    let path = std::env::temp_dir().join(name);
    println!(
        "generating {records} records with {min_body}-{max_body} byte bodies into {}",
        path.display()
    );
    let started = Instant::now();
    let bytes = synthetic::write_records(&path, records, min_body..=max_body, 42)?;
    let mb = bytes as f64 / 1e6;
    println!(
        "  wrote {mb:.0} MB in {:.1} s ({:.0} bytes/record on disk)",
        started.elapsed().as_secs_f64(),
        bytes as f64 / records as f64
    );
    println!(
        "  peak RSS after generating: {:.1} MiB",
        peak_rss_mib().unwrap_or(f64::NAN)
    );

    let (start, end) = synthetic::default_window();
    let query = UsageQuery::new(start, end, Granularity::Hour)?;
    let source = FileSource::new(&path);
    let mut rates = Vec::new();
    for run in 1..=runs {
        let started = Instant::now();
        let report = source.collect_blocking(&query, &mut |_, _| {}, &CancellationToken::new())?;
        let secs = started.elapsed().as_secs_f64();
        let counted = report.totals.requests;
        println!(
            "run {run}: {secs:.2} s, {:.0} records/s, {:.0} MB/s of file, {} records counted, \
             {} skipped, peak RSS {:.1} MiB",
            records as f64 / secs,
            mb / secs,
            counted,
            report.skipped_records,
            peak_rss_mib().unwrap_or(f64::NAN)
        );
        if counted != records {
            eprintln!("warning: counted {counted} of {records} records");
        }
        rates.push((records as f64 / secs, mb / secs));
    }
    rates.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (records_per_s, mb_per_s) = rates[rates.len() / 2];
    println!(
        "median of {runs}: {records_per_s:.0} records/s, {mb_per_s:.0} MB/s, peak RSS {:.1} MiB",
        peak_rss_mib().unwrap_or(f64::NAN)
    );
    if keep {
        println!("kept {}", path.display());
    } else {
        std::fs::remove_file(&path)?;
    }
    Ok(())
}
