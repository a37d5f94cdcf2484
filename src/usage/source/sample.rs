//! The bundled sample: a generated month of invocation logs, so the server has something to
//! show before it is pointed at real logs (demos, first runs, tests of the tool glue).
//!
//! The dataset is generated, not shipped: a fixed seed drives eight personas (a chatbot, data
//! scientists, a CI evaluation job, a support agent, a nightly batch in a second account...)
//! across three regions, six model ids (an inference profile and an application
//! inference-profile ARN among them) and all four operations, with prompt-cache reads and
//! writes, throttling and other errors, a planted spike the day before today (see `SPIKE`),
//! and a few malformed lines. It is re-dated so that its
//! last day is today: record times are laid out relative to the `today` the source's clock
//! gives, so the same `today` always yields the same records. About 3,000 records: a report
//! over it takes a few milliseconds.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::synthetic::{ACCOUNTS, MODELS, Rng, SyntheticRecord, request_id, request_metadata};
use super::{ProgressSink, SourceError, SourceInfo, SourceKind, UsageSource};
use crate::usage::aggregate::Aggregator;
use crate::usage::query::UsageQuery;
use crate::usage::report::UsageReport;
use crate::usage::time::{Date, Timestamp};

/// Days the sample covers, ending with today.
pub const SAMPLE_DAYS: u32 = 30;

/// The seed of the sample; changing it changes every number the sample reports.
const SAMPLE_SEED: u64 = 0x00B3_D20C_5A3F_1E57;

/// Lines between two cancellation checks and progress reports.
const CHECK_EVERY_LINES: usize = 256;

/// The planted spike: the day before today, the support agent's client retries in a loop, 200
/// more long calls to Claude 3.5 Haiku in two hours, many throttled. A report with `anomalies`
/// over the sample flags it (the user, team `support`, the model, and errors). Drawn with its
/// own seed after the rest, so it changes no other record.
const SPIKE: Persona = Persona {
    arn: "arn:aws:sts::111122223333:assumed-role/SupportAgentRole/support-agent",
    account: ACCOUNTS[0],
    region: "eu-west-1",
    models: &[(1, 1)],
    operations: &[("ConverseStream", 1)],
    per_weekday: 200,
    weekend_percent: 100,
    hours: (9, 10),
    cache_percent: 0,
    error_percent: 15,
    input_tokens: (4_000, 6_000),
    output_tokens: (200, 600),
};

/// The seed of the planted spike's records.
const SPIKE_SEED: u64 = 0x5B1C_E000_0000_0017;

/// One simulated caller and its habits.
struct Persona {
    arn: &'static str,
    account: &'static str,
    region: &'static str,
    /// Model ids (indexes into [`MODELS`]) and their weights.
    models: &'static [(usize, u64)],
    operations: &'static [(&'static str, u64)],
    /// Average invocations on a weekday.
    per_weekday: u64,
    /// Weekend volume, in percent of a weekday's.
    weekend_percent: u64,
    /// UTC hours the persona is active, inclusive.
    hours: (u64, u64),
    /// Share of invocations that read from the prompt cache, in percent.
    cache_percent: u64,
    /// Share of invocations that fail, in percent.
    error_percent: u64,
    input_tokens: (u64, u64),
    output_tokens: (u64, u64),
}

