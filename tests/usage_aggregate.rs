//! Usage reports checked against numbers computed independently: the test reads the records
//! back with `serde_json::Value`, counts them with plain loops and string keys, and compares
//! the whole serialized report (totals, zero-filled series, sorted and folded breakdowns).
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use bedrock_usage_mcp::usage::source::{FileSource, SampleSource, sample::sample_lines, synthetic};
use bedrock_usage_mcp::usage::{
    Date, Granularity, NoProgress, UsageFilters, UsageQuery, UsageSource,
};
use chrono::{NaiveDateTime, TimeDelta};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// A query as the oracle sees it: bounds are whole-second `...Z` strings.
#[derive(Clone, Default)]
struct Spec {
    start: &'static str,
    end: &'static str,
    hour: bool,
    region: Option<&'static str>,
    account: Option<&'static str>,
    model: Option<&'static str>,
    user: Option<&'static str>,
    inference_region: Option<&'static str>,
    /// An application inference profile ARN.
    inference_profile: Option<&'static str>,
    /// A `requestMetadata` key and the value it must have.
    metadata: Option<(&'static str, &'static str)>,
    group_by_metadata: &'static [&'static str],
    top_n: usize,
}

impl Spec {
    fn query(&self) -> UsageQuery {
        let mut filters = UsageFilters {
            region: self.region.map(Into::into),
            aws_account_id: self.account.map(Into::into),
            model_id: self.model.map(Into::into),
            user: self.user.map(Into::into),
            inference_region: self.inference_region.map(Into::into),
            inference_profile: self.inference_profile.map(Into::into),
            ..UsageFilters::default()
        };
        if let Some((key, value)) = self.metadata {
            filters.metadata.insert(key.into(), value.into());
        }
        let granularity = if self.hour {
            Granularity::Hour
        } else {
            Granularity::Day
        };
        UsageQuery::new(
            self.start.parse().unwrap(),
            self.end.parse().unwrap(),
            granularity,
        )
        .unwrap()
        .with_top_n(self.top_n)
        .with_filters(filters)
        .with_group_by_metadata(self.group_by_metadata.iter().map(|k| (*k).into()).collect())
        .unwrap()
    }
}

type Counts = [u64; 7];
const FIELDS: [&str; 7] = [
    "requests",
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_write_input_tokens",
    "total_tokens",
    "errors",
];

fn add(into: &mut Counts, from: &Counts) {
    for (a, b) in into.iter_mut().zip(from) {
        *a += b;
    }
}

fn row(key: &str, c: &Counts) -> Value {
    let mut obj = serde_json::Map::new();
    obj.insert("key".into(), json!(key));
    for (name, value) in FIELDS.iter().zip(c) {
        obj.insert((*name).into(), json!(value));
    }
    Value::Object(obj)
}

fn counters(c: &Counts) -> Value {
    let mut v = row("", c);
    v.as_object_mut().unwrap().remove("key");
    v
}

