//! What changed (issue 17): `compare_to: previous_period` and `anomalies`, through the file
//! source on hand-built records with hand-computed numbers: the previous period's counters
//! and change per breakdown entry, entries only the previous period had, `(other)` folded on
//! the current ranking, a planted spike flagged with its evidence, a steady series not
//! flagged, and how many reads each option costs.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use bedrock_usage_mcp::usage::change::{ChangeOptions, ChangePlan};
use bedrock_usage_mcp::usage::report::CompareTo;
use bedrock_usage_mcp::usage::source::{FileSource, SampleSource};
use bedrock_usage_mcp::usage::{
    Counters, Date, Granularity, NoProgress, ProgressSink, Row, SourceError, SourceInfo,
    UsageQuery, UsageReport, UsageSource,
};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// A JSON-lines file of records, removed when dropped.
struct Records(PathBuf);

impl Records {
    /// A file of its own: tests run in parallel and each removes its file when done.
    fn write(name: &str, lines: &[String]) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "usage-change-{name}-{}-{}.jsonl",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, lines.join("\n")).unwrap();
        Records(path)
    }
}

impl Drop for Records {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// One record: `tokens` input tokens, an error when `error`, `team` metadata when given.
fn record(
    at: &str,
    model: &str,
    user: &str,
    team: Option<&str>,
    tokens: u64,
    error: bool,
) -> String {
    let mut r = json!({
        "schemaType": "ModelInvocationLog",
        "timestamp": at,
        "accountId": "111122223333",
        "region": "us-east-1",
        "operation": "Converse",
        "modelId": model,
        "identity": {"arn": user},
        "input": {"inputTokenCount": tokens},
    });
    if let Some(team) = team {
        r["requestMetadata"] = json!({"team": team});
    }
    if error {
        r["errorCode"] = json!("ThrottlingException");
    }
    r.to_string()
}

/// A file source that counts its reads.
struct Counting {
    inner: FileSource,
    reads: AtomicUsize,
}

#[async_trait]
impl UsageSource for Counting {
    async fn collect(
        &self,
        query: &UsageQuery,
        progress: &dyn ProgressSink,
        cancel: &CancellationToken,
    ) -> Result<UsageReport, SourceError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.collect(query, progress, cancel).await
    }

    fn describe(&self) -> SourceInfo {
        self.inner.describe()
    }
}

fn query(start: &str, end: &str, top_n: usize) -> UsageQuery {
    UsageQuery::new(
        start.parse().unwrap(),
        end.parse().unwrap(),
        Granularity::Day,
    )
    .unwrap()
    .with_top_n(top_n)
    .with_group_by_metadata(vec!["team".into()])
    .unwrap()
}

/// The report of `query` with `options` over `records`, and how many reads it took.
async fn read(
    records: &Records,
    query: &UsageQuery,
    options: ChangeOptions,
) -> (UsageReport, usize) {
    let source = Counting {
        inner: FileSource::new(&records.0),
        reads: AtomicUsize::new(0),
    };
    let plan = ChangePlan::new(query, options).unwrap();
    let report = plan
        .collect(&source, &NoProgress, &CancellationToken::new())
        .await
        .unwrap();
    let reads = source.reads.load(Ordering::SeqCst);
    assert_eq!(reads, plan.reads());
    (report, reads)
}

const COMPARE: ChangeOptions = ChangeOptions {
    compare_to: Some(CompareTo::PreviousPeriod),
    anomalies: false,
};

const ANOMALIES: ChangeOptions = ChangeOptions {
    compare_to: None,
    anomalies: true,
};

/// `(key, current total, previous total, absolute change, relative change)` of each row.
fn compared(rows: &[Row]) -> Vec<(String, u64, u64, i64, Option<f64>)> {
    rows.iter()
        .map(|r| {
            let change = r.change.as_ref().unwrap();
            (
                r.key.clone(),
                r.counters.total_tokens,
                r.previous.unwrap().total_tokens,
                change.absolute.total_tokens,
                change.relative.total_tokens,
            )
        })
        .collect()
}

