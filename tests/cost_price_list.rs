//! The estimated cost from the AWS Price List, end to end: the server binary prices a dataset
//! through the real AWS SDK (`pricing:GetProducts`, pointed at 127.0.0.1 with
//! `AWS_ENDPOINT_URL_PRICING`) against the answers in `tests/data/pricelist/`, and
//! `mcp-client report --json` shows numbers checked here against a plain computation over the
//! records (integer micro-units, as the report promises). With `--billed-cost`, Cost
//! Explorer's `GetCostAndUsage` (`AWS_ENDPOINT_URL_COST_EXPLORER`) answers from
//! `tests/data/costexplorer/`, and the bill and its reconciliation are checked against those
//! files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use mcp_testkit::ServerProcess;
use mcp_testkit::logs_stub::{LogsStub, json_response};
use serde_json::{Value, json};

const HAIKU: &str = "anthropic.claude-3-5-haiku-20241022-v1:0";
const APP_PROFILE: &str =
    "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/a1b2c3d4e5f6";
const MODELS: [&str; 7] = [
    "amazon.nova-pro-v1:0",
    "meta.llama3-3-70b-instruct-v1:0",
    HAIKU,
    "us.anthropic.claude-sonnet-4-20250514-v1:0",
    "global.anthropic.claude-sonnet-4-20250514-v1:0",
    "cohere.command-r-plus-v1:0",
    APP_PROFILE,
];
const REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];
const USERS: [&str; 3] = [
    "arn:aws:iam::111122223333:user/alice",
    "arn:aws:iam::111122223333:user/bob",
    "arn:aws:sts::111122223333:assumed-role/Batch/nightly",
];
const PUBLISHED: &str = "2026-11-20T09:31:05Z";

/// One record's fields the estimate depends on.
struct Record {
    model: &'static str,
    region: &'static str,
    user: &'static str,
    day: u32,
    tokens: [u64; 4],
}

fn dataset() -> Vec<Record> {
    (0..700u64)
        .map(|i| {
            let model = MODELS[(i % 7) as usize];
            let region = if model.starts_with("arn:") {
                "us-east-1"
            } else if model.starts_with("us.") {
                REGIONS[(i % 2) as usize]
            } else {
                REGIONS[((i / 7) % 3) as usize]
            };
            let cached =
                model.contains("nova") || model.contains("anthropic") || model == APP_PROFILE;
            Record {
                model,
                region,
                user: USERS[((i / 3) % 3) as usize],
                day: 1 + (i % 10) as u32,
                tokens: [
                    100 + (i * 37) % 900,
                    50 + (i * 53) % 400,
                    if cached && i % 4 == 0 { 200 + i } else { 0 },
                    if (model.contains("anthropic") || model == APP_PROFILE) && i % 6 == 0 {
                        300
                    } else {
                        0
                    },
                ],
            }
        })
        .collect()
}

fn write(records: &[Record], path: &Path) {
    let mut lines = String::new();
    for (i, r) in records.iter().enumerate() {
        let record = json!({
            "schemaType": "ModelInvocationLog", "schemaVersion": "1.0",
            "timestamp": format!("2026-10-{:02}T{:02}:15:00Z", r.day, i % 24),
            "accountId": "111122223333", "identity": {"arn": r.user}, "region": r.region,
            "requestId": format!("req-{i}"), "operation": "Converse", "modelId": r.model,
            "input": {"inputTokenCount": r.tokens[0], "cacheReadInputTokenCount": r.tokens[2],
                      "cacheWriteInputTokenCount": r.tokens[3]},
            "output": {"outputTokenCount": r.tokens[1]},
        });
        lines.push_str(&record.to_string());
        lines.push('\n');
    }
    std::fs::write(path, lines).expect("dataset");
}

