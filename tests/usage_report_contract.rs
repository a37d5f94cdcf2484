//! The report contract: exact field names, a JSON Schema that every report validates against
//! (and that rejects reports missing fields), a lossless JSON round trip, and the text
//! rendering's sections and alignment.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use bedrock_usage_mcp::usage::source::SampleSource;
use bedrock_usage_mcp::usage::{
    Date, Granularity, NoProgress, QueryError, UsageQuery, UsageReport, UsageSource, Warning,
    render_text, report_json_schema,
};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

const COUNTERS: [&str; 7] = [
    "requests",
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_write_input_tokens",
    "total_tokens",
    "errors",
];

/// The bundled sample's report, broken down by the `team` and `project` metadata it carries.
async fn sample_report(granularity: Granularity, days: u32, top_n: usize) -> UsageReport {
    let today = Date::parse("2026-11-25").unwrap();
    SampleSource::for_today(today)
        .collect(
            &UsageQuery::last_days(today, days, granularity)
                .unwrap()
                .with_top_n(top_n)
                .with_group_by_metadata(vec!["team".into(), "project".into()])
                .unwrap(),
            &NoProgress,
            &CancellationToken::new(),
        )
        .await
        .unwrap()
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

/// Validates `value` against the subset of JSON Schema the report schema uses (`type`,
/// `properties`, `required`, `items`, `enum`, `minimum`), and also refuses properties the
/// schema does not declare. Returns the path of the first violation.
fn validate(schema: &Value, value: &Value, path: &str) -> Result<(), String> {
    if let Some(types) = schema.get("type") {
        let allowed: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().map(|t| t.as_str().unwrap()).collect(),
            _ => return Err(format!("{path}: bad type in schema")),
        };
        let actual = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        if !allowed.contains(&actual) {
            return Err(format!("{path}: {actual} is not {allowed:?}"));
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        return Err(format!("{path}: {value} not in enum"));
    }
    if let Some(min) = schema.get("minimum").and_then(Value::as_i64)
        && value.as_i64().is_some_and(|v| v < min)
    {
        return Err(format!("{path}: below minimum"));
    }
    if let Value::Object(obj) = value {
        let properties = schema.get("properties").and_then(Value::as_object);
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = required.as_str().unwrap();
            if !obj.contains_key(name) {
                return Err(format!("{path}: missing {name}"));
            }
        }
        for (name, child) in obj {
            let Some(child_schema) = properties.and_then(|p| p.get(name)) else {
                return Err(format!("{path}: undeclared property {name}"));
            };
            validate(child_schema, child, &format!("{path}.{name}"))?;
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            validate(item_schema, item, &format!("{path}[{i}]"))?;
        }
    }
    Ok(())
}

#[tokio::test]
async fn field_names_are_the_contract() {
    let report = serde_json::to_value(sample_report(Granularity::Day, 30, 3).await).unwrap();
    assert_eq!(
        keys(&report),
        BTreeSet::from([
            "source",
            "period",
            "totals",
            "daily",
            "by_region",
            "by_model",
            "by_user",
            "by_operation",
            "by_inference_region",
            "by_metadata",
            "by_inference_profile",
            "skipped_records",
            "warnings",
        ])
    );
    assert_eq!(report["warnings"], serde_json::json!([]));
    assert_eq!(
        keys(&report["source"]),
        BTreeSet::from(["kind", "log_group", "region"])
    );
    assert_eq!(report["source"]["kind"], "bundled-sample");
    assert_eq!(report["source"]["log_group"], Value::Null);
    assert_eq!(report["period"]["start"], "2026-10-27T00:00:00Z");
    assert_eq!(report["period"]["end"], "2026-11-26T00:00:00Z");
    assert_eq!(keys(&report["totals"]), BTreeSet::from(COUNTERS));
    let mut row_keys = BTreeSet::from(COUNTERS);
    row_keys.insert("key");
    for section in [
        "daily",
        "by_region",
        "by_model",
        "by_user",
        "by_operation",
        "by_inference_region",
    ] {
        for row in report[section].as_array().unwrap() {
            assert_eq!(keys(row), row_keys, "{section}");
        }
    }
    // A breakdown row plus what is known of the profile (resolved by the report tool).
    let mut profile_keys = row_keys.clone();
    profile_keys.extend(["name", "tags", "models", "resolved_by"]);
    let profiles = report["by_inference_profile"].as_array().unwrap();
    assert_eq!(profiles.len(), 2, "the sample's profile and (none)");
    for row in profiles {
        assert_eq!(keys(row), profile_keys, "by_inference_profile");
    }
    let by_metadata = report["by_metadata"].as_array().unwrap();
    assert_eq!(by_metadata.len(), 2, "one breakdown per requested key");
    for (breakdown, key) in by_metadata.iter().zip(["team", "project"]) {
        assert_eq!(keys(breakdown), BTreeSet::from(["key", "rows"]));
        assert_eq!(breakdown["key"], key);
        for row in breakdown["rows"].as_array().unwrap() {
            assert_eq!(keys(row), row_keys, "by_metadata {key}");
        }
    }
    // top_n 3 over five teams and the untagged: three named, then the fold.
    let teams = by_metadata[0]["rows"].as_array().unwrap();
    assert_eq!(teams.len(), 4);
    assert_eq!(teams[3]["key"], "(other)");
    // top_n 3 over 8 users: three named, then the fold.
    let users = report["by_user"].as_array().unwrap();
    assert_eq!(users.len(), 4);
    assert_eq!(users[3]["key"], "(other)");
    assert!(report["daily"][0]["key"].as_str().unwrap().len() == 10);
}

