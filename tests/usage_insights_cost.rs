//! What a Logs Insights report costs, and the `--max-scan-gb` cap, against a scripted stand-in
//! for the CloudWatch Logs API whose `GetQueryResults` answers carry `statistics.bytesScanned`
//! as Logs Insights writes them (a running query's figure grows poll by poll):
//!
//! - the report's `query_cost` is the exact sum of every query's last figure, truncated ones
//!   included, priced at the configured price per GB;
//! - a report whose running queries pass the cap fails with a clear error saying how much was
//!   scanned, every running query gets a `StopQuery`, and no further slice starts;
//! - a report whose log group already stores more than the cap for the period is refused
//!   before any `StartQuery`; one that stores less, or whose `DescribeLogGroups` is refused,
//!   runs;
//! - the cap bounds one report, all its reads together: a `compare_to` + `anomalies` report
//!   whose three reads each stay under the cap but together pass it is stopped (and refused
//!   up front when the stored estimate, summed over the three periods, passes it).
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_cloudwatchlogs::Client;
use axum::http::StatusCode;
use axum::response::Response;
use bedrock_usage_mcp::aws::RetryPolicy;
use bedrock_usage_mcp::usage::change::{ChangeOptions, ChangePlan};
use bedrock_usage_mcp::usage::cost::money::Micros;
use bedrock_usage_mcp::usage::report::CompareTo;
use bedrock_usage_mcp::usage::source::cloudwatch::{
    Backoff, ClientCache, InsightsOptions, LogsClient, MAX_RESULT_ROWS,
};
use bedrock_usage_mcp::usage::source::{InsightsSource, MetricsSource, WithMetricsFallback};
use bedrock_usage_mcp::usage::{
    Granularity, NoProgress, SourceError, Timestamp, UsageQuery, UsageSource, report_json_schema,
};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use mcp_testkit::logs_stub::{self, LogsStub, json_response};

const GROUP: &str = "/aws/bedrock/modelinvocations";
const DAY_MS: i64 = 86_400_000;

/// How the stand-in answers one query's polls.
#[derive(Clone, Copy)]
enum Script {
    /// Running on the first poll with half the bytes, then Complete with `bytes`; 10,000 rows
    /// when the slice is wider than `truncate_wider_than_ms`.
    Complete { truncate_wider_than_ms: i64 },
    /// Running forever, `step` more bytes at every poll.
    Growing { step: u64 },
}

/// Queries that complete without truncation.
const UNSPLIT: Script = Script::Complete {
    truncate_wider_than_ms: i64::MAX,
};

/// The log group as `DescribeLogGroups` describes it, or a refusal.
#[derive(Clone, Copy)]
enum Describe {
    Group { stored_bytes: u64, created_ms: i64 },
    Refused,
}

/// A group created 60 days ago that stores `stored_bytes`.
fn stored_over_60_days(stored_bytes: u64) -> Describe {
    Describe::Group {
        stored_bytes,
        created_ms: Timestamp::now().unix_millis() - 60 * DAY_MS,
    }
}

struct Query {
    id: String,
    width_ms: i64,
    polls: u64,
    /// The bytes of the last answer.
    bytes: u64,
}

struct State {
    script: Script,
    describe: Describe,
    next_id: AtomicU64,
    queries: Mutex<Vec<Query>>,
    stops: Mutex<Vec<String>>,
    describes: AtomicU64,
}

/// A query's final byte count: distinct per query, so a sum that misses or repeats one shows.
fn final_bytes(n: u64) -> u64 {
    1_000_003 * n + n * n
}