fn well_formed_timestamp(t: &str) -> bool {
    let b = t.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    b.len() >= 20
        && [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
            .iter()
            .all(|&i| digit(i))
        && &t[4..5] == "-"
        && &t[10..11] == "T"
        && t.ends_with('Z')
}

/// Every bucket key from `start` up to `end`, by walking hours on chrono's calendar (not the
/// crate's bucketing).
fn bucket_keys(start: &str, end: &str, hour: bool) -> Vec<String> {
    let hour_of = |t: &str| format!("{}:00", &t[..13]);
    let mut at = NaiveDateTime::parse_from_str(&hour_of(start), "%Y-%m-%dT%H:%M").unwrap();
    let end = &end[..19];
    let key_format = if hour { "%Y-%m-%dT%H" } else { "%Y-%m-%d" };
    let mut keys: Vec<String> = Vec::new();
    while at.format("%Y-%m-%dT%H:00:00").to_string().as_str() < end {
        let key = at.format(key_format).to_string();
        if keys.last() != Some(&key) {
            keys.push(key);
        }
        at += TimeDelta::hours(1);
    }
    keys
}

/// The report the spec should produce over `lines`, computed without the crate's code.
fn expected(lines: &[String], spec: &Spec, kind: &str) -> Value {
    let mut skipped = 0u64;
    let mut totals: Counts = [0; 7];
    let mut series: BTreeMap<String, Counts> = BTreeMap::new();
    let mut by: [HashMap<String, Counts>; 5] = Default::default();
    // By application inference profile ARN; every other modelId under (none).
    let mut by_profile: HashMap<String, Counts> = HashMap::new();
    let mut by_metadata: Vec<HashMap<String, Counts>> =
        vec![HashMap::new(); spec.group_by_metadata.len()];
    for line in lines {
        if line.trim().is_empty() {
            continue;
        }
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            skipped += 1;
            continue;
        };
        let Some(ts) = v["timestamp"].as_str().filter(|t| well_formed_timestamp(t)) else {
            skipped += 1;
            continue;
        };
        let count = |part: &str, field: &str| match &v[part][field] {
            Value::Null => Some(0),
            n => n.as_u64(),
        };
        let (Some(input), Some(read), Some(write), Some(output)) = (
            count("input", "inputTokenCount"),
            count("input", "cacheReadInputTokenCount"),
            count("input", "cacheWriteInputTokenCount"),
            count("output", "outputTokenCount"),
        ) else {
            skipped += 1;
            continue;
        };
        if ts[..19] < spec.start[..19] || ts[..19] >= spec.end[..19] {
            continue;
        }
        let region = v["region"].as_str();
        let account = v["accountId"].as_str();
        let model = v["modelId"].as_str();
        let user = v["identity"]["arn"].as_str();
        let operation = v["operation"].as_str();
        let inference_region = v["inferenceRegion"].as_str();
        // The generator writes short plain metadata: no cleaning or bounds apply here.
        let metadata = |key: &str| v["requestMetadata"][key].as_str().filter(|s| !s.is_empty());
        let passes = |want: Option<&str>, have: Option<&str>| want.is_none() || want == have;
        if !(passes(spec.region, region)
            && passes(spec.account, account)
            && passes(spec.model, model)
            && passes(spec.user, user)
            && passes(spec.inference_region, inference_region)
            && passes(spec.inference_profile, model)
            && spec
                .metadata
                .is_none_or(|(k, want)| metadata(k) == Some(want)))
        {
            continue;
        }
        let error = v["errorCode"].as_str().is_some_and(|c| !c.is_empty());
        let c: Counts = [
            1,
            input,
            output,
            read,
            write,
            input + output + read + write,
            u64::from(error),
        ];
        add(&mut totals, &c);
        let key = if spec.hour {
            format!("{}T{}", &ts[..10], &ts[11..13])
        } else {
            ts[..10].to_owned()
        };
        add(series.entry(key).or_default(), &c);
        for (map, value) in by
            .iter_mut()
            .zip([region, model, user, operation, inference_region])
        {
            add(
                map.entry(value.unwrap_or("(unknown)").to_owned())
                    .or_default(),
                &c,
            );
        }
        let profile = model
            .filter(|m| m.starts_with("arn:") && m.contains(":application-inference-profile/"))
            .unwrap_or("(none)");
        add(by_profile.entry(profile.to_owned()).or_default(), &c);
        for (map, key) in by_metadata.iter_mut().zip(spec.group_by_metadata) {
            add(
                map.entry(metadata(key).unwrap_or("(none)").to_owned())
                    .or_default(),
                &c,
            );
        }
    }
    let daily: Vec<Value> = bucket_keys(spec.start, spec.end, spec.hour)
        .iter()
        .map(|k| row(k, series.get(k).unwrap_or(&[0; 7])))
        .collect();
    assert_eq!(
        daily.len(),
        daily.len().max(series.len()),
        "records outside the bucket list"
    );
    let breakdown = |map: &HashMap<String, Counts>| {
        let mut entries: Vec<(&String, &Counts)> = map.iter().collect();
        entries.sort_by(|a, b| b.1[5].cmp(&a.1[5]).then(a.0.cmp(b.0)));
        let mut rows: Vec<Value> = entries
            .iter()
            .take(spec.top_n)
            .map(|(k, c)| row(k, c))
            .collect();
        if entries.len() > spec.top_n {
            let mut other = [0; 7];
            for (_, c) in &entries[spec.top_n..] {
                add(&mut other, c);
            }
            rows.push(row("(other)", &other));
        }
        Value::Array(rows)
    };
    json!({
        "source": {"kind": kind, "log_group": null, "region": null},
        "period": {"start": spec.start, "end": spec.end},
        "totals": counters(&totals),
        "daily": daily,
        "by_region": breakdown(&by[0]),
        "by_model": breakdown(&by[1]),
        "by_user": breakdown(&by[2]),
        "by_operation": breakdown(&by[3]),
        "by_inference_region": breakdown(&by[4]),
        "by_metadata": spec
            .group_by_metadata
            .iter()
            .zip(&by_metadata)
            .map(|(key, map)| json!({"key": key, "rows": breakdown(map)}))
            .collect::<Vec<_>>(),
        // Unresolved: the library's report; the tool adds names.
        "by_inference_profile": breakdown(&by_profile)
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                let mut row = row.clone();
                row["name"] = Value::Null;
                row["tags"] = json!({});
                row["models"] = json!([]);
                row["resolved_by"] = Value::Null;
                row
            })
            .collect::<Vec<_>>(),
        "skipped_records": skipped,
        // Every key fits the report's budget and the records come from a file: nothing to say.
        "warnings": [],
    })
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("usage-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn collect_file(path: &std::path::Path, spec: &Spec) -> Value {
    let report = FileSource::new(path)
        .collect_blocking(&spec.query(), &mut |_, _| {}, &CancellationToken::new())
        .unwrap();
    serde_json::to_value(report).unwrap()
}

