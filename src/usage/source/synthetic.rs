//! The synthetic dataset: seeded invocation-log records, the material of the bundled sample
//! ([`SampleSource`](super::SampleSource) lays out its personas with `SyntheticRecord` and
//! [`Rng`]) and of the files tests and the file-source benchmark read ([`RecordGenerator`],
//! [`write_records`]).
//!
//! Deterministic for a seed and free of external data, so that a test can write a dataset,
//! compute its expected numbers independently, and push the very same records through any
//! source (a file; CloudWatch in other tests). Records look like Bedrock's: realistic
//! `inputBodyJson` / `outputBodyJson` shapes per operation, strings with escapes and non-ASCII
//! text, errors without output, older records without cache counts.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::ops::RangeInclusive;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::usage::time::Timestamp;

/// First instant of the window [`RecordGenerator::new`] spreads records over.
pub const WINDOW_START: &str = "2026-10-01T00:00:00Z";
/// End (excluded) of the default window: 31 days after [`WINDOW_START`].
pub const WINDOW_END: &str = "2026-11-01T00:00:00Z";

/// Accounts the generated callers belong to.
pub(crate) const ACCOUNTS: [&str; 2] = ["111122223333", "444455556666"];

/// Regions records are logged in.
pub(crate) const REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];

/// Model ids as logged: plain ids, a cross-region inference profile and an ARN.
pub const MODELS: [&str; 6] = [
    "us.anthropic.claude-sonnet-4-20250514-v1:0",
    "anthropic.claude-3-5-haiku-20241022-v1:0",
    "amazon.nova-pro-v1:0",
    "meta.llama3-3-70b-instruct-v1:0",
    "cohere.command-r-plus-v1:0",
    "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/a1b2c3d4e5f6",
];

/// Callers (`identity.arn`): IAM roles and users of two accounts.
pub const USERS: [&str; 8] = [
    "arn:aws:sts::111122223333:assumed-role/ChatbotLambdaRole/chatbot-prod",
    "arn:aws:sts::111122223333:assumed-role/DataScienceRole/alice@example.com",
    "arn:aws:sts::111122223333:assumed-role/DataScienceRole/bob@example.com",
    "arn:aws:iam::111122223333:user/ci-eval-runner",
    "arn:aws:sts::111122223333:assumed-role/SupportAgentRole/support-agent",
    "arn:aws:iam::111122223333:user/carol",
    "arn:aws:sts::444455556666:assumed-role/AnalyticsBatchRole/nightly-batch",
    "arn:aws:iam::444455556666:user/dave",
];

/// The `requestMetadata` a caller of [`USERS`] (or of the bundled sample's personas) attaches:
/// a team, and for some a project, per role; the IAM users `carol` and `dave` tag nothing, so a
/// report grouped by `team` shows a `(none)` entry.
pub(crate) fn request_metadata(identity_arn: &str) -> &'static [(&'static str, &'static str)] {
    const TAGS: [(&str, &[(&str, &str)]); 5] = [
        (
            "ChatbotLambdaRole",
            &[("team", "assistant"), ("project", "chatbot")],
        ),
        ("DataScienceRole", &[("team", "research")]),
        (
            "SupportAgentRole",
            &[("team", "support"), ("project", "helpdesk")],
        ),
        (
            "ci-eval-runner",
            &[("team", "platform"), ("project", "evals")],
        ),
        ("AnalyticsBatchRole", &[("team", "analytics")]),
    ];
    TAGS.iter()
        .find(|(role, _)| identity_arn.contains(role))
        .map_or(&[], |(_, tags)| tags)
}

/// The four operations that invocation logging covers.
pub(crate) const OPERATIONS: [&str; 4] = [
    "Converse",
    "ConverseStream",
    "InvokeModel",
    "InvokeModelWithResponseStream",
];

/// Error codes Bedrock logs for failed invocations.
pub(crate) const ERROR_CODES: [&str; 4] = [
    "ThrottlingException",
    "ValidationException",
    "ModelTimeoutException",
    "AccessDeniedException",
];

