//! Server-Sent Events framing.

use bytes::Bytes;

/// One SSE event with an id and a data payload (a single-line JSON message, or empty for a
/// priming event). JSON from serde_json never contains a raw newline, but a payload that does
/// is split over several `data:` lines as the SSE format requires.
pub fn event(id: &str, data: &str) -> Bytes {
    let mut out = String::with_capacity(data.len() + id.len() + 24);
    out.push_str("id: ");
    out.push_str(id);
    out.push('\n');
    push_data(&mut out, data);
    out.push('\n');
    Bytes::from(out)
}

/// An event without an id (modern-era streams are not resumable).
pub(crate) fn anonymous_event(data: &str) -> Bytes {
    let mut out = String::with_capacity(data.len() + 24);
    push_data(&mut out, data);
    out.push('\n');
    Bytes::from(out)
}

/// The priming event: an id and empty data, so the client holds a `Last-Event-ID` before any
/// message arrives; with `retry` it also tells the client how long to wait before reconnecting.
pub fn priming(id: &str, retry_ms: Option<u64>) -> Bytes {
    let mut out = format!("id: {id}\n");
    if let Some(ms) = retry_ms {
        out.push_str(&format!("retry: {ms}\n"));
    }
    out.push_str("data: \n\n");
    Bytes::from(out)
}

/// A `retry:` field on its own, sent before the server closes a stream early (SSE polling).
pub fn retry(retry_ms: u64) -> Bytes {
    Bytes::from(format!("retry: {retry_ms}\n\n"))
}

/// A comment line that keeps idle proxies and gateways from closing the connection.
pub fn keep_alive() -> Bytes {
    Bytes::from_static(b": keep-alive\n\n")
}

fn push_data(out: &mut String, data: &str) {
    if data.is_empty() {
        out.push_str("data: \n");
        return;
    }
    for line in data.split('\n') {
        out.push_str("data: ");
        out.push_str(line.strip_suffix('\r').unwrap_or(line));
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_events() {
        assert_eq!(&event("s.1", "{}")[..], b"id: s.1\ndata: {}\n\n");
        assert_eq!(&event("s.1", "a\nb")[..], b"id: s.1\ndata: a\ndata: b\n\n");
        assert_eq!(
            &priming("s.0", Some(500))[..],
            b"id: s.0\nretry: 500\ndata: \n\n"
        );
        assert_eq!(&anonymous_event("{}")[..], b"data: {}\n\n");
    }
}