#[tokio::test]
async fn reports_validate_against_the_schema() {
    let schema = report_json_schema();
    assert_eq!(schema["type"], "object");
    for report in [
        sample_report(Granularity::Day, 30, 20).await,
        sample_report(Granularity::Hour, 2, 1).await,
        sample_report(Granularity::Day, 400, 0).await,
    ] {
        let value = serde_json::to_value(&report).unwrap();
        validate(&schema, &value, "$").unwrap();
        let hourly = value["daily"][0]["key"].as_str().unwrap();
        assert!(hourly.len() == 10 || (hourly.len() == 13 && &hourly[10..11] == "T"));

        // The validator (and so the schema) can fail.
        let mut broken = value.clone();
        broken["totals"].as_object_mut().unwrap().remove("errors");
        assert!(validate(&schema, &broken, "$").is_err());
        let mut broken = value.clone();
        broken["source"]["kind"] = "s3".into();
        assert!(validate(&schema, &broken, "$").is_err());
        let mut broken = value.clone();
        broken["by_model"][0]["extra"] = 1.into();
        assert!(validate(&schema, &broken, "$").is_err());
        let mut broken = value.clone();
        broken["by_metadata"][0]["rows"][0]["extra"] = 1.into();
        assert!(validate(&schema, &broken, "$").is_err());
        let mut broken = value;
        broken["by_inference_region"][0]
            .as_object_mut()
            .unwrap()
            .remove("key");
        assert!(validate(&schema, &broken, "$").is_err());
    }
}