impl State {
    fn handle(&self, operation: &str, body: &str) -> Response {
        let input: Value = serde_json::from_str(body).unwrap();
        match operation {
            "DescribeLogGroups" => {
                self.describes.fetch_add(1, Ordering::SeqCst);
                assert_eq!(input["logGroupNamePrefix"], GROUP);
                match self.describe {
                    Describe::Group {
                        stored_bytes,
                        created_ms,
                    } => ok(json!({ "logGroups": [{
                        "logGroupName": GROUP,
                        "creationTime": created_ms,
                        "storedBytes": stored_bytes,
                        "arn": "arn:aws:logs:us-east-1:111122223333:log-group:x:*",
                    }]})),
                    Describe::Refused => json_response(
                        StatusCode::BAD_REQUEST,
                        json!({"__type": "AccessDeniedException", "message": "no"}).to_string(),
                    ),
                }
            }
            "StartQuery" => {
                let n = self.next_id.fetch_add(1, Ordering::SeqCst);
                let id = format!("q{n}");
                let width_ms = (input["endTime"].as_i64().unwrap()
                    - input["startTime"].as_i64().unwrap())
                    * 1000;
                self.queries.lock().unwrap().push(Query {
                    id: id.clone(),
                    width_ms,
                    polls: 0,
                    bytes: 0,
                });
                ok(json!({ "queryId": id }))
            }
            "GetQueryResults" => self.results(input["queryId"].as_str().unwrap()),
            "StopQuery" => {
                self.stops
                    .lock()
                    .unwrap()
                    .push(input["queryId"].as_str().unwrap().to_owned());
                ok(json!({ "success": true }))
            }
            other => panic!("unexpected {other}"),
        }
    }

    fn results(&self, id: &str) -> Response {
        let mut queries = self.queries.lock().unwrap();
        let query = queries.iter_mut().find(|q| q.id == id).unwrap();
        query.polls += 1;
        let n: u64 = id[1..].parse().unwrap();
        let (status, bytes, rows) = match self.script {
            Script::Complete { .. } if query.polls == 1 => ("Running", final_bytes(n) / 2, 0),
            Script::Complete {
                truncate_wider_than_ms,
            } => {
                let rows = if query.width_ms > truncate_wider_than_ms {
                    MAX_RESULT_ROWS
                } else {
                    0
                };
                ("Complete", final_bytes(n), rows)
            }
            Script::Growing { step } => ("Running", step * query.polls, 0),
        };
        query.bytes = bytes;
        let row = json!([
            { "field": "bin(24h)", "value": "2000-01-01 00:00:00.000" },
            { "field": "events", "value": "0" },
            { "field": "records", "value": "0" },
        ]);
        ok(json!({
            "results": vec![row; rows],
            "statistics": {
                "recordsMatched": 0.0,
                "recordsScanned": 10.0,
                "bytesScanned": bytes as f64,
            },
            "status": status,
        }))
    }
}

fn ok(body: Value) -> Response {
    json_response(StatusCode::OK, body.to_string())
}

struct Fake {
    state: Arc<State>,
    stub: LogsStub,
}

impl Fake {
    async fn start(script: Script, describe: Describe) -> Fake {
        let state = Arc::new(State {
            script,
            describe,
            next_id: AtomicU64::new(1),
            queries: Mutex::new(Vec::new()),
            stops: Mutex::new(Vec::new()),
            describes: AtomicU64::new(0),
        });
        let handler = state.clone();
        let stub = LogsStub::start(move |operation, body| handler.handle(operation, body)).await;
        Fake { state, stub }
    }

    fn source(&self, options: InsightsOptions) -> InsightsSource {
        let retries = RetryPolicy {
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(40),
            ..RetryPolicy::DEFAULT
        };
        let config = logs_stub::sdk_config(&self.stub.url, "us-east-1", &retries);
        InsightsSource::new(LogsClient::ready(Client::new(&config)), GROUP).with_options(options)
    }

    /// [`Fake::source`] behind the metrics fallback, as the server wraps it.
    fn with_fallback(&self, options: InsightsOptions) -> WithMetricsFallback {
        let config = logs_stub::sdk_config(&self.stub.url, "us-east-1", &RetryPolicy::DEFAULT);
        let metrics = MetricsSource::new(Arc::new(ClientCache::with_config(config)), None);
        WithMetricsFallback::new(Arc::new(self.source(options)), metrics)
    }

