//! GET: open a legacy session's standalone SSE stream, or resume any of its streams with
//! `Last-Event-ID`. With the standalone stream off (`--standalone-stream off`), a GET that
//! would open it gets 405 before anything is read, as the specification allows: clients then
//! listen on their POSTs' streams only, which carry everything this server sends.

use axum::response::{IntoResponse, Response};
use http::HeaderMap;

use super::McpService;
use super::guard;
use super::http_error::{self, HttpError};
use super::legacy;
use super::response;
use super::tail::Tail;
use crate::protocol::headers;
use crate::store::{StoredEvent, StreamId, StreamKey};

/// Replays a stream after event `seq` and follows it. A stream whose last event the client
/// already has is over: the answer is an empty stream that ends at once.
async fn resume(service: &McpService, key: StreamKey, seq: u64) -> Response {
    let seen = match service.store.read_events(&key, seq.checked_sub(1), 1).await {
        Ok(events) => events.into_iter().next().filter(|(s, _)| *s == seq),
        Err(e) => return HttpError::store(e).into_response(),
    };
    let Some((_, event)) = seen else {
        return HttpError::bad_request("Bad Request: unknown Last-Event-ID").into_response();
    };
    if event.last {
        return response::sse(axum::body::Body::empty());
    }
    match service
        .store
        .append_event(&key, StoredEvent::priming())
        .await
    {
        Ok(marker) => response::sse(Tail::resuming(service, key, seq, marker).into_body()),
        Err(e) => HttpError::store(e).into_response(),
    }
}

pub async fn handle(service: &McpService, headers: &HeaderMap) -> Response {
    // Without a session this can only be a 2026-07-28 client, which has no GET stream.
    if !headers.contains_key(headers::SESSION_ID) {
        return http_error::method_not_allowed("POST");
    }
    if !service.config.standalone_stream && !headers.contains_key(headers::LAST_EVENT_ID) {
        return http_error::method_not_allowed("POST, DELETE");
    }
    if let Err(e) = guard::check_get_accept(headers) {
        return e.into_response();
    }
    let record = match legacy::load_session(service, headers).await {
        Ok(record) => record,
        Err(e) => return e.into_response(),
    };
    let last_event_id = match headers::single(headers, headers::LAST_EVENT_ID) {
        Ok(value) => value,
        Err(e) => return HttpError::bad_request(format!("Bad Request: {e}")).into_response(),
    };
    match last_event_id {
        Some(raw) => {
            let Some((stream, seq)) = StreamKey::parse_event_id(raw) else {
                return HttpError::bad_request("Bad Request: unknown Last-Event-ID")
                    .into_response();
            };
            let key = StreamKey::new(record.id, stream);
            resume(service, key, seq).await
        }
        None => {
            // A new standalone stream starts at a fresh priming event, which an older
            // connection to it sees as a takeover.
            let key = StreamKey::new(record.id, StreamId::standalone());
            match service
                .store
                .append_event(&key, StoredEvent::priming())
                .await
            {
                Ok(seq) => response::sse(Tail::opening(service, key, seq).into_body()),
                Err(e) => HttpError::store(e).into_response(),
            }
        }
    }
}
