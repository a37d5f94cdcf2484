//! An incremental Server-Sent Events parser, fed bytes as they arrive, following the WHATWG
//! "event stream interpretation" rules: lines end in CRLF, LF or a lone CR (mixed freely, and a
//! CRLF may be split across chunks); a UTF-8 BOM at the very start is skipped; `:` starts a
//! comment; `data` lines are joined with LF; `event`, `id` (ignored when it contains NUL) and
//! `retry` (ASCII digits only) are read; a blank line ends the event; a partial event at the
//! end of the stream is never yielded.
//!
//! Each byte is looked at once: bytes accumulate in the current line only, and a finished line
//! is folded into the event being built, so the work is linear in the stream's length however
//! the chunks fall.
//!
//! Unlike a browser's `EventSource`, which dispatches only events with data, [`SseDecoder`]
//! yields every block that set a field, because an MCP client needs the bare `retry:` frame a
//! server sends before closing a stream; [`SseEvent::is_message`] says whether a browser would
//! have dispatched it.

/// One block of fields ended by a blank line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event` field (a browser's event type; `None` means `message`).
    pub event: Option<String>,
    /// The `id` field of this block, if it had one (see [`SseDecoder::last_event_id`] for the
    /// id a reconnection sends, which persists across blocks).
    pub id: Option<String>,
    /// The `retry` field of this block, in milliseconds.
    pub retry_ms: Option<u64>,
    /// The `data` lines joined with LF; empty when there were none (or one empty line).
    pub data: String,
    has_data: bool,
}

impl SseEvent {
    /// Whether the block had a `data` field, i.e. whether `EventSource` would dispatch it.
    pub fn is_message(&self) -> bool {
        self.has_data
    }
}

/// Accumulates bytes and yields complete events.
#[derive(Debug, Default)]
pub struct SseDecoder {
    /// The current, unfinished line (raw bytes: decoded once the line is complete, so a
    /// character split across chunks decodes whole).
    line: Vec<u8>,
    /// The block being built, and whether any field of it was seen.
    event: SseEvent,
    has_field: bool,
    /// The previous chunk ended in CR: an LF starting this one completes that CRLF.
    after_cr: bool,
    /// Bytes of the stream seen so far, up to 3 (to skip a BOM split across chunks).
    started: usize,
    last_event_id: String,
    retry_ms: Option<u64>,
    /// Bytes looked at by the line scan (to pin linear work in the tests).
    #[cfg(test)]
    scanned: usize,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

impl SseDecoder {
    /// Adds bytes; returns the events they completed.
    pub fn push(&mut self, mut bytes: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        bytes = self.skip_bom(bytes);
        if self.after_cr && !bytes.is_empty() {
            self.after_cr = false;
            if bytes[0] == b'\n' {
                bytes = &bytes[1..];
            }
        }
        while let Some(end) = bytes.iter().position(|&b| b == b'\n' || b == b'\r') {
            #[cfg(test)]
            {
                self.scanned += end + 1;
            }
            self.line.extend_from_slice(&bytes[..end]);
            let skip = if bytes[end] == b'\r' {
                match bytes.get(end + 1) {
                    Some(b'\n') => 2,
                    Some(_) => 1,
                    None => {
                        self.after_cr = true;
                        1
                    }
                }
            } else {
                1
            };
            bytes = &bytes[end + skip..];
            if let Some(event) = self.end_line() {
                events.push(event);
            }
        }
        #[cfg(test)]
        {
            self.scanned += bytes.len();
        }
        self.line.extend_from_slice(bytes);
        events
    }

    /// The id a reconnection sends as `Last-Event-ID`: the last `id` field seen in any block
    /// (an empty `id` clears it), `None` while there is none.
    pub fn last_event_id(&self) -> Option<&str> {
        (!self.last_event_id.is_empty()).then_some(self.last_event_id.as_str())
    }

    /// The reconnection time the stream asked for with its last valid `retry` field.
    pub fn retry_ms(&self) -> Option<u64> {
        self.retry_ms
    }

