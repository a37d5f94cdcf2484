//! `--standalone-stream off` (the Lambda default): a GET without `Last-Event-ID` gets 405
//! before anything is read, `subscriptions/listen` gets -32601, the capabilities promise no
//! list changes or resource subscriptions, and resuming a POST's stream still works. With it
//! on (the local default), the same server promises and serves both. In process, on the
//! memory store.

use std::time::Duration;

use bedrock_usage_mcp::transport::TransportConfig;
use mcp_testkit::app::{App, body_json, call, content_type};
use mcp_testkit::sse::{EventJson as _, SseReader};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(5);

fn config(standalone_stream: bool) -> TransportConfig {
    TransportConfig {
        standalone_stream,
        ..TransportConfig::default()
    }
}

/// The capabilities `initialize` announces.
async fn legacy_capabilities(app: &App) -> Value {
    let init = json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": { "name": "tests", "version": "1" } } });
    body_json(app.post(None, init).await).await["result"]["capabilities"].clone()
}

/// The capabilities `server/discover` announces.
async fn modern_capabilities(app: &App) -> Value {
    let discovered = app.modern(1, "server/discover", json!({}), json!({})).await;
    body_json(discovered).await["result"]["capabilities"].clone()
}

/// A 2026-07-28 `subscriptions/listen` for tool list changes.
async fn listen(app: &App, id: u64) -> http::Response<axum::body::Body> {
    let filter = json!({ "notifications": { "toolsListChanged": true } });
    app.modern(id, "subscriptions/listen", filter, json!({}))
        .await
}

/// Whether `caps` promise anything only a stream outside a request could deliver.
fn promises_change_notifications(caps: &Value) -> bool {
    ["tools", "prompts", "resources"]
        .iter()
        .any(|c| caps[c]["listChanged"] == json!(true))
        || caps["resources"]["subscribe"] == json!(true)
}

#[tokio::test]
async fn with_the_stream_on_the_fixtures_promise_and_serve_it() {
    let app = App::new(config(true));
    for caps in [
        legacy_capabilities(&app).await,
        modern_capabilities(&app).await,
    ] {
        assert_eq!(caps["tools"]["listChanged"], json!(true), "{caps}");
        assert_eq!(caps["resources"]["subscribe"], json!(true), "{caps}");
    }
    let session = app.initialize("2025-11-25").await;
    let get = app.get(&session, None).await;
    assert_eq!(get.status(), 200);
    assert_eq!(content_type(&get), "text/event-stream");
    let listen = listen(&app, 2).await;
    assert_eq!(content_type(&listen), "text/event-stream");
}

#[tokio::test]
async fn with_the_stream_off_nothing_that_needs_it_is_promised() {
    let app = App::new(config(false));
    for caps in [
        legacy_capabilities(&app).await,
        modern_capabilities(&app).await,
    ] {
        assert!(!promises_change_notifications(&caps), "{caps}");
        // What does not need the stream is still offered.
        assert!(
            caps["tools"].is_object() && caps["resources"].is_object(),
            "{caps}"
        );
        assert!(caps["completions"].is_object(), "{caps}");
    }
    let session = app.initialize("2025-11-25").await;
    let subscribe = json!({ "jsonrpc": "2.0", "id": 3, "method": "resources/subscribe",
        "params": { "uri": "test://watched-resource" } });
    let answer = body_json(app.post(Some(&session), subscribe).await).await;
    assert_eq!(answer["error"]["code"], -32601, "{answer}");
}

#[tokio::test]
async fn with_the_stream_off_a_get_is_405_before_the_session_is_read() {
    let app = App::new(config(false));
    let session = app.initialize("2025-11-25").await;
    let get = app.get(&session, None).await;
    assert_eq!(get.status(), 405);
    assert_eq!(get.headers()["allow"], "POST, DELETE");
    // An unknown session gets the same answer: the store was not asked.
    let unknown = app.get("no-such-session", None).await;
    assert_eq!(unknown.status(), 405);
    // The session is untouched and goes on working.
    let ping = json!({ "jsonrpc": "2.0", "id": 4, "method": "ping" });
    assert_eq!(
        body_json(app.post(Some(&session), ping).await).await["result"],
        json!({})
    );
}

#[tokio::test]
async fn with_the_stream_off_a_cut_post_stream_still_resumes() {
    let app = App::new(config(false));
    let session = app.initialize("2025-11-25").await;
    let args = json!({ "steps": 4, "interval_ms": 30 });
    let response = app
        .post(
            Some(&session),
            call(1, "test_long_operation", args, Some("p1")),
        )
        .await;
    assert_eq!(content_type(&response), "text/event-stream");
    let mut stream = SseReader::new(response.into_body());
    let priming = stream.next(WAIT).await.expect("a priming event");
    let first = stream.next(WAIT).await.expect("the first progress");
    assert!(first.json().is_some_and(|m| m["params"]["progress"] == 1.0));
    drop((stream, priming));

    let last_id = first.id.expect("an event id");
    let resumed = app.get(&session, Some(&last_id)).await;
    assert_eq!(resumed.status(), 200);
    let events = SseReader::new(resumed.into_body())
        .until_response(WAIT)
        .await;
    let messages: Vec<Value> = events.iter().filter_map(|e| e.json()).collect();
    let progress: Vec<f64> = messages
        .iter()
        .filter_map(|m| m["params"]["progress"].as_f64())
        .collect();
    assert_eq!(progress, [2.0, 3.0, 4.0], "{messages:?}");
    assert_eq!(messages.last().map(|m| &m["id"]), Some(&json!(1)));
}

#[tokio::test]
async fn with_the_stream_off_listen_is_not_offered() {
    let app = App::new(config(false));
    let listen = listen(&app, 5).await;
    assert_eq!(listen.status(), 404);
    assert_eq!(content_type(&listen), "application/json");
    let answer = body_json(listen).await;
    assert_eq!(answer["id"], 5);
    assert_eq!(answer["error"]["code"], -32601, "{answer}");
}
