//! The bundled sample's cost, with no AWS account (issue 16, done-when 3): its reports are
//! priced by the made-up `synthetic-sample` prices, checked here against a plain computation
//! over the sample's own records with the prices written out by hand; with billed cost on, a
//! synthetic bill made from the same records reconciles with the estimate, and its drifts are
//! checked against what each is made of (the application profile's calls billed under its
//! model, a Guardrails line, today cut short by Cost Explorer's lag). Neither ever touches
//! another source: the same records read from a file get no synthetic price and no bill.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;

use bedrock_usage_mcp::store::MemoryStore;
use bedrock_usage_mcp::tools::{FixedSource, usage_server};
use bedrock_usage_mcp::transport::TransportConfig;
use bedrock_usage_mcp::usage::cost::CostEstimator;
use bedrock_usage_mcp::usage::cost::billed::SampleBill;
use bedrock_usage_mcp::usage::source::sample::sample_lines;
use bedrock_usage_mcp::usage::source::{FileSource, SampleSource};
use bedrock_usage_mcp::usage::{Date, InvocationRecord, UsageSource};
use mcp_testkit::ServerProcess;
use mcp_testkit::app::App;
use serde_json::{Value, json};

const APP_PROFILE: &str =
    "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/a1b2c3d4e5f6";
const HAIKU: &str = "anthropic.claude-3-5-haiku-20241022-v1:0";
const CHATBOT: &str = "arn:aws:sts::111122223333:assumed-role/ChatbotLambdaRole/chatbot-prod";

/// The synthetic prices, written out by hand (micro-units per million tokens: input, output,
/// cache read, cache write), by the model id as logged.
fn rates(model: &str) -> Option<[u128; 4]> {
    match model {
        "us.anthropic.claude-sonnet-4-20250514-v1:0" => {
            Some([3_000_000, 15_000_000, 300_000, 3_750_000])
        }
        HAIKU => Some([800_000, 4_000_000, 80_000, 1_000_000]),
        "amazon.nova-pro-v1:0" => Some([800_000, 3_200_000, 200_000, 0]),
        "meta.llama3-3-70b-instruct-v1:0" => Some([720_000, 720_000, 72_000, 900_000]),
        "cohere.command-r-plus-v1:0" => Some([3_000_000, 15_000_000, 300_000, 3_750_000]),
        _ => None,
    }
}

/// Pico-units (micro-units × 10⁻⁶) of one record at `rates`.
fn pico(r: &InvocationRecord<'_>, rates: [u128; 4]) -> u128 {
    u128::from(r.input_tokens) * rates[0]
        + u128::from(r.output_tokens) * rates[1]
        + u128::from(r.cache_read_input_tokens) * rates[2]
        + u128::from(r.cache_write_input_tokens) * rates[3]
}

/// Rounded half up to the micro-unit.
fn micros(pico: u128) -> i64 {
    ((pico + 500_000) / 1_000_000) as i64
}

/// A six-decimal money string as micro-units.
fn parse(text: &Value) -> i64 {
    let text = text
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {text}"));
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap();
    assert_eq!(fraction.len(), 6, "{text}");
    sign * (whole.parse::<i64>().unwrap() * 1_000_000 + fraction.parse::<i64>().unwrap())
}

fn day(text: &str) -> Date {
    Date::parse(text).unwrap()
}

/// The sample's 30 days ending `today`, as report arguments.
fn period(today: Date) -> Value {
    let first = today.checked_add_days(-29).unwrap();
    let end = today.checked_add_days(1).unwrap();
    json!({ "start": format!("{first}T00:00:00Z"), "end": format!("{end}T00:00:00Z"), "top_n": 50 })
}

/// The report tool over MCP (2026-07-28 tools/call), on `source` with `costs`.
async fn report(source: Arc<dyn UsageSource>, costs: CostEstimator, arguments: Value) -> Value {
    let app = App::serving(
        usage_server(Arc::new(FixedSource(source)), Some(Arc::new(costs)), None),
        Arc::new(MemoryStore::new()),
        TransportConfig::default(),
    );
    let result = app
        .call_tool(1, "get_bedrock_usage_report", arguments)
        .await;
    assert_eq!(result["isError"], false, "{result:.600}");
    result
}

