//! Fuzz target: Bedrock invocation-log records, mutated from real shapes, through the record
//! parser, the aggregator and every rendering of the report (text, JSON, PNG chart).
//!
//! Each input is a JSON Lines document (the corpus is `tests/data/fuzz/usage_records/*.jsonl`),
//! aggregated under three queries (daily with few rows kept, hourly keeping one, and a region
//! filter). What must hold for every input, however broken:
//!
//! - nothing panics (parsing, aggregation, rendering);
//! - the report counts exactly the lines the record parser accepts inside the period and the
//!   filter, and skips exactly the non-blank lines it rejects; its totals are the saturating
//!   sums of those records' counts;
//! - every view of the totals agrees: the time series, each breakdown (with its `(other)`
//!   row), the list of all models and, bucket by bucket, the chart's per-model series;
//! - the output is bounded: text lines at most 400 characters, a number of lines set by the
//!   buckets and `top_n`, no control characters but newlines (a logged value cannot forge
//!   lines of the report), JSON that reads back as the same report and grows at most linearly
//!   with the input, and a PNG of at most 2 MiB.
//!
//! `FUZZ_CASES` (default 100) and `FUZZ_SEED` choose the random cases; see `tests/fuzz/mod.rs`.

mod fuzz;

use std::panic::{AssertUnwindSafe, catch_unwind};

use bedrock_usage_mcp::usage::chart::render_png;
use bedrock_usage_mcp::usage::source::synthetic::{RecordGenerator, Rng};
use bedrock_usage_mcp::usage::{
    Aggregator, Counters, Granularity, InvocationRecord, Row, SourceInfo, SourceKind, Timestamp,
    UsageFilters, UsageQuery, UsageReport, render_text,
};
use fuzz::FuzzRun;
use fuzz::mutate::{Dictionary, mutate_bytes, mutate_value, odd_value, pick_str};
use serde_json::{Value, json};

const DEFAULT_CASES: u64 = 100;
const REAL_RECORDS: &str = include_str!("data/usage/invocations.jsonl");
const MAX_TEXT_LINE_CHARS: usize = 400;
const MAX_PNG_BYTES: usize = 2 * 1024 * 1024;

const RECORD: Dictionary = Dictionary {
    keys: &[
        "schemaType",
        "schemaVersion",
        "timestamp",
        "accountId",
        "identity",
        "arn",
        "region",
        "requestId",
        "operation",
        "modelId",
        "inferenceRegion",
        "requestMetadata",
        "team",
        "errorCode",
        "input",
        "output",
        "inputTokenCount",
        "cacheReadInputTokenCount",
        "cacheWriteInputTokenCount",
        "outputTokenCount",
        "inputBodyJson",
        "outputBodyJson",
    ],
    strings: &[
        "2026-11-20T08:53:17Z",
        "2026-11-21T23:59:59.999999999Z",
        "2026-11-20T08:53:17.1234567891234Z",
        "2026-11-20T23:59:60Z",
        "2026-11-20T08:53:17+14:00",
        "2026-11-20T08:53:17-00:00",
        "2026-11-20t08:53:17z",
        "2026-11-20 08:53:17Z",
        "2026-02-30T00:00:00Z",
        "2026-12-01T00:00:00Z",
        "2026-10-31T23:59:59.999Z",
        "9999-12-31T23:59:59Z",
        "0000-01-01T00:00:00Z",
        "+002026-11-20T08:53:17Z",
        "us-east-1",
        "eu-west-1",
        "anthropic.claude-3-5-haiku-20241022-v1:0",
        "amazon.nova-pro-v1:0",
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-pro-v1:0",
        "(other)",
        "(unknown)",
        "Converse",
        "InvokeModelWithResponseStream",
        "ThrottlingException",
        "arn:aws:sts::123456789012:assumed-role/App/s1",
    ],
};

/// Fields a targeted edit sets, as JSON pointers.
const FIELDS: [&str; 15] = [
    "/timestamp",
    "/accountId",
    "/identity/arn",
    "/region",
    "/operation",
    "/modelId",
    "/inferenceRegion",
    "/requestMetadata",
    "/requestMetadata/team",
    "/errorCode",
    "/input/inputTokenCount",
    "/input/cacheReadInputTokenCount",
    "/input/cacheWriteInputTokenCount",
    "/output/outputTokenCount",
    "/input/inputBodyJson",
];

