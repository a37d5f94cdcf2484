//! The JSON-lines file source: a hand-written fixture with exact numbers, gzip and plain
//! giving identical reports, malformed and oversized lines counted as skipped, progress by
//! bytes, cancellation, and I/O errors.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use bedrock_usage_mcp::usage::source::{FileSource, synthetic};
use bedrock_usage_mcp::usage::{
    Granularity, NoProgress, ProgressSink, SourceError, UsageQuery, UsageReport, UsageSource,
};
use flate2::Compression;
use flate2::write::GzEncoder;
use tokio_util::sync::CancellationToken;

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("usage-file-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn query(start: &str, end: &str, granularity: Granularity) -> UsageQuery {
    UsageQuery::new(start.parse().unwrap(), end.parse().unwrap(), granularity).unwrap()
}

fn october() -> UsageQuery {
    query(
        "2026-10-01T00:00:00Z",
        "2026-11-01T00:00:00Z",
        Granularity::Day,
    )
}

fn collect(path: &Path, query: &UsageQuery) -> Result<UsageReport, SourceError> {
    FileSource::new(path).collect_blocking(query, &mut |_, _| {}, &CancellationToken::new())
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/usage/invocations.jsonl")
}

/// `[requests, input, output, cache read, cache write, total, errors]` of a row.
fn numbers(c: &bedrock_usage_mcp::usage::Counters) -> [u64; 7] {
    [
        c.requests,
        c.input_tokens,
        c.output_tokens,
        c.cache_read_input_tokens,
        c.cache_write_input_tokens,
        c.total_tokens,
        c.errors,
    ]
}

#[test]
fn fixture_gives_hand_computed_numbers() {
    let q = query(
        "2026-11-20T00:00:00Z",
        "2026-11-22T00:00:00Z",
        Granularity::Day,
    );
    let report = collect(&fixture(), &q).unwrap();
    assert_eq!(numbers(&report.totals), [5, 139, 339, 4000, 1000, 5478, 1]);
    // Missing timestamp, truncated record, plain text; the blank line is not a record.
    assert_eq!(report.skipped_records, 3);
    let daily: Vec<_> = report
        .daily
        .iter()
        .map(|r| (r.key.as_str(), numbers(&r.counters)))
        .collect();
    assert_eq!(
        daily,
        [
            ("2026-11-20", [3, 139, 332, 4000, 1000, 5471, 0]),
            ("2026-11-21", [2, 0, 7, 0, 0, 7, 1]),
        ]
    );
    let keys = |rows: &[bedrock_usage_mcp::usage::Row]| {
        rows.iter()
            .map(|r| (r.key.clone(), r.counters.requests, r.counters.total_tokens))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys(&report.by_region),
        [("us-east-1".into(), 3, 4464), ("eu-west-1".into(), 2, 1014)]
    );
    assert_eq!(
        keys(&report.by_model),
        [
            ("us.anthropic.claude-sonnet-4-20250514-v1:0".into(), 1, 4420),
            (
                "arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/abc123"
                    .into(),
                1,
                1014
            ),
            ("anthropic.claude-3-5-haiku-20241022-v1:0".into(), 1, 37),
            ("amazon.nova-pro-v1:0".into(), 2, 7),
        ]
    );
    assert_eq!(
        keys(&report.by_user),
        [
            (
                "arn:aws:sts::123456789012:assumed-role/BedrockInvokeRole/app-1".into(),
                3,
                4464
            ),
            ("arn:aws:iam::123456789012:user/carol".into(), 2, 1014),
        ]
    );
    assert_eq!(
        keys(&report.by_operation),
        [
            ("ConverseStream".into(), 1, 4420),
            ("Converse".into(), 2, 1021),
            ("InvokeModel".into(), 1, 37),
            ("InvokeModelWithResponseStream".into(), 1, 0),
        ]
    );

    // By hour, the +02:00 record lands at 08:00 UTC.
    let q = query(
        "2026-11-20T08:00:00Z",
        "2026-11-20T10:00:00Z",
        Granularity::Hour,
    );
    let report = collect(&fixture(), &q).unwrap();
    let hourly: Vec<_> = report
        .daily
        .iter()
        .map(|r| (r.key.as_str(), r.counters.requests))
        .collect();
    assert_eq!(hourly, [("2026-11-20T08", 2), ("2026-11-20T09", 1)]);
}