fn sample_costs(sample: &SampleSource, billed: bool) -> CostEstimator {
    CostEstimator {
        sample_prices: true,
        sample_bill: billed.then(|| SampleBill::new(sample.clone())),
        ..CostEstimator::default()
    }
}

/// The sample's report over its 30 days ending `today`, priced as `cargo run` prices it (and
/// billed, when `billed`).
async fn sample_report(today: Date, billed: bool) -> Value {
    let sample = SampleSource::for_today(today);
    let costs = sample_costs(&sample, billed);
    report(Arc::new(sample), costs, period(today)).await
}

#[tokio::test]
async fn the_sample_is_priced_by_synthetic_prices_only() {
    let today = day("2026-11-25");
    let result = sample_report(today, false).await;
    let estimate = &result["structuredContent"]["estimated_cost"];
    assert_eq!(estimate["currency"], "USD");
    assert!(
        estimate["note"]
            .as_str()
            .unwrap()
            .starts_with("SYNTHETIC SAMPLE PRICES"),
        "{estimate:.300}"
    );
    let sources = estimate["price_sources"].as_array().unwrap();
    assert!(!sources.is_empty());
    for source in sources {
        assert_eq!(source["source"], "synthetic-sample", "{source}");
    }
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("*** SYNTHETIC SAMPLE PRICES"), "{text}");

    // A plain computation over the sample's own records: each model's cost rounded once.
    let lines = sample_lines(today);
    let mut expected: BTreeMap<String, u128> = BTreeMap::new();
    let mut unpriced_tokens = 0u64;
    for line in &lines {
        let Ok(r) = InvocationRecord::parse_str(line) else {
            continue;
        };
        let model = r.model_id.as_deref().unwrap();
        match rates(model) {
            Some(rates) => *expected.entry(model.to_owned()).or_default() += pico(&r, rates),
            None => {
                assert_eq!(model, APP_PROFILE);
                unpriced_tokens += r.input_tokens
                    + r.output_tokens
                    + r.cache_read_input_tokens
                    + r.cache_write_input_tokens;
            }
        }
    }
    let by_model: BTreeMap<String, i64> = (estimate["by_model"].as_array().unwrap().iter())
        .map(|row| (row["key"].as_str().unwrap().to_owned(), parse(&row["cost"])))
        .collect();
    let expected: BTreeMap<String, i64> = expected
        .into_iter()
        .map(|(model, pico)| (model, micros(pico)))
        .collect();
    assert_eq!(by_model, expected);
    assert_eq!(
        parse(&estimate["total"]),
        expected.values().sum::<i64>(),
        "total is the sum of by_model"
    );
    // The application profile: unpriced until its model is known, with the reason.
    let unpriced = estimate["unpriced_models"].as_array().unwrap();
    let profile_tokens: u64 = (unpriced.iter())
        .filter(|u| u["model"] == APP_PROFILE)
        .map(|u| {
            assert!(
                u["reason"]
                    .as_str()
                    .unwrap()
                    .contains("application inference profile"),
                "{u}"
            );
            u["tokens"].as_u64().unwrap()
        })
        .sum();
    assert_eq!(profile_tokens, unpriced_tokens);
    assert_eq!(unpriced.len(), 1, "{unpriced:?}");
}

#[tokio::test]
async fn another_source_never_gets_synthetic_prices_or_the_synthetic_bill() {
    // The very records of the sample, read from a file, through an estimator that has the
    // synthetic prices and bill: nothing synthetic applies, and no bill is made.
    let today = day("2026-11-25");
    let sample = SampleSource::for_today(today);
    let path = std::env::temp_dir().join(format!("cost-sample-{}.jsonl", std::process::id()));
    std::fs::write(&path, sample_lines(today).join("\n")).unwrap();
    let result = report(
        Arc::new(FileSource::new(&path)),
        sample_costs(&sample, true),
        period(today),
    )
    .await;
    let _ = std::fs::remove_file(&path);
    let report = &result["structuredContent"];
    assert_eq!(report["source"]["kind"], "file");
    let estimate = &report["estimated_cost"];
    assert_eq!(estimate["price_sources"], json!([]), "{estimate:.300}");
    assert_eq!(estimate["total"], "0.000000");
    assert_eq!(estimate["note"], Value::Null);
    for u in estimate["unpriced_models"].as_array().unwrap() {
        let reason = u["reason"].as_str().unwrap();
        assert!(!reason.contains("synthetic"), "{reason}");
    }
    assert!(report.get("billed_cost").is_none(), "{report:.300}");
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(!text.contains("SYNTHETIC"), "{text}");
}

