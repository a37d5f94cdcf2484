//! The CloudWatch usage sources. One generated dataset goes through every path and gives the
//! same structured report: the file source (a temporary `.jsonl`), the FilterLogEvents scan
//! against `moto_server` (records put with PutLogEvents), and Logs Insights against a local
//! fake of the CloudWatch Logs JSON API that answers with rows worked out here by plain loops
//! over the events (not the aggregator) and checks the query text it receives. Also: a result
//! of 10,000 rows makes the source split its slice and the report stays exact; the failing
//! statuses are clear errors; cancellation sends StopQuery; throttling is retried; a recorded
//! response gives hand-computed numbers; the selector picks log groups and regions and makes
//! clients lazily.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use axum::http::StatusCode;
use axum::response::Response;
use bedrock_usage_mcp::usage::source::cloudwatch::{
    CallerLogGroups, ClientCache, InsightsOptions, LogsClient, MAX_RESULT_ROWS, ScanOptions,
    query_text,
};
use bedrock_usage_mcp::usage::source::synthetic::{MODELS, RecordGenerator};
use bedrock_usage_mcp::usage::source::{
    CloudWatchMode, CloudWatchSelector, FileSource, InsightsSource, ScanSource,
};
use bedrock_usage_mcp::usage::{
    Counters, Date, Granularity, NoProgress, ProgressSink, SourceError, SourceKind, Timestamp,
    UsageFilters, UsageQuery, UsageReport, UsageSource,
};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use mcp_testkit::logs_stub::{self, LogsStub, fast_insights, fast_retries, json_response};
use mcp_testkit::moto::{self, Moto};

// ---------------------------------------------------------------------------------------------
// The dataset

/// One log event: its CloudWatch time and its message (a record, or not).
#[derive(Debug, Clone)]
struct Event {
    at_ms: i64,
    message: String,
}

struct Dataset {
    /// Whole UTC days, ending at today's midnight (moto keeps only the last 14 days).
    start: Timestamp,
    end: Timestamp,
    /// Chronological.
    events: Vec<Event>,
}

const RECORDS: u64 = 2_500;
const DAYS: i64 = 10;
/// The generator's application inference profile.
const APP_PROFILE: &str = MODELS[5];

/// The generated records over the last ten days, plus three events that are not records.
fn dataset() -> &'static Dataset {
    static DATASET: OnceLock<Dataset> = OnceLock::new();
    DATASET.get_or_init(|| {
        let today = Date::today();
        let start = today.checked_add_days(-DAYS).unwrap().start();
        let end = today.start();
        let mut generator = RecordGenerator::with_window(0xC10D, RECORDS, 40..=200, start, end);
        let mut events = Vec::new();
        for _ in 0..RECORDS {
            let mut line = Vec::new();
            generator.next_record(&mut line);
            let message = String::from_utf8(line).unwrap();
            let value: Value = serde_json::from_str(&message).unwrap();
            let at = Timestamp::parse_rfc3339(value["timestamp"].as_str().unwrap()).unwrap();
            events.push(Event {
                at_ms: at.unix_millis(),
                message,
            });
        }
        let day_ms = 86_400_000;
        let s = start.unix_millis();
        for (at_ms, message) in [
            (s + day_ms + 3_600_000, "plain text: not an invocation record".to_owned()),
            (
                s + 2 * day_ms + 1_234,
                r#"{"timestamp":"2026-01-01T00:00:00Z","modelId":"amazon.nova-pro-v1:"#.to_owned(),
            ),
            (
                s + 3 * day_ms + 99,
                r#"{"modelId":"amazon.nova-pro-v1:0","region":"us-east-1","input":{"inputTokenCount":5}}"#
                    .to_owned(),
            ),
        ] {
            events.push(Event { at_ms, message });
        }
        events.sort_by_key(|e| e.at_ms);
        Dataset { start, end, events }
    })
}

/// The reports compared, each over the dataset.
fn queries() -> Vec<(&'static str, UsageQuery)> {
    let d = dataset();
    let whole = UsageQuery::new(d.start, d.end, Granularity::Day).unwrap();
    let mid_start = d
        .start
        .checked_add_seconds(2 * 86_400 + 6 * 3_600 + 1_800)
        .unwrap();
    let hourly = UsageQuery::new(
        mid_start,
        mid_start.checked_add_seconds(2 * 86_400 + 3_600).unwrap(),
        Granularity::Hour,
    )
    .unwrap()
    .with_top_n(3);
    let filtered = UsageQuery::new(d.start, d.end, Granularity::Day)
        .unwrap()
        .with_filters(UsageFilters {
            region: Some("us-east-1".into()),
            aws_account_id: Some("111122223333".into()),
            model_id: Some("amazon.nova-pro-v1:0".into()),
            ..UsageFilters::default()
        });
    let by_team = UsageQuery::new(d.start, d.end, Granularity::Day)
        .unwrap()
        .with_top_n(3)
        .with_group_by_metadata(vec!["team".into(), "project".into()])
        .unwrap();
    let mut research = UsageFilters {
        inference_region: Some("us-east-2".into()),
        ..UsageFilters::default()
    };
    research.metadata.insert("team".into(), "research".into());
    let research = UsageQuery::new(d.start, d.end, Granularity::Day)
        .unwrap()
        .with_filters(research)
        .with_group_by_metadata(vec!["team".into()])
        .unwrap();
    let by_user = UsageQuery::new(d.start, d.end, Granularity::Day)
        .unwrap()
        .with_filters(UsageFilters {
            user: Some("arn:aws:iam::111122223333:user/carol".into()),
            ..UsageFilters::default()
        });
    let by_profile = UsageQuery::new(d.start, d.end, Granularity::Day)
        .unwrap()
        .with_filters(UsageFilters {
            inference_profile: Some(APP_PROFILE.into()),
            ..UsageFilters::default()
        });
    vec![
        ("whole period, daily", whole),
        ("one application inference profile", by_profile),
        ("mid-day start, hourly, top 3", hourly),
        ("region + account + model", filtered),
        ("one user", by_user),
        ("by team and project, top 3", by_team),
        ("team research run in us-east-2, by team", research),
    ]
}