const PERSONAS: [Persona; 8] = [
    Persona {
        arn: "arn:aws:sts::111122223333:assumed-role/ChatbotLambdaRole/chatbot-prod",
        account: ACCOUNTS[0],
        region: "us-east-1",
        models: &[(0, 70), (1, 30)],
        operations: &[("ConverseStream", 80), ("Converse", 20)],
        per_weekday: 40,
        weekend_percent: 70,
        hours: (0, 23),
        cache_percent: 60,
        error_percent: 2,
        input_tokens: (300, 2_500),
        output_tokens: (80, 900),
    },
    Persona {
        arn: "arn:aws:sts::111122223333:assumed-role/DataScienceRole/alice@example.com",
        account: ACCOUNTS[0],
        region: "us-west-2",
        models: &[(0, 50), (2, 30), (3, 20)],
        operations: &[("Converse", 60), ("InvokeModel", 40)],
        per_weekday: 12,
        weekend_percent: 10,
        hours: (14, 23),
        cache_percent: 10,
        error_percent: 2,
        input_tokens: (1_000, 12_000),
        output_tokens: (200, 2_000),
    },
    Persona {
        arn: "arn:aws:sts::111122223333:assumed-role/DataScienceRole/bob@example.com",
        account: ACCOUNTS[0],
        region: "us-west-2",
        models: &[(3, 50), (4, 30), (0, 20)],
        operations: &[("InvokeModel", 70), ("InvokeModelWithResponseStream", 30)],
        per_weekday: 8,
        weekend_percent: 0,
        hours: (13, 22),
        cache_percent: 0,
        error_percent: 3,
        input_tokens: (500, 6_000),
        output_tokens: (100, 1_500),
    },
    Persona {
        arn: "arn:aws:iam::111122223333:user/ci-eval-runner",
        account: ACCOUNTS[0],
        region: "us-east-1",
        models: &[(1, 60), (2, 40)],
        operations: &[("InvokeModel", 100)],
        per_weekday: 15,
        weekend_percent: 0,
        hours: (2, 4),
        cache_percent: 0,
        error_percent: 1,
        input_tokens: (200, 1_500),
        output_tokens: (20, 300),
    },
    Persona {
        arn: "arn:aws:sts::111122223333:assumed-role/SupportAgentRole/support-agent",
        account: ACCOUNTS[0],
        region: "eu-west-1",
        models: &[(1, 60), (2, 40)],
        operations: &[("ConverseStream", 70), ("Converse", 30)],
        per_weekday: 10,
        weekend_percent: 50,
        hours: (7, 18),
        cache_percent: 40,
        error_percent: 2,
        input_tokens: (400, 3_000),
        output_tokens: (100, 700),
    },
    Persona {
        arn: "arn:aws:iam::111122223333:user/carol",
        account: ACCOUNTS[0],
        region: "us-east-1",
        models: &[(5, 80), (0, 20)],
        operations: &[("Converse", 100)],
        per_weekday: 6,
        weekend_percent: 20,
        hours: (12, 21),
        cache_percent: 30,
        error_percent: 2,
        input_tokens: (500, 4_000),
        output_tokens: (100, 1_200),
    },
    Persona {
        arn: "arn:aws:sts::444455556666:assumed-role/AnalyticsBatchRole/nightly-batch",
        account: ACCOUNTS[1],
        region: "us-west-2",
        models: &[(2, 50), (1, 50)],
        operations: &[("InvokeModel", 100)],
        per_weekday: 12,
        weekend_percent: 100,
        hours: (1, 3),
        cache_percent: 0,
        error_percent: 8,
        input_tokens: (3_000, 20_000),
        output_tokens: (300, 2_500),
    },
    Persona {
        arn: "arn:aws:iam::444455556666:user/dave",
        account: ACCOUNTS[1],
        region: "us-east-1",
        models: &[(4, 50), (3, 50)],
        operations: &[("InvokeModelWithResponseStream", 60), ("Converse", 40)],
        per_weekday: 3,
        weekend_percent: 30,
        hours: (9, 17),
        cache_percent: 0,
        error_percent: 4,
        input_tokens: (100, 2_000),
        output_tokens: (50, 800),
    },
];

const PROMPTS: [&str; 8] = [
    "Summarize this support ticket: the customer cannot reset their password after the SSO migration.",
    "Translate into French: \"Your order has shipped and will arrive on Thursday.\"",
    "Write a SQL query that returns monthly revenue per region from the orders table.",
    "Classify the sentiment of this review as positive, neutral or negative:\nGreat battery, awful screen.",
    "Extract the invoice number, date and total as JSON from the attached text.",
    "Explain why p99 latency increased after yesterday's deploy, given these traces.",
    "Draft a polite reply declining the meeting and proposing next Tuesday at 10:00.",
    "List three risks of migrating the billing service to a new region, with mitigations.",
];

const ANSWERS: [&str; 8] = [
    "The customer is locked out after the SSO switch; the reset link points to the old IdP. Suggest re-sending from the new portal.",
    "« Votre commande a été expédiée et arrivera jeudi. »",
    "SELECT region, date_trunc('month', created_at) AS month, sum(total) FROM orders GROUP BY 1, 2 ORDER BY 2;",
    "negative",
    "{\"invoice_number\": \"INV-20931\", \"date\": \"2026-10-02\", \"total\": 1249.50}",
    "The deploy enabled synchronous audit logging; each request now waits on a cross-region write.",
    "Thank you for the invitation. I'm not available then, but next Tuesday at 10:00 works for me.",
    "1. Data residency. 2. DNS cut-over errors. 3. Latency to the payment provider. Mitigate with a dry run.",
];