/// Billed micro-units per (day, product) the synthetic bill is made of, recomputed here: every
/// record's tokens at its model's synthetic rates (the application profile's at Claude 3.5
/// Haiku's, the model it routes to), each usage-type line rounded on its own, today's records
/// only before 08:00 UTC; and the chatbot's Guardrails line, 300 micro-units a call.
fn expected_bill(today: Date) -> BTreeMap<(String, String), i64> {
    let product = |model: &str| match model {
        "us.anthropic.claude-sonnet-4-20250514-v1:0" => "Claude Sonnet 4 (Amazon Bedrock Edition)",
        HAIKU | APP_PROFILE => "Claude 3.5 Haiku (Amazon Bedrock Edition)",
        "amazon.nova-pro-v1:0" => "Nova Pro",
        "meta.llama3-3-70b-instruct-v1:0" => "Llama 3.3 70B",
        "cohere.command-r-plus-v1:0" => "Cohere Command R+ (Amazon Bedrock Edition)",
        other => panic!("{other}"),
    };
    let cut = today.start().checked_add_seconds(8 * 3600).unwrap();
    // (day, product, region, token kind) → pico-units: one usage-type line each.
    let mut lines: BTreeMap<(String, &str, String, usize), u128> = BTreeMap::new();
    let mut bill: BTreeMap<(String, String), i64> = BTreeMap::new();
    for line in sample_lines(today) {
        let Ok(r) = InvocationRecord::parse_str(&line) else {
            continue;
        };
        if r.timestamp.date() == today && r.timestamp >= cut {
            continue;
        }
        let date = r.timestamp.date().to_string();
        if r.identity_arn.as_deref() == Some(CHATBOT) {
            *bill
                .entry((date.clone(), "(unattributed)".to_owned()))
                .or_default() += 300;
        }
        let model = r.model_id.as_deref().unwrap();
        let routed = if model == APP_PROFILE { HAIKU } else { model };
        let rates = rates(routed).unwrap();
        let tokens = [
            r.input_tokens,
            r.output_tokens,
            r.cache_read_input_tokens,
            r.cache_write_input_tokens,
        ];
        for kind in 0..4 {
            *lines
                .entry((
                    date.clone(),
                    product(model),
                    r.region.as_deref().unwrap().to_owned(),
                    kind,
                ))
                .or_default() += u128::from(tokens[kind]) * rates[kind];
        }
    }
    for ((date, product, _, _), pico) in lines {
        *bill.entry((date, product.to_owned())).or_default() += micros(pico);
    }
    bill.retain(|_, cost| *cost != 0);
    bill
}