    fn started(&self) -> Vec<String> {
        let queries = self.state.queries.lock().unwrap();
        queries.iter().map(|q| q.id.clone()).collect()
    }

    fn stops(&self) -> Vec<String> {
        let mut stops = self.state.stops.lock().unwrap().clone();
        stops.sort();
        stops
    }
}

fn options(max_concurrent_queries: usize, max_scan_gb: Option<f64>) -> InsightsOptions {
    InsightsOptions {
        max_concurrent_queries,
        initial_slice: Some(Duration::from_secs(7 * 86_400)),
        poll: Backoff {
            initial: Duration::from_millis(5),
            max: Duration::from_millis(20),
        },
        price_per_gb: 0.0076,
        max_scan_gb,
        ..InsightsOptions::default()
    }
}

/// Three weeks from Thursday 2026-10-01: three 7-day slices (cut at 7-day multiples of the
/// epoch, a Thursday).
fn fixed_weeks() -> UsageQuery {
    UsageQuery::new(
        "2026-10-01T00:00:00Z".parse().unwrap(),
        "2026-10-22T00:00:00Z".parse().unwrap(),
        Granularity::Day,
    )
    .unwrap()
}

/// The 21 days before the last UTC midnight (for the stored-bytes estimate, which is relative
/// to now).
fn three_weeks() -> UsageQuery {
    let today_ms = Timestamp::now().unix_millis().div_euclid(DAY_MS) * DAY_MS;
    let end = Timestamp::from_unix_millis(today_ms).unwrap();
    let start = Timestamp::from_unix_millis(today_ms - 21 * DAY_MS).unwrap();
    UsageQuery::new(start, end, Granularity::Day).unwrap()
}

#[tokio::test]
async fn the_report_carries_the_exact_sum_of_every_query_and_its_price() {
    // Slices wider than a day come back truncated and are split: their bytes count too.
    let fake = Fake::start(
        Script::Complete {
            truncate_wider_than_ms: 2 * DAY_MS,
        },
        Describe::Refused,
    )
    .await;
    let report = fake
        .source(options(4, None))
        .collect(&fixed_weeks(), &NoProgress, &CancellationToken::new())
        .await
        .unwrap();
    let started = fake.started();
    // Three 7-day slices, each truncated and split into four pieces of one or two days.
    assert_eq!(started.len(), 3 + 3 * 4, "{started:?}");
    let expected: u64 = (1..=started.len() as u64).map(final_bytes).sum();
    let cost = report
        .query_cost
        .expect("an Insights report has a query cost");
    assert_eq!(cost.bytes_scanned, expected);
    assert_eq!(cost.queries, started.len() as u64);
    assert_eq!(cost.price_per_gb, 0.0076);
    // 0.0076 per 10^9 bytes is 7.6 pico-units a byte: exact, rounded half up to micro-units.
    let pico = u128::from(expected) * 76 / 10;
    assert_eq!(
        cost.estimated_cost,
        Micros(i64::try_from((pico + 500_000) / 1_000_000).unwrap())
    );
    assert_eq!(cost.max_scan_gb, None);
    // Without a cap no DescribeLogGroups is sent, and nothing was stopped.
    assert_eq!(fake.state.describes.load(Ordering::SeqCst), 0);
    assert!(fake.stops().is_empty());
    // The JSON section holds every field its schema requires.
    let json = serde_json::to_value(&report).unwrap();
    let schema = report_json_schema();
    let section = &schema["properties"]["query_cost"];
    for field in section["required"].as_array().unwrap() {
        let field = field.as_str().unwrap();
        assert!(json["query_cost"].get(field).is_some(), "{field} missing");
    }
    assert_eq!(json["query_cost"]["bytes_scanned"], expected);
    assert_eq!(json["query_cost"]["currency"], "USD");
    // Money is a six-decimal string, as everywhere else in the report.
    let shown = json["query_cost"]["estimated_cost"].as_str().unwrap();
    assert_eq!(shown, cost.estimated_cost.to_string());
    assert_eq!(shown.split_once('.').unwrap().1.len(), 6, "{shown}");
    assert_eq!(section["properties"]["estimated_cost"]["type"], "string");
}