fn comparison_records() -> Records {
    let (u1, u2, u3, u4) = ("arn:u1", "arn:u2", "arn:u3", "arn:u4");
    Records::write(
        "compare",
        &[
            // Before the previous period, and at the report's end: counted nowhere.
            record(
                "2026-10-31T23:59:59Z",
                "A",
                u1,
                Some("search"),
                99_999,
                false,
            ),
            record(
                "2026-11-15T00:00:00Z",
                "A",
                u1,
                Some("search"),
                99_999,
                false,
            ),
            // The previous period, [2026-11-01, 2026-11-08).
            record("2026-11-02T10:00:00Z", "A", u1, Some("search"), 1000, false),
            record("2026-11-03T10:00:00Z", "D", u4, Some("ads"), 700, false),
            record("2026-11-07T23:59:59Z", "B", u2, Some("ads"), 100, false),
            // The report's period, [2026-11-08, 2026-11-15).
            record("2026-11-10T10:00:00Z", "A", u1, Some("search"), 1500, false),
            record("2026-11-11T10:00:00Z", "A", u2, Some("ads"), 300, true),
            record("2026-11-12T10:00:00Z", "B", u1, Some("search"), 200, false),
            record("2026-11-14T10:00:00Z", "C", u3, None, 50, false),
        ],
    )
}

#[tokio::test]
async fn previous_period_counters_and_change_per_entry() {
    let records = comparison_records();
    let q = query("2026-11-08T00:00:00Z", "2026-11-15T00:00:00Z", 2);
    let (report, reads) = read(&records, &q, COMPARE).await;
    assert_eq!(reads, 2, "one extra read");
    let comparison = report.compare_to.as_ref().unwrap();
    assert_eq!(comparison.period.start.to_string(), "2026-11-01T00:00:00Z");
    assert_eq!(comparison.period.end.to_string(), "2026-11-08T00:00:00Z");
    assert_eq!(
        (comparison.totals.requests, comparison.totals.total_tokens),
        (3, 1800)
    );
    assert_eq!(
        (report.totals.requests, report.totals.total_tokens),
        (4, 2050)
    );
    assert_eq!(comparison.change.absolute.total_tokens, 250);
    assert_eq!(comparison.change.relative.total_tokens, Some(0.1389));
    assert_eq!(comparison.change.absolute.errors, 1);
    assert_eq!(comparison.change.relative.errors, None, "previous 0: null");

    // Folded on the current ranking (A, B; C in the tail), then D that only the previous
    // period had, with current zeros; (other) holds C now and nothing before.
    assert_eq!(
        compared(&report.by_model),
        [
            ("A".into(), 1800, 1000, 800, Some(0.8)),
            ("B".into(), 200, 100, 100, Some(1.0)),
            ("D".into(), 0, 700, -700, Some(-1.0)),
            ("(other)".into(), 50, 0, 50, None),
        ]
    );
    assert_eq!(report.by_model[2].counters, Counters::default());
    let teams = &report.by_metadata[0];
    assert_eq!(teams.key, "team");
    assert_eq!(
        compared(&teams.rows),
        [
            ("search".into(), 1700, 1000, 700, Some(0.7)),
            ("ads".into(), 300, 800, -500, Some(-0.625)),
            ("(other)".into(), 50, 0, 50, None),
        ]
    );
    // Both columns of every breakdown still sum to their period's totals.
    for rows in [
        &report.by_region,
        &report.by_model,
        &report.by_user,
        &report.by_operation,
        &report.by_inference_region,
        &teams.rows,
    ] {
        let now: u64 = rows.iter().map(|r| r.counters.total_tokens).sum();
        let before: u64 = rows.iter().map(|r| r.previous.unwrap().total_tokens).sum();
        assert_eq!((now, before), (2050, 1800));
    }
    // The time series is not compared row by row.
    assert!(report.daily.iter().all(|r| r.previous.is_none()));
}

