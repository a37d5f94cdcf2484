//! Several log groups, regions and accounts in one report (`usage::source::multi`). One dataset,
//! split over two regions and two accounts, gives through the merged source the same report as
//! one file source over all its records: as four files, as four log groups named by ARN read
//! with Logs Insights (a scripted stand-in answering `StartQuery` by `logGroupIdentifiers`,
//! one row per record), and as two log groups in two regions of moto read with FilterLogEvents.
//! One source refused (AccessDeniedException) is listed as failed and the others still count;
//! every source refused is a clear error; and `max_queries` bounds the whole report, all its
//! reads (a `compare_to` report) and log groups together.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use axum::http::StatusCode;
use axum::response::Response;
use bedrock_usage_mcp::usage::change::{ChangeOptions, ChangePlan};
use bedrock_usage_mcp::usage::report::{CompareTo, SourceState};
use bedrock_usage_mcp::usage::source::cloudwatch::{
    ClientCache, InsightsOptions, LogGroupId, LogsClient,
};
use bedrock_usage_mcp::usage::source::multi::{MultiSource, SOURCE_FAILED, SourceLabel};
use bedrock_usage_mcp::usage::source::{
    CloudWatchMode, CloudWatchSelector, FileSource, InsightsSource, ScanSource,
};
use bedrock_usage_mcp::usage::{
    Granularity, NoProgress, SourceError, Timestamp, UsageQuery, UsageReport, UsageSource,
    report_json_schema,
};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use mcp_testkit::logs_stub::{self, LogsStub, fast_insights, fast_retries, json_response};
use mcp_testkit::moto::Moto;

const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
const ACCOUNTS: [&str; 2] = ["111122223333", "444455556666"];
const GROUP: &str = "/aws/bedrock/modelinvocations";
const DAY_MS: i64 = 86_400_000;
/// Midnight UTC eight days ago: recent enough for PutLogEvents (which refuses events older
/// than 14 days), and the same for every test of the run.
fn start_ms() -> i64 {
    static START: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *START.get_or_init(|| {
        let now = Timestamp::now().unix_millis();
        now - now.rem_euclid(DAY_MS) - 8 * DAY_MS
    })
}

/// One invocation record: where it lives (region, account index) and its JSON line.
struct Record {
    region: usize,
    account: usize,
    at_ms: i64,
    line: String,
}

/// 240 records over 6 days, spread over both regions and both accounts, with several models,
/// users, operations, inference regions, metadata and errors.
fn dataset() -> Vec<Record> {
    (0..240u64)
        .map(|i| {
            let region = (i % 2) as usize;
            let account = ((i / 2) % 2) as usize;
            let at_ms = start_ms() + (i % 6) as i64 * DAY_MS + (i as i64 * 7_919) % DAY_MS;
            let at = Timestamp::from_unix_millis(at_ms).unwrap();
            let model = ["amazon.nova-pro-v1:0", "anthropic.claude-3-haiku", "meta.llama3"][(i % 3) as usize];
            let team = ["search", "support", "ads"][(i % 3) as usize];
            let line = json!({
                "timestamp": at.to_string(),
                "accountId": ACCOUNTS[account],
                "region": REGIONS[region],
                "inferenceRegion": REGIONS[(i as usize / 3) % 2],
                "modelId": model,
                "operation": if i % 4 == 0 { "InvokeModel" } else { "Converse" },
                "identity": {"arn": format!("arn:aws:sts::{}:assumed-role/App/u{}", ACCOUNTS[account], i % 5)},
                "requestMetadata": {"team": team},
                "errorCode": if i % 17 == 0 { json!("ValidationException") } else { Value::Null },
                "input": {"inputTokenCount": i * 7 + 1, "cacheReadInputTokenCount": i % 11},
                "output": {"outputTokenCount": i * 3},
            });
            let mut line = line;
            if i % 17 != 0 {
                line.as_object_mut().unwrap().remove("errorCode");
            }
            Record {
                region,
                account,
                at_ms,
                line: line.to_string(),
            }
        })
        .collect()
}