/// Micro-units per million tokens (input, output, cache read, cache write) the answers in
/// tests/data/pricelist give `model` called in `region`, read off those files by hand.
fn price_list_rates(model: &str, region: &str) -> Option<[u64; 4]> {
    let us = region != "eu-west-1";
    match model {
        "amazon.nova-pro-v1:0" if us => Some([800_000, 3_200_000, 200_000, 0]),
        "amazon.nova-pro-v1:0" => Some([1_000_000, 4_000_000, 250_000, 0]),
        "meta.llama3-3-70b-instruct-v1:0" if us => Some([720_000, 720_000, 0, 0]),
        HAIKU if us => Some([800_000, 4_000_000, 80_000, 1_000_000]),
        // A geographic profile is billed at the source region's in-region price.
        "us.anthropic.claude-sonnet-4-20250514-v1:0" => {
            Some([3_000_000, 15_000_000, 300_000, 3_750_000])
        }
        "global.anthropic.claude-sonnet-4-20250514-v1:0" => {
            Some([2_700_000, 13_500_000, 270_000, 3_375_000])
        }
        _ => None,
    }
}

/// Costs in micro-units by model, rounded once per model, and the unpriced (model, region)
/// pairs, for `rates`.
fn expected(
    records: &[Record],
    rates: impl Fn(&str, &str) -> Option<[u64; 4]>,
) -> (BTreeMap<String, u64>, BTreeSet<(String, String)>) {
    let mut exact: BTreeMap<String, u128> = BTreeMap::new();
    let mut unpriced = BTreeSet::new();
    for r in records {
        match rates(r.model, r.region) {
            Some(rates) => {
                let cost: u128 = (0..4)
                    .map(|k| u128::from(r.tokens[k]) * u128::from(rates[k]))
                    .sum();
                *exact.entry(r.model.to_owned()).or_default() += cost;
            }
            None => {
                unpriced.insert((r.model.to_owned(), r.region.to_owned()));
            }
        }
    }
    let micros = exact
        .into_iter()
        .map(|(model, pico)| (model, ((pico + 500_000) / 1_000_000) as u64))
        .collect();
    (micros, unpriced)
}

