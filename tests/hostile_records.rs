//! Invocation-log records are data anyone with Bedrock access can shape: a `modelId` or an
//! `identity.arn` of any length must not break the report, its text or the review prompt.
//! (A 65,536-character `modelId` used to panic the text report on a format width.)

use std::sync::Arc;
use std::time::Duration;

use bedrock_usage_mcp::store::MemoryStore;
use bedrock_usage_mcp::tools::{FixedSource, usage_server};
use bedrock_usage_mcp::transport::TransportConfig;
use bedrock_usage_mcp::usage::Date;
use bedrock_usage_mcp::usage::source::FileSource;
use mcp_testkit::app::{App, body_json};
use mcp_testkit::sse::SseReader;
use serde_json::json;

/// A file with one ordinary record and one whose `modelId` and caller are 70,000 characters.
fn hostile_file(dir: &std::path::Path) -> (std::path::PathBuf, String) {
    let today = Date::today();
    let long_model = format!("anthropic.{}", "m".repeat(70_000));
    let long_user = format!("arn:aws:iam::123456789012:user/{}", "u".repeat(70_000));
    let record = |model: &str, user: &str| {
        json!({
            "schemaType": "ModelInvocationLog", "schemaVersion": "1.0",
            "timestamp": format!("{today}T12:00:00Z"), "accountId": "123456789012",
            "identity": { "arn": user }, "region": "us-east-1", "requestId": "r",
            "operation": "Converse", "modelId": model,
            "input": { "inputTokenCount": 10 }, "output": { "outputTokenCount": 5 },
        })
        .to_string()
    };
    let lines = [
        record(
            "amazon.nova-pro-v1:0",
            "arn:aws:iam::123456789012:user/alice",
        ),
        record(&long_model, &long_user),
    ];
    let path = dir.join("hostile.jsonl");
    std::fs::write(&path, lines.join("\n")).expect("writing the records");
    (path, long_model)
}

fn app(path: std::path::PathBuf) -> App {
    let source = Arc::new(FixedSource(Arc::new(FileSource::new(path))));
    App::serving(
        usage_server(source, None, None),
        Arc::new(MemoryStore::new()),
        TransportConfig::default(),
    )
}