/// Turning the comparison on changes none of the current period's numbers.
#[tokio::test]
async fn the_comparison_keeps_the_current_report() {
    let today = Date::parse("2026-11-25").unwrap();
    let q = UsageQuery::last_days(today, 7, Granularity::Day)
        .unwrap()
        .with_top_n(3)
        .with_group_by_metadata(vec!["team".into()])
        .unwrap();
    let source = SampleSource::for_today(today);
    let cancel = CancellationToken::new();
    let plain = source.collect(&q, &NoProgress, &cancel).await.unwrap();
    let plan = ChangePlan::new(&q, COMPARE).unwrap();
    let compared = plan.collect(&source, &NoProgress, &cancel).await.unwrap();
    let current = |rows: &[Row]| -> Vec<(String, Counters)> {
        rows.iter()
            .filter(|r| !r.counters.is_zero() || r.previous.is_none_or(|p| p.is_zero()))
            .map(|r| (r.key.clone(), r.counters))
            .collect()
    };
    assert_eq!(current(&compared.by_user), current(&plain.by_user));
    assert_eq!(current(&compared.by_model), current(&plain.by_model));
    assert_eq!(
        current(&compared.by_metadata[0].rows),
        current(&plain.by_metadata[0].rows)
    );
    assert_eq!(compared.totals, plain.totals);
    assert_eq!(compared.daily, plain.daily);
    assert_eq!(compared.model_series, plain.model_series);
    assert!(compared.compare_to.unwrap().totals.requests > 0);
}

/// 28 days from 2026-11-01: a steady model (1,000,000 tokens on even days, 1,010,000 on odd
/// ones, 2 errors a day) used by `arn:steady` of team search, and a flat one (200,000 a day)
/// used by `arn:spiky` of team ads, which jumps to 2,000,000 tokens on 2026-11-26 and has 30
/// errors on 2026-11-27 when `spikes` (without: 210,000 tokens on the 26th, a wiggle).
fn anomaly_records(spikes: bool) -> Records {
    let mut lines = Vec::new();
    for day in 1..=28u64 {
        let at = format!("2026-11-{day:02}T12:00:00Z");
        let steady = 1_000_000 + (day % 2) * 10_000;
        lines.push(record(
            &at,
            "steady",
            "arn:steady",
            Some("search"),
            steady,
            false,
        ));
        for _ in 0..2 {
            lines.push(record(&at, "steady", "arn:steady", Some("search"), 0, true));
        }
        let spiky = match (day, spikes) {
            (26, true) => 2_000_000,
            // A 5 % wiggle on a flat baseline (MAD 0) stays under the floor's 10 % * K.
            (26, false) => 210_000,
            _ => 200_000,
        };
        lines.push(record(&at, "spiky", "arn:spiky", Some("ads"), spiky, false));
        if spikes && day == 27 {
            for _ in 0..30 {
                lines.push(record(&at, "spiky", "arn:spiky", Some("ads"), 0, true));
            }
        }
    }
    Records::write(if spikes { "spikes" } else { "steady" }, &lines)
}

/// `(day, dimension, key, metric, value, median, mad, threshold, history)`.
type Evidence = (
    String,
    String,
    Option<String>,
    String,
    u64,
    f64,
    f64,
    f64,
    u32,
);

fn evidence(report: &UsageReport) -> Vec<Evidence> {
    report
        .anomalies
        .as_ref()
        .unwrap()
        .items
        .iter()
        .map(|a| {
            let key = match (&a.metadata_key, &a.key) {
                (Some(meta), Some(key)) => Some(format!("{meta}={key}")),
                (_, key) => key.clone(),
            };
            (
                a.day.clone(),
                a.dimension.clone(),
                key,
                a.metric.clone(),
                a.value,
                a.median,
                a.mad,
                a.threshold,
                a.history_days,
            )
        })
        .collect()
}