#[test]
fn records_survive_the_parser_the_aggregator_and_every_rendering() {
    let mut run = FuzzRun::from_env("usage_records", DEFAULT_CASES);
    let corpus = run.corpus();
    for (name, document) in &corpus {
        let problems = check_document(document, Chart::Always);
        run.check(&format!("corpus file {name}"), document, problems);
    }
    for index in run.case_indices() {
        if run.enough() {
            break;
        }
        let mut rng = run.rng(index);
        let document = generate(&mut rng, &corpus);
        let chart = if rng.chance(20) {
            Chart::Always
        } else {
            Chart::IfBig
        };
        let problems = check_document(&document, chart);
        run.check(&run.case_name(index), &document, problems);
    }
    run.finish();
}

// ------------------------------------------------------------------------------------------
// Generating documents
// ------------------------------------------------------------------------------------------

/// A document: a corpus file, real records or synthetic ones, then edits line by line.
fn generate(rng: &mut Rng, corpus: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = match rng.below(4) {
        0 => rng
            .pick(corpus)
            .map(|(_, doc)| doc.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect())
            .unwrap_or_default(),
        1 => {
            let real: Vec<&str> = REAL_RECORDS.lines().collect();
            (0..rng.in_range(1..=8))
                .map(|_| rng.pick(&real).copied().unwrap_or_default().into())
                .collect()
        }
        _ => synthetic(rng),
    };
    let edits = rng.in_range(1..=6);
    for _ in 0..edits {
        let at = rng.below(lines.len() as u64) as usize;
        let Some(line) = lines.get_mut(at) else {
            break;
        };
        edit_line(rng, line);
    }
    if rng.chance(20) {
        // Copies of one line: sums that saturate, keys seen many times.
        if let Some(line) = rng.pick(&lines).cloned() {
            for _ in 0..rng.in_range(1..=30) {
                lines.push(line.clone());
            }
        }
    }
    lines.join(&b'\n')
}

/// Synthetic records over November 2026, sometimes each with its own model (to fill the
/// breakdowns past `top_n` and the chart past its seven series).
fn synthetic(rng: &mut Rng) -> Vec<Vec<u8>> {
    let start = timestamp("2026-11-01T00:00:00Z");
    let end = timestamp("2026-12-01T00:00:00Z");
    let count = rng.in_range(1..=40);
    let mut generator = RecordGenerator::with_window(rng.next_u64(), count, 0..=200, start, end);
    let distinct_models = rng.chance(30);
    (0..count)
        .map(|i| {
            let mut line = Vec::new();
            generator.next_record(&mut line);
            if distinct_models && let Ok(mut value) = serde_json::from_slice::<Value>(&line) {
                value["modelId"] = json!(format!("model-{i}"));
                line = value.to_string().into_bytes();
            }
            line
        })
        .collect()
}

/// One edit of one line: a field set to an odd value, a structural edit, or a byte edit.
fn edit_line(rng: &mut Rng, line: &mut Vec<u8>) {
    let parsed = serde_json::from_slice::<Value>(line).ok();
    match (rng.below(10), parsed) {
        (0..=3, Some(mut value)) => {
            let field = pick_str(rng, &FIELDS);
            let new = if field.ends_with("Count") && rng.chance(50) {
                json!(u64::MAX - rng.below(3))
            } else {
                odd_value(rng, &RECORD)
            };
            set_field(&mut value, field, new);
            *line = value.to_string().into_bytes();
        }
        (4..=6, Some(mut value)) => {
            mutate_value(rng, &mut value, &RECORD);
            *line = value.to_string().into_bytes();
        }
        _ => mutate_bytes(rng, line),
    }
}

/// Sets the value at `pointer`, making the parent object if it is missing.
fn set_field(value: &mut Value, pointer: &str, new: Value) {
    let Some((parent, key)) = pointer.rsplit_once('/') else {
        return;
    };
    if value.pointer(parent).is_none_or(|p| !p.is_object())
        && let Some(slot) = value.pointer_mut(parent.rsplit_once('/').map_or("", |(p, _)| p))
        && let Some(object) = slot.as_object_mut()
    {
        object.insert(
            parent.rsplit('/').next().unwrap_or("").to_owned(),
            json!({}),
        );
    }
    if let Some(Value::Object(object)) = value.pointer_mut(parent) {
        object.insert(key.to_owned(), new);
    }
}

// ------------------------------------------------------------------------------------------
// What must hold
// ------------------------------------------------------------------------------------------

