//! A record with a 5 MB `inputBodyJson` is counted without building its body: the process's
//! peak memory grows by about the line itself, while parsing the same line into a
//! `serde_json::Value` would grow it several times over.
//!
//! One test in its own binary, so that no other test moves the peak (`VmHWM`) it measures.
#![allow(clippy::unwrap_used)]

use std::io::{BufWriter, Write};

use bedrock_usage_mcp::usage::source::FileSource;
use bedrock_usage_mcp::usage::{Granularity, UsageQuery};
use tokio_util::sync::CancellationToken;

/// Peak resident set size in KiB, where `/proc` exists.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

const BODY_BYTES: usize = 5 * 1024 * 1024;

#[test]
fn huge_bodies_are_skipped_in_bounded_memory() {
    let dir = std::env::temp_dir().join(format!("usage-huge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("huge.jsonl");
    let small = r#"{"timestamp":"2026-10-02T10:00:00Z","input":{"inputTokenCount":1},"output":{"outputTokenCount":2}}"#;
    {
        // Written piece by piece: the test itself never holds the 5 MB line.
        let mut out = BufWriter::new(std::fs::File::create(&path).unwrap());
        writeln!(out, "{small}").unwrap();
        out.write_all(
            br#"{"timestamp":"2026-10-03T10:00:00Z","input":{"inputBodyJson":{"messages":["#,
        )
        .unwrap();
        // Many small objects: cheap as text, expensive as a tree of maps.
        let message = br#"{"role":"user","content":[{"text":"hi"}]},"#;
        for _ in 0..BODY_BYTES / message.len() {
            out.write_all(message).unwrap();
        }
        out.write_all(br#"{"role":"user","content":[]}]},"inputTokenCount":5000,"cacheReadInputTokenCount":7},"output":{"outputBodyJson":{"text":""#)
            .unwrap();
        for _ in 0..1024 {
            out.write_all(&[b'y'; 1024]).unwrap();
        }
        writeln!(out, r#""}},"outputTokenCount":3}}}}"#).unwrap();
        writeln!(out, "{small}").unwrap();
    }
    let line_bytes = std::fs::metadata(&path).unwrap().len();
    assert!(line_bytes > BODY_BYTES as u64);

    let query = UsageQuery::new(
        "2026-10-01T00:00:00Z".parse().unwrap(),
        "2026-11-01T00:00:00Z".parse().unwrap(),
        Granularity::Day,
    )
    .unwrap();
    let before = peak_rss_kib();
    let report = FileSource::new(&path)
        .collect_blocking(&query, &mut |_, _| {}, &CancellationToken::new())
        .unwrap();
    let after = peak_rss_kib();
    assert_eq!(report.totals.requests, 3);
    assert_eq!(report.totals.input_tokens, 5_002);
    assert_eq!(report.totals.cache_read_input_tokens, 7);
    assert_eq!(report.totals.output_tokens, 7);
    assert_eq!(report.skipped_records, 0);

    // With a 1 MiB line limit the huge record is skipped and the rest still counted.
    let report = FileSource::new(&path)
        .with_max_line_bytes(1024 * 1024)
        .collect_blocking(&query, &mut |_, _| {}, &CancellationToken::new())
        .unwrap();
    assert_eq!(report.totals.requests, 2);
    assert_eq!(report.skipped_records, 1);

    // The line buffer grows to hold the line (up to twice its size while growing); nothing
    // else may grow with the body.
    let budget_kib = 2 * line_bytes / 1024 + 4 * 1024;
    if let (Some(before), Some(after)) = (before, after) {
        let grown = after.saturating_sub(before);
        eprintln!("peak RSS grew by {grown} KiB for a {line_bytes}-byte line");
        assert!(
            grown < budget_kib,
            "grew {grown} KiB, budget {budget_kib} KiB"
        );

        // The same line as a `Value` tree blows the budget: the check above can fail.
        let text = std::fs::read_to_string(&path).unwrap();
        let huge = text.lines().nth(1).unwrap();
        let start = peak_rss_kib().unwrap();
        let tree: serde_json::Value = serde_json::from_str(huge).unwrap();
        let grown_by_tree = peak_rss_kib().unwrap().saturating_sub(start);
        eprintln!("a Value tree of the line grew peak RSS by {grown_by_tree} KiB");
        assert!(tree.is_object());
        assert!(grown_by_tree > budget_kib, "{grown_by_tree} KiB");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
