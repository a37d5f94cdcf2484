//! Application inference profiles end to end (issues 16 and 17): the server binary reads a
//! dataset whose calls go through four application inference profiles, resolves them through
//! the real AWS SDK (`bedrock:GetInferenceProfile`, `bedrock:ListTagsForResource`, pointed at
//! 127.0.0.1 with `AWS_ENDPOINT_URL_BEDROCK`) against the recorded answers in
//! `tests/data/bedrock/`, and `mcp-client report` shows `by_inference_profile` with names and
//! tags (a denied and a deleted profile by their ARN, with the reason, the report still made),
//! each profile looked up once, and the estimate pricing a profile as the model it routes to.
//! The bundled sample shows its profile from the synthetic catalogue, labelled so.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use mcp_testkit::ServerProcess;
use serde_json::{Value, json};

const SUPPORT: &str =
    "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/7zq4k2m9x1ab";
const BATCH: &str =
    "arn:aws:bedrock:us-west-2:111122223333:application-inference-profile/q8w2e6r4t0yu";
const DENIED: &str =
    "arn:aws:bedrock:eu-west-1:444455556666:application-inference-profile/m3n5b7v9c1xz";
const GONE: &str =
    "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/deleted00001";
const HAIKU: &str = "anthropic.claude-3-5-haiku-20241022-v1:0";
const NOVA: &str = "amazon.nova-pro-v1:0";

/// (modelId, region, input tokens, output tokens) of each day's calls.
const CALLS: [(&str, &str, u64, u64); 6] = [
    (SUPPORT, "us-east-1", 1_000, 200),
    (BATCH, "us-west-2", 3_000, 500),
    (DENIED, "eu-west-1", 700, 70),
    (GONE, "us-east-1", 400, 40),
    (NOVA, "us-east-1", 1_500, 150),
    (HAIKU, "us-east-1", 900, 90),
];

/// Prices per million tokens (whole dollars, so every cost is a whole number of micro-units).
const PRICING: &str = r#"{"currency": "USD", "models": [
    {"match": "anthropic.claude-3-5-haiku", "input_per_million": 1, "output_per_million": 5},
    {"match": "amazon.nova-pro", "input_per_million": 2, "output_per_million": 6}]}"#;

/// The records: each call on days 1 to 6 of October 2026, its tokens growing by the day.
fn records() -> Vec<(String, &'static str, u64, u64)> {
    let mut out = Vec::new();
    for day in 1..=6u64 {
        for (model, _, input, output) in CALLS {
            out.push((
                format!("2026-10-0{day}T10:00:00Z"),
                model,
                input + day,
                output + day,
            ));
        }
    }
    out
}

fn region_of(model: &str) -> &'static str {
    CALLS
        .iter()
        .find(|c| c.0 == model)
        .map(|c| c.1)
        .expect("a known model")
}

fn write_dataset(path: &Path) {
    let lines: Vec<String> = records()
        .into_iter()
        .enumerate()
        .map(|(i, (at, model, input, output))| {
            let account = if model == DENIED {
                "444455556666"
            } else {
                "111122223333"
            };
            json!({
                "schemaType": "ModelInvocationLog", "schemaVersion": "1.0", "timestamp": at,
                "accountId": account, "identity": {"arn": format!("arn:aws:iam::{account}:user/dev")},
                "region": region_of(model), "requestId": format!("req-{i:04}"), "operation": "Converse",
                "modelId": model,
                "input": {"inputContentType": "application/json", "inputTokenCount": input},
                "output": {"outputContentType": "application/json", "outputTokenCount": output},
            })
            .to_string()
        })
        .collect();
    std::fs::write(path, lines.join("\n") + "\n").expect("writing the dataset");
}

/// What the stub was asked: (operation, profile ARN, signing region) per request.
type Calls = Arc<Mutex<Vec<(String, String, String)>>>;