/// A small, fast, seedable generator (SplitMix64) whose output never changes between
/// versions, unlike `rand`'s `StdRng`.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Multiply-shift: unbiased enough for test data, and never divides by zero.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A number in `range` (its start when empty).
    pub fn in_range(&mut self, range: RangeInclusive<u64>) -> u64 {
        let (lo, hi) = (*range.start(), *range.end());
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo).saturating_add(1))
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// A random element of `items` (`items` must not be empty for a meaningful pick).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(usize::try_from(self.below(items.len() as u64)).unwrap_or(0))
    }

    /// An index drawn with the given weights.
    pub fn weighted(&mut self, weights: &[u64]) -> usize {
        let total: u64 = weights.iter().sum();
        let mut roll = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            if roll < *w {
                return i;
            }
            roll -= w;
        }
        0
    }
}

/// Everything that goes into one synthetic record.
#[derive(Debug, Clone)]
pub(crate) struct SyntheticRecord<'a> {
    /// `timestamp`.
    pub timestamp: Timestamp,
    /// `accountId`.
    pub account_id: &'a str,
    /// `identity.arn`.
    pub identity_arn: &'a str,
    /// `region`.
    pub region: &'a str,
    /// `inferenceRegion`, for cross-region inference.
    pub inference_region: Option<&'a str>,
    /// `requestMetadata` (plain ASCII, written unescaped); empty omits the field.
    pub request_metadata: &'a [(&'a str, &'a str)],
    /// `requestId`.
    pub request_id: String,
    /// `operation`.
    pub operation: &'a str,
    /// `modelId`.
    pub model_id: &'a str,
    /// `errorCode`; failed records carry no output.
    pub error_code: Option<&'a str>,
    /// `input.inputTokenCount`; `None` omits the field.
    pub input_tokens: Option<u64>,
    /// `input.cacheReadInputTokenCount`; `None` omits the field.
    pub cache_read_input_tokens: Option<u64>,
    /// `input.cacheWriteInputTokenCount`; `None` omits the field.
    pub cache_write_input_tokens: Option<u64>,
    /// `output.outputTokenCount`.
    pub output_tokens: u64,
    /// The prompt embedded in `inputBodyJson`.
    pub prompt: String,
    /// The answer embedded in `outputBodyJson`.
    pub answer: String,
}

