//! `mcp-client smoke`: a fixed end-to-end check of a deployed server, for pipelines. Both eras,
//! listing tools, a tool call with progress, resuming a cut stream, and ending the session.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};

use super::{ClientError, ClientOptions, Incoming, McpClient, SseDecoder};
use crate::protocol::version;

/// One named check and how it went.
#[derive(Debug, Clone)]
pub struct SmokeCheck {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

/// Runs every check against `options.url`, calling `tool` with `arguments` (it must report
/// progress when given a progress token). Never stops at the first failure.
pub async fn run_smoke(options: &ClientOptions, tool: &str, arguments: &Value) -> Vec<SmokeCheck> {
    let mut checks = Vec::new();
    let mut record = |name: &str, outcome: Result<String, String>| {
        let (passed, detail) = match outcome {
            Ok(detail) => (true, detail),
            Err(detail) => (false, detail),
        };
        checks.push(SmokeCheck {
            name: name.to_owned(),
            passed,
            detail,
        });
    };

    let legacy = ClientOptions {
        protocol: version::LEGACY[0].to_owned(),
        ..options.clone()
    };
    match McpClient::new(legacy) {
        Err(e) => record("legacy: client", Err(e.to_string())),
        Ok(mut client) => {
            let connected = client.connect().await;
            record(
                "legacy: initialize",
                connected
                    .as_ref()
                    .map(|r| {
                        format!(
                            "negotiated {}, session {}",
                            r["protocolVersion"].as_str().unwrap_or("?"),
                            if client.session_id().is_some() {
                                "issued"
                            } else {
                                "NOT issued"
                            }
                        )
                    })
                    .map_err(|e| e.to_string()),
            );
            if connected.is_ok() {
                record("legacy: tools/list", list_has(&mut client, tool).await);
                record(
                    "legacy: tool call with progress",
                    call_with_progress(&mut client, tool, arguments).await,
                );
                record(
                    "legacy: resume a cut stream",
                    cut_and_resume(&mut client, tool, arguments).await,
                );
                record(
                    "legacy: DELETE ends the session",
                    terminate(&mut client).await,
                );
            }
        }
    }

    let modern = ClientOptions {
        protocol: version::MODERN.to_owned(),
        ..options.clone()
    };
    match McpClient::new(modern) {
        Err(e) => record("2026-07-28: client", Err(e.to_string())),
        Ok(mut client) => {
            let discovered = client.connect().await;
            record(
                "2026-07-28: server/discover",
                discovered
                    .as_ref()
                    .map_err(|e| e.to_string())
                    .and_then(|r| {
                        let versions = r["supportedVersions"]
                            .as_array()
                            .cloned()
                            .unwrap_or_default();
                        if versions.contains(&json!(version::MODERN)) {
                            Ok(format!("supported versions {}", Value::Array(versions)))
                        } else {
                            Err(format!("2026-07-28 not among supported versions: {r}"))
                        }
                    }),
            );
            record("2026-07-28: tools/list", list_has(&mut client, tool).await);
            record(
                "2026-07-28: tool call with progress",
                call_with_progress(&mut client, tool, arguments).await,
            );
        }
    }
    checks
}

async fn list_has(client: &mut McpClient, tool: &str) -> Result<String, String> {
    let result = client
        .request("tools/list", json!({}), &mut |_| {})
        .await
        .map_err(|e| e.to_string())?;
    let names: Vec<&str> = result["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str())
        .collect();
    if names.contains(&tool) {
        Ok(format!("{} tools, including {tool}", names.len()))
    } else {
        Err(format!("{tool} is not among {names:?}"))
    }
}

async fn call_with_progress(
    client: &mut McpClient,
    tool: &str,
    arguments: &Value,
) -> Result<String, String> {
    let mut progress = 0;
    let params =
        json!({ "name": tool, "arguments": arguments, "_meta": { "progressToken": "smoke" } });
    let result = client
        .request("tools/call", params, &mut |incoming| {
            if let Incoming::Notification(n) = incoming
                && n["method"] == "notifications/progress"
            {
                progress += 1;
            }
        })
        .await
        .map_err(|e| e.to_string())?;
    if result["isError"] == json!(true) {
        return Err(format!("the tool reported an error: {}", result["content"]));
    }
    if progress == 0 {
        return Err("no progress notification arrived before the result".into());
    }
    // A report that works but says something (a fresh account's missing log group) passes,
    // and the pipeline's log shows why its numbers are zero.
    let warnings: Vec<&str> = result["structuredContent"]["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|w| w["code"].as_str())
        .collect();
    let note = if warnings.is_empty() {
        String::new()
    } else {
        format!(" (report warnings: {})", warnings.join(", "))
    };
    Ok(format!(
        "{progress} progress notifications, then the result{note}"
    ))
}

/// Reads the first progress event of a streamed call, drops the connection, resumes with
/// `Last-Event-ID`, and checks that the response arrives exactly once and that progress runs
/// on strictly increasing across the cut (nothing lost before it, nothing repeated after it).
async fn cut_and_resume(
    client: &mut McpClient,
    tool: &str,
    arguments: &Value,
) -> Result<String, String> {
    let params = json!({ "name": tool, "arguments": arguments, "_meta": { "progressToken": "smoke-resume" } });
    let body = client.envelope("tools/call", params);
    let id = body["id"].clone();
    let response = client.post_raw(&body).await.map_err(|e| e.to_string())?;
    let mut decoder = SseDecoder::default();
    let mut stream = response.bytes_stream();
    let mut progress = Vec::new();
    let cut_at = loop {
        let chunk = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .map_err(|_| "no event within 30 s".to_owned())?
            .ok_or("the stream ended before any progress event")?
            .map_err(|e| e.to_string())?;
        let mut cut = None;
        for event in decoder.push(&chunk) {
            let Ok(message) = serde_json::from_str::<Value>(&event.data) else {
                continue;
            };
            if message.get("result").is_some() {
                return Err("the call finished before a progress event could be cut".into());
            }
            if message["method"] == "notifications/progress" {
                progress.extend(message["params"]["progress"].as_f64());
                cut = event.id.clone();
                break;
            }
        }
        if let Some(cut) = cut {
            break cut;
        }
    };
    drop(stream);
    let before = progress.len();
    let mut resume_from = cut_at.clone();
    let mut answer = None;
    for _ in 0..100 {
        let delivered = client
            .resume(&resume_from, &mut |incoming| {
                if let Incoming::Notification(n) = incoming
                    && n["method"] == "notifications/progress"
                {
                    progress.extend(n["params"]["progress"].as_f64());
                }
            })
            .await
            .map_err(|e: ClientError| e.to_string())?;
        if let Some(message) = delivered {
            answer = Some(message);
            break;
        }
        resume_from = client.last_event_id().unwrap_or(&resume_from).to_owned();
    }
    let message = answer.ok_or("the resumed stream never delivered the response")?;
    if message["id"] != id {
        return Err(format!(
            "the resumed stream answered another request: {message}"
        ));
    }
    if progress.windows(2).any(|w| w[0] >= w[1]) {
        return Err(format!(
            "progress repeated or out of order across the cut: {progress:?}"
        ));
    }
    Ok(format!(
        "cut after event {cut_at}; {} progress before, {} after, response once",
        before,
        progress.len() - before
    ))
}

async fn terminate(client: &mut McpClient) -> Result<String, String> {
    let status = client.terminate().await.map_err(|e| e.to_string())?;
    if !(200..300).contains(&status) {
        return Err(format!("DELETE answered {status}"));
    }
    match client.request("ping", json!({}), &mut |_| {}).await {
        Err(ClientError::Status { status: 404, .. }) => {
            Ok("DELETE then 404 for the ended session".into())
        }
        other => Err(format!("after DELETE a request gave {other:?}, not 404")),
    }
}