fn item(
    day: &str,
    dimension: &str,
    key: Option<&str>,
    metric: &str,
    numbers: (u64, f64, f64, f64),
) -> Evidence {
    (
        day.into(),
        dimension.into(),
        key.map(String::from),
        metric.into(),
        numbers.0,
        numbers.1,
        numbers.2,
        numbers.3,
        14,
    )
}

#[tokio::test]
async fn a_planted_spike_is_flagged_with_its_evidence() {
    let records = anomaly_records(true);
    let q = query("2026-11-22T00:00:00Z", "2026-11-29T00:00:00Z", 20);
    let (report, reads) = read(&records, &q, ANOMALIES).await;
    assert_eq!(reads, 2, "the period, then the 14 days before it");
    let anomalies = report.anomalies.as_ref().unwrap();
    assert_eq!(anomalies.baseline.start.to_string(), "2026-11-08T00:00:00Z");
    assert_eq!(anomalies.baseline.end.to_string(), "2026-11-22T00:00:00Z");
    assert_eq!((anomalies.omitted, anomalies.untracked_records), (0, 0));
    // Tokens on the 26th: the day's total against 7 odd days of 1,210,000 and 7 even of
    // 1,200,000 (median 1,205,000, MAD 5,000, floor 120,500); the flat series against 200,000
    // (MAD 0, floor 20,000). Errors on the 27th: the day's 32 against 2 a day (floor 0.2); the
    // spiky series' 30 against none (threshold 0, above the minimum of 10). The steady series
    // (up to 1 % apart, 2 errors a day) is never flagged.
    let spike = (2_000_000, 200_000.0, 0.0, 300_000.0);
    let errors = (30, 0.0, 0.0, 0.0);
    assert_eq!(
        evidence(&report),
        [
            item("2026-11-27", "day", None, "errors", (32, 2.0, 0.0, 3.0)),
            item("2026-11-27", "model", Some("spiky"), "errors", errors),
            item("2026-11-27", "user", Some("arn:spiky"), "errors", errors),
            item("2026-11-27", "metadata", Some("team=ads"), "errors", errors),
            item(
                "2026-11-26",
                "day",
                None,
                "total_tokens",
                (3_000_000, 1_205_000.0, 5_000.0, 1_807_500.0)
            ),
            item("2026-11-26", "model", Some("spiky"), "total_tokens", spike),
            item(
                "2026-11-26",
                "user",
                Some("arn:spiky"),
                "total_tokens",
                spike
            ),
            item(
                "2026-11-26",
                "metadata",
                Some("team=ads"),
                "total_tokens",
                spike
            ),
        ]
    );
    // The report itself is the period's: the days before it count only as baseline.
    assert_eq!(report.daily.len(), 7);
    assert_eq!(report.daily[0].key, "2026-11-22");
}

#[tokio::test]
async fn a_steady_series_raises_no_alarm() {
    let records = anomaly_records(false);
    let q = query("2026-11-22T00:00:00Z", "2026-11-29T00:00:00Z", 20);
    let (report, _) = read(&records, &q, ANOMALIES).await;
    let anomalies = report.anomalies.unwrap();
    assert_eq!(anomalies.items, []);
    assert_eq!(anomalies.rule.k, 5.0);
}

#[tokio::test]
async fn too_little_history_flags_nothing() {
    // Seven days of data before the spike's day would be enough; six are not.
    let records = anomaly_records(true);
    let q = query("2026-11-26T00:00:00Z", "2026-11-27T00:00:00Z", 20);
    let (flagged, _) = read(&records, &q, ANOMALIES).await;
    assert_eq!(evidence(&flagged).len(), 4, "{:?}", evidence(&flagged));
    let short: Vec<String> = std::fs::read_to_string(&records.0)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("2026-11-0") && !l.contains("2026-11-1"))
        .map(String::from)
        .collect();
    // Left: the 20th to the 28th, so the 26th has six days of history (20th to 25th).
    let short = Records::write("short", &short);
    let (report, _) = read(&short, &q, ANOMALIES).await;
    assert_eq!(report.anomalies.unwrap().items, []);
}

