//! Two limits of the AWS APIs the cost sections read, through the real SDK against stubs on
//! 127.0.0.1: Cost Explorer refuses a `TimePeriod.Start` after the current date (its `End` is
//! exclusive), so a period that runs past today asks only up to tomorrow and never starts in
//! the future; and a Price List answer longer than the page bound is refused as a whole,
//! saying so, rather than pricing from part of it.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use bedrock_usage_mcp::aws::RetryPolicy;
use bedrock_usage_mcp::usage::Date;
use bedrock_usage_mcp::usage::cost::PriceList;
use bedrock_usage_mcp::usage::cost::billed::BilledCosts;
use bedrock_usage_mcp::usage::cost::pricelist::MAX_PAGES;
use mcp_testkit::logs_stub::{LogsStub, json_response, sdk_config};
use serde_json::{Value, json};

fn day(text: &str) -> Date {
    Date::parse(text).unwrap()
}

/// One day of Cost Explorer's answer.
fn result(start: Date, estimated: bool) -> Value {
    json!({
        "TimePeriod": {"Start": start.to_string(), "End": start.checked_add_days(1).unwrap().to_string()},
        "Total": {},
        "Groups": [{"Keys": ["Amazon Bedrock", "USE1-NovaPro-input-tokens"],
                    "Metrics": {"UnblendedCost": {"Amount": "1.5", "Unit": "USD"}}}],
        "Estimated": estimated,
    })
}

#[tokio::test]
async fn cost_explorer_is_never_asked_for_days_after_today() {
    let today = day("2026-10-05");
    let periods: Arc<Mutex<Vec<Value>>> = Arc::default();
    let seen = periods.clone();
    let stub = LogsStub::start(move |operation, body| {
        assert_eq!(operation, "GetCostAndUsage");
        let request: Value = serde_json::from_str(body).unwrap();
        let period = request["TimePeriod"].clone();
        seen.lock().unwrap().push(period.clone());
        let start = day(period["Start"].as_str().unwrap());
        let end = day(period["End"].as_str().unwrap());
        // As AWS documents it: a start after the current date is a validation error.
        if start > today {
            return json_response(
                StatusCode::BAD_REQUEST,
                json!({"__type": "ValidationException", "message": "Start date is after the current date"})
                    .to_string(),
            );
        }
        let days: Vec<Value> = (0..end.days_since_epoch() - start.days_since_epoch())
            .map(|d| {
                let date = start.checked_add_days(d).unwrap();
                result(date, date >= today)
            })
            .collect();
        json_response(StatusCode::OK, json!({"ResultsByTime": days}).to_string())
    })
    .await;
    let config = sdk_config(&stub.url, "us-east-1", &RetryPolicy::DEFAULT);
    let costs = BilledCosts::with_config(config).with_clock(move || today);
    let services = vec!["Amazon Bedrock".to_owned()];

    // A period from 2026-10-03 to 2026-10-08: asked up to tomorrow (End exclusive).
    let days: Vec<Date> = (3..=8)
        .map(|d| Date::from_ymd(2026, 10, d).unwrap())
        .collect();
    let bill = costs.days(&days, &services).await.unwrap();
    assert_eq!(
        periods.lock().unwrap().clone(),
        [json!({"Start": "2026-10-03", "End": "2026-10-06"})]
    );
    let keys: Vec<String> = bill.keys().map(ToString::to_string).collect();
    assert_eq!(keys, ["2026-10-03", "2026-10-04", "2026-10-05"]);
    assert!(!bill[&today].is_final);

    // A period wholly after today: no request at all (it would start in the future).
    let later: Vec<Date> = (6..=8)
        .map(|d| Date::from_ymd(2026, 10, d).unwrap())
        .collect();
    let bill = costs.days(&later, &services).await.unwrap();
    assert!(bill.is_empty());
    assert_eq!(costs.requests(), 1, "{:?}", periods.lock().unwrap());
}

#[tokio::test]
async fn a_price_list_longer_than_the_bound_is_refused_not_used() {
    let pages = Arc::new(Mutex::new(0usize));
    let counted = pages.clone();
    let item = std::fs::read_to_string(format!(
        "{}/tests/data/pricelist/AmazonBedrock.us-east-1.1.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let first: Value = serde_json::from_str(&item).unwrap();
    let stub = LogsStub::start(move |operation, _body| {
        assert_eq!(operation, "GetProducts");
        *counted.lock().unwrap() += 1;
        // Every page names a next one: an answer that never ends.
        let mut page = first.clone();
        page["NextToken"] = json!("more");
        json_response(StatusCode::OK, page.to_string())
    })
    .await;
    let config = sdk_config(&stub.url, "us-east-1", &RetryPolicy::DEFAULT);
    let list = PriceList::with_config(config);
    let error = list.prices("AmazonBedrock", "us-east-1").await.unwrap_err();
    assert_eq!(*pages.lock().unwrap(), MAX_PAGES);
    let message = error.to_string();
    assert!(
        message.contains(&format!("more than {MAX_PAGES} pages")) && message.contains("cut short"),
        "{message}"
    );
    // Not cached: the next report asks again rather than using a partial list.
    let _ = list.prices("AmazonBedrock", "us-east-1").await.unwrap_err();
    assert_eq!(*pages.lock().unwrap(), 2 * MAX_PAGES);
}