    /// Drops the leading bytes of `bytes` that belong to a BOM at the start of the stream.
    fn skip_bom<'a>(&mut self, mut bytes: &'a [u8]) -> &'a [u8] {
        while self.started < BOM.len() && !bytes.is_empty() {
            if self.started == self.line.len() && bytes[0] == BOM[self.started] {
                // Held back until the whole BOM is seen; a mismatch puts it back in the line.
                self.line.push(bytes[0]);
                bytes = &bytes[1..];
                self.started += 1;
                if self.started == BOM.len() {
                    self.line.clear();
                }
            } else {
                self.started = BOM.len();
            }
        }
        bytes
    }

    /// Folds the finished line into the block; a blank line ends the block.
    fn end_line(&mut self) -> Option<SseEvent> {
        self.started = BOM.len();
        if self.line.is_empty() {
            let event = std::mem::take(&mut self.event);
            return std::mem::take(&mut self.has_field).then_some(event);
        }
        let line = std::mem::take(&mut self.line);
        let line = String::from_utf8_lossy(&line);
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = line.split_once(':').unwrap_or((&line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "data" => {
                if self.event.has_data {
                    self.event.data.push('\n');
                }
                self.event.data.push_str(value);
                self.event.has_data = true;
            }
            "event" => self.event.event = Some(value.to_owned()),
            "id" if !value.contains('\0') => {
                self.event.id = Some(value.to_owned());
                self.last_event_id = value.to_owned();
            }
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                // Digits beyond u64 are still a valid field: saturate rather than ignore.
                let ms = value.parse().unwrap_or(u64::MAX);
                self.event.retry_ms = Some(ms);
                self.retry_ms = Some(ms);
            }
            _ => return None,
        }
        self.has_field = true;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(chunks: &[&[u8]]) -> (Vec<SseEvent>, SseDecoder) {
        let mut decoder = SseDecoder::default();
        let events = chunks.iter().flat_map(|c| decoder.push(c)).collect();
        (events, decoder)
    }

    fn message(data: &str) -> SseEvent {
        SseEvent {
            data: data.to_owned(),
            has_data: true,
            ..Default::default()
        }
    }

    #[test]
    fn every_line_ending_ends_a_line() {
        for stream in [
            &b"data: a\n\ndata: b\n\n"[..],
            b"data: a\r\n\r\ndata: b\r\n\r\n",
            b"data: a\r\rdata: b\r\r",
            b"data: a\r\n\ndata: b\n\r\n",
            b"data: a\n\rdata: b\r\r\n",
        ] {
            let (events, _) = decode(&[stream]);
            assert_eq!(events, [message("a"), message("b")], "{stream:?}");
        }
    }

    #[test]
    fn a_lone_cr_is_a_line_end_not_part_of_a_crlf() {
        // CR then a non-LF byte ends the line; CR LF is one line end, CR CR LF two.
        let (events, _) = decode(&[b"data: a\rdata: b\r\n\r\n"]);
        assert_eq!(events, [message("a\nb")]);
        let (events, _) = decode(&[b"data: a\r\r\ndata: b\n\n"]);
        assert_eq!(events, [message("a"), message("b")]);
    }

    #[test]
    fn a_crlf_split_across_chunks_is_one_line_end() {
        let (events, _) = decode(&[b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]);
        assert_eq!(events, [message("a\nb")]);
        // A CR at a chunk's end followed by a chunk not starting with LF: a lone CR.
        let (events, _) = decode(&[b"data: a\r", b"\r"]);
        assert_eq!(events, [message("a")]);
    }

    #[test]
    fn data_lines_join_with_lf() {
        let (events, _) = decode(&[b"data: 1\ndata:2\ndata\ndata:  3\n\n"]);
        // No space after the colon keeps the value whole; only one leading space is removed;
        // a field name alone is an empty value.
        assert_eq!(events, [message("1\n2\n\n 3")]);
    }

    #[test]
    fn a_single_empty_data_line_is_a_message_with_empty_data() {
        let (events, _) = decode(&[b"id: s.0\nretry: 500\ndata: \n\n"]);
        assert_eq!(events.len(), 1);
        assert!(events[0].is_message() && events[0].data.is_empty());
        assert_eq!(events[0].id.as_deref(), Some("s.0"));
        assert_eq!(events[0].retry_ms, Some(500));
    }

    #[test]
    fn event_id_and_retry_fields() {
        let (events, decoder) = decode(&[b"event: progress\nid: 7\nretry: 250\ndata: x\n\n"]);
        assert_eq!(events[0].event.as_deref(), Some("progress"));
        assert_eq!(events[0].id.as_deref(), Some("7"));
        assert_eq!(events[0].retry_ms, Some(250));
        assert_eq!(decoder.last_event_id(), Some("7"));
        assert_eq!(decoder.retry_ms(), Some(250));
    }

    #[test]
    fn the_last_event_id_persists_until_an_empty_id_clears_it() {
        let (events, decoder) = decode(&[b"id: 1\ndata: a\n\ndata: b\n\n"]);
        assert_eq!(events[1].id, None, "the block itself had no id");
        assert_eq!(decoder.last_event_id(), Some("1"));
        let (events, decoder) = decode(&[b"id: 1\ndata: a\n\nid\ndata: b\n\n"]);
        assert_eq!(events[1].id.as_deref(), Some(""));
        assert_eq!(decoder.last_event_id(), None);
    }

    #[test]
    fn an_id_with_nul_is_ignored() {
        let (events, decoder) = decode(&[b"id: 1\n\nid: a\0b\ndata: x\n\n"]);
        assert_eq!(events[1].id, None);
        assert_eq!(decoder.last_event_id(), Some("1"));
    }

    #[test]
    fn retry_takes_ascii_digits_only() {
        for bad in [
            "retry: 5s",
            "retry: -1",
            "retry: 1 ",
            "retry:",
            "retry: 1.5",
        ] {
            let (events, decoder) = decode(&[format!("{bad}\n\n").as_bytes()]);
            assert!(events.is_empty(), "{bad:?} set nothing: {events:?}");
            assert_eq!(decoder.retry_ms(), None, "{bad:?}");
        }
        let (events, _) = decode(&[b"retry: 99999999999999999999999\n\n"]);
        assert_eq!(events[0].retry_ms, Some(u64::MAX));
    }

    #[test]
    fn a_bare_retry_frame_is_yielded_but_is_no_message() {
        let (events, _) = decode(&[b"retry: 1000\n\n"]);
        assert_eq!(events.len(), 1);
        assert!(!events[0].is_message());
        assert_eq!(events[0].retry_ms, Some(1000));
    }

    #[test]
    fn comments_unknown_fields_and_empty_blocks_yield_nothing() {
        let (events, _) = decode(&[b": keep-alive\n\n\n\nfoo: bar\n\n:data: x\n\n"]);
        assert!(events.is_empty(), "{events:?}");
        let (events, _) = decode(&[b": note\ndata: x\n: more\n\n"]);
        assert_eq!(events, [message("x")]);
    }

    #[test]
    fn a_bom_at_the_start_is_skipped_even_when_split() {
        let (events, _) = decode(&[b"\xEF\xBB\xBFdata: a\n\n"]);
        assert_eq!(events, [message("a")]);
        let (events, _) = decode(&[b"\xEF", b"\xBB", b"\xBFdata: a\n\n"]);
        assert_eq!(events, [message("a")]);
        // Only at the start: later it is part of the line (here, of a field name).
        let (events, _) = decode(&[b"data: a\n\n\xEF\xBB\xBFdata: b\n\n"]);
        assert_eq!(events, [message("a")]);
        // A partial BOM is no BOM: its bytes stay in the line.
        let (events, _) = decode(&[b"\xEF", b"data: a\n\n"]);
        assert!(events.is_empty(), "{events:?}");
    }

    #[test]
    fn a_multibyte_character_split_across_chunks_decodes_whole() {
        let (events, _) = decode(&[b"data: \xC3", b"\xA9\n\n"]);
        assert_eq!(events, [message("é")]);
    }

    #[test]
    fn an_unfinished_event_at_the_end_is_not_yielded() {
        let (events, _) = decode(&[b"data: a\n\ndata: b\n"]);
        assert_eq!(events, [message("a")]);
    }

    /// Every way of cutting a stream of several events (mixed line endings, a comment, a BOM)
    /// into two and into three chunks gives the same events as the whole stream.
    #[test]
    fn every_split_point_gives_the_same_events() {
        let stream: &[u8] = b"\xEF\xBB\xBF: hi\r\nid: a.0\r\nretry: 500\r\ndata: \r\n\r\n\
            event: note\ndata: {\"x\":\"\xC3\xA9\"}\n\n\
            id: a.1\rdata: 1\rdata: 2\r\r\
            retry: 10\r\n\n";
        let (whole, decoder) = decode(&[stream]);
        assert_eq!(whole.len(), 4, "{whole:?}");
        assert_eq!(whole[0].id.as_deref(), Some("a.0"));
        assert_eq!(whole[1].event.as_deref(), Some("note"));
        assert_eq!(whole[1].data, "{\"x\":\"é\"}");
        assert_eq!(whole[2].data, "1\n2");
        assert_eq!(whole[3].retry_ms, Some(10));
        assert_eq!(decoder.last_event_id(), Some("a.1"));
        for i in 0..=stream.len() {
            let (events, _) = decode(&[&stream[..i], &stream[i..]]);
            assert_eq!(events, whole, "split at {i}");
            for j in i..=stream.len() {
                let (events, _) = decode(&[&stream[..i], &stream[i..j], &stream[j..]]);
                assert_eq!(events, whole, "split at {i} and {j}");
            }
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(decode(&bytes).0, whole, "one byte at a time");
    }

    /// Work is linear: every byte is scanned once however the chunks fall (the old decoder
    /// rescanned its whole buffer on every chunk: n²/2 for an event arriving a byte at a time).
    #[test]
    fn each_byte_is_scanned_once() {
        let stream = "data: x\r\n".repeat(2_000) + "\r\n";
        let mut decoder = SseDecoder::default();
        let mut events = Vec::new();
        for byte in stream.as_bytes().chunks(1) {
            events.extend(decoder.push(byte));
        }
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].data.len(), 2 * 2_000 - 1);
        assert!(
            decoder.scanned <= stream.len(),
            "{} > {}",
            decoder.scanned,
            stream.len()
        );
        let mut whole = SseDecoder::default();
        whole.push(stream.as_bytes());
        assert!(whole.scanned <= stream.len());
    }
}