/// `value` has every property `schema` requires, recursively through objects and arrays, and
/// every money string has the schema's pattern (six decimals).
fn assert_shape(schema: &Value, value: &Value, path: &str) {
    if let Some(required) = schema["required"].as_array() {
        for key in required {
            let key = key.as_str().expect("a property name");
            assert!(value.get(key).is_some(), "{path}.{key} missing: {value}");
        }
    }
    if let (Some(properties), Some(object)) = (schema["properties"].as_object(), value.as_object())
    {
        for (key, inner) in object {
            if let Some(sub) = properties.get(key) {
                assert_shape(sub, inner, &format!("{path}.{key}"));
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for item in array {
            assert_shape(items, item, &format!("{path}[]"));
        }
    }
    if schema["pattern"] == r"^-?\d+\.\d{6}$" {
        let text = value
            .as_str()
            .unwrap_or_else(|| panic!("{path}: not a string: {value}"));
        let digits = text.strip_prefix('-').unwrap_or(text);
        assert!(micros_checked(digits), "{path}: {text}");
    }
}

fn micros_checked(text: &str) -> bool {
    text.split_once('.').is_some_and(|(w, f)| {
        !w.is_empty() && f.len() == 6 && w.bytes().chain(f.bytes()).all(|b| b.is_ascii_digit())
    })
}

fn micros(text: &str) -> u64 {
    let (whole, fraction) = text.split_once('.').expect("a decimal string");
    assert_eq!(fraction.len(), 6, "{text}");
    whole.parse::<u64>().expect("digits") * 1_000_000 + fraction.parse::<u64>().expect("digits")
}

/// The GetProducts stub: answers from tests/data/pricelist, and remembers what was asked.
async fn price_list_stub() -> (LogsStub, Arc<Mutex<Vec<String>>>) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let seen = calls.clone();
    let stub = LogsStub::start(move |operation, body| {
        assert_eq!(operation, "GetProducts");
        let request: Value = serde_json::from_str(body).expect("a JSON request");
        let service = request["ServiceCode"]
            .as_str()
            .expect("ServiceCode")
            .to_owned();
        let filter = &request["Filters"][0];
        assert_eq!(filter["Type"], "TERM_MATCH");
        assert_eq!(filter["Field"], "regionCode");
        let region = filter["Value"].as_str().expect("a region").to_owned();
        let page = match request["NextToken"].as_str() {
            Some(token) => {
                assert_eq!(token, format!("{service}-{region}-page-2-token"));
                2
            }
            None => 1,
        };
        seen.lock()
            .expect("the call log")
            .push(format!("{service} {region} {page}"));
        let path = format!(
            "{}/tests/data/pricelist/{service}.{region}.{page}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let body = std::fs::read_to_string(path)
            .unwrap_or_else(|_| r#"{"FormatVersion":"aws_v1","PriceList":[]}"#.to_owned());
        json_response(StatusCode::OK, body)
    })
    .await;
    (stub, calls)
}

fn report(url: &str) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_mcp-client"))
        .args(["--url", url, "report", "--start", "2026-10-01T00:00:00Z"])
        .args(["--end", "2026-10-11T00:00:00Z", "--top-n", "10", "--json"])
        .output()
        .expect("running mcp-client");
    assert!(
        output.status.success(),
        "mcp-client failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

fn server(data: &Path, stub_url: &str, extra: &[&str]) -> ServerProcess {
    server_with(data, stub_url, extra, &[])
}

fn server_with(
    data: &Path,
    stub_url: &str,
    extra: &[&str],
    env: &[(&str, String)],
) -> ServerProcess {
    let mut args = vec![
        "--usage-file",
        data.to_str().expect("utf-8"),
        "--price-list",
        "on",
    ];
    args.extend_from_slice(extra);
    ServerProcess::start_with_env(
        env!("CARGO_BIN_EXE_bedrock-usage-mcp"),
        &args,
        &[
            &[
                ("AWS_ENDPOINT_URL_PRICING", stub_url.to_owned()),
                ("AWS_ACCESS_KEY_ID", "test".to_owned()),
                ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
                ("AWS_REGION", "eu-west-1".to_owned()),
            ],
            env,
        ]
        .concat(),
    )
}

fn by_key(rows: &Value) -> BTreeMap<String, u64> {
    rows.as_array()
        .expect("rows")
        .iter()
        .map(|row| {
            let key = row["key"].as_str().expect("key").to_owned();
            (key, micros(row["cost"].as_str().expect("a decimal string")))
        })
        .collect()
}

fn unpriced_pairs(estimate: &Value) -> BTreeSet<(String, String)> {
    estimate["unpriced_models"]
        .as_array()
        .expect("unpriced_models")
        .iter()
        .map(|u| {
            assert!(!u["reason"].as_str().unwrap_or_default().is_empty(), "{u}");
            (
                u["model"].as_str().expect("model").to_owned(),
                u["region"].as_str().expect("region").to_owned(),
            )
        })
        .collect()
}

/// The series and caller costs are each rounded once per row: they sum to the total within a
/// micro-unit per row.
fn assert_sums_to_total(rows: &Value, total: u64, what: &str) {
    let rows = by_key(rows);
    let sum: u64 = rows.values().sum();
    assert!(
        sum.abs_diff(total) <= rows.len() as u64,
        "{what}: {sum} vs {total}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prices_come_from_the_price_list_and_the_table_wins() {
    let dir = std::env::temp_dir().join(format!("cost-price-list-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let data = dir.join("invocations.jsonl");
    let records = dataset();
    write(&records, &data);
    let (stub, calls) = price_list_stub().await;

    // No pricing table: the Price List prices what it lists, the rest is unpriced.
    let first = server(&data, &stub.url, &[]);
    let url = first.url.clone();
    let (one, two) = tokio::task::spawn_blocking(move || (report(&url), report(&url)))
        .await
        .expect("reports");
    assert_eq!(one["estimated_cost"], two["estimated_cost"]);
    let estimate = &one["estimated_cost"];
    assert_eq!(estimate["currency"], "USD");
    let (costs, unpriced) = expected(&records, price_list_rates);
    assert_eq!(by_key(&estimate["by_model"]), costs);
    let total = micros(estimate["total"].as_str().expect("total"));
    assert_eq!(total, costs.values().sum::<u64>());
    assert_eq!(unpriced_pairs(estimate), unpriced);
    // What is left out, by kind: no mapping of the application profile, no price anywhere
    // for Cohere, none in eu-west-1 for Llama 3.3 and Claude 3.5 Haiku.
    assert!(unpriced.contains(&(APP_PROFILE.to_owned(), "us-east-1".to_owned())));
    assert!(unpriced.contains(&(
        "cohere.command-r-plus-v1:0".to_owned(),
        "us-east-1".to_owned()
    )));
    assert!(unpriced.contains(&(HAIKU.to_owned(), "eu-west-1".to_owned())));
    assert_sums_to_total(&estimate["daily"], total, "daily");
    assert_eq!(
        estimate["daily"].as_array().map(Vec::len),
        Some(10),
        "zero-filled days"
    );
    assert_sums_to_total(&estimate["by_user"], total, "by_user");
    let source = |model: &str, region: &str| {
        estimate["price_sources"]
            .as_array()
            .expect("price_sources")
            .iter()
            .find(|s| s["model"] == model && s["region"] == region)
            .cloned()
            .unwrap_or_else(|| panic!("no price source for {model} in {region}"))
    };
    let haiku = source(HAIKU, "us-west-2");
    assert_eq!(haiku["source"], "aws-price-list");
    assert_eq!(
        haiku["product"]["service_code"],
        "AmazonBedrockFoundationModels"
    );
    assert_eq!(haiku["publication_date"], PUBLISHED);
    assert_eq!(haiku["rates_per_million"]["cache_write"], "1.000000");
    assert_eq!(
        source("amazon.nova-pro-v1:0", "eu-west-1")["product"]["service_code"],
        "AmazonBedrock"
    );
    assert_eq!(source(MODELS[3], "us-east-1")["scope"], "geo");
    assert_eq!(source(MODELS[4], "us-east-1")["scope"], "global");
    // Two pages per (service code, region) asked, once: the second report used the cache.
    let calls = calls.lock().expect("the call log").clone();
    let distinct: BTreeSet<&String> = calls.iter().collect();
    assert_eq!(distinct.len(), calls.len(), "fetched twice: {calls:?}");
    assert!(
        calls.contains(&"AmazonBedrock us-east-1 2".to_owned()),
        "{calls:?}"
    );
    drop(first);

    // A pricing table: its entries win, a discount applies to Price List prices, and the
    // application inference profile is resolved through it.
    let table = dir.join("prices.json");
    std::fs::write(
        &table,
        json!({
            "currency": "USD", "note": "negotiated",
            "models": [{"match": "amazon.nova-pro", "input_per_million": "0.5",
                        "output_per_million": 2, "cache_read_per_million": 0.1}],
            "price_list_discount_percent": 10,
            "inference_profiles": {APP_PROFILE: format!("us.{HAIKU}")},
        })
        .to_string(),
    )
    .expect("table");
    let second = server(
        &data,
        &stub.url,
        &["--pricing-file", table.to_str().expect("utf-8")],
    );
    let url = second.url.clone();
    let with_table = tokio::task::spawn_blocking(move || report(&url))
        .await
        .expect("report");
    let estimate = &with_table["estimated_cost"];
    let (costs, unpriced) = expected(&records, |model, region| {
        if model.starts_with("amazon.nova-pro") {
            return Some([500_000, 2_000_000, 100_000, 0]);
        }
        let model = if model == APP_PROFILE { HAIKU } else { model };
        price_list_rates(model, region).map(|rates| rates.map(|r| r * 90 / 100))
    });
    assert_eq!(by_key(&estimate["by_model"]), costs);
    assert_eq!(unpriced_pairs(estimate), unpriced);
    assert_eq!(estimate["note"], "negotiated");
    let sources = estimate["price_sources"].as_array().expect("price_sources");
    let nova = sources
        .iter()
        .find(|s| s["model"] == "amazon.nova-pro-v1:0")
        .expect("nova");
    assert_eq!(nova["source"], "file");
    assert_eq!(nova["match"], "amazon.nova-pro");
    let app = sources
        .iter()
        .find(|s| s["model"] == APP_PROFILE)
        .expect("the application profile is priced");
    assert_eq!(app["discount_percent"], 10);
    assert_eq!(
        app["product"]["name"],
        "Claude 3.5 Haiku (Amazon Bedrock Edition)"
    );
    drop(second);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The Cost Explorer stub: page 1, then page 2 for its token, from tests/data/costexplorer.
async fn cost_explorer_stub() -> (LogsStub, Arc<Mutex<Vec<Value>>>) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let seen = calls.clone();
    let stub = LogsStub::start(move |operation, body| {
        assert_eq!(operation, "GetCostAndUsage");
        let request: Value = serde_json::from_str(body).expect("a JSON request");
        let page = match request["NextPageToken"].as_str() {
            Some("ce-page-2-token") => 2,
            None => 1,
            Some(other) => panic!("unexpected token {other}"),
        };
        seen.lock().expect("the call log").push(request);
        let path = format!(
            "{}/tests/data/costexplorer/page{page}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        json_response(
            StatusCode::OK,
            std::fs::read_to_string(path).expect("a page"),
        )
    })
    .await;
    (stub, calls)
}

/// (day, service, usage type) → micro-units, straight from the recorded pages.
fn recorded_bill() -> BTreeMap<(String, String, String), u64> {
    let mut bill = BTreeMap::new();
    for page in ["page1", "page2"] {
        let path = format!(
            "{}/tests/data/costexplorer/{page}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let doc: Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("a page")).expect("JSON");
        for result in doc["ResultsByTime"].as_array().expect("results") {
            let day = result["TimePeriod"]["Start"]
                .as_str()
                .expect("day")
                .to_owned();
            for group in result["Groups"].as_array().expect("groups") {
                let amount = group["Metrics"]["UnblendedCost"]["Amount"]
                    .as_str()
                    .expect("amount");
                let (whole, fraction) = amount.split_once('.').expect("a decimal");
                let digits: String = format!("{fraction:0<7}").chars().take(7).collect();
                let seven: u64 = whole.parse::<u64>().expect("whole") * 10_000_000
                    + digits.parse::<u64>().expect("fraction");
                bill.insert(
                    (
                        day.clone(),
                        group["Keys"][0].as_str().expect("service").to_owned(),
                        group["Keys"][1].as_str().expect("usage type").to_owned(),
                    ),
                    (seven + 5) / 10,
                );
            }
        }
    }
    bill
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn billed_cost_and_its_reconciliation() {
    let dir = std::env::temp_dir().join(format!("cost-billed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let data = dir.join("invocations.jsonl");
    write(&dataset(), &data);
    let (prices, _) = price_list_stub().await;
    let (ce, calls) = cost_explorer_stub().await;
    let server = server_with(
        &data,
        &prices.url,
        &[],
        &[
            ("AWS_ENDPOINT_URL_COST_EXPLORER", ce.url.clone()),
            ("BEDROCK_BILLED_COST", "true".to_owned()),
        ],
    );
    let url = server.url.clone();
    let (one, two, text) = tokio::task::spawn_blocking(move || {
        let text = Command::new(env!("CARGO_BIN_EXE_mcp-client"))
            .args(["--url", &url, "report", "--start", "2026-10-01T00:00:00Z"])
            .args(["--end", "2026-10-11T00:00:00Z"])
            .output()
            .expect("running mcp-client");
        (
            report(&url),
            report(&url),
            String::from_utf8_lossy(&text.stdout).into_owned(),
        )
    })
    .await
    .expect("reports");
    // The text report shows both sections readably.
    for line in [
        "Estimated cost (USD",
        "Billed cost (USD, Cost Explorer; final through 2026-10-09)",
        "Not final yet (Cost Explorer may still change them): 2026-10-10",
        "Largest drifts",
        "Not priced",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
    let billed = &one["billed_cost"];
    assert!(billed.get("error").is_none(), "{billed}");
    let schema = bedrock_usage_mcp::usage::report_json_schema();
    for section in ["estimated_cost", "billed_cost"] {
        assert_shape(&schema["properties"][section], &one[section], section);
    }
    let bill = recorded_bill();
    assert_eq!(
        micros(billed["total"].as_str().expect("total")),
        bill.values().sum::<u64>()
    );
    assert_eq!(
        billed["final_through"], "2026-10-09",
        "2026-10-10 is still estimated"
    );
    let daily = billed["daily"].as_array().expect("daily");
    assert_eq!(daily.len(), 10);
    assert_eq!(daily[9]["final"], false);
    assert_eq!(daily[8]["final"], true);
    // The request: daily unblended cost of Bedrock's services, by service and usage type.
    let calls = calls.lock().expect("the call log").clone();
    assert_eq!(
        calls.len(),
        2,
        "two pages, once: the later reports used the cache"
    );
    assert_eq!(calls[0]["Granularity"], "DAILY");
    assert_eq!(
        calls[0]["TimePeriod"],
        json!({"Start": "2026-10-01", "End": "2026-10-11"})
    );
    let services = calls[0]["Filter"]["Dimensions"]["Values"]
        .as_array()
        .expect("services");
    assert!(services.contains(&json!("Amazon Bedrock")));
    assert!(services.contains(&json!("Claude 3.5 Haiku (Amazon Bedrock Edition)")));
    assert_eq!(two["billed_cost"]["requests_sent"], 2);
    assert_eq!(two["billed_cost"]["total"], billed["total"]);
    // Reconciliation: billed per (day, product) as the recorded lines add up, drift = billed -
    // estimated, and the estimate per day adds up to the estimated daily cost.
    let mut expected_billed: BTreeMap<(String, String), u64> = BTreeMap::new();
    for ((day, service, usage_type), cost) in &bill {
        let product = if service != "Amazon Bedrock" {
            service.clone()
        } else if usage_type.contains("NovaPro") {
            "Nova Pro".to_owned()
        } else if usage_type.contains("Llama3-3-70B") {
            "Llama 3.3 70B".to_owned()
        } else {
            "(unattributed)".to_owned()
        };
        *expected_billed.entry((day.clone(), product)).or_default() += cost;
    }
    let rows = billed["reconciliation"].as_array().expect("reconciliation");
    let mut seen_billed = BTreeMap::new();
    let mut estimated_by_day: BTreeMap<String, u64> = BTreeMap::new();
    for row in rows {
        let signed = |v: &Value| {
            let text = v.as_str().expect("a decimal string");
            match text.strip_prefix('-') {
                Some(rest) => -(micros(rest) as i64),
                None => micros(text) as i64,
            }
        };
        let (estimated, billed_cost, drift) = (
            signed(&row["estimated"]),
            signed(&row["billed"]),
            signed(&row["drift"]),
        );
        assert_eq!(drift, billed_cost - estimated, "{row}");
        let day = row["day"].as_str().expect("day").to_owned();
        assert_eq!(row["final"], day != "2026-10-10", "{row}");
        if billed_cost > 0 {
            seen_billed.insert(
                (
                    day.clone(),
                    row["product"].as_str().expect("product").to_owned(),
                ),
                billed_cost as u64,
            );
        }
        *estimated_by_day.entry(day).or_default() += estimated as u64;
    }
    assert_eq!(seen_billed, expected_billed);
    for day in one["estimated_cost"]["daily"].as_array().expect("daily") {
        let key = day["key"].as_str().expect("key");
        let cost = micros(day["cost"].as_str().expect("cost"));
        let reconciled = estimated_by_day.get(key).copied().unwrap_or(0);
        assert!(
            cost.abs_diff(reconciled) <= 10,
            "{key}: {cost} vs {reconciled}"
        );
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 16, done-when 1: the bundled sample (no `--usage-file`, no pricing table) with the
/// Price List on is priced from the recorded answers, not from its synthetic prices: each of
/// its (model, region) pairs that those answers price is priced by `aws-price-list` (the
/// application profile as the model the sample's catalogue routes it to), and every other pair
/// is listed as unpriced with a reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bundled_sample_is_priced_from_the_price_list() {
    let (stub, calls) = price_list_stub().await;
    let server = ServerProcess::start_with_env(
        env!("CARGO_BIN_EXE_bedrock-usage-mcp"),
        &["--price-list", "on"],
        &[
            ("AWS_ENDPOINT_URL_PRICING", stub.url.clone()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
            ("AWS_REGION", "eu-west-1".to_owned()),
        ],
    );
    let url = server.url.clone();
    let report = tokio::task::spawn_blocking(move || {
        let output = Command::new(env!("CARGO_BIN_EXE_mcp-client"))
            .args(["--url", &url, "report", "--days", "30", "--json"])
            .output()
            .expect("running mcp-client");
        assert!(
            output.status.success(),
            "mcp-client failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice::<Value>(&output.stdout).expect("JSON output")
    })
    .await
    .expect("report");
    assert_eq!(
        report["source"]["kind"], "bundled-sample",
        "{}",
        report["source"]
    );
    let estimate = &report["estimated_cost"];
    let priced: BTreeMap<(String, String), String> = estimate["price_sources"]
        .as_array()
        .expect("price_sources")
        .iter()
        .map(|s| {
            (
                (
                    s["model"].as_str().expect("model").to_owned(),
                    s["region"].as_str().expect("region").to_owned(),
                ),
                s["source"].as_str().expect("source").to_owned(),
            )
        })
        .collect();
    let reasons: BTreeMap<(String, String), String> = estimate["unpriced_models"]
        .as_array()
        .expect("unpriced_models")
        .iter()
        .map(|u| {
            (
                (
                    u["model"].as_str().expect("model").to_owned(),
                    u["region"].as_str().expect("region").to_owned(),
                ),
                u["reason"].as_str().expect("a reason").to_owned(),
            )
        })
        .collect();
    let mut models = BTreeSet::new();
    for (model, region) in priced.keys() {
        models.insert(model.clone());
        let routed = if model == APP_PROFILE { HAIKU } else { model };
        assert!(
            price_list_rates(routed, region).is_some(),
            "{model} in {region} priced, but the recorded answers have no price for it"
        );
        assert_eq!(priced[&(model.clone(), region.clone())], "aws-price-list");
    }
    for ((model, region), reason) in &reasons {
        models.insert(model.clone());
        assert!(
            !priced.contains_key(&(model.clone(), region.clone())),
            "{model} in {region} both priced and unpriced"
        );
        let routed = if model == APP_PROFILE { HAIKU } else { model };
        // Unpriced only where the answers lack the model or one of the token kinds it used
        // (the sample logs cache tokens for Nova Pro and Llama, which the answers do not price).
        match price_list_rates(routed, region) {
            None => {}
            Some(rates) => {
                let missing_kind = (reason.contains("cache read") && rates[2] == 0)
                    || (reason.contains("cache write") && rates[3] == 0);
                assert!(missing_kind, "{model} in {region} unpriced: {reason}");
            }
        }
    }
    // Every model of the sample is accounted for: the five ids and the application profile.
    let sample_models: BTreeSet<String> = [
        "us.anthropic.claude-sonnet-4-20250514-v1:0",
        HAIKU,
        "amazon.nova-pro-v1:0",
        "meta.llama3-3-70b-instruct-v1:0",
        "cohere.command-r-plus-v1:0",
        APP_PROFILE,
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(models, sample_models);
    assert!(priced.contains_key(&(APP_PROFILE.to_owned(), "us-east-1".to_owned())));
    assert!(
        reasons
            .keys()
            .any(|(m, _)| m == "cohere.command-r-plus-v1:0")
    );
    assert!(priced.contains_key(&(HAIKU.to_owned(), "us-west-2".to_owned())));
    assert!(micros(estimate["total"].as_str().expect("total")) > 0);
    assert!(!calls.lock().expect("the call log").is_empty());
}