impl SyntheticRecord<'_> {
    /// Appends the record as one line of JSON (without the newline).
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
        // Writing to a Vec cannot fail; the results are ignored for that reason.
        let _ = self.write_json_inner(out);
    }

    fn write_json_inner(&self, out: &mut Vec<u8>) -> io::Result<()> {
        let ts = if self.timestamp.subsec_nanos() == 0 {
            self.timestamp.to_string()
        } else {
            // Millisecond precision, as some exporters write it.
            let t = self.timestamp.to_string();
            let (head, _) = t.split_once('.').unwrap_or((&t, ""));
            format!("{head}.{:03}Z", self.timestamp.subsec_nanos() / 1_000_000)
        };
        write!(
            out,
            r#"{{"schemaType":"ModelInvocationLog","schemaVersion":"1.0","timestamp":"{ts}","accountId":"{}","identity":{{"arn":"{}"}},"region":"{}","requestId":"{}","operation":"{}","modelId":"{}""#,
            self.account_id,
            self.identity_arn,
            self.region,
            self.request_id,
            self.operation,
            self.model_id
        )?;
        if let Some(r) = self.inference_region {
            write!(out, r#","inferenceRegion":"{r}""#)?;
        }
        for (i, (key, value)) in self.request_metadata.iter().enumerate() {
            let open = if i == 0 {
                r#","requestMetadata":{"#
            } else {
                ","
            };
            write!(out, r#"{open}"{key}":"{value}""#)?;
        }
        if !self.request_metadata.is_empty() {
            out.push(b'}');
        }
        if let Some(code) = self.error_code {
            write!(out, r#","errorCode":"{code}""#)?;
        }
        out.extend_from_slice(
            br#","input":{"inputContentType":"application/json","inputBodyJson":"#,
        );
        self.write_input_body(out)?;
        if let Some(n) = self.input_tokens {
            write!(out, r#","inputTokenCount":{n}"#)?;
        }
        if let Some(n) = self.cache_read_input_tokens {
            write!(out, r#","cacheReadInputTokenCount":{n}"#)?;
        }
        if let Some(n) = self.cache_write_input_tokens {
            write!(out, r#","cacheWriteInputTokenCount":{n}"#)?;
        }
        out.push(b'}');
        if self.error_code.is_none() {
            out.extend_from_slice(
                br#","output":{"outputContentType":"application/json","outputBodyJson":"#,
            );
            self.write_output_body(out)?;
            write!(out, r#","outputTokenCount":{}}}"#, self.output_tokens)?;
        }
        out.push(b'}');
        Ok(())
    }

    fn is_converse(&self) -> bool {
        self.operation.starts_with("Converse")
    }

    fn write_input_body(&self, out: &mut Vec<u8>) -> io::Result<()> {
        if self.is_converse() {
            out.extend_from_slice(br#"{"messages":[{"role":"user","content":[{"text":"#);
            serde_json::to_writer(&mut *out, &self.prompt)?;
            out.extend_from_slice(
                br#"}]}],"system":[{"text":"You are a helpful assistant."}],"inferenceConfig":{"maxTokens":2048,"temperature":0.5,"topP":0.9}}"#,
            );
        } else if self.model_id.contains("anthropic") {
            out.extend_from_slice(
                br#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":2048,"messages":[{"role":"user","content":"#,
            );
            serde_json::to_writer(&mut *out, &self.prompt)?;
            out.extend_from_slice(b"}]}");
        } else {
            out.extend_from_slice(br#"{"prompt":"#);
            serde_json::to_writer(&mut *out, &self.prompt)?;
            out.extend_from_slice(
                br#","max_gen_len":2048,"temperature":0.5,"stop":["\n\nHuman:"]}"#,
            );
        }
        Ok(())
    }

    fn write_output_body(&self, out: &mut Vec<u8>) -> io::Result<()> {
        let (input, output) = (self.input_tokens.unwrap_or(0), self.output_tokens);
        match self.operation {
            "Converse" => {
                out.extend_from_slice(
                    br#"{"output":{"message":{"role":"assistant","content":[{"text":"#,
                );
                serde_json::to_writer(&mut *out, &self.answer)?;
                write!(
                    out,
                    r#"}}]}}}},"stopReason":"end_turn","metrics":{{"latencyMs":{}}},"usage":{{"inputTokens":{input},"outputTokens":{output},"totalTokens":{}}}}}"#,
                    200 + output * 7,
                    input + output
                )?;
            }
            "ConverseStream" | "InvokeModelWithResponseStream" => {
                // Streams are logged as the list of events the caller received.
                out.extend_from_slice(br#"[{"messageStart":{"role":"assistant"}}"#);
                let mut rest = self.answer.as_str();
                while !rest.is_empty() {
                    let mut cut = rest.len().min(48);
                    while !rest.is_char_boundary(cut) {
                        cut += 1;
                    }
                    let (chunk, tail) = rest.split_at(cut);
                    out.extend_from_slice(br#",{"contentBlockDelta":{"delta":{"text":"#);
                    serde_json::to_writer(&mut *out, chunk)?;
                    out.extend_from_slice(br#"},"contentBlockIndex":0}}"#);
                    rest = tail;
                }
                write!(
                    out,
                    r#",{{"messageStop":{{"stopReason":"end_turn"}}}},{{"metadata":{{"usage":{{"inputTokens":{input},"outputTokens":{output}}},"metrics":{{"latencyMs":{}}}}}}}]"#,
                    300 + output * 9
                )?;
            }
            _ => {
                out.extend_from_slice(br#"{"id":"msg_bdrk_01","type":"message","role":"assistant","content":[{"type":"text","text":"#);
                serde_json::to_writer(&mut *out, &self.answer)?;
                write!(
                    out,
                    r#"}}],"stop_reason":"end_turn","usage":{{"input_tokens":{input},"output_tokens":{output}}}}}"#
                )?;
            }
        }
        Ok(())
    }
}

const WORDS: [&str; 40] = [
    "the",
    "quarterly",
    "report",
    "summarize",
    "customer",
    "ticket",
    "invoice",
    "please",
    "translate",
    "into",
    "French",
    "and",
    "list",
    "three",
    "risks",
    "for",
    "our",
    "migration",
    "plan",
    "with",
    "a",
    "table",
    "of",
    "costs",
    "per",
    "region",
    "explain",
    "why",
    "latency",
    "increased",
    "after",
    "deploy",
    "résumé",
    "naïve",
    "données",
    "→",
    "€42",
    "JSON",
    "SQL",
    "index",
];

/// Appends roughly `bytes` bytes of prose with newlines, quotes and non-ASCII text.
pub(crate) fn prose(rng: &mut Rng, bytes: usize, out: &mut String) {
    let target = out.len() + bytes;
    let mut words = 0u32;
    while out.len() < target {
        if let Some(w) = rng.pick(&WORDS) {
            out.push_str(w);
        }
        words += 1;
        match rng.below(24) {
            0 => out.push_str(".\n"),
            1 => out.push_str(" \"quoted\" "),
            2 => out.push_str(", "),
            3 if words > 8 => out.push('\t'),
            _ => out.push(' '),
        }
    }
}

/// A random UUID-shaped request id.
pub fn request_id(rng: &mut Rng) -> String {
    let a = rng.next_u64();
    let b = rng.next_u64();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    )
}

/// An endless, seeded stream of records with chronological timestamps spread over a window.
#[derive(Debug, Clone)]
pub struct RecordGenerator {
    rng: Rng,
    body_bytes: (u64, u64),
    start_ms: i64,
    span_ms: u64,
    count: u64,
    index: u64,
}

impl RecordGenerator {
    /// `count` records over [`WINDOW_START`, `WINDOW_END`), with bodies of `body_bytes`
    /// (the prompt and answer text together, before JSON escaping).
    pub fn new(seed: u64, count: u64, body_bytes: RangeInclusive<usize>) -> Self {
        let (start, end) = default_window();
        Self::with_window(seed, count, body_bytes, start, end)
    }

    /// Like [`Self::new`], over `[start, end)` instead.
    pub fn with_window(
        seed: u64,
        count: u64,
        body_bytes: RangeInclusive<usize>,
        start: Timestamp,
        end: Timestamp,
    ) -> Self {
        let lo = *body_bytes.start() as u64;
        let hi = *body_bytes.end() as u64;
        RecordGenerator {
            rng: Rng::new(seed),
            body_bytes: (lo, hi.max(lo)),
            start_ms: start.unix_millis(),
            span_ms: u64::try_from(end.unix_millis() - start.unix_millis()).unwrap_or(0),
            count: count.max(1),
            index: 0,
        }
    }

    /// Appends the next record as one line of JSON (without the newline).
    pub fn next_record(&mut self, out: &mut Vec<u8>) {
        let rng = &mut self.rng;
        // Record i lands in the i-th of `count` equal slices of the window: chronological.
        let slice = self.span_ms / self.count;
        let base =
            (u128::from(self.span_ms) * u128::from(self.index) / u128::from(self.count)) as u64;
        let offset_ms = base + rng.below(slice);
        let mut millis = self.start_ms + i64::try_from(offset_ms).unwrap_or(0);
        if !self.index.is_multiple_of(10) {
            millis -= millis.rem_euclid(1000);
        }
        self.index += 1;
        let timestamp = Timestamp::from_unix_millis(millis).unwrap_or(Timestamp::UNIX_EPOCH);

        let user_index = rng.below(USERS.len() as u64) as usize;
        let identity_arn = USERS.get(user_index).copied().unwrap_or_default();
        let account_id = if identity_arn.contains(ACCOUNTS[1]) {
            ACCOUNTS[1]
        } else {
            ACCOUNTS[0]
        };
        let region = rng.pick(&REGIONS).copied().unwrap_or_default();
        let model_id = rng.pick(&MODELS).copied().unwrap_or_default();
        let operation = rng.pick(&OPERATIONS).copied().unwrap_or_default();
        let error_code = rng
            .chance(2)
            .then(|| rng.pick(&ERROR_CODES).copied().unwrap_or_default());
        let legacy = rng.chance(5);
        let cached = !legacy && rng.chance(25);

        let body = rng.in_range(self.body_bytes.0..=self.body_bytes.1) as usize;
        let prompt_bytes = body * 7 / 10;
        let mut prompt = String::with_capacity(prompt_bytes + 16);
        prose(rng, prompt_bytes, &mut prompt);
        let mut answer = String::new();
        if error_code.is_none() {
            prose(rng, body.saturating_sub(prompt_bytes), &mut answer);
        }
        let input_tokens = (prompt.len() as u64 / 4).max(1);
        let record = SyntheticRecord {
            timestamp,
            account_id,
            identity_arn,
            region,
            inference_region: model_id.starts_with("us.").then_some("us-east-2"),
            request_metadata: request_metadata(identity_arn),
            request_id: request_id(rng),
            operation,
            model_id,
            error_code,
            input_tokens: (!(error_code.is_some() && rng.chance(50))).then_some(input_tokens),
            cache_read_input_tokens: (!legacy).then(|| {
                if cached {
                    rng.in_range(500..=20_000)
                } else {
                    0
                }
            }),
            cache_write_input_tokens: (!legacy).then(|| {
                if cached && rng.chance(30) {
                    rng.in_range(100..=5_000)
                } else {
                    0
                }
            }),
            output_tokens: (answer.len() as u64 / 4).max(1),
            prompt,
            answer,
        };
        record.write_json(out);
    }
}

/// The default window as timestamps: [`WINDOW_START`], [`WINDOW_END`].
pub fn default_window() -> (Timestamp, Timestamp) {
    let parse = |s: &str| Timestamp::parse_rfc3339(s).unwrap_or(Timestamp::UNIX_EPOCH);
    (parse(WINDOW_START), parse(WINDOW_END))
}

/// Writes `n` records, one JSON object per line, from [`RecordGenerator::new`]`(seed, n,
/// body_bytes)`, to `path`; gzip-compressed when `path` ends in `.gz`. Returns the bytes
/// written to the file.
///
/// The same arguments always write the same file, so tests can compute expected numbers
/// from it and replay it through other sources. Every line is a valid record; records fall
/// in the default window ([`WINDOW_START`]..[`WINDOW_END`]) in chronological order. About 2%
/// carry an `errorCode`, 5% lack cache counts, 25% have cache reads.
pub fn write_records(
    path: &Path,
    n: u64,
    body_bytes: RangeInclusive<usize>,
    seed: u64,
) -> io::Result<u64> {
    let file = File::create(path)?;
    let gzip = path.extension().is_some_and(|e| e == "gz");
    let mut generator = RecordGenerator::new(seed, n, body_bytes);
    let mut line = Vec::with_capacity(16 * 1024);
    if gzip {
        let mut out = GzEncoder::new(
            BufWriter::with_capacity(256 * 1024, file),
            Compression::fast(),
        );
        write_lines(&mut generator, n, &mut line, &mut out)?;
        out.finish()?.flush()?;
    } else {
        let mut out = BufWriter::with_capacity(256 * 1024, file);
        write_lines(&mut generator, n, &mut line, &mut out)?;
        out.flush()?;
    }
    Ok(std::fs::metadata(path)?.len())
}

fn write_lines(
    generator: &mut RecordGenerator,
    n: u64,
    line: &mut Vec<u8>,
    out: &mut impl Write,
) -> io::Result<()> {
    for _ in 0..n {
        line.clear();
        generator.next_record(line);
        line.push(b'\n');
        out.write_all(line)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::record::InvocationRecord;

    #[test]
    fn generated_records_parse_and_are_chronological() {
        let mut generator = RecordGenerator::new(7, 500, 100..=300);
        let mut previous = None;
        for _ in 0..500 {
            let mut line = Vec::new();
            generator.next_record(&mut line);
            let value: serde_json::Value = serde_json::from_slice(&line).unwrap();
            assert!(value["input"]["inputBodyJson"].is_object());
            let record = InvocationRecord::parse(&line).unwrap();
            assert!(previous.is_none_or(|p| p <= record.timestamp));
            previous = Some(record.timestamp);
        }
    }

    #[test]
    fn rng_is_stable() {
        // SplitMix64's published first output for seed 0.
        assert_eq!(Rng::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(Rng::new(0).below(0), 0);
        assert_eq!(Rng::new(0).in_range(5..=5), 5);
        let mut rng = Rng::new(9);
        let draws: Vec<u64> = (0..1000).map(|_| rng.in_range(3..=7)).collect();
        assert!(draws.iter().all(|d| (3..=7).contains(d)));
        assert!((3..=7).all(|v| draws.contains(&v)));
    }
}