/// What an independent count over the dataset says the totals of `query` are.
fn expected_totals(query: &UsageQuery) -> (Counters, u64) {
    let mut totals = Counters::default();
    let mut skipped = 0u64;
    let f = query.filters();
    for e in &dataset().events {
        let Some(v) = serde_json::from_str::<Value>(&e.message)
            .ok()
            .filter(|v| v["timestamp"].is_string())
        else {
            skipped += 1;
            continue;
        };
        let at = Timestamp::parse_rfc3339(v["timestamp"].as_str().unwrap()).unwrap();
        let matches = |want: &Option<String>, have: &Value| {
            want.as_deref().is_none_or(|w| have.as_str() == Some(w))
        };
        if !query.contains(at)
            || !matches(&f.region, &v["region"])
            || !matches(&f.aws_account_id, &v["accountId"])
            || !matches(&f.model_id, &v["modelId"])
            || !matches(&f.user, &v["identity"]["arn"])
            || !matches(&f.inference_region, &v["inferenceRegion"])
            || !matches(&f.inference_profile, &v["modelId"])
            || !f
                .metadata
                .iter()
                .all(|(k, want)| v["requestMetadata"][k].as_str() == Some(want.as_str()))
        {
            continue;
        }
        let n = |x: &Value| x.as_u64().unwrap_or(0);
        totals.add(&Counters::one(
            n(&v["input"]["inputTokenCount"]),
            n(&v["output"]["outputTokenCount"]),
            n(&v["input"]["cacheReadInputTokenCount"]),
            n(&v["input"]["cacheWriteInputTokenCount"]),
            v["errorCode"].is_string(),
        ));
    }
    (totals, skipped)
}

/// The unreadable events whose CloudWatch time is in the period (what the CloudWatch sources
/// can see; the file source counts every unreadable line of its file).
fn unreadable_in_period(query: &UsageQuery) -> u64 {
    let (start, end) = (query.start().unix_millis(), query.end().unix_millis());
    dataset()
        .events
        .iter()
        .filter(|e| (start..end).contains(&e.at_ms))
        .filter(|e| {
            serde_json::from_str::<Value>(&e.message)
                .ok()
                .is_none_or(|v| !v["timestamp"].is_string())
        })
        .count() as u64
}

/// The file source's `expected` report as a CloudWatch source gives it: `report`'s source
/// (kind, log group, region) and query cost, and the unreadable events of the period as
/// skipped.
fn as_cloudwatch(report: &UsageReport, expected: &UsageReport, query: &UsageQuery) -> UsageReport {
    let mut other = expected.clone();
    other.source = report.source.clone();
    other.query_cost = report.query_cost;
    other.skipped_records = unreadable_in_period(query);
    other
}

