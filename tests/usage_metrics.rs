//! The `cloudwatch-metrics` source against a stand-in for CloudWatch on 127.0.0.1 that
//! answers `ListMetrics` and `GetMetricData` in the protocol the SDK speaks (Smithy RPC v2
//! CBOR: moto 5.2 answers CloudWatch only in the older query protocol, so it cannot serve
//! `aws-sdk-cloudwatch`), with recorded-shape answers written here: two models, hourly sums,
//! a second `GetMetricData` page. Checks the report's numbers against sums done by hand, what
//! the requests asked for, and the fallback a log-group source takes when its log group does
//! not exist.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bedrock_usage_mcp::aws::RetryPolicy;
use bedrock_usage_mcp::usage::source::cloudwatch::ClientCache;
use bedrock_usage_mcp::usage::source::{CloudWatchMode, CloudWatchSelector, MetricsSource};
use bedrock_usage_mcp::usage::{
    Granularity, NoProgress, SourceKind, Timestamp, UsageQuery, UsageSource,
};
use tokio_util::sync::CancellationToken;

use mcp_testkit::logs_stub::{self, JSON_1_1};

// ---------------------------------------------------------------------------------------------
// A few CBOR items, as RFC 8949 writes them (enough for the answers below)

enum Cbor {
    Text(&'static str),
    Owned(String),
    Float(f64),
    /// Tag 1 (epoch seconds) around a float: how Smithy writes a timestamp.
    Time(f64),
    Array(Vec<Cbor>),
    Map(Vec<(&'static str, Cbor)>),
}

fn head(out: &mut Vec<u8>, major: u8, len: usize) {
    let major = major << 5;
    match len {
        0..=23 => out.push(major | len as u8),
        24..=0xff => out.extend([major | 24, len as u8]),
        0x100..=0xffff => {
            out.push(major | 25);
            out.extend((len as u16).to_be_bytes());
        }
        _ => {
            out.push(major | 26);
            out.extend((len as u32).to_be_bytes());
        }
    }
}

impl Cbor {
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Cbor::Text(s) => Cbor::Owned((*s).to_owned()).write(out),
            Cbor::Owned(s) => {
                head(out, 3, s.len());
                out.extend(s.as_bytes());
            }
            Cbor::Float(x) => {
                out.push(0xfb);
                out.extend(x.to_be_bytes());
            }
            Cbor::Time(secs) => {
                out.push(0xc1);
                Cbor::Float(*secs).write(out);
            }
            Cbor::Array(items) => {
                head(out, 4, items.len());
                items.iter().for_each(|i| i.write(out));
            }
            Cbor::Map(entries) => {
                head(out, 5, entries.len());
                for (k, v) in entries {
                    Cbor::Text(k).write(out);
                    v.write(out);
                }
            }
        }
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }
}

// ---------------------------------------------------------------------------------------------
// The stand-in

const MODELS: [&str; 2] = ["amazon.nova-pro-v1:0", "us.anthropic.claude-sonnet-4-v1:0"];
/// The metric names as AWS documents them (Bedrock runtime metrics), in the source's order.
const METRICS: [&str; 6] = bedrock_usage_mcp::usage::source::metrics::fetch::METRICS;
const HOUR: f64 = 3600.0;

/// The day the data points fall on: 2026-11-10 (epoch seconds of its midnight).
fn day0() -> f64 {
    Timestamp::parse_rfc3339("2026-11-10T00:00:00Z")
        .unwrap()
        .unix_millis() as f64
        / 1000.0
}

/// The value of metric `k` for model `m` at hour `h` (of two hours: 09:00 on day 0, 15:00 on
/// day 1): distinct, so a misplaced sum shows.
fn value(m: usize, k: usize, h: usize) -> f64 {
    ((m + 1) * 1000 + (k + 1) * 10 + h + 1) as f64
}

fn hours() -> [f64; 2] {
    [day0() + 9.0 * HOUR, day0() + 86_400.0 + 15.0 * HOUR]
}

#[derive(Default)]
struct Seen {
    /// (operation, raw request body)
    calls: Vec<(String, Vec<u8>)>,
    /// Logs calls by X-Amz-Target.
    logs: Vec<String>,
}

fn list_metrics() -> Cbor {
    let metric = |model: &'static str| {
        Cbor::Map(vec![
            ("Namespace", Cbor::Text("AWS/Bedrock")),
            ("MetricName", Cbor::Text("Invocations")),
            (
                "Dimensions",
                Cbor::Array(vec![Cbor::Map(vec![
                    ("Name", Cbor::Text("ModelId")),
                    ("Value", Cbor::Text(model)),
                ])]),
            ),
        ])
    };
    // A metric with another dimension set is not a per-model one.
    let other = Cbor::Map(vec![
        ("Namespace", Cbor::Text("AWS/Bedrock")),
        ("MetricName", Cbor::Text("Invocations")),
        (
            "Dimensions",
            Cbor::Array(vec![
                Cbor::Map(vec![
                    ("Name", Cbor::Text("ModelId")),
                    ("Value", Cbor::Text("ignored")),
                ]),
                Cbor::Map(vec![
                    ("Name", Cbor::Text("Other")),
                    ("Value", Cbor::Text("x")),
                ]),
            ]),
        ),
    ]);
    Cbor::Map(vec![(
        "Metrics",
        Cbor::Array(vec![metric(MODELS[0]), metric(MODELS[1]), other]),
    )])
}

