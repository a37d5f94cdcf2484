//! An incremental decoder of Server-Sent Events, fed bytes as they arrive.

/// One event: its id, `retry:` hint and data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    pub id: Option<String>,
    pub retry_ms: Option<u64>,
    pub data: String,
}

/// Accumulates bytes and yields complete events.
#[derive(Debug, Default)]
pub struct SseDecoder {
    buffer: Vec<u8>,
}

impl SseDecoder {
    /// Adds bytes; returns the events they completed.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        self.buffer.extend_from_slice(bytes);
        let mut events = Vec::new();
        while let Some(end) = find_blank_line(&self.buffer) {
            let block: Vec<u8> = self.buffer.drain(..end.1).collect();
            if let Some(event) = parse_block(&String::from_utf8_lossy(&block[..end.0])) {
                events.push(event);
            }
        }
        events
    }
}

/// Where the first blank line ends a block: (block length, length including the separator).
fn find_blank_line(buffer: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while i + 1 < buffer.len() {
        if buffer[i] == b'\n' && buffer[i + 1] == b'\n' {
            return Some((i, i + 2));
        }
        if buffer[i..].starts_with(b"\r\n\r\n") {
            return Some((i, i + 4));
        }
        i += 1;
    }
    None
}

fn parse_block(block: &str) -> Option<SseEvent> {
    let mut event = SseEvent::default();
    let mut has_field = false;
    let mut has_data = false;
    for line in block.lines() {
        if line.is_empty() || line.starts_with(':') {
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        has_field = true;
        match field {
            "id" => event.id = Some(value.to_owned()),
            "retry" => event.retry_ms = value.parse().ok(),
            "data" => {
                if has_data {
                    event.data.push('\n');
                }
                event.data.push_str(value);
                has_data = true;
            }
            _ => {}
        }
    }
    has_field.then_some(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_split_events() {
        let mut decoder = SseDecoder::default();
        assert!(decoder.push(b"id: a.0\nretry: 500\ndata: \n").is_empty());
        let events =
            decoder.push(b"\n: keep-alive\n\ndata: {\"x\":1}\r\n\r\nid: a.1\ndata: 1\ndata: 2\n\n");
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].retry_ms, Some(500));
        assert_eq!(events[1].data, "{\"x\":1}");
        assert_eq!(events[2].data, "1\n2");
        assert_eq!(events[2].id.as_deref(), Some("a.1"));
    }
}