/// The dataset as a JSON-lines file, read by the file source.
async fn file_report(query: &UsageQuery) -> UsageReport {
    let path = std::env::temp_dir().join(format!(
        "usage-cloudwatch-{}-{:016x}.jsonl",
        std::process::id(),
        rand::random::<u64>()
    ));
    let mut text = String::new();
    for e in &dataset().events {
        text.push_str(&e.message);
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap();
    let report = FileSource::new(&path)
        .collect(query, &NoProgress, &CancellationToken::new())
        .await;
    let _ = std::fs::remove_file(&path);
    report.unwrap()
}

// ---------------------------------------------------------------------------------------------
// AWS clients

fn sdk_config(endpoint: &str, region: &str) -> SdkConfig {
    logs_stub::sdk_config(endpoint, region, &fast_retries())
}

fn logs_client(endpoint: &str, region: &str) -> Client {
    Client::new(&sdk_config(endpoint, region))
}

/// A log group in moto holding the dataset, put in PutLogEvents-sized batches.
async fn load_moto(client: &Client, group: &str, events: &[Event]) {
    const STREAM: &str = "aws/bedrock/modelinvocations";
    // PutLogEvents: at most 10,000 events, 1,048,576 bytes counting 26 per event, 24 hours.
    const MAX_EVENTS: usize = 10_000;
    const MAX_BYTES: usize = 1_048_576;
    const MAX_SPAN_MS: i64 = 24 * 3_600_000 - 1;
    client
        .create_log_group()
        .log_group_name(group)
        .send()
        .await
        .unwrap();
    client
        .create_log_stream()
        .log_group_name(group)
        .log_stream_name(STREAM)
        .send()
        .await
        .unwrap();
    let mut batch: Vec<InputLogEvent> = Vec::new();
    let mut bytes = 0usize;
    let mut first_ms = 0i64;
    let put = async |batch: &mut Vec<InputLogEvent>| {
        if batch.is_empty() {
            return;
        }
        let out = client
            .put_log_events()
            .log_group_name(group)
            .log_stream_name(STREAM)
            .set_log_events(Some(std::mem::take(batch)))
            .send()
            .await
            .unwrap();
        assert!(
            out.rejected_log_events_info().is_none(),
            "moto rejected events: {:?}",
            out.rejected_log_events_info()
        );
    };
    for e in events {
        let size = e.message.len() + 26;
        if !batch.is_empty()
            && (batch.len() == MAX_EVENTS
                || bytes + size > MAX_BYTES
                || e.at_ms - first_ms > MAX_SPAN_MS)
        {
            put(&mut batch).await;
            bytes = 0;
        }
        if batch.is_empty() {
            first_ms = e.at_ms;
        }
        bytes += size;
        batch.push(
            InputLogEvent::builder()
                .timestamp(e.at_ms)
                .message(&e.message)
                .build()
                .unwrap(),
        );
    }
    put(&mut batch).await;
}

fn unique_group(prefix: &str) -> String {
    format!("/test/{prefix}-{:016x}", rand::random::<u64>())
}

// ---------------------------------------------------------------------------------------------
// A fake of the CloudWatch Logs Insights API

/// How the fake ends queries.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// Running on the first poll, then the rows of the dataset.
    Rows,
    /// Running on the first poll, then this recorded response.
    Recorded(&'static str),
    /// Running forever.
    NeverComplete,
}

#[derive(Debug, Clone)]
struct FakeQuery {
    id: String,
    text: String,
    start_s: i64,
    end_s: i64,
    from_ms: i64,
    to_ms: i64,
    bucket_ms: i64,
    polls: u32,
    truncated: bool,
    completed: bool,
}

struct FakeState {
    /// The events, parsed once (`Null` for those that are not JSON).
    events: Vec<(i64, Value)>,
    filters: UsageFilters,
    outcome: Outcome,
    /// Ranges wider than this get exactly 10,000 rows.
    truncate_wider_than_ms: Option<i64>,
    /// Error responses to give before answering, per operation.
    refusals: Mutex<HashMap<String, Vec<&'static str>>>,
    refused: AtomicU64,
    queries: Mutex<Vec<FakeQuery>>,
    stops: Mutex<Vec<String>>,
    next_id: AtomicU64,
}

struct Fake {
    state: Arc<FakeState>,
    stub: LogsStub,
}

fn recorded(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/cloudwatch")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

impl Fake {
    async fn start(state: FakeState) -> Fake {
        let state = Arc::new(state);
        let handler = state.clone();
        let stub = LogsStub::start(move |operation, body| handler.handle(operation, body)).await;
        Fake { state, stub }
    }

    fn source(&self, options: InsightsOptions) -> InsightsSource {
        InsightsSource::new(
            LogsClient::ready(logs_client(&self.stub.url, "us-east-1")),
            "/aws/bedrock/modelinvocations",
        )
        .with_options(options)
    }

    fn queries(&self) -> Vec<FakeQuery> {
        self.state.queries.lock().unwrap().clone()
    }
}

fn fake_state(filters: UsageFilters, outcome: Outcome) -> FakeState {
    FakeState {
        events: dataset()
            .events
            .iter()
            .map(|e| {
                (
                    e.at_ms,
                    serde_json::from_str(&e.message).unwrap_or(Value::Null),
                )
            })
            .collect(),
        filters,
        outcome,
        truncate_wider_than_ms: None,
        refusals: Mutex::new(HashMap::new()),
        refused: AtomicU64::new(0),
        queries: Mutex::new(Vec::new()),
        stops: Mutex::new(Vec::new()),
        next_id: AtomicU64::new(1),
    }
}

/// The number after `marker` in `text`.
fn number_after(text: &str, marker: &str) -> i64 {
    let rest = &text[text
        .find(marker)
        .unwrap_or_else(|| panic!("{marker:?} not in {text}"))
        + marker.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap()
}

/// A field of a JSON event as Logs Insights discovers it (dot notation), if it is a string.
fn field<'a>(event: &'a Value, path: &str) -> Option<&'a str> {
    path.split('.')
        .try_fold(event, |v, key| v.get(key))
        .and_then(Value::as_str)
}

fn sum_field(event: &Value, path: &str) -> Option<u64> {
    path.split('.')
        .try_fold(event, |v, key| v.get(key))
        .and_then(Value::as_u64)
}

#[derive(Default)]
struct Group {
    events: u64,
    records: u64,
    sums: [Option<u64>; 4],
    errors: u64,
}

impl FakeState {
    fn handle(&self, operation: &str, body: &str) -> Response {
        let input: Value = serde_json::from_str(body).unwrap();
        if let Some(refusal) = self
            .refusals
            .lock()
            .unwrap()
            .get_mut(operation)
            .and_then(|queue| (!queue.is_empty()).then(|| queue.remove(0)))
        {
            self.refused.fetch_add(1, Ordering::SeqCst);
            return json_response(StatusCode::BAD_REQUEST, recorded(refusal));
        }
        match operation {
            "StartQuery" => self.start_query(&input),
            "GetQueryResults" => self.get_query_results(&input),
            "StopQuery" => {
                let id = input["queryId"].as_str().unwrap().to_owned();
                self.stops.lock().unwrap().push(id);
                json_response(StatusCode::OK, json!({ "success": true }).to_string())
            }
            other => json_response(
                StatusCode::BAD_REQUEST,
                json!({ "__type": "UnknownOperationException", "message": other }).to_string(),
            ),
        }
    }

    fn start_query(&self, input: &Value) -> Response {
        assert_eq!(input["logGroupName"], "/aws/bedrock/modelinvocations");
        assert_eq!(input["limit"], 10_000);
        let text = input["queryString"].as_str().unwrap().to_owned();
        let from_ms = number_after(&text, "toMillis(@timestamp) >= ");
        let to_ms = number_after(&text, "toMillis(@timestamp) < ");
        let bucket_ms = if text.contains(" by bin(24h), ") {
            86_400_000
        } else if text.contains(" by bin(1h), ") {
            3_600_000
        } else {
            panic!("no bin in {text}")
        };
        let (start_s, end_s) = (
            input["startTime"].as_i64().unwrap(),
            input["endTime"].as_i64().unwrap(),
        );
        // The inclusive seconds of StartQuery must cover the milliseconds of the query.
        assert!(
            start_s * 1000 <= from_ms && (to_ms - 1) < (end_s + 1) * 1000,
            "{input}"
        );
        let id = format!(
            "00000000-0000-4000-8000-{:012x}",
            self.next_id.fetch_add(1, Ordering::SeqCst)
        );
        self.queries.lock().unwrap().push(FakeQuery {
            id: id.clone(),
            text,
            start_s,
            end_s,
            from_ms,
            to_ms,
            bucket_ms,
            polls: 0,
            truncated: false,
            completed: false,
        });
        let mut answer: Value = serde_json::from_str(&recorded("start-query.json")).unwrap();
        answer["queryId"] = json!(id);
        json_response(StatusCode::OK, answer.to_string())
    }

    fn get_query_results(&self, input: &Value) -> Response {
        let id = input["queryId"].as_str().unwrap();
        let mut queries = self.queries.lock().unwrap();
        let query = queries.iter_mut().find(|q| q.id == id).unwrap();
        query.polls += 1;
        if query.polls == 1 || self.outcome == Outcome::NeverComplete {
            return json_response(StatusCode::OK, recorded("get-query-results-running.json"));
        }
        if let Outcome::Recorded(name) = self.outcome {
            query.completed = true;
            return json_response(StatusCode::OK, recorded(name));
        }
        let mut rows = self.rows(query);
        if self
            .truncate_wider_than_ms
            .is_some_and(|w| query.to_ms - query.from_ms > w)
        {
            // What a truncated answer looks like: exactly the limit, some rows missing.
            query.truncated = true;
            rows.truncate(MAX_RESULT_ROWS);
            while rows.len() < MAX_RESULT_ROWS {
                rows.push(json!([
                    { "field": "bin(24h)", "value": "2000-01-01 00:00:00.000" },
                    { "field": "region", "value": "bogus-1" },
                    { "field": "events", "value": "1" },
                    { "field": "records", "value": "1" },
                    { "field": "input_tokens", "value": "999999" },
                ]));
            }
        }
        query.completed = true;
        let answer = json!({
            "results": rows,
            "statistics": { "recordsMatched": 1.0, "recordsScanned": 1.0, "bytesScanned": 1024.0 },
            "status": "Complete",
        });
        json_response(StatusCode::OK, answer.to_string())
    }

    /// The `stats` rows of `query`, by plain loops over the events, as Logs Insights works
    /// them out: events in the query's milliseconds; those without a `timestamp` field pass the
    /// filter; groups by bin and the four dimensions (absent fields are left out of a row).
    fn rows(&self, query: &FakeQuery) -> Vec<Value> {
        type Key = (i64, Vec<Option<String>>);
        // The fields after the bin in `stats ... by bin(..), a, b`, as named in the query.
        let by: Vec<&str> = query
            .text
            .rsplit_once(" by ")
            .unwrap()
            .1
            .split(", ")
            .skip(1)
            .collect();
        let mut groups: BTreeMap<Key, Group> = BTreeMap::new();
        let f = &self.filters;
        for (at_ms, json) in &self.events {
            let at_ms = *at_ms;
            if at_ms < query.from_ms || at_ms >= query.to_ms {
                continue;
            }
            let has_timestamp = json.get("timestamp").is_some();
            let matches = |want: &Option<String>, path: &str| {
                want.as_deref().is_none_or(|w| field(json, path) == Some(w))
            };
            let passes = !has_timestamp
                || (matches(&f.region, "region")
                    && matches(&f.aws_account_id, "accountId")
                    && matches(&f.model_id, "modelId")
                    && matches(&f.user, "identity.arn")
                    && matches(&f.inference_region, "inferenceRegion")
                    && matches(&f.inference_profile, "modelId")
                    && f.metadata.iter().all(|(k, v)| {
                        field(json, &format!("requestMetadata.{k}")) == Some(v.as_str())
                    }));
            if !passes {
                continue;
            }
            let dims: Vec<Option<String>> = by
                .iter()
                .map(|p| field(json, p.trim_matches('`')).map(str::to_owned))
                .collect();
            let bin = at_ms.div_euclid(query.bucket_ms) * query.bucket_ms;
            let group = groups.entry((bin, dims)).or_default();
            group.events += 1;
            group.records += u64::from(has_timestamp);
            for (i, path) in [
                "input.inputTokenCount",
                "output.outputTokenCount",
                "input.cacheReadInputTokenCount",
                "input.cacheWriteInputTokenCount",
            ]
            .iter()
            .enumerate()
            {
                if let Some(n) = sum_field(json, path) {
                    group.sums[i] = Some(group.sums[i].unwrap_or(0) + n);
                }
            }
            group.errors += u64::from(json.get("errorCode").is_some());
        }
        let bin_name = if query.bucket_ms == 3_600_000 {
            "bin(1h)"
        } else {
            "bin(24h)"
        };
        groups
            .into_iter()
            .map(|((bin, dims), g)| {
                let when = Timestamp::from_unix_millis(bin).unwrap().to_string();
                let when = format!("{} {}.000", &when[..10], &when[11..19]);
                let mut row = vec![json!({ "field": bin_name, "value": when })];
                for (name, value) in by.iter().map(|p| p.trim_matches('`')).zip(dims) {
                    if let Some(value) = value {
                        row.push(json!({ "field": name, "value": value }));
                    }
                }
                row.push(json!({ "field": "events", "value": g.events.to_string() }));
                row.push(json!({ "field": "records", "value": g.records.to_string() }));
                for (name, sum) in [
                    "input_tokens",
                    "output_tokens",
                    "cache_read_tokens",
                    "cache_write_tokens",
                ]
                .iter()
                .zip(g.sums)
                {
                    if let Some(sum) = sum {
                        row.push(json!({ "field": name, "value": sum.to_string() }));
                    }
                }
                row.push(json!({ "field": "errors", "value": g.errors.to_string() }));
                Value::Array(row)
            })
            .collect()
    }
}

/// The completed queries' ranges cover `[start, end)` exactly once.
fn assert_tiles(queries: &[FakeQuery], start: Timestamp, end: Timestamp) {
    let mut ranges: Vec<(i64, i64)> = queries
        .iter()
        .filter(|q| q.completed && !q.truncated)
        .map(|q| (q.from_ms, q.to_ms))
        .collect();
    ranges.sort_unstable();
    let mut at = start.unix_millis();
    for (from, to) in ranges {
        assert_eq!(from, at, "gap or overlap in {queries:#?}");
        at = to;
    }
    assert_eq!(at, end.unix_millis());
}

// ---------------------------------------------------------------------------------------------
// Acceptance: one dataset, every path, identical reports

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_dataset_gives_identical_reports_through_every_source() {
    let d = dataset();
    let moto = Moto::shared();
    let client = logs_client(&moto.endpoint, moto::REGION);
    let group = unique_group("usage");
    let loaded = Instant::now();
    load_moto(&client, &group, &d.events).await;
    eprintln!(
        "put {} events into moto in {:?}",
        d.events.len(),
        loaded.elapsed()
    );

    for (name, query) in queries() {
        let expected = file_report(&query).await;
        let (totals, skipped) = expected_totals(&query);
        assert_eq!(
            expected.totals, totals,
            "{name}: file source vs plain count"
        );
        assert_eq!(expected.skipped_records, skipped, "{name}");
        assert!(
            expected.totals.requests > 0,
            "{name}: an empty report proves little"
        );
        // The record's own dimensions are there to agree on: cross-region runs, and the
        // requested metadata keys with tagged and untagged records.
        assert!(
            query.filters().model_id.is_some()
                || query.filters().inference_profile.is_some()
                || expected
                    .by_inference_region
                    .iter()
                    .any(|r| r.key == "us-east-2"),
            "{name}: {:?}",
            expected.by_inference_region
        );
        assert_eq!(
            expected.by_metadata.len(),
            query.group_by_metadata().len(),
            "{name}"
        );
        // Calls through the application inference profile, and the others under (none).
        let profiles: Vec<&str> = (expected.by_inference_profile.iter())
            .map(|r| r.row.key.as_str())
            .collect();
        let f = query.filters();
        if f.model_id.is_none() && f.inference_region.is_none() {
            assert!(profiles.contains(&APP_PROFILE), "{name}: {profiles:?}");
        }
        if query.filters().inference_profile.is_some() {
            assert_eq!(profiles, [APP_PROFILE], "{name}");
        }
        for breakdown in &expected.by_metadata {
            assert!(
                breakdown.rows.iter().any(|r| !r.key.starts_with('(')),
                "{name}: {breakdown:?}"
            );
        }
        if query.start() == d.start && query.end() == d.end {
            // Over the whole dataset, the CloudWatch sources skip exactly what the file does.
            assert_eq!(
                unreadable_in_period(&query),
                expected.skipped_records,
                "{name}"
            );
        }

        // FilterLogEvents against moto, small pages so that it paginates.
        for pattern in [false, true] {
            let scan = ScanSource::new(LogsClient::ready(client.clone()), &group).with_options(
                ScanOptions {
                    page_size: Some(300),
                    filter_pattern: pattern,
                    ..ScanOptions::default()
                },
            );
            let progress = Recorder::default();
            let report = scan
                .collect(&query, &progress, &CancellationToken::new())
                .await
                .unwrap();
            assert_eq!(report.source.kind, SourceKind::CloudwatchScan);
            assert_eq!(report.source.log_group.as_deref(), Some(group.as_str()));
            assert_eq!(report.source.region.as_deref(), Some(moto::REGION));
            let mut want = as_cloudwatch(&report, &expected, &query);
            let model_or_user =
                query.filters().model_id.is_some() || query.filters().user.is_some();
            if pattern && model_or_user {
                // Documented: with a filter pattern, CloudWatch never returns non-JSON events.
                // (moto reads JSON patterns as plain ones; the aggregator filters exactly.)
                want.skipped_records = report.skipped_records;
                assert!(report.skipped_records <= expected.skipped_records);
            }
            assert_eq!(report, want, "{name}: scan (pattern {pattern}) vs file");
            let last = progress.last().unwrap();
            assert_eq!(last.0, last.1.unwrap(), "{name}: the scan ends at 100%");
        }

        // Logs Insights against the fake, which computes its rows from the same events.
        let fake = Fake::start(fake_state(query.filters().clone(), Outcome::Rows)).await;
        let progress = Recorder::default();
        let report = fake
            .source(fast_insights())
            .collect(&query, &progress, &CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(report.source.kind, SourceKind::CloudwatchInsights);
        // Every query's bytes, at their largest figure (the recorded running answer's 4 MiB).
        let cost = report
            .query_cost
            .expect("an Insights report has a query cost");
        let sent = fake.queries().len() as u64;
        assert_eq!((cost.queries, cost.bytes_scanned), (sent, 4_194_304 * sent));
        assert_eq!(
            report,
            as_cloudwatch(&report, &expected, &query),
            "{name}: insights vs file"
        );
        let sent = fake.queries();
        for q in &sent {
            assert_eq!(
                q.text,
                query_text(
                    q.from_ms,
                    q.to_ms,
                    query.granularity(),
                    query.filters(),
                    query.group_by_metadata()
                )
                .unwrap(),
                "{name}: the query text"
            );
        }
        assert_tiles(&sent, query.start(), query.end());
        let last = progress.last().unwrap();
        assert_eq!(last.0, sent.len() as u64, "{name}: every slice done");
        assert_eq!(last.1, Some(sent.len() as u64));
        assert!(progress.phases() >= sent.len(), "{name}: a phase per query");
    }
}

#[tokio::test]
async fn the_filter_clause_is_escaped_and_sent_as_is() {
    let d = dataset();
    let user = r#"arn:aws:iam::111122223333:user/o"brien\x | stats count(*)"#;
    let query = UsageQuery::new(d.start, d.end, Granularity::Day)
        .unwrap()
        .with_filters(UsageFilters {
            region: Some("us-east-1".into()),
            user: Some(user.into()),
            ..UsageFilters::default()
        });
    let fake = Fake::start(fake_state(query.filters().clone(), Outcome::Rows)).await;
    let report = fake
        .source(fast_insights())
        .collect(&query, &NoProgress, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(report.totals.requests, 0);
    assert_eq!(report.skipped_records, 3);
    let q = &fake.queries()[0];
    let expected = format!(
        "filter toMillis(@timestamp) >= {} and toMillis(@timestamp) < {}\n\
         | filter (not ispresent(timestamp)) or (region = \"us-east-1\" and identity.arn = \"arn:aws:iam::111122223333:user/o\\\"brien\\\\x | stats count(*)\")\n\
         | stats count(*) as events, count(timestamp) as records, sum(input.inputTokenCount) as input_tokens, sum(output.outputTokenCount) as output_tokens, sum(input.cacheReadInputTokenCount) as cache_read_tokens, sum(input.cacheWriteInputTokenCount) as cache_write_tokens, count(errorCode) as errors by bin(24h), region, modelId, identity.arn, operation, inferenceRegion",
        q.from_ms, q.to_ms
    );
    assert_eq!(q.text, expected);

    // A control character cannot be written safely: refused before any request.
    let bad = UsageQuery::new(d.start, d.end, Granularity::Day)
        .unwrap()
        .with_filters(UsageFilters {
            model_id: Some("a\nb".into()),
            ..UsageFilters::default()
        });
    let fake = Fake::start(fake_state(UsageFilters::default(), Outcome::Rows)).await;
    let err = fake
        .source(fast_insights())
        .collect(&bad, &NoProgress, &CancellationToken::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("control character"), "{err}");
    assert!(fake.queries().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Limits, statuses, cancellation, throttling

#[tokio::test]
async fn ten_thousand_rows_split_the_slice_and_the_report_stays_exact() {
    let d = dataset();
    let query = UsageQuery::new(d.start, d.end, Granularity::Day).unwrap();
    let expected = file_report(&query).await;
    let mut state = fake_state(UsageFilters::default(), Outcome::Rows);
    // Anything wider than two days comes back cut at 10,000 rows.
    state.truncate_wider_than_ms = Some(2 * 86_400_000);
    let fake = Fake::start(state).await;
    let progress = Recorder::default();
    let report = fake
        .source(fast_insights())
        .collect(&query, &progress, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(report, as_cloudwatch(&report, &expected, &query));
    let sent = fake.queries();
    let truncated = sent.iter().filter(|q| q.truncated).count();
    assert!(truncated >= 1, "the fake truncated nothing: {sent:#?}");
    assert!(
        sent.iter()
            .filter(|q| !q.truncated)
            .all(|q| q.to_ms - q.from_ms <= 2 * 86_400_000)
    );
    assert_tiles(&sent, query.start(), query.end());
    // done/total counts slices; the total grew with each split.
    let last = progress.last().unwrap();
    assert_eq!(Some(last.0), last.1);
    assert_eq!(last.0, (sent.len() - truncated) as u64);

    // Hourly buckets split within the hour when they must.
    let hour_start = d.start.checked_add_seconds(86_400 + 7_200).unwrap();
    let hourly = UsageQuery::new(
        hour_start,
        hour_start.checked_add_seconds(3 * 3_600).unwrap(),
        Granularity::Hour,
    )
    .unwrap();
    let mut state = fake_state(UsageFilters::default(), Outcome::Rows);
    state.truncate_wider_than_ms = Some(20 * 60_000);
    let fake = Fake::start(state).await;
    let report = fake
        .source(fast_insights())
        .collect(&hourly, &NoProgress, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(
        report,
        as_cloudwatch(&report, &file_report(&hourly).await, &hourly)
    );
    assert_tiles(&fake.queries(), hourly.start(), hourly.end());
}

#[tokio::test]
async fn a_slice_that_cannot_be_split_enough_is_a_clear_error() {
    let d = dataset();
    let query = UsageQuery::new(d.start, d.end, Granularity::Day).unwrap();
    let mut state = fake_state(UsageFilters::default(), Outcome::Rows);
    state.truncate_wider_than_ms = Some(0);
    let fake = Fake::start(state).await;
    let err = fake
        .source(InsightsOptions {
            max_queries: 40,
            ..fast_insights()
        })
        .collect(&query, &NoProgress, &CancellationToken::new())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("10000 or more distinct"), "{message}");
    assert!(message.contains("--cloudwatch-mode scan"), "{message}");
    assert!(fake.queries().len() <= 40);
}

#[tokio::test]
async fn failed_cancelled_and_timed_out_queries_are_clear_errors() {
    let d = dataset();
    let query = UsageQuery::new(d.start, d.end, Granularity::Day).unwrap();
    for (file, says) in [
        ("get-query-results-failed.json", "status Failed"),
        (
            "get-query-results-cancelled.json",
            "cancelled outside this server",
        ),
        ("get-query-results-timeout.json", "timed out"),
    ] {
        let fake = Fake::start(fake_state(UsageFilters::default(), Outcome::Recorded(file))).await;
        let err = fake
            .source(fast_insights())
            .collect(&query, &NoProgress, &CancellationToken::new())
            .await
            .unwrap_err();
        assert!(matches!(err, SourceError::Backend(_)), "{err:?}");
        let message = err.to_string();
        assert!(message.contains(says), "{file}: {message}");
        assert!(
            message.contains("/aws/bedrock/modelinvocations"),
            "{message}"
        );
        // The other queries of the report were stopped.
        let stops = fake.state.stops.lock().unwrap().clone();
        let unfinished: Vec<String> = fake
            .queries()
            .into_iter()
            .filter(|q| !q.completed)
            .map(|q| q.id)
            .collect();
        for id in unfinished {
            assert!(stops.contains(&id), "{file}: {id} not stopped");
        }
    }
}

#[tokio::test]
async fn cancelling_stops_the_running_queries() {
    let d = dataset();
    let query = UsageQuery::new(d.start, d.end, Granularity::Day).unwrap();
    let fake = Fake::start(fake_state(UsageFilters::default(), Outcome::NeverComplete)).await;
    let source = fake.source(fast_insights());
    let cancel = CancellationToken::new();
    let task = {
        let cancel = cancel.clone();
        let query = query.clone();
        tokio::spawn(async move { source.collect(&query, &NoProgress, &cancel).await })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while fake.queries().iter().map(|q| q.polls).sum::<u32>() < 4 {
        assert!(Instant::now() < deadline, "no query started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let cancelled_at = Instant::now();
    cancel.cancel();
    let outcome = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(outcome, Err(SourceError::Cancelled)),
        "{outcome:?}"
    );
    assert!(cancelled_at.elapsed() < Duration::from_secs(2));
    let started: Vec<String> = fake.queries().into_iter().map(|q| q.id).collect();
    let stops = fake.state.stops.lock().unwrap().clone();
    assert!(!started.is_empty());
    let mut stopped = stops.clone();
    stopped.sort();
    let mut all = started.clone();
    all.sort();
    assert_eq!(stopped, all, "every started query gets one StopQuery");
}

#[tokio::test]
async fn a_query_whose_results_cannot_be_read_is_stopped() {
    let d = dataset();
    let query = UsageQuery::new(d.start, d.end, Granularity::Day).unwrap();
    let state = fake_state(UsageFilters::default(), Outcome::Rows);
    state.refusals.lock().unwrap().insert(
        "GetQueryResults".to_owned(),
        vec!["resource-not-found-exception.json"; 100],
    );
    let fake = Fake::start(state).await;
    let err = fake
        .source(fast_insights())
        .collect(&query, &NoProgress, &CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("ResourceNotFoundException"),
        "{err}"
    );
    // The caller (an MCP client) gets the code and CloudWatch's message, not the SDK's dump
    // of the raw response; that goes to the server's log only.
    for internal in ["raw: Response", "headers", "SdkBody", "aws_request_id"] {
        assert!(!err.to_string().contains(internal), "{err}");
    }
    let mut started: Vec<String> = fake.queries().into_iter().map(|q| q.id).collect();
    let mut stopped = fake.state.stops.lock().unwrap().clone();
    started.sort();
    stopped.sort();
    assert!(!started.is_empty());
    assert_eq!(
        stopped, started,
        "a query this server lost track of is stopped"
    );
}

#[tokio::test]
async fn a_missing_log_group_is_zero_usage_with_a_warning_in_insights() {
    let d = dataset();
    let query = UsageQuery::new(d.start, d.end, Granularity::Day).unwrap();
    let state = fake_state(UsageFilters::default(), Outcome::Rows);
    state.refusals.lock().unwrap().insert(
        "StartQuery".to_owned(),
        vec!["resource-not-found-exception.json"; 100],
    );
    let fake = Fake::start(state).await;
    let report = fake
        .source(fast_insights())
        .collect(&query, &NoProgress, &CancellationToken::new())
        .await
        .unwrap();
    assert!(report.totals.is_zero());
    assert!(report.by_model.is_empty());
    assert_eq!(report.source.kind, SourceKind::CloudwatchInsights);
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert_eq!(report.warnings[0].code, "log_group_not_found");
    let message = &report.warnings[0].message;
    assert!(
        message.contains("/aws/bedrock/modelinvocations"),
        "{message}"
    );
    assert!(message.contains("us-east-1"), "{message}");
    assert!(fake.queries().is_empty(), "no query ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_log_group_is_zero_usage_with_a_warning_in_the_scan() {
    let moto = Moto::shared();
    let d = dataset();
    let query = UsageQuery::new(d.start, d.end, Granularity::Day).unwrap();
    let group = unique_group("never-created");
    let source = ScanSource::new(
        LogsClient::ready(logs_client(&moto.endpoint, moto::REGION)),
        &group,
    );
    let report = source
        .collect(&query, &NoProgress, &CancellationToken::new())
        .await
        .unwrap();
    assert!(report.totals.is_zero());
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(report.warnings[0].message.contains(&group));
    assert!(report.warnings[0].message.contains(moto::REGION));
    // An existing, empty group is no reason for a warning.
    let client = logs_client(&moto.endpoint, moto::REGION);
    client
        .create_log_group()
        .log_group_name(&group)
        .send()
        .await
        .unwrap();
    let report = source
        .collect(&query, &NoProgress, &CancellationToken::new())
        .await
        .unwrap();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[tokio::test]
async fn throttling_and_the_concurrency_limit_are_retried() {
    let d = dataset();
    let query = UsageQuery::new(d.start, d.end, Granularity::Day).unwrap();
    let expected = file_report(&query).await;
    let state = fake_state(UsageFilters::default(), Outcome::Rows);
    // Two refusals per operation: even if one call meets both, the SDK's third attempt
    // (RetryPolicy::DEFAULT) gets through.
    state.refusals.lock().unwrap().extend([
        (
            "StartQuery".to_owned(),
            vec!["throttling-exception.json", "limit-exceeded-exception.json"],
        ),
        (
            "GetQueryResults".to_owned(),
            vec!["throttling-exception.json", "throttling-exception.json"],
        ),
    ]);
    let fake = Fake::start(state).await;
    let report = fake
        .source(fast_insights())
        .collect(&query, &NoProgress, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(report, as_cloudwatch(&report, &expected, &query));
    assert_eq!(fake.state.refused.load(Ordering::SeqCst), 4);

    // Retries give up in the end, saying why.
    let state = fake_state(UsageFilters::default(), Outcome::Rows);
    state.refusals.lock().unwrap().insert(
        "StartQuery".to_owned(),
        vec!["throttling-exception.json"; 100],
    );
    let fake = Fake::start(state).await;
    let err = fake
        .source(fast_insights())
        .collect(&query, &NoProgress, &CancellationToken::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("ThrottlingException"), "{err}");
}

#[tokio::test]
async fn a_recorded_response_gives_hand_computed_numbers() {
    let query = UsageQuery::new(
        "2026-11-01T00:00:00Z".parse().unwrap(),
        "2026-11-03T00:00:00Z".parse().unwrap(),
        Granularity::Day,
    )
    .unwrap();
    let fake = Fake::start(fake_state(
        UsageFilters::default(),
        Outcome::Recorded("get-query-results-complete.json"),
    ))
    .await;
    let report = fake
        .source(fast_insights())
        .collect(&query, &NoProgress, &CancellationToken::new())
        .await
        .unwrap();
    let sent = fake.queries();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        format!("{}\n", sent[0].text),
        recorded("get-query-results-complete.query.txt")
    );
    assert_eq!(
        (sent[0].start_s, sent[0].end_s),
        (1_793_491_200, 1_793_664_000)
    );
    let c = |r: &Counters| {
        [
            r.requests,
            r.input_tokens,
            r.output_tokens,
            r.cache_read_input_tokens,
            r.cache_write_input_tokens,
            r.total_tokens,
            r.errors,
        ]
    };
    assert_eq!(
        c(&report.totals),
        [26, 32_460, 8_521, 76_000, 3_100, 120_081, 3]
    );
    assert_eq!(report.skipped_records, 3);
    let rows = |rows: &[bedrock_usage_mcp::usage::Row]| {
        rows.iter()
            .map(|r| (r.key.clone(), r.counters.requests, r.counters.total_tokens))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        rows(&report.daily),
        [
            ("2026-11-01".into(), 17, 95_391),
            ("2026-11-02".into(), 9, 24_690)
        ]
    );
    assert_eq!(
        rows(&report.by_region),
        [
            ("us-east-1".into(), 19, 114_861),
            ("us-west-2".into(), 5, 4_830),
            ("eu-west-1".into(), 2, 390)
        ]
    );
    assert_eq!(
        rows(&report.by_user),
        [
            (
                "arn:aws:sts::111122223333:assumed-role/ChatbotLambdaRole/chatbot-prod".into(),
                19,
                114_861
            ),
            (
                "arn:aws:iam::111122223333:user/ci-eval-runner".into(),
                5,
                4_830
            ),
            ("(unknown)".into(), 2, 390)
        ]
    );
    assert_eq!(
        rows(&report.by_operation),
        [
            ("ConverseStream".into(), 19, 114_861),
            ("InvokeModel".into(), 5, 4_830),
            ("Converse".into(), 2, 390)
        ]
    );
    // Where the cross-region profile ran the sonnet calls; the others carry no inferenceRegion.
    assert_eq!(
        rows(&report.by_inference_region),
        [
            ("us-east-2".into(), 12, 90_561),
            ("us-west-2".into(), 7, 24_300),
            ("(unknown)".into(), 7, 5_220)
        ]
    );
    assert!(report.by_metadata.is_empty());
}

// ---------------------------------------------------------------------------------------------
// The selector

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_selector_reads_other_groups_and_regions_with_lazy_clients() {
    let d = dataset();
    let moto = Moto::shared();
    let group = unique_group("selector");
    // A day of the dataset, in moto's us-east-1.
    let day: Vec<Event> = d
        .events
        .iter()
        .filter(|e| e.at_ms < d.start.unix_millis() + 86_400_000)
        .cloned()
        .collect();
    load_moto(&logs_client(&moto.endpoint, "us-east-1"), &group, &day).await;
    let query = UsageQuery::new(
        d.start,
        d.start.checked_add_seconds(86_400).unwrap(),
        Granularity::Hour,
    )
    .unwrap();

    // The server's default is another group, in another region.
    let clients = Arc::new(ClientCache::with_config(sdk_config(
        &moto.endpoint,
        "eu-west-1",
    )));
    let selector = CloudWatchSelector::with_clients(
        CloudWatchMode::Scan,
        "/aws/bedrock/default",
        None,
        clients.clone(),
    )
    .unwrap();
    // By default a report names only the configured log group.
    let refused = selector.source_for(Some(&group), Some("us-east-1")).err();
    assert!(refused.is_some_and(|e| e.contains("does not read the log group")));
    let selector = selector.with_caller_log_groups(CallerLogGroups::Accounts);
    assert!(clients.is_empty(), "no client before the first report");
    let default = selector.default_source().describe();
    assert_eq!(default.kind, SourceKind::CloudwatchScan);
    assert_eq!(default.log_group.as_deref(), Some("/aws/bedrock/default"));

    let source = selector
        .source_for(Some(&group), Some("us-east-1"))
        .unwrap();
    assert_eq!(source.describe().region.as_deref(), Some("us-east-1"));
    let report = source
        .collect(&query, &NoProgress, &CancellationToken::new())
        .await
        .unwrap();
    let expected = file_report(&query).await;
    assert_eq!(report.source.region.as_deref(), Some("us-east-1"));
    assert_eq!(report.totals, expected.totals);
    assert_eq!(report.daily, expected.daily);
    assert_eq!(clients.len(), 1);

    // The same group name in the default region (eu-west-1) does not exist in moto: zero
    // usage, and a warning naming the group and the region.
    let missing = selector
        .source_for(Some(&group), None)
        .unwrap()
        .collect(&query, &NoProgress, &CancellationToken::new())
        .await
        .unwrap();
    assert!(missing.totals.is_zero());
    assert_eq!(missing.daily.len(), 24, "zero-filled");
    assert_eq!(missing.warnings.len(), 1, "{:?}", missing.warnings);
    assert_eq!(missing.warnings[0].code, "log_group_not_found");
    assert!(missing.warnings[0].message.contains(&group));
    assert!(missing.warnings[0].message.contains("eu-west-1"));
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(clients.len(), 2, "one client per region, cached");
    selector
        .source_for(Some(&group), Some("us-east-1"))
        .unwrap()
        .collect(&query, &NoProgress, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(clients.len(), 2);

    assert!(
        selector
            .source_for(Some("no spaces allowed"), None)
            .is_err()
    );
    assert!(
        selector
            .source_for(None, Some("eu-west-1.example.com"))
            .is_err()
    );
}

/// `bedrock-usage-mcp` on 127.0.0.1 with `args` and `env`; killed when dropped.
struct Server {
    child: std::process::Child,
    url: String,
}

impl Server {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Server {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_bedrock-usage-mcp"))
            .args(["--bind", "127.0.0.1:0"])
            .args(args)
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_REGION")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Server { child, url }
    }

    /// The tool's structured report, through `mcp-client`.
    async fn report(&self, query: &UsageQuery) -> Value {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_mcp-client"));
        command
            .args(["--url", &self.url, "--protocol", "2026-07-28", "report"])
            .args(["--start", &query.start().to_string()])
            .args(["--end", &query.end().to_string()])
            .args(["--granularity", &query.granularity().to_string()])
            .args(["--top-n", &query.top_n().to_string(), "--json"]);
        // Off the runtime: the fake the server may be talking to runs on it.
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .unwrap()
            .unwrap();
        assert!(
            output.status.success(),
            "mcp-client failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_reads_cloudwatch_with_log_group_in_both_modes() {
    let d = dataset();
    let query = UsageQuery::new(d.start, d.end, Granularity::Day)
        .unwrap()
        .with_top_n(50);
    let expected = file_report(&query).await;

    // Scan mode, against moto.
    let moto = Moto::shared();
    let group = unique_group("server");
    load_moto(
        &logs_client(&moto.endpoint, moto::REGION),
        &group,
        &d.events,
    )
    .await;
    let server = Server::start(
        &[
            "--log-group",
            &group,
            "--region",
            moto::REGION,
            "--cloudwatch-mode",
            "scan",
            "--inference-profiles",
            "off",
        ],
        &[("AWS_ENDPOINT_URL", &moto.endpoint)],
    );
    let wire = server.report(&query).await;
    let report: UsageReport = serde_json::from_value(wire.clone()).unwrap();
    assert_eq!(report.source.kind, SourceKind::CloudwatchScan);
    assert_eq!(report.source.log_group.as_deref(), Some(group.as_str()));
    assert_eq!(report.source.region.as_deref(), Some(moto::REGION));
    // The structured content as sent: the file source's report, but for the source.
    let want = serde_json::to_value(as_cloudwatch(&report, &expected, &query)).unwrap();
    assert_eq!(without_resolution(wire), want);
    drop(server);

    // Logs Insights (the default mode), against the fake.
    let fake = Fake::start(fake_state(UsageFilters::default(), Outcome::Rows)).await;
    let server = Server::start(
        &[
            "--log-group",
            "/aws/bedrock/modelinvocations",
            "--region",
            "eu-west-1",
            "--inference-profiles",
            "off",
        ],
        &[("AWS_ENDPOINT_URL", &fake.stub.url)],
    );
    let wire = server.report(&query).await;
    let report: UsageReport = serde_json::from_value(wire.clone()).unwrap();
    assert_eq!(report.source.kind, SourceKind::CloudwatchInsights);
    assert_eq!(report.source.region.as_deref(), Some("eu-west-1"));
    let want = serde_json::to_value(as_cloudwatch(&report, &expected, &query)).unwrap();
    assert_eq!(without_resolution(wire), want);
    assert!(!fake.queries().is_empty());
}

/// `wire` without what the tool adds to `by_inference_profile`: these servers run with
/// `--inference-profiles off` (Bedrock is not behind moto or the fake), so each profile says
/// it was not resolved, which the library's report does not.
fn without_resolution(mut wire: Value) -> Value {
    for row in wire["by_inference_profile"].as_array_mut().unwrap() {
        if row["key"] != "(none)" {
            let reason = row.as_object_mut().unwrap().remove("unresolved").unwrap();
            assert!(
                reason.as_str().unwrap().contains("does not resolve"),
                "{reason}"
            );
        }
    }
    wire
}

#[test]
fn the_selector_does_no_io_when_made() {
    // No configuration can be loaded here without a runtime: making it must not try.
    let selector = CloudWatchSelector::new(
        CloudWatchMode::Insights,
        "/aws/bedrock/x",
        Some("us-west-2".into()),
    )
    .unwrap();
    assert!(selector.clients().is_empty());
    let info = selector.default_source().describe();
    assert_eq!(info.kind, SourceKind::CloudwatchInsights);
    assert_eq!(info.region.as_deref(), Some("us-west-2"));
}

// ---------------------------------------------------------------------------------------------

/// Records progress: the phases, and the last `(done, total)`.
#[derive(Default)]
struct Recorder {
    phases: Mutex<Vec<String>>,
    last: Mutex<Option<(u64, Option<u64>)>>,
}

impl Recorder {
    fn last(&self) -> Option<(u64, Option<u64>)> {
        *self.last.lock().unwrap()
    }

    fn phases(&self) -> usize {
        self.phases.lock().unwrap().len()
    }
}

impl ProgressSink for Recorder {
    fn phase(&self, message: &str) {
        self.phases.lock().unwrap().push(message.to_owned());
    }

    fn progress(&self, done: u64, total: Option<u64>) {
        *self.last.lock().unwrap() = Some((done, total));
    }
}