fn query() -> UsageQuery {
    UsageQuery::new(
        Timestamp::from_unix_millis(start_ms()).unwrap(),
        Timestamp::from_unix_millis(start_ms() + 6 * DAY_MS).unwrap(),
        Granularity::Day,
    )
    .unwrap()
    .with_group_by_metadata(vec!["team".to_owned()])
    .unwrap()
    .with_top_n(2)
}

fn arn(region: usize, account: usize) -> String {
    format!(
        "arn:aws:logs:{}:{}:log-group:{GROUP}",
        REGIONS[region], ACCOUNTS[account]
    )
}

fn label(region: usize, account: Option<usize>) -> SourceLabel {
    SourceLabel {
        log_group: GROUP.to_owned(),
        region: Some(REGIONS[region].to_owned()),
        account: account.map(|a| ACCOUNTS[a].to_owned()),
    }
}

/// The records as a JSON-lines file; removed when dropped.
struct TempFile(std::path::PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn file_of<'a>(records: impl Iterator<Item = &'a Record>) -> TempFile {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let path = std::env::temp_dir().join(format!(
        "usage-multi-{}-{}.jsonl",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let text: String = records.map(|r| format!("{}\n", r.line)).collect();
    std::fs::write(&path, text).unwrap();
    TempFile(path)
}

async fn file_report<'a>(
    records: impl Iterator<Item = &'a Record>,
    query: &UsageQuery,
) -> UsageReport {
    let file = file_of(records);
    FileSource::new(&file.0)
        .collect(query, &NoProgress, &CancellationToken::new())
        .await
        .unwrap()
}

/// The report's JSON without what tells the sources apart (`source`, `sources`, warnings,
/// `query_cost`): the numbers, which must not depend on how the records were split.
fn numbers(report: &UsageReport) -> Value {
    let mut value = serde_json::to_value(report).unwrap();
    for key in ["source", "sources", "warnings", "query_cost"] {
        value.as_object_mut().unwrap().remove(key);
    }
    value
}

fn client(endpoint: &str, region: &str) -> Client {
    Client::new(&logs_stub::sdk_config(endpoint, region, &fast_retries()))
}

// ---------------------------------------------------------------------------------------------
// A Logs Insights stand-in over the dataset, by log group identifier.

struct Insights {
    /// Records by the ARN of their log group.
    groups: HashMap<String, Vec<(i64, Value)>>,
    /// ARNs whose `StartQuery` is refused with AccessDeniedException.
    denied: Vec<String>,
    /// Query id -> (ARN, from ms, to ms).
    queries: Mutex<HashMap<String, (String, i64, i64)>>,
    started: AtomicU64,
    /// Slices wider than this come back with 10,000 rows (truncated).
    truncate_wider_than_ms: Option<i64>,
    /// ARNs whose queries scan 1,000 bytes and then fail (status `Failed`).
    failing: Vec<String>,
}

fn number_after(text: &str, marker: &str) -> i64 {
    let rest = &text[text.find(marker).unwrap() + marker.len()..];
    rest.chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

impl Insights {
    fn new(records: &[Record], denied: Vec<String>) -> Self {
        let mut groups: HashMap<String, Vec<(i64, Value)>> = HashMap::new();
        for r in records {
            groups
                .entry(arn(r.region, r.account))
                .or_default()
                .push((r.at_ms, serde_json::from_str(&r.line).unwrap()));
        }
        Insights {
            groups,
            denied,
            queries: Mutex::new(HashMap::new()),
            started: AtomicU64::new(0),
            truncate_wider_than_ms: None,
            failing: Vec::new(),
        }
    }

    fn handle(&self, operation: &str, body: &str) -> Response {
        let body: Value = serde_json::from_str(body).unwrap();
        match operation {
            "StartQuery" => {
                // An ARN goes as an identifier, never as a name.
                assert!(body.get("logGroupName").is_none(), "{body}");
                let ids = body["logGroupIdentifiers"].as_array().unwrap();
                assert_eq!(ids.len(), 1, "one log group per query: {body}");
                let id = ids[0].as_str().unwrap().to_owned();
                assert!(!id.ends_with(":*"), "{id}");
                if self.denied.contains(&id) {
                    return json_response(
                        StatusCode::BAD_REQUEST,
                        json!({"__type": "AccessDeniedException", "message": format!("User: arn:aws:sts::999999999999:assumed-role/x is not authorized on {id}")}).to_string(),
                    );
                }
                let text = body["queryString"].as_str().unwrap();
                let from = number_after(text, "toMillis(@timestamp) >= ");
                let to = number_after(text, "toMillis(@timestamp) < ");
                let n = self.started.fetch_add(1, Ordering::Relaxed);
                let qid = format!("q-{n}");
                self.queries
                    .lock()
                    .unwrap()
                    .insert(qid.clone(), (id, from, to));
                json_response(StatusCode::OK, json!({"queryId": qid}).to_string())
            }
            "GetQueryResults" => {
                let qid = body["queryId"].as_str().unwrap();
                let (id, from, to) = self.queries.lock().unwrap()[qid].clone();
                if self.failing.contains(&id) {
                    return json_response(
                        StatusCode::OK,
                        json!({"status": "Failed", "results": [], "statistics": {"bytesScanned": 1000.0}}).to_string(),
                    );
                }
                if self.truncate_wider_than_ms.is_some_and(|w| to - from > w) {
                    let rows = vec![json!([]); 10_000];
                    return json_response(
                        StatusCode::OK,
                        json!({"status": "Complete", "results": rows, "statistics": {"bytesScanned": 1000.0}}).to_string(),
                    );
                }
                let rows: Vec<Value> = self
                    .groups
                    .get(&id)
                    .into_iter()
                    .flatten()
                    .filter(|(at, _)| (from..to).contains(at))
                    .map(|(at, event)| row(*at, event))
                    .collect();
                json_response(
                    StatusCode::OK,
                    json!({"status": "Complete", "results": rows, "statistics": {"bytesScanned": 1000.0, "recordsMatched": 1.0, "recordsScanned": 1.0}}).to_string(),
                )
            }
            "DescribeLogGroups" => {
                json_response(StatusCode::OK, json!({"logGroups": []}).to_string())
            }
            other => panic!("unexpected {other}"),
        }
    }
}

/// One record as one result row, the fields named as the product's query groups them.
fn row(at_ms: i64, e: &Value) -> Value {
    let field = |name: &str, value: String| json!({"field": name, "value": value});
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let n = |v: &Value| v.as_u64().unwrap_or(0).to_string();
    let bucket = at_ms - at_ms.rem_euclid(DAY_MS);
    json!([
        field("bin(24h)", bucket.to_string()),
        field("region", s(&e["region"])),
        field("modelId", s(&e["modelId"])),
        field("identity.arn", s(&e["identity"]["arn"])),
        field("operation", s(&e["operation"])),
        field("inferenceRegion", s(&e["inferenceRegion"])),
        field("requestMetadata.team", s(&e["requestMetadata"]["team"])),
        field("events", "1".into()),
        field("records", "1".into()),
        field("input_tokens", n(&e["input"]["inputTokenCount"])),
        field("output_tokens", n(&e["output"]["outputTokenCount"])),
        field(
            "cache_read_tokens",
            n(&e["input"]["cacheReadInputTokenCount"])
        ),
        field("cache_write_tokens", "0".into()),
        field(
            "errors",
            if e.get("errorCode").is_some() {
                "1"
            } else {
                "0"
            }
            .into()
        ),
    ])
}

async fn insights_stub(state: Arc<Insights>) -> LogsStub {
    LogsStub::start(move |operation, body| state.handle(operation, body)).await
}

/// The four log groups (two regions × two accounts) by ARN, each read with Logs Insights
/// through a client of its own region.
fn insights_multi(url: &str, options: &InsightsOptions, scan_cap: Option<u64>) -> MultiSource {
    let mut members: Vec<(SourceLabel, Arc<dyn UsageSource>)> = Vec::new();
    for (region, name) in REGIONS.iter().enumerate() {
        for account in 0..2 {
            let id = LogGroupId::parse(&format!("{}:*", arn(region, account))).unwrap();
            assert_eq!(id.region(), Some(*name));
            let source = InsightsSource::new(
                LogsClient::ready(client(url, id.region().unwrap())),
                id.as_sent(),
            )
            .with_options(options.clone());
            members.push((label(region, Some(account)), Arc::new(source)));
        }
    }
    MultiSource::new(members, scan_cap, options.max_queries).unwrap()
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn files_insights_and_scans_over_regions_and_accounts_merge_like_one_file() {
    let records = dataset();
    let query = query();
    let expected = file_report(records.iter(), &query).await;
    assert_eq!(expected.totals.requests, 240);
    assert!(
        expected.by_model.iter().any(|r| r.key == "(other)"),
        "top_n folds"
    );

    // Four files, one per region and account.
    let files: Vec<TempFile> = (0..4)
        .map(|k| {
            file_of(
                records
                    .iter()
                    .filter(|r| r.region == k % 2 && r.account == k / 2),
            )
        })
        .collect();
    let members = files
        .iter()
        .enumerate()
        .map(|(k, f)| {
            let source: Arc<dyn UsageSource> = Arc::new(FileSource::new(&f.0));
            (label(k % 2, Some(k / 2)), source)
        })
        .collect();
    let multi = MultiSource::new(members, None, 1_000).unwrap();
    let report = multi
        .collect(&query, &NoProgress, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(numbers(&report), numbers(&expected), "four files");
    assert_eq!(report.sources.len(), 4);
    assert!(
        report
            .sources
            .iter()
            .all(|s| s.status == SourceState::Ok && s.records == 60)
    );

    // Four log groups by ARN through Logs Insights.
    let state = Arc::new(Insights::new(&records, Vec::new()));
    let stub = insights_stub(state.clone()).await;
    let report = insights_multi(&stub.url, &fast_insights(), None)
        .collect(&query, &NoProgress, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(numbers(&report), numbers(&expected), "Logs Insights by ARN");
    let cost = report.query_cost.unwrap();
    assert_eq!(
        cost.queries,
        state.started.load(Ordering::Relaxed),
        "every query counted"
    );
    let json = serde_json::to_value(&report).unwrap();
    let schema = report_json_schema();
    let item = &schema["properties"]["sources"]["items"];
    for entry in json["sources"].as_array().unwrap() {
        for field in item["required"].as_array().unwrap() {
            let field = field.as_str().unwrap();
            assert!(entry.get(field).is_some(), "{field} missing in {entry}");
        }
        assert_eq!(entry["status"], "ok");
        assert!(entry.get("error").is_none(), "{entry}");
    }
    assert_eq!(json["sources"][2]["account"], ACCOUNTS[0]);
    assert_eq!(json["sources"][2]["region"], REGIONS[1]);

    // Two regions of moto (one account there), read with FilterLogEvents.
    let moto = Moto::shared();
    let group = format!("/test/multi-{:016x}", rand::random::<u64>());
    let mut members: Vec<(SourceLabel, Arc<dyn UsageSource>)> = Vec::new();
    for (region, name) in REGIONS.iter().enumerate() {
        let logs = client(&moto.endpoint, name);
        let mut events: Vec<&Record> = records.iter().filter(|r| r.region == region).collect();
        events.sort_by_key(|r| r.at_ms);
        load(&logs, &group, &events).await;
        let source = ScanSource::new(LogsClient::ready(logs), group.clone());
        members.push((label(region, None), Arc::new(source)));
    }
    let report = MultiSource::new(members, None, 1_000)
        .unwrap()
        .collect(&query, &NoProgress, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(
        numbers(&report),
        numbers(&expected),
        "FilterLogEvents in two regions"
    );
    assert_eq!(report.sources[0].records + report.sources[1].records, 240);
}

async fn load(client: &Client, group: &str, records: &[&Record]) {
    const STREAM: &str = "s";
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
    // PutLogEvents: one batch spans at most 24 hours.
    for day in
        records.chunk_by(|a, b| (a.at_ms - start_ms()) / DAY_MS == (b.at_ms - start_ms()) / DAY_MS)
    {
        let events = day
            .iter()
            .map(|r| {
                InputLogEvent::builder()
                    .timestamp(r.at_ms)
                    .message(&r.line)
                    .build()
                    .unwrap()
            })
            .collect();
        let out = client
            .put_log_events()
            .log_group_name(group)
            .log_stream_name(STREAM)
            .set_log_events(Some(events))
            .send()
            .await
            .unwrap();
        assert!(out_ok(&out), "moto rejected events: {out:?}");
    }
}

fn out_ok(out: &aws_sdk_cloudwatchlogs::operation::put_log_events::PutLogEventsOutput) -> bool {
    out.rejected_log_events_info().is_none()
}

#[tokio::test]
async fn a_refused_source_is_listed_and_the_others_still_count() {
    let records = dataset();
    let query = query();
    let denied = arn(1, 1);
    let state = Arc::new(Insights::new(&records, vec![denied.clone()]));
    let stub = insights_stub(state).await;
    let report = insights_multi(&stub.url, &fast_insights(), None)
        .collect(&query, &NoProgress, &CancellationToken::new())
        .await
        .unwrap();
    let others = file_report(
        records.iter().filter(|r| (r.region, r.account) != (1, 1)),
        &query,
    )
    .await;
    assert_eq!(
        numbers(&report),
        numbers(&others),
        "the others' records, exactly"
    );
    let failed: Vec<_> = report
        .sources
        .iter()
        .filter(|s| s.status == SourceState::Failed)
        .collect();
    assert_eq!(failed.len(), 1, "{:?}", report.sources);
    assert_eq!(failed[0].region.as_deref(), Some(REGIONS[1]));
    assert_eq!(failed[0].account.as_deref(), Some(ACCOUNTS[1]));
    assert_eq!(failed[0].records, 0);
    let error = failed[0].error.as_deref().unwrap();
    assert!(error.contains("AccessDeniedException"), "{error}");
    assert!(
        !error.contains("999999999999"),
        "CloudWatch's message is not repeated: {error}"
    );
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.code == SOURCE_FAILED && w.message.contains(ACCOUNTS[1]))
    );
    let ok: u64 = report.sources.iter().map(|s| s.records).sum();
    assert_eq!(ok, 180);
    let text = bedrock_usage_mcp::usage::report::render_text(&report);
    assert!(text.contains("Sources (4 log groups, 1 failed)"), "{text}");
}

#[tokio::test]
async fn a_source_that_scanned_and_failed_still_counts_in_query_cost() {
    let records = dataset();
    let mut state = Insights::new(&records, Vec::new());
    state.failing = vec![arn(1, 1)];
    let state = Arc::new(state);
    let stub = insights_stub(state.clone()).await;
    let report = insights_multi(&stub.url, &fast_insights(), None)
        .collect(&query(), &NoProgress, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(
        (report.sources.iter())
            .filter(|s| s.status == SourceState::Failed)
            .count(),
        1,
        "{:?}",
        report.sources
    );
    // Every query answered with 1,000 bytes scanned, the failed one's too: all are billed.
    let started = state.started.load(Ordering::Relaxed);
    let cost = report.query_cost.unwrap();
    assert_eq!(cost.bytes_scanned, 1000 * started, "{cost:?}");
}

#[tokio::test]
async fn every_source_refused_is_a_clear_error() {
    let records = dataset();
    let denied = (0..2)
        .flat_map(|r| (0..2).map(move |a| arn(r, a)))
        .collect();
    let state = Arc::new(Insights::new(&records, denied));
    let stub = insights_stub(state).await;
    let err = insights_multi(&stub.url, &fast_insights(), None)
        .collect(&query(), &NoProgress, &CancellationToken::new())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, SourceError::Backend(_)), "{err:?}");
    assert!(
        text.contains("every log group of the report failed"),
        "{text}"
    );
    for account in ACCOUNTS {
        assert!(text.contains(account), "{text}");
    }
    assert_eq!(text.matches("AccessDeniedException").count(), 4, "{text}");
}

#[tokio::test]
async fn max_queries_bounds_the_whole_report_across_reads_and_log_groups() {
    let records = dataset();
    // One-day slices: 6 queries per read and log group (a budget of 28 or more keeps the
    // first cut at one day).
    let options = |max_queries| InsightsOptions {
        initial_slice: Some(Duration::from_secs(86_400)),
        max_queries,
        ..fast_insights()
    };
    let plan = ChangePlan::new(
        &query(),
        ChangeOptions {
            compare_to: Some(CompareTo::PreviousPeriod),
            anomalies: false,
        },
    )
    .unwrap();
    let cancel = CancellationToken::new();

    // One log group whose day slices come back truncated: each is run, then split into four
    // 6-hour slices, so a read takes 6 + 24 = 30 queries and the compared report 60. Each
    // read fits in 40; the report does not.
    let mut truncating = Insights::new(&records, Vec::new());
    truncating.truncate_wider_than_ms = Some(DAY_MS / 2);
    let state = Arc::new(truncating);
    let stub = insights_stub(state.clone()).await;
    let one = |max_queries| {
        InsightsSource::new(LogsClient::ready(client(&stub.url, REGIONS[0])), arn(0, 0))
            .with_options(options(max_queries))
    };
    let err = plan
        .collect(&one(40), &NoProgress, &cancel)
        .await
        .unwrap_err();
    assert!(matches!(err, SourceError::ScanCap(_)), "{err:?}");
    assert!(err.to_string().contains("40 queries"), "{err}");
    assert!(
        state.started.load(Ordering::Relaxed) <= 40,
        "never past the budget"
    );
    let before = state.started.load(Ordering::Relaxed);
    let report = plan.collect(&one(60), &NoProgress, &cancel).await.unwrap();
    assert_eq!(report.query_cost.unwrap().queries, 60);
    assert_eq!(state.started.load(Ordering::Relaxed) - before, 60);

    // Four log groups, two reads, no truncation: 48 queries; 40 is refused (each group's
    // reads, 12, fit), 48 passes.
    let state = Arc::new(Insights::new(&records, Vec::new()));
    let stub = insights_stub(state.clone()).await;
    let refused = plan
        .collect(
            &insights_multi(&stub.url, &options(40), None),
            &NoProgress,
            &cancel,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(refused, SourceError::ScanCap(_)),
        "a limit of the report, not a failed source: {refused:?}"
    );
    assert!(
        refused.to_string().contains("40 Logs Insights queries"),
        "{refused}"
    );
    let report = plan
        .collect(
            &insights_multi(&stub.url, &options(48), None),
            &NoProgress,
            &cancel,
        )
        .await
        .unwrap();
    assert_eq!(report.query_cost.unwrap().queries, 48);
    assert!(report.compare_to.is_some());
    assert_eq!(report.sources.len(), 4);
}

/// The server given two log groups (a comma list in `BEDROCK_LOG_GROUP`, as Terraform sets
/// it), one of which does not exist, and `mcp-client report` printing the sources section.
#[tokio::test]
async fn mcp_client_report_shows_each_source_with_its_status() {
    let records = dataset();
    let moto = Moto::shared();
    let group = format!("/test/multi-server-{:016x}", rand::random::<u64>());
    let missing = format!("{group}-missing");
    let logs = client(&moto.endpoint, mcp_testkit::moto::REGION);
    let mut events: Vec<&Record> = records.iter().collect();
    events.sort_by_key(|r| r.at_ms);
    load(&logs, &group, &events).await;
    let mut env = moto.env();
    env.push(("BEDROCK_LOG_GROUP", format!("{group},{missing}")));
    let server = mcp_testkit::process::ServerProcess::start_with_env(
        env!("CARGO_BIN_EXE_bedrock-usage-mcp"),
        // The metrics fallback is on (the default), and must not stand in for the missing
        // group: the region's metrics would count the other group's usage again.
        &["--cloudwatch-mode", "scan"],
        &env,
    );
    let query = query();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mcp-client"))
        .args(["--url", &server.url, "report"])
        .args(["--start", &query.start().to_string()])
        .args(["--end", &query.end().to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("Sources (2 log groups, 0 failed)"), "{text}");
    assert!(
        text.contains(&format!("ok        {group} (us-east-1): 240 records")),
        "{text}"
    );
    assert!(
        text.contains(&format!("not found {missing} (us-east-1): 0 records")),
        "{text}"
    );
    assert!(text.contains("Requests"), "{text}");
    assert!(!text.contains("metrics_fallback"), "{text}");
    assert!(text.contains("WARNING (log_group_not_found)"), "{text}");
}

/// `--max-scan-gb` bounds the report over all its log groups: each group's queries scan
/// 6,000 bytes here (6 queries of 1,000), under a cap of 10,000 each fits, the four do not.
#[tokio::test]
async fn the_scan_cap_bounds_the_whole_report_across_log_groups() {
    let records = dataset();
    let state = Arc::new(Insights::new(&records, Vec::new()));
    let stub = insights_stub(state.clone()).await;
    let options = InsightsOptions {
        initial_slice: Some(Duration::from_secs(86_400)),
        ..fast_insights()
    };
    let members = |cap| insights_multi(&stub.url, &options, cap);
    let err = members(Some(10_000))
        .collect(&query(), &NoProgress, &CancellationToken::new())
        .await
        .unwrap_err();
    assert!(matches!(err, SourceError::ScanCap(_)), "{err:?}");
    assert!(err.to_string().contains("--max-scan-gb"), "{err}");
    let started = state.started.load(Ordering::Relaxed);
    assert!(
        (7..=12).contains(&started),
        "stopped in the second group: {started}"
    );
    let report = members(Some(24_000))
        .collect(&query(), &NoProgress, &CancellationToken::new())
        .await
        .unwrap();
    let cost = report.query_cost.unwrap();
    assert_eq!(cost.bytes_scanned, 24_000, "every group's queries, summed");
    assert_eq!(cost.queries, 24);
}

// ---------------------------------------------------------------------------------------------
// The same log group named twice.

/// The default log groups `groups` (the first also the default one) in us-east-1, with
/// clients of `endpoint`.
fn selector_at(endpoint: &str, region: Option<&str>, groups: &[&str]) -> CloudWatchSelector {
    let clients = ClientCache::with_config(logs_stub::sdk_config(
        endpoint,
        "us-east-1",
        &fast_retries(),
    ));
    CloudWatchSelector::with_clients(
        CloudWatchMode::Insights,
        groups[0],
        region.map(str::to_owned),
        Arc::new(clients),
    )
    .unwrap()
    .with_log_groups(
        groups
            .iter()
            .map(|g| LogGroupId::parse(g).unwrap())
            .collect(),
    )
    .unwrap()
}

#[tokio::test]
async fn a_name_and_an_arn_of_the_same_group_are_refused_other_accounts_kept() {
    let moto = Moto::shared();
    let config = logs_stub::sdk_config(&moto.endpoint, "us-east-1", &fast_retries());
    let own = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .unwrap()
        .account()
        .unwrap()
        .to_owned();
    let other = if own == ACCOUNTS[0] {
        ACCOUNTS[1]
    } else {
        ACCOUNTS[0]
    };
    let same = format!("arn:aws:logs:us-east-1:{own}:log-group:{GROUP}");
    for region in [Some("us-east-1"), None] {
        // The same group of this account, once by name and once by ARN: counted twice.
        let refused = selector_at(&moto.endpoint, region, &[GROUP, &same])
            .refuse_same_group_twice()
            .await;
        let message = refused.expect_err("the same group twice is refused");
        assert!(message.contains("listed twice"), "{message}");
        assert!(message.contains(&own), "{message}");
        // The same name in another account is another group.
        let two = format!("arn:aws:logs:us-east-1:{other}:log-group:{GROUP}");
        let kept = selector_at(&moto.endpoint, region, &[GROUP, &two])
            .refuse_same_group_twice()
            .await
            .unwrap();
        assert_eq!(kept.log_groups().len(), 2);
    }
    // Nothing to ask (another region, another name): no call, even with nothing listening.
    let nowhere = "http://127.0.0.1:9";
    let elsewhere = format!("arn:aws:logs:eu-west-1:{own}:log-group:{GROUP}");
    let other_name = format!("arn:aws:logs:us-east-1:{own}:log-group:/other");
    for groups in [[GROUP, elsewhere.as_str()], [GROUP, other_name.as_str()]] {
        let kept = selector_at(nowhere, Some("us-east-1"), &groups)
            .refuse_same_group_twice()
            .await
            .unwrap();
        assert!(kept.clients().is_empty());
    }
    // A question that cannot be answered refuses rather than risk counting twice.
    let unknown = selector_at(nowhere, Some("us-east-1"), &[GROUP, &same])
        .refuse_same_group_twice()
        .await;
    let message = unknown.expect_err("refused when the account is unknown");
    assert!(message.contains("give both as ARNs"), "{message}");
}