#[tokio::test]
async fn the_record_dimensions_break_the_sample_down() {
    let report = sample_report(Granularity::Day, 30, 20).await;
    let keys = |rows: &[bedrock_usage_mcp::usage::Row]| -> BTreeSet<String> {
        rows.iter().map(|r| r.key.clone()).collect()
    };
    let sum = |rows: &[bedrock_usage_mcp::usage::Row]| -> u64 {
        rows.iter().map(|r| r.counters.total_tokens).sum()
    };
    // Cross-region profile calls ran in three regions; the rest carry no inferenceRegion.
    assert_eq!(
        keys(&report.by_inference_region),
        BTreeSet::from(["(unknown)", "us-east-1", "us-east-2", "us-west-2"].map(String::from))
    );
    assert_eq!(sum(&report.by_inference_region), report.totals.total_tokens);
    let teams = &report.by_metadata[0];
    assert_eq!(teams.key, "team");
    assert_eq!(
        keys(&teams.rows),
        BTreeSet::from(
            [
                "(none)",
                "analytics",
                "assistant",
                "platform",
                "research",
                "support"
            ]
            .map(String::from)
        )
    );
    assert_eq!(sum(&teams.rows), report.totals.total_tokens);
    let projects = &report.by_metadata[1];
    assert_eq!(
        keys(&projects.rows),
        BTreeSet::from(["(none)", "chatbot", "evals", "helpdesk"].map(String::from))
    );
    // Without group_by_metadata there is nothing to break down by.
    let today = Date::parse("2026-11-25").unwrap();
    let plain = SampleSource::for_today(today)
        .collect(
            &UsageQuery::last_days(today, 7, Granularity::Day).unwrap(),
            &NoProgress,
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert!(plain.by_metadata.is_empty());
    // Keys Bedrock could not have logged, and too many keys, are refused.
    let query = || UsageQuery::last_days(today, 7, Granularity::Day).unwrap();
    for bad in [
        vec!["a`b".to_owned()],
        vec![String::new()],
        vec!["x".repeat(257)],
    ] {
        assert!(query().with_group_by_metadata(bad).is_err());
    }
    let six: Vec<String> = (0..6).map(|i| format!("k{i}")).collect();
    assert!(query().with_group_by_metadata(six).is_err());
    // A repeated key is one breakdown.
    let q = query()
        .with_group_by_metadata(vec!["team".into(), "team".into()])
        .unwrap();
    assert_eq!(q.group_by_metadata(), ["team"]);
}

#[tokio::test]
async fn warnings_are_in_the_contract_the_schema_and_the_text() {
    let mut report = sample_report(Granularity::Day, 7, 5).await;
    report.warnings.push(Warning::log_group_not_found(
        "/aws/bedrock/x",
        Some("eu-west-3"),
    ));
    let value = serde_json::to_value(&report).unwrap();
    let schema = report_json_schema();
    validate(&schema, &value, "$").unwrap();
    assert_eq!(value["warnings"][0]["code"], "log_group_not_found");
    let message = value["warnings"][0]["message"].as_str().unwrap();
    for needle in [
        "/aws/bedrock/x",
        "eu-west-3",
        "model invocation logging",
        "put-model-invocation-logging-configuration",
    ] {
        assert!(message.contains(needle), "{needle} not in {message}");
    }
    // The schema requires the list, and its items' fields.
    let mut broken = value.clone();
    broken.as_object_mut().unwrap().remove("warnings");
    assert!(validate(&schema, &broken, "$").is_err());
    let mut broken = value.clone();
    broken["warnings"][0]
        .as_object_mut()
        .unwrap()
        .remove("code");
    assert!(validate(&schema, &broken, "$").is_err());
    // A report written before the field existed still reads.
    let mut old = value;
    old.as_object_mut().unwrap().remove("warnings");
    let back: UsageReport = serde_json::from_value(old).unwrap();
    assert!(back.warnings.is_empty());

    let text = render_text(&report);
    assert!(
        text.contains("WARNING (log_group_not_found): The CloudWatch log group /aws/bedrock/x"),
        "{text}"
    );
}

#[tokio::test]
async fn json_round_trips() {
    let mut report = sample_report(Granularity::Hour, 3, 2).await;
    assert!(
        !report.model_series.is_empty(),
        "the chart series is filled"
    );
    let text = serde_json::to_string(&report).unwrap();
    let back: UsageReport = serde_json::from_str(&text).unwrap();
    // The chart series and the unfolded per-model counters are not part of the JSON contract.
    report.model_series.clear();
    report.all_models.clear();
    report.cost_cells = Default::default();
    assert_eq!(back, report);
}

#[tokio::test]
async fn text_has_every_section_aligned() {
    let report = sample_report(Granularity::Day, 30, 20).await;
    let text = render_text(&report);
    for heading in [
        "Totals",
        "Daily",
        "By region",
        "By model",
        "By user",
        "By operation",
        "By inference region",
        "By metadata team",
        "By metadata project",
    ] {
        assert!(
            text.lines().any(|l| l == heading),
            "no {heading} section in\n{text}"
        );
    }
    assert!(text.contains("2026-11-25"));
    assert!(text.contains("us.anthropic.claude-sonnet-4-20250514-v1:0"));
    assert!(text.contains("Skipped records: 6"));
    let total = report.totals.total_tokens;
    assert!(total > 1_000_000, "{total}");
    let grouped = total
        .to_string()
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(",");
    assert!(text.contains(&grouped), "{grouped} not in\n{text}");

    // Within each table every line has the same width, so columns line up.
    for block in text.split("\n\n").skip(2) {
        let widths: BTreeSet<usize> = block.lines().skip(1).map(|l| l.chars().count()).collect();
        assert_eq!(widths.len(), 1, "ragged table:\n{block}");
    }

    let hourly = render_text(&sample_report(Granularity::Hour, 1, 20).await);
    assert!(hourly.lines().any(|l| l == "Hourly"), "{hourly}");
    assert!(hourly.contains("2026-11-25T23"));
}

#[test]
fn invalid_queries_explain_themselves() {
    let t = "2026-11-01T00:00:00Z".parse().unwrap();
    let err = UsageQuery::new(t, t, Granularity::Day).unwrap_err();
    assert!(matches!(err, QueryError::EmptyPeriod { .. }));
    assert!(err.to_string().contains("2026-11-01T00:00:00Z"), "{err}");
    let far = "2200-01-01T00:00:00Z".parse().unwrap();
    let err = UsageQuery::new(t, far, Granularity::Hour).unwrap_err();
    assert!(err.to_string().contains("hour buckets"), "{err}");
    assert!(UsageQuery::new(t, far, Granularity::Day).is_ok());
}

/// `compare_to` and `anomalies` (issue 17): every breakdown entry carries `previous` and
/// `change`, both sections validate, and the schema refuses them broken; the text shows the
/// comparison columns and sections, aligned.
#[tokio::test]
async fn what_changed_is_in_the_contract_the_schema_and_the_text() {
    use bedrock_usage_mcp::usage::change::{ChangeOptions, ChangePlan};
    use bedrock_usage_mcp::usage::report::{Anomaly, CompareTo};
    let today = Date::parse("2026-11-25").unwrap();
    let query = UsageQuery::last_days(today, 7, Granularity::Day)
        .unwrap()
        .with_top_n(3)
        .with_group_by_metadata(vec!["team".into()])
        .unwrap();
    let options = ChangeOptions {
        compare_to: Some(CompareTo::PreviousPeriod),
        anomalies: true,
    };
    let mut report = ChangePlan::new(&query, options)
        .unwrap()
        .collect(
            &SampleSource::for_today(today),
            &NoProgress,
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    // One item of each shape, whatever the sample holds.
    let anomalies = report.anomalies.as_mut().unwrap();
    for (dimension, metadata_key, key) in [
        ("day", None, None),
        (
            "metadata",
            Some("team".to_owned()),
            Some("search".to_owned()),
        ),
    ] {
        anomalies.items.push(Anomaly {
            day: "2026-11-24".into(),
            dimension: dimension.into(),
            metadata_key,
            key,
            metric: "total_tokens".into(),
            value: 3_000_000,
            median: 1_205_000.0,
            mad: 5_000.5,
            threshold: 1_807_500.0,
            history_days: 14,
        });
    }
    let value = serde_json::to_value(&report).unwrap();
    let schema = report_json_schema();
    validate(&schema, &value, "$").unwrap();
    for section in [
        "by_region",
        "by_model",
        "by_user",
        "by_operation",
        "by_inference_region",
    ] {
        for row in value[section].as_array().unwrap() {
            assert!(
                row["previous"].is_object() && row["change"].is_object(),
                "{section}"
            );
        }
    }
    for row in value["by_metadata"][0]["rows"].as_array().unwrap() {
        assert!(row["previous"].is_object() && row["change"]["relative"].is_object());
    }
    assert_eq!(value["compare_to"]["period"]["end"], "2026-11-19T00:00:00Z");
    assert_eq!(value["anomalies"]["rule"]["baseline_days"], 14);
    let broken = |edit: &dyn Fn(&mut Value)| {
        let mut copy = value.clone();
        edit(&mut copy);
        validate(&schema, &copy, "$").is_err()
    };
    assert!(broken(
        &|v| v["by_model"][0]["change"]["relative"]["total_tokens"] = "x".into()
    ));
    assert!(broken(&|v| {
        v["by_metadata"][0]["rows"][0]["previous"]
            .as_object_mut()
            .unwrap()
            .remove("errors");
    }));
    assert!(broken(&|v| v["compare_to"]["kind"] = "last_year".into()));
    assert!(broken(&|v| {
        v["compare_to"].as_object_mut().unwrap().remove("period");
    }));
    assert!(broken(
        &|v| v["anomalies"]["items"][0]["dimension"] = "region".into()
    ));
    assert!(broken(
        &|v| v["anomalies"]["items"][0]["value"] = (-1).into()
    ));
    assert!(broken(&|v| {
        v["anomalies"].as_object_mut().unwrap().remove("rule");
    }));
    // The round trip keeps both sections.
    let back: UsageReport = serde_json::from_value(value.clone()).unwrap();
    assert_eq!(back.compare_to, report.compare_to);
    assert_eq!(back.anomalies, report.anomalies);
    assert_eq!(back.by_model, report.by_model);

    let text = render_text(&report);
    for heading in [
        "Compared with the previous period, 2026-11-12T00:00:00Z to 2026-11-19T00:00:00Z",
        "Anomalies",
    ] {
        assert!(
            text.lines().any(|l| l == heading),
            "no {heading} in\n{text}"
        );
    }
    let by_model = text
        .split("\n\n")
        .find(|b| b.starts_with("By model\n"))
        .unwrap();
    let header = by_model.lines().nth(1).unwrap();
    assert!(
        header.contains("  Previous total  ") && header.ends_with("  Change %"),
        "{header}"
    );
    let flagged: Vec<&str> = text
        .lines()
        .find(|l| l.trim_start().starts_with("metadata team=search "))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        flagged,
        [
            "metadata",
            "team=search",
            "2026-11-24",
            "total_tokens",
            "3,000,000",
            "1,205,000",
            "5000.5",
            "1,807,500"
        ]
    );
    assert!(text.contains("Anomaly rule: A UTC day's total_tokens or errors"));
    for block in text.split("\n\n").skip(2) {
        if block.starts_with("Anomaly rule") {
            continue;
        }
        let widths: BTreeSet<usize> = block.lines().skip(1).map(|l| l.chars().count()).collect();
        assert_eq!(widths.len(), 1, "ragged table:\n{block}");
    }
}