#[test]
fn gzip_and_plain_files_give_identical_reports() {
    let dir = TempDir::new("gz");
    let plain = dir.path("records.jsonl");
    let gz = dir.path("records.jsonl.gz");
    synthetic::write_records(&plain, 3_000, 200..=2_000, 3).unwrap();
    synthetic::write_records(&gz, 3_000, 200..=2_000, 3).unwrap();
    assert!(std::fs::metadata(&gz).unwrap().len() < std::fs::metadata(&plain).unwrap().len());

    // A gzip file under a name without `.gz` is recognised by its magic bytes.
    let disguised = dir.path("records.log");
    std::fs::copy(&gz, &disguised).unwrap();
    let hourly = october().with_top_n(2);
    for q in [october(), hourly] {
        let from_plain = collect(&plain, &q).unwrap();
        assert_eq!(from_plain.totals.requests, 3_000);
        assert_eq!(collect(&gz, &q).unwrap(), from_plain);
        assert_eq!(collect(&disguised, &q).unwrap(), from_plain);
    }

    // Concatenated gzip members (as `cat a.gz b.gz` makes) are read through.
    let doubled = dir.path("doubled.gz");
    let mut bytes = std::fs::read(&gz).unwrap();
    bytes.extend(std::fs::read(&gz).unwrap());
    std::fs::write(&doubled, bytes).unwrap();
    assert_eq!(
        collect(&doubled, &october()).unwrap().totals.requests,
        6_000
    );
}

#[test]
fn malformed_and_partial_lines_are_skipped() {
    let dir = TempDir::new("malformed");
    let path = dir.path("mixed.jsonl");
    let good = r#"{"timestamp":"2026-10-02T10:00:00Z","modelId":"m","input":{"inputTokenCount":10},"output":{"outputTokenCount":5}}"#;
    let lines = [
        // A byte-order mark before the first record is tolerated.
        format!("\u{feff}{good}"),
        good.to_owned(),
        format!("{good}\r"),
        String::new(),
        "   ".to_owned(),
        good[..good.len() / 2].to_owned(),
        "{}".to_owned(),
        "[1,2,3]".to_owned(),
        r#"{"timestamp":"2026-10-02"}"#.to_owned(),
        r#"{"timestamp":"2026-10-02T10:00:00Z","output":{"outputTokenCount":"5"}}"#.to_owned(),
        r#"{"timestamp":"2026-10-02T10:00:00Z","input":{"inputTokenCount":-3}}"#.to_owned(),
        good.replace("\"m\"", "\"\u{7f}\\ud800\""),
        good.to_owned(),
    ];
    let mut bytes = lines.join("\n").into_bytes();
    // Invalid UTF-8 inside a string, then a final record without a trailing newline.
    bytes
        .extend_from_slice(b"\n{\"timestamp\":\"2026-10-02T10:00:00Z\",\"region\":\"\xff\xfe\"}\n");
    bytes.extend_from_slice(good.as_bytes());
    std::fs::write(&path, bytes).unwrap();

    let report = collect(&path, &october()).unwrap();
    assert_eq!(report.totals.requests, 5);
    assert_eq!(report.totals.total_tokens, 75);
    assert_eq!(report.skipped_records, 8);
}

#[test]
fn lines_over_the_limit_are_skipped_without_buffering() {
    let dir = TempDir::new("long");
    let path = dir.path("long.jsonl");
    let small = r#"{"timestamp":"2026-10-02T10:00:00Z","input":{"inputTokenCount":1}}"#;
    let long = format!(
        r#"{{"timestamp":"2026-10-02T10:00:00Z","input":{{"inputTokenCount":1000,"inputBodyJson":"{}"}}}}"#,
        "x".repeat(10_000)
    );
    std::fs::write(&path, format!("{small}\n{long}\n{small}\n{long}")).unwrap();

    let limited = FileSource::new(&path).with_max_line_bytes(4_096);
    let report = limited
        .collect_blocking(&october(), &mut |_, _| {}, &CancellationToken::new())
        .unwrap();
    assert_eq!(report.totals.input_tokens, 2);
    assert_eq!(report.skipped_records, 2);

    let report = collect(&path, &october()).unwrap();
    assert_eq!(report.totals.input_tokens, 2_002);
    assert_eq!(report.skipped_records, 0);
}