#[tokio::test]
async fn the_synthetic_bill_reconciles_with_the_estimate() {
    let today = day("2026-11-25");
    let result = sample_report(today, true).await;
    let billed = &result["structuredContent"]["billed_cost"];
    assert_eq!(billed["source"], "synthetic-sample", "{billed:.300}");
    assert!(
        billed["note"]
            .as_str()
            .unwrap()
            .starts_with("SYNTHETIC SAMPLE BILL")
    );
    assert_eq!(billed["requests_sent"], 0, "Cost Explorer is never called");
    // Today and yesterday are not final yet.
    assert_eq!(billed["final_through"], "2026-11-23");
    let daily = billed["daily"].as_array().unwrap();
    assert_eq!(daily.len(), 30);
    let open: Vec<&str> = (daily.iter())
        .filter(|d| d["final"] == false)
        .map(|d| d["key"].as_str().unwrap())
        .collect();
    assert_eq!(open, ["2026-11-24", "2026-11-25"]);
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("SYNTHETIC SAMPLE BILL, not Cost Explorer"),
        "{text}"
    );
    assert!(text.contains("Largest drifts"), "{text}");

    // The bill, recomputed by hand from the records.
    let expected = expected_bill(today);
    let rows = billed["reconciliation"].as_array().unwrap();
    let mut seen: BTreeMap<(String, String), i64> = BTreeMap::new();
    for row in rows {
        let key = (
            row["day"].as_str().unwrap().to_owned(),
            row["product"].as_str().unwrap().to_owned(),
        );
        let (estimated, bill, drift) = (
            parse(&row["estimated"]),
            parse(&row["billed"]),
            parse(&row["drift"]),
        );
        assert_eq!(drift, bill - estimated, "{row}");
        if bill != 0 {
            seen.insert(key, bill);
        }
    }
    assert_eq!(seen, expected);
    assert_eq!(
        parse(&billed["total"]),
        expected.values().sum::<i64>(),
        "the total is every line"
    );

    // The drifts, each what it is made of, on a final full day.
    let row = |date: &str, product: &str| {
        rows.iter()
            .find(|r| r["day"] == date && r["product"] == product)
            .unwrap_or_else(|| panic!("no row {date} {product}"))
    };
    let records: Vec<String> = sample_lines(today);
    let parsed: Vec<InvocationRecord<'_>> = (records.iter())
        .filter_map(|l| InvocationRecord::parse_str(l).ok())
        .collect();
    let on = |date: &str| {
        let d = day(date);
        parsed.iter().filter(move |r| r.timestamp.date() == d)
    };
    let full = "2026-11-20";
    // Nova Pro: the same tokens at the same prices; only per-line rounding differs.
    let nova = row(full, "Nova Pro");
    assert!(parse(&nova["drift"]).abs() <= 10, "{nova}");
    assert_eq!(nova["final"], true);
    // Claude 3.5 Haiku: billed also for the application profile's calls, which the estimate
    // cannot price, so the drift is their cost at Haiku's prices (within rounding).
    let haiku = row(full, "Claude 3.5 Haiku (Amazon Bedrock Edition)");
    let profile_cost = micros(
        on(full)
            .filter(|r| r.model_id.as_deref() == Some(APP_PROFILE))
            .map(|r| pico(r, rates(HAIKU).unwrap()))
            .sum(),
    );
    assert!(profile_cost > 0);
    assert!(
        (parse(&haiku["drift"]) - profile_cost).abs() <= 16,
        "{haiku} vs {profile_cost}"
    );
    assert_ne!(haiku["drift_percent"], Value::Null);
    // Guardrails: billed, never estimated.
    let guardrails = row(full, "(unattributed)");
    let calls = on(full)
        .filter(|r| r.identity_arn.as_deref() == Some(CHATBOT))
        .count() as i64;
    assert_eq!(parse(&guardrails["billed"]), 300 * calls);
    assert_eq!(parse(&guardrails["estimated"]), 0);
    assert_eq!(guardrails["drift_percent"], Value::Null);
    // Today: Cost Explorer has seen the calls before 08:00 only, so the bill is short.
    let nova_today = row("2026-11-25", "Nova Pro");
    assert_eq!(nova_today["final"], false);
    assert!(
        parse(&nova_today["drift"]) < 0,
        "today's bill is cut short: {nova_today}"
    );
}