/// Generates the sample's JSON lines for the [`SAMPLE_DAYS`] days ending with `today`, in
/// chronological order, malformed lines included.
pub fn sample_lines(today: Date) -> Vec<String> {
    let mut rng = Rng::new(SAMPLE_SEED);
    let mut lines: Vec<(Timestamp, String)> = Vec::with_capacity(3_500);
    let mut buffer = Vec::with_capacity(2_048);
    for day_index in 0..i64::from(SAMPLE_DAYS) {
        let Some(day) = today.checked_add_days(day_index - i64::from(SAMPLE_DAYS) + 1) else {
            continue;
        };
        // 1970-01-01 was a Thursday: days 2 and 3 after it (mod 7) are Saturday and Sunday.
        let weekend = matches!(day.days_since_epoch().rem_euclid(7), 2 | 3);
        // A gentle upward trend over the month.
        let trend = 85 + u64::try_from(day_index).unwrap_or(0);
        for persona in &PERSONAS {
            let base = if weekend {
                persona.per_weekday * persona.weekend_percent / 100
            } else {
                persona.per_weekday
            };
            let count = base * trend / 100 * rng.in_range(70..=130) / 100;
            for _ in 0..count {
                buffer.clear();
                let at = persona_record(&mut rng, persona, day, &mut buffer);
                lines.push((at, String::from_utf8_lossy(&buffer).into_owned()));
            }
        }
        if let Some(line) = malformed_line(&mut rng, day_index, day, &lines) {
            lines.push(line);
        }
    }
    if let Some(yesterday) = today.checked_add_days(-1) {
        let mut rng = Rng::new(SPIKE_SEED);
        for _ in 0..SPIKE.per_weekday {
            buffer.clear();
            let at = persona_record(&mut rng, &SPIKE, yesterday, &mut buffer);
            lines.push((at, String::from_utf8_lossy(&buffer).into_owned()));
        }
    }
    lines.sort_by_key(|(at, _)| *at);
    lines.into_iter().map(|(_, line)| line).collect()
}

/// Writes one record of `persona` on `day` into `out` and returns its time.
fn persona_record(rng: &mut Rng, persona: &Persona, day: Date, out: &mut Vec<u8>) -> Timestamp {
    let second = rng.in_range(persona.hours.0 * 3600..=persona.hours.1 * 3600 + 3599);
    let timestamp = day
        .start()
        .checked_add_seconds(i64::try_from(second).unwrap_or(0))
        .unwrap_or(day.start());
    let model_weights: Vec<u64> = persona.models.iter().map(|(_, w)| *w).collect();
    let model_index = persona
        .models
        .get(rng.weighted(&model_weights))
        .map_or(0, |(m, _)| *m);
    let model_id = MODELS.get(model_index).copied().unwrap_or(MODELS[0]);
    let operation_weights: Vec<u64> = persona.operations.iter().map(|(_, w)| *w).collect();
    let operation = persona
        .operations
        .get(rng.weighted(&operation_weights))
        .map_or("Converse", |(o, _)| *o);

    let error_code = rng
        .chance(persona.error_percent)
        .then(|| match rng.below(10) {
            0 => "ValidationException",
            1 => "ModelTimeoutException",
            2 if persona.account == ACCOUNTS[1] => "AccessDeniedException",
            _ => "ThrottlingException",
        });
    let input_tokens = rng.in_range(persona.input_tokens.0..=persona.input_tokens.1);
    let cached = rng.chance(persona.cache_percent);
    let (cache_read, cache_write) = if cached {
        (rng.in_range(2_000..=8_000), 0)
    } else if persona.cache_percent > 0 && rng.chance(15) {
        (0, rng.in_range(1_500..=6_000))
    } else {
        (0, 0)
    };
    let output_tokens = rng.in_range(persona.output_tokens.0..=persona.output_tokens.1);
    let text = rng.below(PROMPTS.len() as u64) as usize;
    let record = SyntheticRecord {
        timestamp,
        account_id: persona.account,
        identity_arn: persona.arn,
        region: persona.region,
        inference_region: model_id
            .starts_with("us.")
            .then(|| ["us-east-1", "us-east-2", "us-west-2"][rng.below(3) as usize]),
        request_metadata: request_metadata(persona.arn),
        request_id: request_id(rng),
        operation,
        model_id,
        error_code,
        // Throttled requests never reached the model: Bedrock logs no token counts for them.
        input_tokens: (error_code != Some("ThrottlingException")).then_some(input_tokens),
        cache_read_input_tokens: Some(cache_read).filter(|_| error_code.is_none()),
        cache_write_input_tokens: Some(cache_write).filter(|_| error_code.is_none()),
        output_tokens,
        prompt: PROMPTS.get(text).copied().unwrap_or_default().to_owned(),
        answer: ANSWERS.get(text).copied().unwrap_or_default().to_owned(),
    };
    record.write_json(out);
    timestamp
}