#[tokio::test]
async fn huge_keys_reach_the_json_whole_and_the_text_cut() {
    let dir = tempfile_dir();
    let (path, long_model) = hostile_file(&dir);
    let app = app(path);
    let response = app
        .modern(
            1,
            "tools/call",
            json!({ "name": "get_bedrock_usage_report", "arguments": { "days": 2 } }),
            json!({}),
        )
        .await;
    let answer = body_json(response).await;
    let result = &answer["result"];
    assert_eq!(result["isError"], false, "{answer:.300}");
    let models: Vec<&str> = result["structuredContent"]["by_model"]
        .as_array()
        .expect("by_model")
        .iter()
        .filter_map(|row| row["key"].as_str())
        .collect();
    assert!(
        models.contains(&long_model.as_str()),
        "the JSON keeps the key whole"
    );
    let text = result["content"][0]["text"]
        .as_str()
        .expect("a text report");
    assert!(text.contains("anthropic.mmm"), "{text:.500}");
    assert!(text.contains('…'), "the long key is cut in the text");
    assert!(
        text.lines().all(|l| l.chars().count() < 400),
        "no line is stretched by the long key"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn the_review_prompt_survives_huge_keys() {
    let dir = tempfile_dir();
    let (path, _) = hostile_file(&dir);
    let app = app(path);
    let response = app
        .modern(
            2,
            "prompts/get",
            json!({ "name": "review_bedrock_usage", "arguments": { "days": "2" } }),
            json!({}),
        )
        .await;
    let answer = body_json(response).await;
    assert!(answer.get("error").is_none(), "{answer:.300}");
    let messages = answer["result"]["messages"].as_array().expect("messages");
    assert!(!messages.is_empty());
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn clients_learn_the_file_name_not_its_directory() {
    let dir = tempfile_dir();
    let (path, _) = hostile_file(&dir);
    let directory = dir.display().to_string();
    let report = |app: App| async move {
        let response = app
            .modern(
                3,
                "tools/call",
                json!({ "name": "get_bedrock_usage_report", "arguments": { "days": 2 } }),
                json!({ "io.modelcontextprotocol/logLevel": "debug", "progressToken": "t" }),
            )
            .await;
        let events = SseReader::new(response.into_body())
            .until_response(Duration::from_secs(30))
            .await;
        events
            .iter()
            .map(|e| e.data.clone())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let seen = report(app(path)).await;
    assert!(
        seen.contains("hostile.jsonl"),
        "the phase names the file: {seen:.400}"
    );
    assert!(
        !seen.contains(&directory),
        "the directory leaked: {seen:.400}"
    );

    let missing = report(app(dir.join("missing.jsonl"))).await;
    assert!(missing.contains("missing.jsonl"), "{missing:.400}");
    assert!(
        !missing.contains(&directory),
        "the directory leaked: {missing:.400}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// A fresh directory under the system's temporary directory.
fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("hostile-records-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}

/// `requestMetadata` is the caller's to fill: thousands of keys, huge and multi-line values
/// and values of other types reach the report bounded (16 keys per record, 256 characters
/// per key and value, control characters escaped), and the tool refuses keys Bedrock could
/// not log.
#[tokio::test]
async fn request_metadata_is_bounded_and_cleaned() {
    let today = Date::today();
    // Written by hand: the keys' order matters (the first 16 are kept).
    let mut metadata = vec![
        format!(r#""team":"{}""#, "t".repeat(70_000)),
        r#""note":"ok\nFAKE LINE\u001b[31m""#.to_owned(),
        r#""n":7"#.to_owned(),
    ];
    metadata.extend((0..10_000).map(|i| format!(r#""k{i}":"v""#)));
    let record = format!(
        r#"{{"timestamp":"{today}T12:00:00Z","region":"us-east-1","inferenceRegion":"us-west-2","operation":"Converse","modelId":"m","requestMetadata":{{{}}},"input":{{"inputTokenCount":10}},"output":{{"outputTokenCount":5}}}}"#,
        metadata.join(",")
    );
    let dir = tempfile_dir();
    let path = dir.join("metadata.jsonl");
    std::fs::write(&path, record).expect("writing the record");
    let app = app(path);
    let call = |id: u64, arguments: serde_json::Value| {
        app.call_tool(id, "get_bedrock_usage_report", arguments)
    };
    let result = call(
        1,
        json!({ "days": 2, "group_by_metadata": ["team", "note", "n", "k9999"] }),
    )
    .await;
    assert_eq!(result["isError"], false, "{result:.300}");
    let report = &result["structuredContent"];
    assert_eq!(report["totals"]["requests"], 1);
    assert_eq!(report["by_inference_region"][0]["key"], "us-west-2");
    let value = |i: usize| {
        report["by_metadata"][i]["rows"][0]["key"]
            .as_str()
            .expect("a value")
            .to_owned()
    };
    let team = value(0);
    assert_eq!(team.chars().count(), 256, "cut to 256 characters");
    assert!(team.ends_with('…'));
    assert_eq!(
        value(1),
        "ok\\nFAKE LINE\\u{1b}[31m",
        "control characters escaped"
    );
    assert_eq!(value(2), "(none)", "a number is not a metadata value");
    assert_eq!(value(3), "(none)", "past the first 16 keys nothing is kept");
    let text = result["content"][0]["text"]
        .as_str()
        .expect("a text report");
    assert!(text.contains("By metadata note"), "{text:.2000}");
    assert!(
        !text.lines().any(|l| l.starts_with("FAKE LINE")),
        "{text:.2000}"
    );
    assert!(!text.contains('\u{1b}'));
    assert!(text.lines().all(|l| l.chars().count() < 400));

    // Arguments that could not name a logged key, or too many keys, are refused.
    for (id, arguments) in [
        (2, json!({ "group_by_metadata": ["a`b"] })),
        (
            3,
            json!({ "group_by_metadata": ["a", "b", "c", "d", "e", "f"] }),
        ),
        (4, json!({ "group_by_metadata": [""] })),
        (5, json!({ "metadata": { "team": "x\ny" } })),
        (6, json!({ "metadata": { "bad key!": "x" } })),
    ] {
        let result = call(id, arguments.clone()).await;
        assert_eq!(result["isError"], true, "{arguments}: {result:.300}");
    }
    let _ = std::fs::remove_dir_all(dir);
}