const WHOLE_WINDOW: Spec = Spec {
    start: "2026-10-01T00:00:00Z",
    end: "2026-11-01T00:00:00Z",
    hour: false,
    region: None,
    account: None,
    model: None,
    user: None,
    inference_region: None,
    inference_profile: None,
    metadata: None,
    group_by_metadata: &[],
    top_n: 20,
};

#[test]
fn file_reports_match_independent_counts() {
    let dir = TempDir::new("oracle");
    let path = dir.0.join("records.jsonl");
    synthetic::write_records(&path, 4_000, 64..=512, 11).unwrap();
    let lines: Vec<String> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len(), 4_000);

    let specs = [
        // The whole window, by day: 31 buckets, every record counted.
        WHOLE_WINDOW,
        // A partial window whose ends fall inside days.
        Spec {
            start: "2026-10-05T06:00:00Z",
            end: "2026-10-09T18:00:00Z",
            ..WHOLE_WINDOW
        },
        // Hour granularity, with the period reaching past the data.
        Spec {
            start: "2026-10-30T20:00:00Z",
            end: "2026-11-01T03:00:00Z",
            hour: true,
            ..WHOLE_WINDOW
        },
        // Top-N folding: 3 of 6 models, 3 of 8 users.
        Spec {
            top_n: 3,
            ..WHOLE_WINDOW
        },
        Spec {
            top_n: 0,
            ..WHOLE_WINDOW
        },
        // Each filter, and all of them together.
        Spec {
            region: Some("us-west-2"),
            ..WHOLE_WINDOW
        },
        Spec {
            account: Some("444455556666"),
            top_n: 1,
            ..WHOLE_WINDOW
        },
        Spec {
            model: Some(synthetic::MODELS[5]),
            ..WHOLE_WINDOW
        },
        Spec {
            user: Some(synthetic::USERS[3]),
            hour: true,
            start: "2026-10-10T00:00:00Z",
            end: "2026-10-12T00:00:00Z",
            ..WHOLE_WINDOW
        },
        Spec {
            region: Some("eu-west-1"),
            account: Some("111122223333"),
            model: Some(synthetic::MODELS[0]),
            user: Some(synthetic::USERS[1]),
            ..WHOLE_WINDOW
        },
        // By request metadata (five teams and the untagged users' "(none)", folded at 3), and
        // filtered by a metadata value and the region a cross-region profile ran in.
        Spec {
            group_by_metadata: &["team", "project"],
            top_n: 3,
            ..WHOLE_WINDOW
        },
        Spec {
            inference_region: Some("us-east-2"),
            metadata: Some(("team", "research")),
            group_by_metadata: &["project", "team"],
            ..WHOLE_WINDOW
        },
        // The calls through the application inference profile.
        Spec {
            inference_profile: Some(synthetic::MODELS[5]),
            ..WHOLE_WINDOW
        },
        // A filter that matches nothing still yields a zero-filled series.
        Spec {
            region: Some("ap-south-1"),
            ..WHOLE_WINDOW
        },
    ];
    for spec in &specs {
        let want = expected(&lines, spec, "file");
        let got = collect_file(&path, spec);
        assert_eq!(
            got, want,
            "spec {}..{} hour={} top_n={}",
            spec.start, spec.end, spec.hour, spec.top_n
        );
    }

    // The whole window counts every record; the file has several of each dimension.
    let whole = collect_file(&path, &WHOLE_WINDOW);
    assert_eq!(whole["totals"]["requests"], 4_000);
    assert_eq!(whole["daily"].as_array().unwrap().len(), 31);
    assert_eq!(whole["by_model"].as_array().unwrap().len(), 6);
    assert_eq!(whole["by_user"].as_array().unwrap().len(), 8);
    assert_eq!(whole["by_operation"].as_array().unwrap().len(), 4);
    assert!(whole["totals"]["errors"].as_u64().unwrap() > 0);
    assert!(whole["totals"]["cache_read_input_tokens"].as_u64().unwrap() > 0);
    assert!(
        whole["totals"]["cache_write_input_tokens"]
            .as_u64()
            .unwrap()
            > 0
    );
}

