//! What every answer of the request path must be, whatever was sent.

use bedrock_usage_mcp::client::SseDecoder;
use http::{HeaderMap, StatusCode};
use serde_json::Value;

/// A whole answer, or as much of an open stream as arrived in its window.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// The statuses each HTTP method may get from the endpoint on a store that cannot fail
/// (the transport's table in the README; 5xx never: a 503 needs a failing store).
fn allowed_statuses(method: &str) -> &'static [u16] {
    match method {
        "POST" => &[200, 202, 400, 403, 404, 406, 413, 415],
        "GET" => &[200, 400, 403, 404, 405, 406],
        "DELETE" => &[200, 202, 204, 400, 403, 404, 405],
        "OPTIONS" => &[200, 204, 400, 403],
        _ => &[400, 403, 405],
    }
}

/// Every way `reply` breaks the rules, for `method` with body `sent`. `cancelled`: the ids
/// the client has cancelled so far (a request reusing one may go unanswered: ids must not be
/// reused in a session, and a cancellation counts for a request that began up to 1 s after
/// it, for clock skew between instances).
pub fn judge(method: &str, sent: &[u8], reply: &Reply, cancelled: &[Value]) -> Vec<String> {
    let mut problems = Vec::new();
    let status = reply.status.as_u16();
    if !allowed_statuses(method).contains(&status) {
        problems.push(format!(
            "{method} got HTTP {status}: {}",
            excerpt(&reply.body)
        ));
    }
    let sent = if method == "POST" {
        serde_json::from_slice::<Value>(sent).ok()
    } else {
        None
    };
    let messages = match messages(reply, sent.as_ref().is_some_and(Value::is_array)) {
        Ok(messages) => messages,
        Err(e) => {
            problems.push(e);
            return problems;
        }
    };
    for message in &messages {
        if let Err(e) = shape(message) {
            problems.push(format!("{e}: {message:.300}"));
        }
    }
    let mut requests = well_formed_requests(sent.as_ref());
    requests.retain(|id| !cancelled.contains(id));
    if status == 202 && !requests.is_empty() {
        problems.push(format!("202 for a body with requests {requests:?}"));
    }
    if status == 404
        && let Some(code) = messages.first().and_then(|m| m["error"]["code"].as_i64())
        && code != -32001
        && code != -32601
    {
        problems.push(format!(
            "404 with code {code} (only a gone session or method)"
        ));
    }
    problems.extend(ids_echoed(sent.as_ref(), &messages, reply));
    problems
}

/// The JSON-RPC messages of the body: one JSON value (an array only for a batch), or SSE
/// events whose data is JSON. An empty body is none.
fn messages(reply: &Reply, batch: bool) -> Result<Vec<Value>, String> {
    let content_type = reply
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let status = reply.status.as_u16();
    if matches!(status, 202 | 204) && !reply.body.is_empty() {
        return Err(format!(
            "HTTP {status} with a body: {}",
            excerpt(&reply.body)
        ));
    }
    if reply.body.is_empty() {
        return Ok(Vec::new());
    }
    if content_type.starts_with("application/json") {
        return match serde_json::from_slice::<Value>(&reply.body) {
            Ok(Value::Array(items)) if batch && !items.is_empty() => Ok(items),
            Ok(value @ Value::Object(_)) => Ok(vec![value]),
            Ok(other) => Err(format!("a JSON body that is no message: {other:.300}")),
            Err(e) => Err(format!(
                "a JSON body that is not JSON ({e}): {}",
                excerpt(&reply.body)
            )),
        };
    }
    if content_type.starts_with("text/event-stream") {
        return sse_messages(&reply.body);
    }
    Err(format!(
        "HTTP {status}, Content-Type {content_type:?}: {}",
        excerpt(&reply.body)
    ))
}

/// The data of each SSE event, as JSON, read with the client's parser (events without data,
/// such as priming events and comments, carry none). A cut last event is ignored.
fn sse_messages(body: &[u8]) -> Result<Vec<Value>, String> {
    std::str::from_utf8(body).map_err(|e| format!("SSE that is not UTF-8: {e}"))?;
    let mut out = Vec::new();
    for event in SseDecoder::default().push(body) {
        if event.data.is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(&event.data) {
            Ok(value) => out.push(value),
            Err(e) => {
                return Err(format!(
                    "SSE data that is not JSON ({e}): {:.300}",
                    event.data
                ));
            }
        }
    }
    Ok(out)
}

/// A JSON-RPC 2.0 message: a request or notification (`method`), or a response with an id
/// and exactly one of `result` (an object: every MCP result is) and `error`.
fn shape(message: &Value) -> Result<(), String> {
    if message["jsonrpc"] != "2.0" {
        return Err("jsonrpc is not \"2.0\"".into());
    }
    if message.get("method").is_some() {
        return match message["method"] {
            Value::String(_) => Ok(()),
            _ => Err("method is not a string".into()),
        };
    }
    if message.get("id").is_none() {
        return Err("a response without id".into());
    }
    match (message.get("result"), message.get("error")) {
        (Some(Value::Object(_)), None) => Ok(()),
        (None, Some(error)) if error["code"].is_i64() && error["message"].is_string() => Ok(()),
        _ => Err("neither a result object nor an error with code and message".into()),
    }
}

/// Whether `id` is a JSON-RPC id this server accepts: a string or an integer.
fn valid_id(id: &Value) -> bool {
    id.is_string() || id.is_i64() || id.is_u64()
}