/// The four queries every document is aggregated under, with a name for messages.
fn queries() -> Vec<(&'static str, UsageQuery)> {
    let month = UsageQuery::new(
        timestamp("2026-11-01T00:00:00Z"),
        timestamp("2026-12-01T00:00:00Z"),
        Granularity::Day,
    )
    .expect("a month");
    let two_days = UsageQuery::new(
        timestamp("2026-11-20T00:00:00Z"),
        timestamp("2026-11-22T00:00:00Z"),
        Granularity::Hour,
    )
    .expect("two days");
    let region = UsageFilters {
        region: Some("us-east-1".to_owned()),
        ..UsageFilters::default()
    };
    let by_team = month
        .clone()
        .with_top_n(2)
        .with_group_by_metadata(vec!["team".to_owned()])
        .expect("a valid key");
    vec![
        ("daily, top 3", month.clone().with_top_n(3)),
        ("hourly, top 1", two_days.with_top_n(1)),
        ("daily, us-east-1", month.with_filters(region)),
        ("daily, by team, top 2", by_team),
    ]
}

/// When a report is also drawn as a chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chart {
    Always,
    /// When a count is past 2^53 (where `f64` loses integers) or past `u64` when summed.
    IfBig,
    Never,
}

impl Chart {
    fn draw(self, report: &UsageReport) -> bool {
        match self {
            Chart::Always => true,
            Chart::IfBig => report.totals.total_tokens >= 1 << 53,
            Chart::Never => false,
        }
    }
}

/// Every problem of one document, under every query; a panic is one of them.
fn check_document(document: &[u8], chart: Chart) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, (name, query)) in queries().into_iter().enumerate() {
        let chart = if i == 0 { chart } else { Chart::Never };
        let outcome = catch_unwind(AssertUnwindSafe(|| check_query(document, &query, chart)));
        match outcome {
            Ok(found) => problems.extend(found.into_iter().map(|p| format!("[{name}] {p}"))),
            Err(panic) => problems.push(format!("[{name}] panicked: {}", panic_text(&panic))),
        }
    }
    problems
}

fn check_query(document: &[u8], query: &UsageQuery, chart: Chart) -> Vec<String> {
    let mut problems = Vec::new();
    let mut aggregator = Aggregator::new(query, SourceInfo::local(SourceKind::File));
    let mut expected = Counters::default();
    let mut skipped = 0u64;
    for line in document.split(|b| *b == b'\n') {
        aggregator.add_line(line);
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        match InvocationRecord::parse(line) {
            Ok(record) if counted(query, &record) => expected.add(&counts(&record)),
            Ok(_) => {}
            Err(_) => skipped += 1,
        }
    }
    let report = aggregator.finish();
    if report.totals != expected {
        problems.push(format!(
            "totals {:?}, but the accepted records sum to {expected:?}",
            report.totals
        ));
    }
    if report.skipped_records != skipped {
        problems.push(format!(
            "{} records skipped, but the parser rejects {skipped} lines",
            report.skipped_records
        ));
    }
    problems.extend(views_agree(&report));
    problems.extend(text_is_bounded(&report, query.top_n()));
    problems.extend(json_is_bounded(&report, document.len()));
    // A PNG takes about 100 ms in a debug build: the chart is drawn under the first query
    // only, for the corpus, a fifth of the random cases, and every report with counts big
    // enough to overflow its arithmetic.
    if !chart.draw(&report) {
        return problems;
    }
    match render_png(&report) {
        Ok(png) if !png.starts_with(b"\x89PNG\r\n\x1a\n") => problems.push("not a PNG".into()),
        Ok(png) if png.len() > MAX_PNG_BYTES => {
            problems.push(format!("a PNG of {} bytes", png.len()));
        }
        Ok(_) => {}
        Err(e) => problems.push(format!("no chart: {e}")),
    }
    problems
}

/// Whether the aggregator must count `record` for `query`: in the period and, for the
/// filters these queries use, in the region.
fn counted(query: &UsageQuery, record: &InvocationRecord<'_>) -> bool {
    let region = query.filters().region.as_deref();
    query.contains(record.timestamp) && region.is_none_or(|r| record.region.as_deref() == Some(r))
}

/// A record's counts, computed here from its fields.
fn counts(record: &InvocationRecord<'_>) -> Counters {
    Counters {
        requests: 1,
        input_tokens: record.input_tokens,
        output_tokens: record.output_tokens,
        cache_read_input_tokens: record.cache_read_input_tokens,
        cache_write_input_tokens: record.cache_write_input_tokens,
        total_tokens: [
            record.output_tokens,
            record.cache_read_input_tokens,
            record.cache_write_input_tokens,
        ]
        .into_iter()
        .fold(record.input_tokens, u64::saturating_add),
        errors: u64::from(record.error_code.as_deref().is_some_and(|c| !c.is_empty())),
    }
}