/// `%3A` and friends decoded (the SDK percent-encodes the ARN in the path).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("ascii");
            out.push(u8::from_str_radix(hex, 16).expect("a percent escape"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("utf-8")
}

fn recorded(name: &str) -> String {
    let path = format!("{}/tests/data/bedrock/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A REST-JSON answer; errors carry their type in `x-amzn-ErrorType`, as Bedrock sends them.
fn answer(status: StatusCode, error: Option<&str>, body: String) -> Response {
    let mut response = (status, [("content-type", "application/json")], body).into_response();
    if let Some(error) = error {
        response
            .headers_mut()
            .insert("x-amzn-errortype", error.parse().expect("a header value"));
    }
    response
}

/// The Bedrock control-plane stub on 127.0.0.1: the recorded answers, every request noted.
async fn bedrock_stub() -> (String, Calls, tokio::task::JoinHandle<()>) {
    let calls: Calls = Arc::default();
    let seen = calls.clone();
    let app = Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let seen = seen.clone();
            async move {
                let scope = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|a| a.split("Credential=").nth(1))
                    .and_then(|c| c.split('/').nth(2))
                    .unwrap_or_default()
                    .to_owned();
                let (operation, arn) = if method == Method::GET {
                    let id = uri
                        .path()
                        .strip_prefix("/inference-profiles/")
                        .expect("GET /inference-profiles/{id}");
                    ("GetInferenceProfile", percent_decode(id))
                } else {
                    assert_eq!(uri.path(), "/listTagsForResource");
                    let request: Value = serde_json::from_slice(&body).expect("a JSON body");
                    let arn = request["resourceARN"].as_str().expect("resourceARN");
                    ("ListTagsForResource", arn.to_owned())
                };
                seen.lock()
                    .expect("the call log")
                    .push((operation.to_owned(), arn.clone(), scope));
                match (operation, arn.as_str()) {
                    ("GetInferenceProfile", SUPPORT) => answer(
                        StatusCode::OK,
                        None,
                        recorded("get-inference-profile.support-bot.json"),
                    ),
                    ("ListTagsForResource", SUPPORT) => answer(
                        StatusCode::OK,
                        None,
                        recorded("list-tags-for-resource.support-bot.json"),
                    ),
                    ("GetInferenceProfile", BATCH) => answer(
                        StatusCode::OK,
                        None,
                        recorded("get-inference-profile.batch-summaries.json"),
                    ),
                    ("ListTagsForResource", BATCH) => answer(
                        StatusCode::FORBIDDEN,
                        Some("AccessDeniedException"),
                        recorded("list-tags-access-denied.json"),
                    ),
                    (_, DENIED) => answer(
                        StatusCode::FORBIDDEN,
                        Some("AccessDeniedException"),
                        recorded("access-denied.json"),
                    ),
                    _ => answer(
                        StatusCode::NOT_FOUND,
                        Some("ResourceNotFoundException"),
                        recorded("resource-not-found.json"),
                    ),
                }
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port on 127.0.0.1");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, calls, server)
}

fn server(args: &[&str], stub_url: &str) -> ServerProcess {
    ServerProcess::start_with_env(
        env!("CARGO_BIN_EXE_bedrock-usage-mcp"),
        args,
        &[
            ("AWS_ENDPOINT_URL_BEDROCK", stub_url.to_owned()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
        ],
    )
}

fn client(url: &str, extra: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_mcp-client"))
        .args(["--url", url, "report", "--start", "2026-10-01T00:00:00Z"])
        .args(["--end", "2026-10-08T00:00:00Z", "--top-n", "10"])
        .args(extra)
        .output()
        .expect("running mcp-client");
    assert!(
        output.status.success(),
        "mcp-client failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

fn report_json(url: &str, extra: &[&str]) -> Value {
    let mut args = vec!["--json"];
    args.extend_from_slice(extra);
    serde_json::from_str(&client(url, &args)).expect("JSON output")
}

/// (requests, input, output) per `by_inference_profile` key, computed from the records.
fn expected_rows() -> BTreeMap<String, (u64, u64, u64)> {
    let mut rows: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    for (_, model, input, output) in records() {
        let key = if model.contains(":application-inference-profile/") {
            model
        } else {
            "(none)"
        };
        let row = rows.entry(key.to_owned()).or_default();
        row.0 += 1;
        row.1 += input;
        row.2 += output;
    }
    rows
}

fn rows_by_key(report: &Value) -> BTreeMap<String, &Value> {
    report["by_inference_profile"]
        .as_array()
        .expect("by_inference_profile")
        .iter()
        .map(|row| (row["key"].as_str().expect("key").to_owned(), row))
        .collect()
}

fn counters(row: &Value) -> (u64, u64, u64) {
    let n = |f: &str| row[f].as_u64().unwrap_or_else(|| panic!("{f} in {row}"));
    (n("requests"), n("input_tokens"), n("output_tokens"))
}

fn micros(text: &str) -> u64 {
    let (whole, fraction) = text.split_once('.').expect("a decimal string");
    whole.parse::<u64>().expect("digits") * 1_000_000 + fraction.parse::<u64>().expect("digits")
}

/// `(operation, ARN)` -> how many requests the stub saw.
fn counts(calls: &Calls) -> BTreeMap<(String, String), usize> {
    let mut counts = BTreeMap::new();
    for (operation, arn, _) in calls.lock().expect("the call log").iter() {
        *counts.entry((operation.clone(), arn.clone())).or_default() += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_are_resolved_through_bedrock_once_and_priced_as_their_model() {
    let dir = std::env::temp_dir().join(format!("usage-profiles-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let data = dir.join("invocations.jsonl");
    write_dataset(&data);
    let (stub_url, calls, stub) = bedrock_stub().await;
    let data_arg = data.to_str().expect("utf-8");
    let process = server(
        &[
            "--usage-file",
            data_arg,
            "--inference-profiles",
            "on",
            "--pricing-json",
            PRICING,
            "--price-list",
            "off",
        ],
        &stub_url,
    );
    let url = process.url.clone();
    let report = tokio::task::spawn_blocking(move || report_json(&url, &[]))
        .await
        .expect("the client ran");

    // The breakdown: every profile and (none), counted as the records say, summing to totals.
    let rows = rows_by_key(&report);
    let expected = expected_rows();
    assert_eq!(
        rows.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (key, want) in &expected {
        assert_eq!(counters(rows[key]), *want, "{key}");
    }
    let sum = expected.values().fold(0, |a, r| a + r.0);
    assert_eq!(report["totals"]["requests"], sum);

    // Resolved: name, tags, the models it routes to, who said so.
    let support = rows[SUPPORT];
    assert_eq!(support["name"], "support-bot");
    assert_eq!(
        support["tags"],
        json!({"team": "support", "project": "helpdesk", "cost-center": "CC-2071"})
    );
    assert_eq!(support["models"].as_array().expect("models").len(), 3);
    assert_eq!(support["resolved_by"], "bedrock");
    assert!(support.get("unresolved").is_none(), "{support}");
    // Resolved, but the role may not read its tags: said, the name and model stand.
    let batch = rows[BATCH];
    assert_eq!(batch["name"], "batch-summaries");
    assert_eq!(batch["tags"], json!({}));
    let why = batch["tags_unavailable"].as_str().expect("why no tags");
    assert!(
        why.starts_with("ListTagsForResource: AccessDeniedException: User:"),
        "{why}"
    );
    // Denied and deleted: shown by ARN with the reason; the report is still made.
    for (arn, code) in [
        (DENIED, "GetInferenceProfile: AccessDeniedException: User:"),
        (
            GONE,
            "GetInferenceProfile: ResourceNotFoundException: The specified",
        ),
    ] {
        let row = rows[arn];
        assert_eq!(row["name"], Value::Null, "{row}");
        assert_eq!(row["resolved_by"], Value::Null, "{row}");
        let reason = row["unresolved"].as_str().expect("a reason");
        assert!(reason.starts_with(code), "{reason}");
    }
    assert_eq!(rows["(none)"]["name"], Value::Null);

    // Each profile looked up once, in its own region; tags only for those found.
    let seen = counts(&calls);
    let mut want = BTreeMap::new();
    for arn in [SUPPORT, BATCH, DENIED, GONE] {
        want.insert(("GetInferenceProfile".to_owned(), arn.to_owned()), 1);
    }
    for arn in [SUPPORT, BATCH] {
        want.insert(("ListTagsForResource".to_owned(), arn.to_owned()), 1);
    }
    assert_eq!(seen, want);
    for (_, arn, scope) in calls.lock().expect("the call log").iter() {
        let region = arn.split(':').nth(3).expect("a region");
        assert_eq!(scope, region, "{arn} signed for its own region");
    }

    // The estimate prices a profile as the model it routes to: support-bot as Claude 3.5
    // Haiku (copied from the us. profile), batch-summaries as Nova Pro, by the table's prices.
    let estimate = &report["estimated_cost"];
    let costs: BTreeMap<&str, u64> = estimate["by_model"]
        .as_array()
        .expect("by_model")
        .iter()
        .map(|r| {
            (
                r["key"].as_str().expect("key"),
                micros(r["cost"].as_str().expect("cost")),
            )
        })
        .collect();
    let (_, input, output) = expected[SUPPORT];
    assert_eq!(costs[SUPPORT], input + 5 * output);
    let (_, input, output) = expected[BATCH];
    assert_eq!(costs[BATCH], 2 * input + 6 * output);
    let source = estimate["price_sources"]
        .as_array()
        .expect("price_sources")
        .iter()
        .find(|s| s["model"] == SUPPORT)
        .expect("support-bot priced");
    assert_eq!(source["source"], "file");
    assert_eq!(source["match"], "anthropic.claude-3-5-haiku");
    let unpriced: BTreeMap<&str, &str> = estimate["unpriced_models"]
        .as_array()
        .expect("unpriced_models")
        .iter()
        .map(|u| {
            (
                u["model"].as_str().expect("model"),
                u["reason"].as_str().expect("reason"),
            )
        })
        .collect();
    assert_eq!(unpriced.keys().copied().collect::<Vec<_>>(), [DENIED, GONE]);
    assert!(unpriced[DENIED].contains("not resolved (GetInferenceProfile: AccessDeniedException"));

    // A second report, filtered to one profile: its counters alone, and no lookup again
    // (the process caches each profile).
    let url = process.url.clone();
    let filtered =
        tokio::task::spawn_blocking(move || report_json(&url, &["--inference-profile", SUPPORT]))
            .await
            .expect("the client ran");
    let (requests, input, output) = expected[SUPPORT];
    assert_eq!(
        counters(&filtered["totals"]),
        (requests, input, output),
        "the filter keeps that profile's calls"
    );
    assert_eq!(rows_by_key(&filtered).len(), 1);
    assert_eq!(rows_by_key(&filtered)[SUPPORT]["name"], "support-bot");
    assert_eq!(counts(&calls), want, "cached: no second lookup");

    // The text report names the profiles and says why the others have no name.
    let url = process.url.clone();
    let text = tokio::task::spawn_blocking(move || client(&url, &[]))
        .await
        .expect("the client ran");
    assert!(text.contains("By inference profile"), "{text}");
    assert!(text.contains("support-bot (7zq4k2m9x1ab)"), "{text}");
    assert!(
        text.contains("tags cost-center=CC-2071, project=helpdesk, team=support [bedrock]"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{DENIED}: not resolved (GetInferenceProfile: AccessDeniedException"
        )),
        "{text}"
    );
    drop(process);
    stub.abort();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bundled_sample_names_its_profile_from_the_synthetic_catalogue() {
    let (stub_url, calls, stub) = bedrock_stub().await;
    let process = server(&[], &stub_url);
    let url = process.url.clone();
    let report = tokio::task::spawn_blocking(move || {
        let output = Command::new(env!("CARGO_BIN_EXE_mcp-client"))
            .args(["--url", &url, "report", "--days", "30", "--json"])
            .output()
            .expect("running mcp-client");
        assert!(output.status.success());
        serde_json::from_slice::<Value>(&output.stdout).expect("JSON output")
    })
    .await
    .expect("the client ran");
    let sample =
        "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/a1b2c3d4e5f6";
    let rows = rows_by_key(&report);
    let profile = rows[sample];
    assert_eq!(profile["name"], "docs-assistant");
    assert_eq!(profile["resolved_by"], "synthetic");
    assert_eq!(profile["tags"]["team"], "knowledge");
    assert!(profile["requests"].as_u64().expect("requests") > 0);
    let total: u64 = rows
        .values()
        .map(|r| r["requests"].as_u64().expect("requests"))
        .sum();
    assert_eq!(report["totals"]["requests"], total);
    // Priced as the model it routes to, never unpriced.
    let estimate = &report["estimated_cost"];
    assert!(
        estimate["price_sources"]
            .as_array()
            .expect("price_sources")
            .iter()
            .any(|s| s["model"] == sample),
        "{estimate}"
    );
    assert!(
        !estimate["unpriced_models"]
            .as_array()
            .expect("unpriced_models")
            .iter()
            .any(|u| u["model"] == sample),
        "{estimate}"
    );
    // The sample never asks AWS.
    assert!(calls.lock().expect("the call log").is_empty());
    drop(process);
    stub.abort();
}

#[tokio::test]
async fn the_resource_and_the_prompt_name_profiles_as_the_tool_does() {
    use bedrock_usage_mcp::store::MemoryStore;
    use bedrock_usage_mcp::tools::{FixedSource, usage_server_with};
    use bedrock_usage_mcp::transport::TransportConfig;
    use bedrock_usage_mcp::usage::profiles::SyntheticProfiles;
    use bedrock_usage_mcp::usage::source::SampleSource;
    use mcp_testkit::app::{App, body_json};

    let app = App::serving(
        usage_server_with(
            Arc::new(FixedSource(Arc::new(SampleSource::new()))),
            None,
            None,
            Vec::new(),
            Some(Arc::new(SyntheticProfiles)),
        ),
        Arc::new(MemoryStore::new()),
        TransportConfig::default(),
    );
    let read = app
        .modern(
            1,
            "resources/read",
            json!({"uri": "bedrock-usage://report/30"}),
            json!({}),
        )
        .await;
    let read = body_json(read).await;
    let text = read["result"]["contents"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("a report: {read}"));
    let report: Value = serde_json::from_str(text).expect("JSON");
    let sample =
        "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/a1b2c3d4e5f6";
    assert_eq!(rows_by_key(&report)[sample]["name"], "docs-assistant");

    let prompt = app
        .modern(
            2,
            "prompts/get",
            json!({"name": "review_bedrock_usage", "arguments": {"days": "30"}}),
            json!({}),
        )
        .await;
    let prompt = body_json(prompt).await;
    let messages = prompt["result"]["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("messages: {prompt}"));
    let text = messages
        .iter()
        .filter_map(|m| m["content"]["text"].as_str())
        .collect::<String>();
    assert!(text.contains("docs-assistant (a1b2c3d4e5f6)"), "{text}");
}