/// The ids of the messages in `sent` that are requests by the rules of JSON-RPC (as the
/// server classifies them).
fn well_formed_requests(sent: Option<&Value>) -> Vec<Value> {
    let items = match sent {
        Some(Value::Array(items)) => items.as_slice(),
        Some(value) => std::slice::from_ref(value),
        None => &[],
    };
    items
        .iter()
        .filter(|m| {
            m["jsonrpc"] == "2.0"
                && m["method"].is_string()
                && m.get("params")
                    .is_none_or(|p| p.is_object() || p.is_array())
        })
        .filter_map(|m| m.get("id").filter(|id| valid_id(id)).cloned())
        .collect()
}

/// Responses carry the id of what they answer: one the client sent, or null when it could
/// not be read; a 200 JSON answer to one request is that request's response.
fn ids_echoed(sent: Option<&Value>, messages: &[Value], reply: &Reply) -> Vec<String> {
    let mut problems = Vec::new();
    let items = match sent {
        Some(Value::Array(items)) => items.as_slice(),
        Some(value) => std::slice::from_ref(value),
        None => &[],
    };
    let sent_ids: Vec<&Value> = items.iter().filter_map(|m| m.get("id")).collect();
    for response in messages.iter().filter(|m| m.get("method").is_none()) {
        let id = response.get("id").unwrap_or(&Value::Null);
        if !id.is_null() && !sent_ids.contains(&id) {
            problems.push(format!("a response for id {id:.100}, which was not sent"));
        }
    }
    // Errors only a read message can have (its params, its version, its method): the id was
    // read, so it is echoed, whatever the status.
    if let (Some(Value::Object(_)), [id]) = (sent, well_formed_requests(sent).as_slice()) {
        for response in messages.iter().filter(|m| m.get("method").is_none()) {
            let code = response["error"]["code"].as_i64();
            let read = matches!(code, Some(-32602 | -32601 | -32022..=-32020));
            if read && response.get("id") != Some(id) {
                problems.push(format!(
                    "error {code:?} for request {id:.100} carries id {:.100}",
                    response.get("id").unwrap_or(&Value::Null)
                ));
            }
        }
    }
    let json = reply
        .headers
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if let (Some(Value::Object(_)), [id], true, 200) = (
        sent,
        well_formed_requests(sent).as_slice(),
        json,
        reply.status.as_u16(),
    ) && messages.first().and_then(|m| m.get("id")) != Some(id)
    {
        problems.push(format!(
            "200 to request {id:.100}, answered for {:.100}",
            messages
                .first()
                .and_then(|m| m.get("id"))
                .unwrap_or(&Value::Null)
        ));
    }
    problems
}

pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(300)]);
    format!("{text:?} ({} bytes)", body.len())
}

/// The `requestId`s of the cancellations in `sent` (one message or a batch).
pub fn cancellations(sent: &[u8]) -> Vec<Value> {
    let items = match serde_json::from_slice::<Value>(sent) {
        Ok(Value::Array(items)) => items,
        Ok(value) => vec![value],
        Err(_) => Vec::new(),
    };
    items
        .iter()
        .filter(|m| m["method"] == "notifications/cancelled")
        .filter_map(|m| m["params"].get("requestId").cloned())
        .collect()
}

/// The checks catch the answers they exist for (a check that passes everything proves
/// nothing).
#[test]
fn the_oracle_catches_wrong_answers() {
    let reply = |status: u16, content_type: &str, body: &str| {
        let mut headers = HeaderMap::new();
        if !content_type.is_empty() {
            headers.insert("content-type", content_type.parse().expect("a value"));
        }
        Reply {
            status: StatusCode::from_u16(status).expect("a status"),
            headers,
            body: body.as_bytes().to_vec(),
        }
    };
    let request = br#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#;
    let json = "application/json";
    let good = reply(200, json, r#"{"jsonrpc":"2.0","id":7,"result":{}}"#);
    assert_eq!(judge("POST", request, &good, &[]), Vec::<String>::new());
    let wrong = [
        reply(
            500,
            json,
            r#"{"jsonrpc":"2.0","id":7,"error":{"code":-32603,"message":"x"}}"#,
        ),
        reply(200, json, r#"{"jsonrpc":"2.0","id":8,"result":{}}"#),
        reply(200, json, r#"{"jsonrpc":"2.0","id":null,"result":{}}"#),
        reply(
            400,
            json,
            r#"{"jsonrpc":"2.0","id":"7","error":{"code":-32600,"message":"x"}}"#,
        ),
        reply(
            200,
            json,
            r#"{"jsonrpc":"2.0","id":7,"result":{},"error":{}}"#,
        ),
        reply(200, json, r#"{"id":7,"result":{}}"#),
        reply(200, json, r#"[{"jsonrpc":"2.0","id":7,"result":{}}]"#),
        reply(202, "", ""),
        reply(
            404,
            json,
            r#"{"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"x"}}"#,
        ),
        reply(
            200,
            "text/event-stream",
            "id: 1\ndata: {\"jsonrpc\":\"2.0\",\"id\":7\n\n",
        ),
        reply(200, "text/plain", "ok"),
        reply(
            400,
            json,
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32602,"message":"x"}}"#,
        ),
    ];
    for reply in wrong {
        assert!(
            !judge("POST", request, &reply, &[]).is_empty(),
            "HTTP {} {:?} passed",
            reply.status,
            excerpt(&reply.body)
        );
    }
    // A request reusing a cancelled id may go unanswered.
    assert!(
        judge(
            "POST",
            request,
            &reply(202, "", ""),
            &[serde_json::json!(7)]
        )
        .is_empty()
    );
}
