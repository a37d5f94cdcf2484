//! `subscriptions/listen`: a long-lived SSE stream of list-change and resource-update
//! notifications, opened by a POST.

use std::time::Duration;

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::validate::ModernMeta;
use crate::protocol::message;
use crate::protocol::shape::shape_result;
use crate::protocol::version::Era;
use crate::server::ChangeEvent;
use crate::transport::McpService;
use crate::transport::http_error::HttpError;
use crate::transport::response::{self, ChannelBody};
use crate::transport::sse;

const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

/// Opens a listen stream: the acknowledgement first, then matching notifications, keep-alive
/// comments while idle, and a completion result when the server closes it.
pub fn open(
    service: &McpService,
    id: Value,
    params: Option<Value>,
    _meta: &ModernMeta,
) -> Response {
    let Some(requested) = params
        .as_ref()
        .and_then(|p| p.get("notifications"))
        .and_then(Value::as_object)
    else {
        return HttpError::new(
            http::StatusCode::OK,
            rmcp::model::ErrorCode::INVALID_PARAMS,
            "Invalid params: notifications is required",
        )
        .with_id(Some(id))
        .into_response();
    };
    let accepted = accepted_filter(service, requested);
    let (tx, rx) = mpsc::unbounded_channel::<Bytes>();
    let ack = message::notification(
        "notifications/subscriptions/acknowledged",
        json!({ "_meta": { SUBSCRIPTION_ID: id }, "notifications": accepted }),
    );
    let _ = tx.send(sse::anonymous_event(&ack.to_string()));

    let cancel = CancellationToken::new();
    let guard = cancel.clone().drop_guard();
    let mut changes = service.server.subscribe_changes();
    let keep_alive = service.config.keep_alive;
    let lifetime = service.config.max_stream_duration;
    let server = service.server.clone();
    tokio::spawn(async move {
        let deadline = lifetime.map(|d| tokio::time::Instant::now() + d);
        loop {
            let until_deadline = deadline.map_or(Duration::MAX, |d| {
                d.saturating_duration_since(tokio::time::Instant::now())
            });
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(until_deadline) => break,
                () = tokio::time::sleep(keep_alive) => {
                    if tx.send(sse::keep_alive()).is_err() { return; }
                }
                change = changes.recv() => match change {
                    Ok(change) => {
                        if let Some(note) = matching_notification(&change, &accepted, &id)
                            && tx.send(sse::anonymous_event(&note.to_string())).is_err() { return; }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => break,
                },
            }
        }
        let result = shape_result(
            Era::Modern,
            "subscriptions/listen",
            json!({ "_meta": { SUBSCRIPTION_ID: id } }),
            server.info(),
            server.cache_hints(),
        );
        let _ = tx.send(sse::anonymous_event(
            &message::response(&id, result).to_string(),
        ));
    });
    response::sse(ChannelBody::new(rx, Some(guard)).into_body())
}

/// The part of the client's filter this server honours: list changes it announces and
/// resource subscriptions if it has resources.
fn accepted_filter(service: &McpService, requested: &Map<String, Value>) -> Map<String, Value> {
    let caps = service.server.capabilities();
    let mut accepted = Map::new();
    for (flag, capability) in [
        ("toolsListChanged", "tools"),
        ("promptsListChanged", "prompts"),
        ("resourcesListChanged", "resources"),
    ] {
        let wanted = requested.get(flag).and_then(Value::as_bool) == Some(true);
        let offered = caps[capability]["listChanged"].as_bool() == Some(true);
        if wanted && offered {
            accepted.insert(flag.to_owned(), json!(true));
        }
    }
    if caps["resources"]["subscribe"].as_bool() == Some(true)
        && let Some(uris) = requested
            .get("resourceSubscriptions")
            .and_then(Value::as_array)
    {
        let uris: Vec<Value> = uris.iter().filter(|u| u.is_string()).cloned().collect();
        accepted.insert("resourceSubscriptions".to_owned(), Value::Array(uris));
    }
    accepted
}

fn matching_notification(
    change: &ChangeEvent,
    accepted: &Map<String, Value>,
    id: &Value,
) -> Option<Value> {
    let meta = json!({ SUBSCRIPTION_ID: id });
    let flag = |name: &str| accepted.get(name).and_then(Value::as_bool) == Some(true);
    match change {
        ChangeEvent::ToolsListChanged if flag("toolsListChanged") => Some(message::notification(
            "notifications/tools/list_changed",
            json!({ "_meta": meta }),
        )),
        ChangeEvent::PromptsListChanged if flag("promptsListChanged") => {
            Some(message::notification(
                "notifications/prompts/list_changed",
                json!({ "_meta": meta }),
            ))
        }
        ChangeEvent::ResourcesListChanged if flag("resourcesListChanged") => {
            Some(message::notification(
                "notifications/resources/list_changed",
                json!({ "_meta": meta }),
            ))
        }
        ChangeEvent::ResourceUpdated(uri) => {
            let subscribed = accepted
                .get("resourceSubscriptions")
                .and_then(Value::as_array)
                .is_some_and(|uris| {
                    uris.iter()
                        .any(|u| u.as_str().is_some_and(|s| uri.starts_with(s)))
                });
            subscribed.then(|| {
                message::notification(
                    "notifications/resources/updated",
                    json!({ "_meta": meta, "uri": uri }),
                )
            })
        }
        _ => None,
    }
}