/// Now and then, a line a real log could contain but that is not a usable record.
fn malformed_line(
    rng: &mut Rng,
    day_index: i64,
    day: Date,
    lines: &[(Timestamp, String)],
) -> Option<(Timestamp, String)> {
    let at = day.start().checked_add_seconds(43_200)?;
    let stamp = at.to_string();
    let line = match day_index {
        3 | 21 => {
            // A record cut short, as by an interrupted copy.
            let (_, whole) = lines.last()?;
            let mut cut = whole.len() * 3 / 5;
            while !whole.is_char_boundary(cut) {
                cut += 1;
            }
            whole.get(..cut)?.to_owned()
        }
        8 => format!("{stamp} log delivery interrupted, retrying"),
        12 => format!(
            r#"{{"schemaType":"ModelInvocationLog","timestamp":"last Tuesday","modelId":"amazon.nova-pro-v1:0","requestId":"{}"}}"#,
            request_id(rng)
        ),
        17 => format!(
            r#"{{"schemaType":"ModelInvocationLog","accountId":"{}","modelId":"amazon.nova-pro-v1:0","input":{{"inputTokenCount":10}}}}"#,
            ACCOUNTS[0]
        ),
        26 => format!(
            r#"{{"schemaType":"ModelInvocationLog","timestamp":"{stamp}","modelId":"amazon.nova-pro-v1:0","input":{{"inputTokenCount":-5}}}}"#
        ),
        _ => return None,
    };
    Some((at, line))
}

/// The bundled sample dataset as a source (`bundled-sample`).
#[derive(Clone)]
pub struct SampleSource {
    clock: Arc<dyn Fn() -> Date + Send + Sync>,
}

impl SampleSource {
    /// The sample re-dated to the system clock's current UTC date at each report.
    pub fn new() -> Self {
        Self::with_clock(Date::today)
    }

    /// The sample as of a fixed `today` (deterministic).
    pub fn for_today(today: Date) -> Self {
        Self::with_clock(move || today)
    }

    /// The sample re-dated to whatever `clock` says today is.
    pub(crate) fn with_clock(clock: impl Fn() -> Date + Send + Sync + 'static) -> Self {
        SampleSource {
            clock: Arc::new(clock),
        }
    }

    /// The sample's last day, per the clock.
    pub fn today(&self) -> Date {
        (self.clock)()
    }

    /// Aggregates the sample synchronously; the async [`UsageSource::collect`] wraps this.
    pub fn collect_blocking(
        &self,
        query: &UsageQuery,
        progress: &dyn ProgressSink,
        cancel: &CancellationToken,
    ) -> Result<UsageReport, SourceError> {
        let lines = sample_lines(self.today());
        let total = lines.len() as u64;
        let mut aggregator = Aggregator::new(query, self.describe());
        for (i, line) in lines.iter().enumerate() {
            if i % CHECK_EVERY_LINES == 0 {
                if cancel.is_cancelled() {
                    return Err(SourceError::Cancelled);
                }
                progress.progress(i as u64, Some(total));
            }
            aggregator.add_line(line.as_bytes());
        }
        progress.progress(total, Some(total));
        Ok(aggregator.finish())
    }
}

impl Default for SampleSource {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for SampleSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SampleSource")
            .field("today", &self.today())
            .finish()
    }
}

#[async_trait]
impl UsageSource for SampleSource {
    /// Small enough (a few milliseconds) to run inline on the async task.
    async fn collect(
        &self,
        query: &UsageQuery,
        progress: &dyn ProgressSink,
        cancel: &CancellationToken,
    ) -> Result<UsageReport, SourceError> {
        progress.phase("aggregating the bundled sample dataset");
        self.collect_blocking(query, progress, cancel)
    }

    fn describe(&self) -> SourceInfo {
        SourceInfo::local(SourceKind::BundledSample)
    }
}