/// `cargo run` with no source: the binary wires the synthetic prices (and, with
/// `--billed-cost`, the synthetic bill, with no call to Cost Explorer) to the sample alone;
/// with `--usage-file` there is no estimate at all.
#[test]
fn the_binary_wires_them_to_the_sample_alone() {
    let report = |url: &str| -> Value {
        let output = Command::new(env!("CARGO_BIN_EXE_mcp-client"))
            .args(["--url", url, "report", "--days", "7", "--json"])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    };
    // Cost Explorer (and every AWS endpoint) pointed at a closed port: a call would fail.
    let nowhere = [
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9".to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
    ];
    let bin = env!("CARGO_BIN_EXE_bedrock-usage-mcp");
    let sample = ServerProcess::start_with_env(bin, &["--billed-cost"], &nowhere);
    let priced = report(&sample.url);
    assert_eq!(priced["source"]["kind"], "bundled-sample");
    let sources = priced["estimated_cost"]["price_sources"]
        .as_array()
        .unwrap();
    assert!(!sources.is_empty());
    assert!(sources.iter().all(|s| s["source"] == "synthetic-sample"));
    // The sample's profile catalogue resolves its application profile to Claude 3.5 Haiku,
    // which the synthetic prices then price.
    let profile = (sources.iter())
        .find(|s| s["model"] == APP_PROFILE)
        .unwrap_or_else(|| panic!("the profile is priced: {:.600}", priced["estimated_cost"]));
    assert_eq!(
        profile["product"]["name"],
        "Claude 3.5 Haiku (Amazon Bedrock Edition)"
    );
    assert_eq!(profile["rates_per_million"]["output"], "4.000000");
    let billed = &priced["billed_cost"];
    assert_eq!(billed["source"], "synthetic-sample", "{billed}");
    assert_eq!(billed["requests_sent"], 0);
    drop(sample);

    let path = std::env::temp_dir().join(format!("cost-sample-bin-{}.jsonl", std::process::id()));
    std::fs::write(&path, sample_lines(Date::today()).join("\n")).unwrap();
    let file =
        ServerProcess::start_with_env(bin, &["--usage-file", path.to_str().unwrap()], &nowhere);
    let plain = report(&file.url);
    drop(file);
    let _ = std::fs::remove_file(&path);
    assert_eq!(plain["source"]["kind"], "file");
    assert!(plain.get("estimated_cost").is_none(), "{plain:.300}");
    assert!(plain.get("billed_cost").is_none());
}

#[tokio::test]
async fn a_bill_against_other_accounts_or_a_failed_source_is_not_reconciled() {
    use bedrock_usage_mcp::usage::report::{SourceState, SourceStatus};
    use bedrock_usage_mcp::usage::{Granularity, NoProgress, UsageQuery};
    let today = day("2026-11-25");
    let sample = SampleSource::for_today(today);
    let costs = sample_costs(&sample, true);
    let first = today.checked_add_days(-29).unwrap();
    let end = today.checked_add_days(1).unwrap();
    let query = UsageQuery::new(first.start(), end.start(), Granularity::Day).unwrap();
    let report = sample
        .collect(
            &query,
            &NoProgress,
            &tokio_util::sync::CancellationToken::new(),
        )
        .await
        .unwrap();
    let estimate = costs.estimate(&report).await;
    let plain = costs
        .billed(&report, &estimate, false)
        .await
        .unwrap()
        .unwrap();
    assert!(!plain.reconciliation.is_empty(), "one source: reconciled");
    let source = |account: Option<&str>, status| SourceStatus {
        log_group: "/aws/bedrock/modelinvocations".to_owned(),
        region: Some("us-east-1".to_owned()),
        account: account.map(str::to_owned),
        status,
        error: None,
        records: 0,
    };
    for (sources, why) in [
        (
            vec![
                source(None, SourceState::Ok),
                source(Some("444455556666"), SourceState::Ok),
            ],
            "spans 2 accounts",
        ),
        (
            vec![
                source(None, SourceState::Ok),
                source(None, SourceState::Failed),
            ],
            "1 log group(s) failed",
        ),
    ] {
        let mut merged = report.clone();
        merged.sources = sources;
        let billed = costs
            .billed(&merged, &estimate, false)
            .await
            .unwrap()
            .unwrap();
        assert!(billed.reconciliation.is_empty(), "no drift across scopes");
        assert_eq!(billed.total, plain.total, "the bill itself is kept");
        let note = billed.note.unwrap();
        assert!(
            note.contains("Not reconciled") && note.contains(why),
            "{note}"
        );
    }
    // A filtered report: the estimate is narrower than the bill.
    let filtered = costs
        .billed(&report, &estimate, true)
        .await
        .unwrap()
        .unwrap();
    assert!(filtered.reconciliation.is_empty());
    assert!(filtered.note.unwrap().contains("filtered"));
}