/// Page 1: model 0's series and a NextToken; page 2: model 1's.
fn metric_data(page: usize) -> Cbor {
    let results = (0..METRICS.len())
        .map(|k| {
            Cbor::Map(vec![
                ("Id", Cbor::Owned(format!("m{page}_{k}"))),
                ("Label", Cbor::Text(METRICS[k])),
                (
                    "Timestamps",
                    Cbor::Array(hours().iter().map(|t| Cbor::Time(*t)).collect()),
                ),
                (
                    "Values",
                    Cbor::Array((0..2).map(|h| Cbor::Float(value(page, k, h))).collect()),
                ),
                ("StatusCode", Cbor::Text("Complete")),
            ])
        })
        .collect();
    let mut entries = vec![("MetricDataResults", Cbor::Array(results))];
    if page == 0 {
        entries.push(("NextToken", Cbor::Text("page-2")));
    }
    Cbor::Map(entries)
}

fn cbor_response(body: Cbor) -> Response {
    (
        StatusCode::OK,
        [
            ("content-type", "application/cbor"),
            ("smithy-protocol", "rpc-v2-cbor"),
        ],
        body.bytes(),
    )
        .into_response()
}

struct Stub {
    url: String,
    seen: Arc<Mutex<Seen>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Stub {
    /// CloudWatch (CBOR) and CloudWatch Logs (JSON, every call answered "no such log group")
    /// on one port, as one endpoint URL serves both SDK clients.
    async fn start() -> Stub {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let metrics_seen = seen.clone();
        let logs_seen = seen.clone();
        let app = Router::new()
            .route(
                "/service/GraniteServiceVersion20100801/operation/{op}",
                post(move |Path(op): Path<String>, body: Bytes| {
                    let seen = metrics_seen.clone();
                    async move {
                        let page = {
                            let mut seen = seen.lock().unwrap();
                            seen.calls.push((op.clone(), body.to_vec()));
                            seen.calls.iter().filter(|(o, _)| *o == op).count() - 1
                        };
                        match op.as_str() {
                            "ListMetrics" => cbor_response(list_metrics()),
                            "GetMetricData" => cbor_response(metric_data(page)),
                            _ => (StatusCode::BAD_REQUEST, "unexpected").into_response(),
                        }
                    }
                }),
            )
            .route(
                "/",
                post(move |headers: HeaderMap| {
                    let seen = logs_seen.clone();
                    async move {
                        let target = headers
                            .get("x-amz-target")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned();
                        seen.lock().unwrap().logs.push(target);
                        (
                            StatusCode::BAD_REQUEST,
                            [("content-type", JSON_1_1)],
                            r#"{"__type":"ResourceNotFoundException","message":"The specified log group does not exist."}"#,
                        )
                            .into_response()
                    }
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Stub { url, seen, server }
    }

    fn clients(&self) -> Arc<ClientCache> {
        let retries = RetryPolicy {
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(40),
            ..RetryPolicy::DEFAULT
        };
        Arc::new(ClientCache::with_config(logs_stub::sdk_config(
            &self.url,
            "eu-west-1",
            &retries,
        )))
    }
}

fn query() -> UsageQuery {
    UsageQuery::new(
        "2026-11-10T00:00:00Z".parse().unwrap(),
        "2026-11-12T00:00:00Z".parse().unwrap(),
        Granularity::Day,
    )
    .unwrap()
}

/// What the report must say for model `m`: (requests, input, output, errors, throttles).
fn expected(m: usize) -> (u64, u64, u64, u64, u64) {
    let sum = |k: usize| (0..2).map(|h| value(m, k, h) as u64).sum::<u64>();
    (sum(0), sum(1), sum(2), sum(3) + sum(4), sum(5))
}

#[tokio::test]
async fn the_metrics_give_requests_tokens_and_errors_by_model_and_day() {
    // The names Bedrock publishes (its user guide, "Amazon Bedrock runtime metrics").
    for name in ["Invocations", "InputTokenCount", "OutputTokenCount"] {
        assert!(METRICS.contains(&name), "{name}");
    }
    let stub = Stub::start().await;
    let source = MetricsSource::new(stub.clients(), None);
    let report = source
        .collect(&query(), &NoProgress, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(report.source.kind, SourceKind::CloudwatchMetrics);
    assert_eq!(report.source.region.as_deref(), Some("eu-west-1"));
    let (a, b) = (expected(0), expected(1));
    let t = report.totals;
    assert_eq!(
        (t.requests, t.input_tokens, t.output_tokens, t.errors),
        (a.0 + b.0, a.1 + b.1, a.2 + b.2, a.3 + b.3)
    );
    assert_eq!(t.total_tokens, a.1 + b.1 + a.2 + b.2);
    // Claude's numbers are the larger: first.
    let by_model: Vec<(String, u64)> = report
        .by_model
        .iter()
        .map(|r| (r.key.clone(), r.counters.requests))
        .collect();
    assert_eq!(
        by_model,
        [(MODELS[1].to_owned(), b.0), (MODELS[0].to_owned(), a.0)]
    );
    // Hour 0 falls on day 0, hour 1 on day 1.
    let daily: Vec<u64> = report.daily.iter().map(|r| r.counters.requests).collect();
    let hour = |h: usize| (value(0, 0, h) + value(1, 0, h)) as u64;
    assert_eq!(daily, [hour(0), hour(1)]);
    assert!(report.by_user.is_empty());
    assert!(
        report
            .limitations
            .iter()
            .any(|l| l.field == "by_user" && l.reason.contains("caller"))
    );
    let throttled = report
        .warnings
        .iter()
        .find(|w| w.code == "throttled_invocations")
        .unwrap();
    assert!(
        throttled
            .message
            .contains(&format!("throttled {} invocations", a.4 + b.4)),
        "{}",
        throttled.message
    );
    // One ListMetrics, two GetMetricData pages asking for the six metrics of both models.
    let seen = stub.seen.lock().unwrap();
    let ops: Vec<&str> = seen.calls.iter().map(|(op, _)| op.as_str()).collect();
    assert_eq!(ops, ["ListMetrics", "GetMetricData", "GetMetricData"]);
    let has = |body: &[u8], text: &str| body.windows(text.len()).any(|w| w == text.as_bytes());
    assert!(has(&seen.calls[0].1, "AWS/Bedrock") && has(&seen.calls[0].1, "ModelId"));
    let get = &seen.calls[1].1;
    for text in METRICS.iter().chain(&MODELS).chain(&["Sum"]) {
        assert!(has(get, text), "GetMetricData without {text}");
    }
    assert!(
        has(&seen.calls[2].1, "page-2"),
        "the second page asks with the token"
    );
}

#[tokio::test]
async fn a_missing_log_group_falls_back_to_the_metrics_when_asked() {
    let stub = Stub::start().await;
    let group = "/aws/bedrock/modelinvocations";
    let selector =
        CloudWatchSelector::with_clients(CloudWatchMode::Insights, group, None, stub.clients())
            .unwrap();
    // Without the fallback: zero usage and the warning, as before.
    let plain = selector
        .default_source()
        .collect(&query(), &NoProgress, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(plain.source.kind, SourceKind::CloudwatchInsights);
    assert_eq!(plain.totals.requests, 0);
    assert!(stub.seen.lock().unwrap().calls.is_empty());

    let selector = selector.with_metrics_fallback(true);
    let report = selector
        .default_source()
        .collect(&query(), &NoProgress, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(report.source.kind, SourceKind::CloudwatchMetrics);
    assert_eq!(report.totals.requests, expected(0).0 + expected(1).0);
    let codes: Vec<&str> = report.warnings.iter().map(|w| w.code.as_str()).collect();
    assert_eq!(
        &codes[..2],
        ["log_group_not_found", "metrics_fallback"],
        "{codes:?}"
    );
    assert!(report.warnings[1].message.contains(group));
    let seen = stub.seen.lock().unwrap();
    assert!(
        seen.logs.iter().all(|t| t.ends_with("StartQuery")),
        "{:?}",
        seen.logs
    );
    assert!(!seen.logs.is_empty());
}