#[tokio::test]
async fn passing_the_cap_stops_every_running_query_and_starts_no_more() {
    // Two queries run at once, each 1,000,000 bytes more per poll; the cap is 5 MB.
    let fake = Fake::start(Script::Growing { step: 1_000_000 }, Describe::Refused).await;
    // The queries never end by themselves: without the guard the report would run forever.
    let source = fake.source(options(2, Some(0.005)));
    let (query, cancel) = (fixed_weeks(), CancellationToken::new());
    let collect = source.collect(&query, &NoProgress, &cancel);
    let err = tokio::time::timeout(Duration::from_secs(120), collect)
        .await
        .expect("the cap must end the report")
        .unwrap_err();
    let SourceError::ScanCap(message) = &err else {
        panic!("not the cap: {err:?}")
    };
    assert!(message.contains("over the cap of 0.005 GB"), "{message}");
    assert!(message.contains("--max-scan-gb"), "{message}");
    // The figure in the message is what the queries had scanned when the cap tripped.
    let scanned: u64 = message
        .split_once(" GB (")
        .and_then(|(_, rest)| rest.split_once(" bytes)"))
        .map(|(n, _)| n.parse().unwrap())
        .unwrap();
    assert!(scanned > 5_000_000, "{message}");
    assert!(scanned <= 5_000_000 + 2 * 1_000_000, "{message}");
    // The third slice never started; both running queries were stopped.
    assert_eq!(fake.started(), ["q1", "q2"]);
    assert_eq!(fake.stops(), ["q1", "q2"]);
    // The DescribeLogGroups refusal did not stop the report: the running guard did.
    assert_eq!(fake.state.describes.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_group_that_stores_more_than_the_cap_for_the_period_is_refused_before_any_query() {
    // 30 GB stored evenly over 60 days: the 21-day period holds about 10.5 GB.
    let stored = stored_over_60_days(30_000_000_000);
    let fake = Fake::start(UNSPLIT, stored).await;
    let err = fake
        .source(options(4, Some(10.0)))
        .collect(&three_weeks(), &NoProgress, &CancellationToken::new())
        .await
        .unwrap_err();
    let SourceError::ScanCap(message) = &err else {
        panic!("not the cap: {err:?}")
    };
    assert!(
        message.contains("refused before any Logs Insights query"),
        "{message}"
    );
    assert!(message.contains("cap of 10.000 GB"), "{message}");
    assert!(fake.started().is_empty());

    // With a cap above the estimate, the same group is queried.
    let fake = Fake::start(UNSPLIT, stored).await;
    let report = fake
        .source(options(4, Some(11.0)))
        .collect(&three_weeks(), &NoProgress, &CancellationToken::new())
        .await
        .unwrap();
    let started = fake.started().len() as u64;
    assert!(started >= 3, "{started} queries");
    let cost = report.query_cost.unwrap();
    assert_eq!(
        cost.bytes_scanned,
        (1..=started).map(final_bytes).sum::<u64>()
    );
    assert_eq!(cost.max_scan_gb, Some(11.0));
}

/// A 7-day period on a 7-day slice boundary with `compare_to` and `anomalies`: three reads, the
/// period, the previous 7 days and the 14 days before the period.
fn three_reads(query: &UsageQuery) -> ChangePlan {
    let both = ChangeOptions {
        compare_to: Some(CompareTo::PreviousPeriod),
        anomalies: true,
    };
    let plan = ChangePlan::new(query, both).unwrap();
    assert_eq!(plan.reads(), 3);
    plan
}

#[tokio::test]
async fn the_cap_bounds_the_whole_report_not_each_of_its_reads() {
    for wrapped in [false, true] {
        the_cap_bounds_the_reads_together(wrapped).await;
    }
}

/// See the caller; `wrapped`: behind the metrics fallback (which must pass the reads on
/// together).
async fn the_cap_bounds_the_reads_together(wrapped: bool) {
    // One query at a time; query n scans final_bytes(n) (about n MB), half of it on its first
    // (Running) answer. The period is one slice (q1, 1.0 MB), the previous period one (q2,
    // 2.0 MB), the 14 days before two (q3 3.0 MB, q4 4.0 MB: 7.0 MB). Each read stays under
    // the 7.6 MB cap; together they pass it when q4 first answers (6.0 + 2.0 MB, Running).
    let fake = Fake::start(UNSPLIT, Describe::Refused).await;
    let query = UsageQuery::new(
        "2026-10-15T00:00:00Z".parse().unwrap(),
        "2026-10-22T00:00:00Z".parse().unwrap(),
        Granularity::Day,
    )
    .unwrap();
    let source: Box<dyn UsageSource> = if wrapped {
        Box::new(fake.with_fallback(options(1, Some(0.0076))))
    } else {
        Box::new(fake.source(options(1, Some(0.0076))))
    };
    let err = three_reads(&query)
        .collect(source.as_ref(), &NoProgress, &CancellationToken::new())
        .await
        .expect_err("the three reads together pass the cap");
    let SourceError::ScanCap(message) = &err else {
        panic!("not the cap (wrapped: {wrapped}): {err:?}")
    };
    assert!(message.contains("over the cap of 0.008 GB"), "{message}");
    let at_trip = final_bytes(1) + final_bytes(2) + final_bytes(3) + final_bytes(4) / 2;
    assert!(message.contains(&format!("({at_trip} bytes)")), "{message}");
    // Every read started; the one running when the total passed the cap was stopped.
    assert_eq!(fake.started(), ["q1", "q2", "q3", "q4"]);
    assert_eq!(fake.stops(), ["q4"]);

    // Under a cap above the total, the report's query_cost is the total, against that cap.
    let fake = Fake::start(UNSPLIT, Describe::Refused).await;
    let report = three_reads(&query)
        .collect(
            &fake.source(options(1, Some(0.011))),
            &NoProgress,
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    let cost = report.query_cost.unwrap();
    assert_eq!(cost.bytes_scanned, (1..=4).map(final_bytes).sum::<u64>());
    assert_eq!(cost.queries, 4);
    assert_eq!(cost.max_scan_gb, Some(0.011));
    assert!(fake.stops().is_empty());
}

#[tokio::test]
async fn the_stored_estimate_of_every_read_together_is_checked_before_any_query() {
    // 60 GB stored evenly over 60 days: 1 GB a day. The last 7 days hold 7 GB, the 7 before
    // them 7 GB, the 14 days before the period 14 GB: each under the 20 GB cap, 28 GB in all.
    let stored = stored_over_60_days(60_000_000_000);
    let fake = Fake::start(UNSPLIT, stored).await;
    let today_ms = Timestamp::now().unix_millis().div_euclid(DAY_MS) * DAY_MS;
    let query = UsageQuery::new(
        Timestamp::from_unix_millis(today_ms - 7 * DAY_MS).unwrap(),
        Timestamp::from_unix_millis(today_ms).unwrap(),
        Granularity::Day,
    )
    .unwrap();
    let err = three_reads(&query)
        .collect(
            &fake.source(options(4, Some(20.0))),
            &NoProgress,
            &CancellationToken::new(),
        )
        .await
        .expect_err("28 GB stored for the three periods passes the 20 GB cap");
    let SourceError::ScanCap(message) = &err else {
        panic!("not the cap: {err:?}")
    };
    assert!(
        message.contains("refused before any Logs Insights query"),
        "{message}"
    );
    assert!(message.contains("cap of 20.000 GB"), "{message}");
    assert!(fake.started().is_empty(), "{:?}", fake.started());
    // One DescribeLogGroups for the report, not one per read.
    assert_eq!(fake.state.describes.load(Ordering::SeqCst), 1);
}