fn sum(rows: &[Row]) -> Counters {
    let mut total = Counters::default();
    for row in rows {
        total.add(&row.counters);
    }
    total
}

/// The time series, each breakdown and the chart's series all add up to the totals.
fn views_agree(report: &UsageReport) -> Vec<String> {
    let mut problems = Vec::new();
    let views = [
        ("daily", report.daily.as_slice()),
        ("by_region", &report.by_region),
        ("by_model", &report.by_model),
        ("by_user", &report.by_user),
        ("by_operation", &report.by_operation),
        ("by_inference_region", &report.by_inference_region),
        ("all_models", &report.all_models),
    ];
    let metadata = report
        .by_metadata
        .iter()
        .map(|b| ("by_metadata", b.rows.as_slice()));
    for (name, rows) in views.into_iter().chain(metadata) {
        if sum(rows) != report.totals {
            problems.push(format!("{name} sums to {:?}", sum(rows)));
        }
    }
    let profiles: Vec<_> = (report.by_inference_profile.iter())
        .map(|r| r.row.clone())
        .collect();
    if sum(&profiles) != report.totals {
        problems.push(format!("by_inference_profile sums to {:?}", sum(&profiles)));
    }
    for (i, bucket) in report.daily.iter().enumerate() {
        let charted = report
            .model_series
            .iter()
            .map(|s| s.tokens.get(i).copied().unwrap_or(0))
            .fold(0, u64::saturating_add);
        if charted != bucket.counters.total_tokens {
            problems.push(format!(
                "bucket {}: the model series hold {charted} tokens, the series {}",
                bucket.key, bucket.counters.total_tokens
            ));
        }
    }
    problems
}

fn text_is_bounded(report: &UsageReport, top_n: usize) -> Vec<String> {
    let mut problems = Vec::new();
    let text = render_text(report);
    let tables = 6 + report.by_metadata.len();
    let most_lines = 40 + report.daily.len() + tables * (top_n + 4) + 2 * report.warnings.len();
    let lines = text.lines().count();
    if lines > most_lines {
        problems.push(format!("the text has {lines} lines (at most {most_lines})"));
    }
    if let Some(long) = text
        .lines()
        .find(|l| l.chars().count() > MAX_TEXT_LINE_CHARS)
    {
        problems.push(format!(
            "a text line of {} characters: {long:.200}",
            long.chars().count()
        ));
    }
    if let Some(c) = text.chars().find(|c| c.is_control() && *c != '\n') {
        problems.push(format!("the text holds the control character {c:?}"));
    }
    problems
}

fn json_is_bounded(report: &UsageReport, input_bytes: usize) -> Vec<String> {
    let mut problems = Vec::new();
    let json = match serde_json::to_string(report) {
        Ok(json) => json,
        Err(e) => return vec![format!("the report is not JSON: {e}")],
    };
    let rows = report.daily.len() + report.all_models.len() + 4 * report.by_model.len() + 8;
    let most = 8192 + 600 * rows + 24 * input_bytes;
    if json.len() > most {
        problems.push(format!("{} bytes of JSON (at most {most})", json.len()));
    }
    // The chart's series and the list of all models are not part of the JSON contract.
    let contract = UsageReport {
        model_series: Vec::new(),
        all_models: Vec::new(),
        cost_cells: Default::default(),
        ..report.clone()
    };
    match serde_json::from_str::<UsageReport>(&json) {
        Ok(back) if back == contract => {}
        Ok(_) => problems.push("the JSON reads back as another report".into()),
        Err(e) => problems.push(format!("the JSON does not read back: {e}")),
    }
    problems
}

fn timestamp(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).expect("a timestamp")
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// Good records pass, and are counted (a check of the checks: they must not call good input
/// bad, nor pass because nothing was counted).
#[test]
fn unmutated_records_pass_and_count() {
    let mut rng = Rng::new(7);
    let document = [synthetic(&mut rng), synthetic(&mut rng)]
        .concat()
        .join(&b'\n');
    for document in [REAL_RECORDS.as_bytes(), &document] {
        let problems = check_document(document, Chart::Always);
        assert!(problems.is_empty(), "{problems:#?}");
        let (_, query) = &queries()[0];
        let mut aggregator = Aggregator::new(query, SourceInfo::local(SourceKind::File));
        for line in document.split(|b| *b == b'\n') {
            aggregator.add_line(line);
        }
        let report = aggregator.finish();
        assert!(report.totals.requests > 0, "nothing counted");
        if document != REAL_RECORDS.as_bytes() {
            let lines = document.split(|b| *b == b'\n').count();
            assert_eq!(report.totals.requests, lines as u64);
        }
    }
}