#[test]
fn every_breakdown_sums_to_the_totals() {
    let dir = TempDir::new("sums");
    let path = dir.0.join("records.jsonl");
    synthetic::write_records(&path, 2_000, 16..=64, 5).unwrap();
    for top_n in [0, 1, 2, 5, 100] {
        for hour in [false, true] {
            let spec = Spec {
                top_n,
                hour,
                group_by_metadata: &["team", "project"],
                ..WHOLE_WINDOW
            };
            let report = collect_file(&path, &spec);
            let totals = &report["totals"];
            let mut sections: Vec<(String, &Vec<Value>)> = [
                "daily",
                "by_region",
                "by_model",
                "by_user",
                "by_operation",
                "by_inference_region",
            ]
            .into_iter()
            .map(|s| (s.to_owned(), report[s].as_array().unwrap()))
            .collect();
            for b in report["by_metadata"].as_array().unwrap() {
                sections.push((
                    format!("by_metadata {}", b["key"]),
                    b["rows"].as_array().unwrap(),
                ));
            }
            assert_eq!(sections.len(), 8);
            for (section, rows) in sections {
                let section = section.as_str();
                for field in FIELDS {
                    let sum: u64 = rows.iter().map(|r| r[field].as_u64().unwrap()).sum();
                    assert_eq!(Some(sum), totals[field].as_u64(), "{section}.{field}");
                }
                if section != "daily" {
                    assert!(rows.len() <= top_n + 1, "{section} has {} rows", rows.len());
                    let named = &rows[..rows.len().min(top_n)];
                    assert!(
                        named
                            .windows(2)
                            .all(|w| w[0]["total_tokens"].as_u64() >= w[1]["total_tokens"].as_u64()),
                        "{section} not sorted"
                    );
                }
            }
            let series = report["daily"].as_array().unwrap();
            assert_eq!(series.len(), if hour { 31 * 24 } else { 31 });
            assert!(
                series
                    .windows(2)
                    .all(|w| w[0]["key"].as_str() < w[1]["key"].as_str())
            );
        }
    }
}

#[tokio::test]
async fn sample_reports_match_independent_counts() {
    let today = Date::parse("2026-11-25").unwrap();
    let lines = sample_lines(today);
    let source = SampleSource::for_today(today);
    let specs = [
        Spec {
            start: "2026-10-27T00:00:00Z",
            end: "2026-11-26T00:00:00Z",
            ..WHOLE_WINDOW
        },
        Spec {
            start: "2026-11-24T00:00:00Z",
            end: "2026-11-26T00:00:00Z",
            hour: true,
            top_n: 4,
            ..WHOLE_WINDOW
        },
        Spec {
            start: "2026-10-27T00:00:00Z",
            end: "2026-11-26T00:00:00Z",
            account: Some("444455556666"),
            ..WHOLE_WINDOW
        },
    ];
    for spec in &specs {
        let report = source
            .collect(&spec.query(), &NoProgress, &CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(
            serde_json::to_value(&report).unwrap(),
            expected(&lines, spec, "bundled-sample"),
            "spec {}..{}",
            spec.start,
            spec.end
        );
    }
}
