//! The bundled sample: deterministic for a given `today`, re-dated so its last day is today,
//! varied enough to exercise every part of a report, and small.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Instant;

use bedrock_usage_mcp::usage::source::SampleSource;
use bedrock_usage_mcp::usage::source::sample::{SAMPLE_DAYS, sample_lines};
use bedrock_usage_mcp::usage::{
    Date, Granularity, InvocationRecord, NoProgress, ProgressSink, SourceError, SourceKind,
    UsageQuery, UsageSource,
};
use tokio_util::sync::CancellationToken;

fn day(s: &str) -> Date {
    Date::parse(s).unwrap()
}

#[test]
fn the_same_today_gives_the_same_records() {
    let today = day("2026-11-25");
    let a = sample_lines(today);
    assert_eq!(a, sample_lines(today));
    let b = sample_lines(day("2026-11-26"));
    assert_ne!(a, b);
}

#[test]
fn records_cover_the_thirty_days_ending_today() {
    for today in [day("2026-11-25"), day("2024-03-01"), day("2025-01-01")] {
        let lines = sample_lines(today);
        let records: Vec<InvocationRecord<'_>> = lines
            .iter()
            .filter_map(|l| InvocationRecord::parse_str(l).ok())
            .collect();
        let first = today.checked_add_days(1 - i64::from(SAMPLE_DAYS)).unwrap();
        let dates: BTreeSet<Date> = records.iter().map(|r| r.timestamp.date()).collect();
        assert_eq!(dates.last(), Some(&today));
        assert_eq!(dates.first(), Some(&first));
        assert!(
            records.windows(2).all(|w| w[0].timestamp <= w[1].timestamp),
            "not chronological"
        );
        assert!(
            (2_000..=5_000).contains(&records.len()),
            "{}",
            records.len()
        );
        assert_eq!(lines.len() - records.len(), 6, "malformed lines");
    }
}

#[test]
fn the_sample_is_varied() {
    let lines = sample_lines(day("2026-11-25"));
    let records: Vec<InvocationRecord<'_>> = lines
        .iter()
        .filter_map(|l| InvocationRecord::parse_str(l).ok())
        .collect();
    let distinct = |f: fn(&InvocationRecord<'_>) -> Option<String>| {
        records.iter().filter_map(f).collect::<BTreeSet<String>>()
    };
    let models = distinct(|r| r.model_id.as_deref().map(Into::into));
    assert_eq!(models.len(), 6, "{models:?}");
    assert!(models.contains("us.anthropic.claude-sonnet-4-20250514-v1:0"));
    assert!(models.contains("anthropic.claude-3-5-haiku-20241022-v1:0"));
    assert!(models.contains("amazon.nova-pro-v1:0"));
    assert!(models.contains("meta.llama3-3-70b-instruct-v1:0"));
    assert!(models.contains("cohere.command-r-plus-v1:0"));
    assert!(models.iter().any(|m| m.starts_with("arn:aws:bedrock:")));
    assert_eq!(distinct(|r| r.region.as_deref().map(Into::into)).len(), 3);
    assert_eq!(
        distinct(|r| r.identity_arn.as_deref().map(Into::into)).len(),
        8
    );
    assert_eq!(
        distinct(|r| r.account_id.as_deref().map(Into::into)).len(),
        2
    );
    assert_eq!(
        distinct(|r| r.operation.as_deref().map(Into::into)).len(),
        4
    );
    let errors = distinct(|r| r.error_code.as_deref().map(Into::into));
    assert!(errors.contains("ThrottlingException"), "{errors:?}");
    assert!(records.iter().filter(|r| r.is_error()).count() > 20);
    assert!(records.iter().any(|r| r.cache_read_input_tokens > 0));
    assert!(records.iter().any(|r| r.cache_write_input_tokens > 0));
    // Bodies are present and small.
    let value: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert!(!value["input"]["inputBodyJson"].is_null());
    assert!(lines.iter().all(|l| l.len() < 4_096));
}

#[derive(Default)]
struct Recorder(Mutex<Vec<(u64, Option<u64>)>>);

impl ProgressSink for Recorder {
    fn phase(&self, _message: &str) {}
    fn progress(&self, done: u64, total: Option<u64>) {
        self.0.lock().unwrap().push((done, total));
    }
}

#[tokio::test]
async fn the_sample_source_reports_the_last_thirty_days() {
    let today = day("2026-11-25");
    let source = SampleSource::for_today(today);
    assert_eq!(source.describe().kind, SourceKind::BundledSample);
    let query = UsageQuery::last_days(today, 30, Granularity::Day).unwrap();
    let recorder = Recorder::default();
    let started = Instant::now();
    let report = source
        .collect(&query, &recorder, &CancellationToken::new())
        .await
        .unwrap();
    eprintln!("sample report in {:?}", started.elapsed());
    assert_eq!(report.daily.len(), 30);
    assert_eq!(report.daily.last().unwrap().key, "2026-11-25");
    assert!(report.daily.iter().all(|r| r.counters.requests > 0));
    assert_eq!(report.skipped_records, 6);
    assert_eq!(report.source.kind, SourceKind::BundledSample);
    let last = *recorder.0.lock().unwrap().last().unwrap();
    assert_eq!(last, (last.0, Some(last.0)));
    assert!(last.0 > 2_000);

    // Same `today`, same report.
    let again = SampleSource::for_today(today)
        .collect(&query, &NoProgress, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(again, report);
}

#[tokio::test]
async fn the_default_clock_ends_the_sample_today() {
    let source = SampleSource::new();
    let before = Date::today();
    let today = source.today();
    let after = Date::today();
    // Either read may straddle midnight UTC.
    assert!(
        today == before || today == after,
        "{today} vs {before}..{after}"
    );
    let query = UsageQuery::last_days(today, 1, Granularity::Hour).unwrap();
    let report = source
        .collect(&query, &NoProgress, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(report.daily.len(), 24);
    assert!(report.totals.requests > 0);
}

#[tokio::test]
async fn a_cancelled_sample_returns_cancelled() {
    let token = CancellationToken::new();
    token.cancel();
    let result = SampleSource::for_today(day("2026-11-25"))
        .collect(
            &UsageQuery::last_days(day("2026-11-25"), 30, Granularity::Day).unwrap(),
            &NoProgress,
            &token,
        )
        .await;
    assert!(matches!(result, Err(SourceError::Cancelled)));
}