#[derive(Default)]
struct Recorder {
    phases: Mutex<Vec<String>>,
    progress: Mutex<Vec<(u64, Option<u64>)>>,
    cancel_at_first_progress: Option<CancellationToken>,
}

impl ProgressSink for Recorder {
    fn phase(&self, message: &str) {
        self.phases.lock().unwrap().push(message.to_owned());
    }
    fn progress(&self, done: u64, total: Option<u64>) {
        self.progress.lock().unwrap().push((done, total));
        if let Some(token) = &self.cancel_at_first_progress
            && done > 0
        {
            token.cancel();
        }
    }
}

#[tokio::test]
async fn progress_counts_bytes_up_to_the_file_size() {
    let dir = TempDir::new("progress");
    for name in ["p.jsonl", "p.jsonl.gz"] {
        let path = dir.path(name);
        let size = synthetic::write_records(&path, 6_000, 500..=1_500, 9).unwrap();
        let recorder = Recorder::default();
        let source = FileSource::new(&path);
        let report = source
            .collect(&october(), &recorder, &CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(report.totals.requests, 6_000);
        assert_eq!(report.source, source.describe());
        let phases = recorder.phases.lock().unwrap();
        assert_eq!(phases.len(), 1);
        assert!(phases[0].contains(name), "{phases:?}");
        let progress = recorder.progress.lock().unwrap();
        assert!(progress.len() >= 2, "{progress:?}");
        assert!(
            progress.windows(2).all(|w| w[0].0 <= w[1].0),
            "{progress:?}"
        );
        assert!(progress.iter().all(|p| p.1 == Some(size)));
        assert_eq!(progress.last(), Some(&(size, Some(size))));
    }
}

#[tokio::test]
async fn cancellation_stops_the_file_source() {
    let dir = TempDir::new("cancel");
    let path = dir.path("big.jsonl");
    let size = synthetic::write_records(&path, 40_000, 300..=800, 4).unwrap();
    let source = FileSource::new(&path);

    // Already cancelled: nothing is reported.
    let token = CancellationToken::new();
    token.cancel();
    let result = source.collect(&october(), &NoProgress, &token).await;
    assert!(matches!(result, Err(SourceError::Cancelled)), "{result:?}");

    // Cancelled on the first progress report (after about 1 MiB): stops long before the end.
    let token = CancellationToken::new();
    let mut last_done = 0;
    let result = source.collect_blocking(
        &october(),
        &mut |done, _| {
            last_done = done;
            if done > 0 {
                token.cancel();
            }
        },
        &token,
    );
    assert!(matches!(result, Err(SourceError::Cancelled)), "{result:?}");
    assert!(last_done < size / 4, "read {last_done} of {size} bytes");

    // The same through the async trait, cancelled from the progress sink.
    let token = CancellationToken::new();
    let recorder = Recorder {
        cancel_at_first_progress: Some(token.clone()),
        ..Recorder::default()
    };
    let result = source.collect(&october(), &recorder, &token).await;
    assert!(matches!(result, Err(SourceError::Cancelled)), "{result:?}");
    let progress = recorder.progress.lock().unwrap();
    assert!(progress.iter().all(|p| p.0 < size), "{progress:?}");
}

#[tokio::test]
async fn unreadable_files_are_io_errors() {
    let dir = TempDir::new("errors");
    let missing = dir.path("missing.jsonl");
    let err = FileSource::new(&missing)
        .collect(&october(), &NoProgress, &CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SourceError::Io { path, .. } if path == &missing),
        "{err:?}"
    );
    assert!(err.to_string().contains("missing.jsonl"));

    // A gzip file cut short is an error, not a silently partial report.
    let gz = dir.path("cut.gz");
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    for _ in 0..100 {
        encoder
            .write_all(br#"{"timestamp":"2026-10-02T10:00:00Z"}"#)
            .unwrap();
        encoder.write_all(b"\n").unwrap();
    }
    let bytes = encoder.finish().unwrap();
    std::fs::write(&gz, &bytes[..bytes.len() - 10]).unwrap();
    assert!(matches!(
        collect(&gz, &october()),
        Err(SourceError::Io { .. })
    ));

    // An empty file is an empty report.
    let empty = dir.path("empty.jsonl");
    std::fs::write(&empty, b"").unwrap();
    let report = collect(&empty, &october()).unwrap();
    assert_eq!(report.totals.requests, 0);
    assert_eq!(report.daily.len(), 31);
}