#[tokio::test]
async fn both_options_share_a_long_previous_period() {
    let records = anomaly_records(true);
    let both = ChangeOptions {
        compare_to: Some(CompareTo::PreviousPeriod),
        anomalies: true,
    };
    // 14 days: the previous period is the baseline window, read once.
    let long = query("2026-11-15T00:00:00Z", "2026-11-29T00:00:00Z", 20);
    let (report, reads) = read(&records, &long, both).await;
    assert_eq!(reads, 2);
    let anomalies = report.anomalies.as_ref().unwrap();
    assert_eq!(anomalies.baseline.start.to_string(), "2026-11-01T00:00:00Z");
    assert_eq!(evidence(&report).len(), 8);
    // 7 days: the previous period is too short, so the 14 days are read too.
    let short = query("2026-11-22T00:00:00Z", "2026-11-29T00:00:00Z", 20);
    let (report, reads) = read(&records, &short, both).await;
    assert_eq!(reads, 3);
    assert_eq!(evidence(&report).len(), 8);
    assert!(report.compare_to.is_some());
}

#[test]
fn a_previous_period_before_year_zero_is_refused() {
    let q = UsageQuery::new(
        "0000-01-01T00:00:00Z".parse().unwrap(),
        "0000-01-08T00:00:00Z".parse().unwrap(),
        Granularity::Day,
    )
    .unwrap();
    let error = ChangePlan::new(&q, COMPARE).unwrap_err();
    assert!(error.contains("year 0000"), "{error}");
    assert!(ChangePlan::new(&q, ANOMALIES).is_err());
    assert_eq!(
        ChangePlan::new(&q, ChangeOptions::default())
            .unwrap()
            .reads(),
        1
    );
}

/// The JSON of a compared row: previous counters and change beside the counters.
#[tokio::test]
async fn compared_rows_serialise_previous_and_change() {
    let records = comparison_records();
    let q = query("2026-11-08T00:00:00Z", "2026-11-15T00:00:00Z", 2);
    let (report, _) = read(&records, &q, COMPARE).await;
    let value = serde_json::to_value(&report).unwrap();
    let d = &value["by_model"][2];
    assert_eq!(d["key"], "D");
    assert_eq!(d["total_tokens"], 0);
    assert_eq!(d["previous"]["total_tokens"], 700);
    assert_eq!(d["change"]["absolute"]["total_tokens"], -700);
    assert_eq!(d["change"]["relative"]["total_tokens"], -1.0);
    assert_eq!(
        value["by_model"][3]["change"]["relative"]["total_tokens"],
        Value::Null
    );
    assert_eq!(value["compare_to"]["kind"], "previous_period");
    assert!(value.get("anomalies").is_none());
    assert!(value["daily"][0].get("previous").is_none());
}

