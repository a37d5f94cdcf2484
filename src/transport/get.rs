//! GET: open a legacy session's standalone SSE stream, or resume any of its streams with
//! `Last-Event-ID`.

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

pub async fn handle(service: &McpService, headers: &HeaderMap) -> Response {
    // Without a session this can only be a 2026-07-28 client, which has no GET stream.
    if !headers.contains_key(headers::SESSION_ID) {
        return http_error::method_not_allowed("POST");
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
            match service.store.has_event(&key, seq).await {
                Ok(true) => response::sse(Tail::resuming(service, key, seq).into_body()),
                Ok(false) => {
                    HttpError::bad_request("Bad Request: unknown Last-Event-ID").into_response()
                }
                Err(e) => HttpError::internal(e.to_string()).into_response(),
            }
        }
        None => {
            // A new standalone stream starts at a fresh priming event; an older standalone
            // stream sees that event and ends, so no message goes out on two streams.
            let key = StreamKey::new(record.id, StreamId::standalone());
            match service
                .store
                .append_event(&key, StoredEvent::priming())
                .await
            {
                Ok(seq) => response::sse(Tail::opening(service, key, seq).into_body()),
                Err(e) => HttpError::internal(e.to_string()).into_response(),
            }
        }
    }
}
