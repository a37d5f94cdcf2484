//! `--standalone-stream off` (the Lambda default): a GET without `Last-Event-ID` gets 405
//! before anything is read, `subscriptions/listen` gets -32601, the capabilities promise no
//! list changes or resource subscriptions (resuming a POST's stream still works: see
//! `tests/legacy_streams.rs`, which resumes with the stream on and off). With it on (the local
//! default), the same server promises and serves both. In process, on the memory store.

use bedrock_usage_mcp::transport::TransportConfig;
use mcp_testkit::app::{App, body_json, content_type};
use mcp_testkit::jsonrpc;
use serde_json::{Value, json};

fn config(standalone_stream: bool) -> TransportConfig {
    TransportConfig {
        standalone_stream,
        ..TransportConfig::default()
    }
}

/// The capabilities `initialize` announces.
async fn legacy_capabilities(app: &App) -> Value {
    let init = jsonrpc::initialize(0, "2025-11-25", "tests", json!({}));
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
    let subscribe = jsonrpc::request(
        3,
        "resources/subscribe",
        json!({ "uri": "test://watched-resource" }),
    );
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
    let ping = jsonrpc::request(4, "ping", Value::Null);
    assert_eq!(
        body_json(app.post(Some(&session), ping).await).await["result"],
        json!({})
    );
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