/// The report tool over MCP: `compare_to` and `anomalies` as arguments, the planted spike in
/// `structuredContent` and in the text; a bad `compare_to` is a tool error that says why.
#[tokio::test]
async fn the_tool_and_the_prompt_use_both() {
    use bedrock_usage_mcp::store::MemoryStore;
    use bedrock_usage_mcp::tools::{FixedSource, usage_server};
    use bedrock_usage_mcp::transport::TransportConfig;
    use mcp_testkit::app::{App, body_json};
    use std::sync::Arc;

    let records = anomaly_records(true);
    let source = Arc::new(FixedSource(Arc::new(FileSource::new(&records.0))));
    let app = App::serving(
        usage_server(source, None, None),
        Arc::new(MemoryStore::new()),
        TransportConfig::default(),
    );
    let call = |id: u64, arguments: Value| app.call_tool(id, "get_bedrock_usage_report", arguments);
    let result = call(
        1,
        json!({
            "start": "2026-11-22T00:00:00Z", "end": "2026-11-29T00:00:00Z",
            "group_by_metadata": ["team"], "compare_to": "previous_period", "anomalies": true,
        }),
    )
    .await;
    assert_eq!(result["isError"], false, "{result:.400}");
    let report = &result["structuredContent"];
    assert_eq!(
        report["compare_to"]["period"]["start"],
        "2026-11-15T00:00:00Z"
    );
    let items = report["anomalies"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 8);
    assert_eq!(items[5]["key"], "spiky");
    assert_eq!(items[5]["threshold"], 300_000.0);
    assert!(report["by_model"][0]["change"]["absolute"].is_object());
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("\nAnomalies\n"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("model spiky ")
                && l.contains("2026-11-26")
                && l.contains("2,000,000"))
    );

    let refused = call(2, json!({ "days": 7, "compare_to": "last_year" })).await;
    assert_eq!(refused["isError"], true);
    let message = refused["content"][0]["text"].as_str().unwrap();
    assert!(message.contains("previous_period"), "{message}");

    // The review prompt asks for the comparison and the anomalies and carries both sections.
    let response = app
        .modern(
            3,
            "prompts/get",
            json!({ "name": "review_bedrock_usage", "arguments": { "days": "7" } }),
            json!({}),
        )
        .await;
    let answer = body_json(response).await;
    let messages = answer["result"]["messages"].as_array().expect("messages");
    let instructions = messages[0]["content"]["text"].as_str().unwrap();
    assert!(instructions.contains("previous period") && instructions.contains("anomal"));
    let resource = messages[1]["content"]["resource"]["text"].as_str().unwrap();
    let json: Value = serde_json::from_str(resource).unwrap();
    assert_eq!(json["compare_to"]["kind"], "previous_period");
    assert!(json["anomalies"]["rule"].is_object());
    let text = messages[2]["content"]["text"].as_str().unwrap();
    assert!(
        text.contains("\nCompared with the previous period, "),
        "{text:.600}"
    );
    assert!(text.contains("\nAnomalies\n"));
}

/// The bundled sample's planted spike (the support agent's retry loop the day before today)
/// is what a report grouped by team, compared and with anomalies, flags for that user.
#[tokio::test]
async fn the_bundled_sample_shows_its_planted_spike() {
    let today = Date::parse("2026-11-25").unwrap();
    let q = UsageQuery::last_days(today, 7, Granularity::Day)
        .unwrap()
        .with_group_by_metadata(vec!["team".into()])
        .unwrap();
    let both = ChangeOptions {
        compare_to: Some(CompareTo::PreviousPeriod),
        anomalies: true,
    };
    let report = ChangePlan::new(&q, both)
        .unwrap()
        .collect(
            &SampleSource::for_today(today),
            &NoProgress,
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    let flagged = evidence(&report);
    let support = "arn:aws:sts::111122223333:assumed-role/SupportAgentRole/support-agent";
    for (dimension, key, metric) in [
        ("user", support, "total_tokens"),
        ("user", support, "errors"),
        ("metadata", "team=support", "total_tokens"),
        (
            "model",
            "anthropic.claude-3-5-haiku-20241022-v1:0",
            "total_tokens",
        ),
    ] {
        assert!(
            flagged.iter().any(|f| f.0 == "2026-11-24"
                && f.1 == dimension
                && f.2.as_deref() == Some(key)
                && f.3 == metric),
            "{dimension} {key} {metric} not in {flagged:#?}"
        );
    }
    // Nothing about the support agent on the other days.
    assert!(
        !flagged
            .iter()
            .any(|f| f.0 != "2026-11-24" && f.2.as_deref() == Some(support)),
        "{flagged:#?}"
    );
}
