//! Logs Insights reads as a report task's steps (see [`ResumableReads`]): the task's first
//! step plans the reads (the same slices as a direct call, every read of the report) and
//! starts as many queries as the concurrency allows; every poll takes one step of the same
//! machine a direct call drives ([`super::collect`]): one `GetQueryResults` per running query,
//! complete slices kept, truncated ones split, more started. Between polls the queries run in
//! CloudWatch and nothing of ours runs. Cancelling the task stops its running queries.
//!
//! The state between polls: the machine (slices, running query ids), the report's budget
//! (bytes each query scanned, queries planned: `--max-scan-gb` and `max_queries` hold across
//! polls, checked on every one) and the rows of complete slices, which are Logs Insights' own
//! sums (one per bucket and key, not per record), folded into the report's aggregators only
//! at the end. All of it as gzipped JSON in base64: at most [`MAX_STATE_BYTES`]; a report whose
//! rows outgrow that stops its queries and fails with a message saying to call the tool
//! without a task (or to ask for less).

use std::io::{Read as _, Write as _};

use async_trait::async_trait;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::InsightsSource;
use super::collect::{Fold, Reads};
use super::rows::ResultRow;
use crate::usage::aggregate::Aggregator;
use crate::usage::query::UsageQuery;
use crate::usage::source::{NoProgress, ReportBudget, ResumableReads, Resumed, SourceError};

/// The most bytes of encoded state a task keeps between polls: well under a task record's
/// ~399 KB (DynamoDB's item limit), leaving room for the rest of the record.
pub(super) const MAX_STATE_BYTES: usize = 300_000;

/// What a task keeps between polls.
#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    reads: Reads,
    budget: ReportBudget,
    /// The rows of each read's complete slices.
    rows: Kept,
}

/// Complete slices' rows, per read.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Kept(Vec<Vec<ResultRow>>);

impl Fold for Kept {
    fn fold(&mut self, read: usize, rows: Vec<ResultRow>) {
        if self.0.len() <= read {
            self.0.resize_with(read + 1, Vec::new);
        }
        self.0[read].extend(rows);
    }
}

#[async_trait]
impl ResumableReads for InsightsSource {
    async fn start_reads(&self, queries: &[UsageQuery]) -> Result<Resumed, SourceError> {
        let budget = self.budget();
        let cancel = CancellationToken::new();
        let clauses = super::clauses(queries)?;
        let (client, region) = self.client.get().await?;
        super::cost::preflight(&client, &self.log_group, queries.iter(), &budget, &cancel).await?;
        let saved = Saved {
            reads: Reads::new(queries, &self.options),
            budget,
            rows: Kept::default(),
        };
        self.step(queries, &clauses, &client, region, saved).await
    }

    async fn advance_reads(
        &self,
        queries: &[UsageQuery],
        state: Value,
    ) -> Result<Resumed, SourceError> {
        let saved = decode(&state)?;
        let clauses = super::clauses(queries)?;
        let (client, region) = self.client.get().await?;
        self.step(queries, &clauses, &client, region, saved).await
    }

    async fn stop_reads(&self, state: &Value) {
        let Ok(saved) = decode(state) else {
            return;
        };
        self.stop_ids(saved.reads.running_ids()).await;
    }

    async fn discard_step(&self, from: &Value, lost: &Value) {
        let (Ok(from), Ok(lost)) = (decode(from), decode(lost)) else {
            return;
        };
        let before: Vec<&str> = from.reads.running_ids().collect();
        let orphans = lost.reads.running_ids().filter(|id| !before.contains(id));
        self.stop_ids(orphans).await;
    }
}

impl InsightsSource {
    /// One step from `saved`: the reports when every read is over, or the state to keep.
    async fn step(
        &self,
        queries: &[UsageQuery],
        clauses: &[(Option<String>, String)],
        client: &aws_sdk_cloudwatchlogs::Client,
        region: Option<String>,
        mut saved: Saved,
    ) -> Result<Resumed, SourceError> {
        let cancel = CancellationToken::new();
        let info = self.info(region);
        let phases = vec![None; queries.len()];
        let env = self.env(
            client,
            info,
            queries,
            clauses,
            phases,
            &saved.budget,
            &NoProgress,
            &cancel,
        );
        saved.reads.inherit_running();
        let stepped = saved.reads.step(&env, &mut saved.rows).await?;
        if stepped.finished {
            let mut rows = std::mem::take(&mut saved.rows.0).into_iter();
            let aggregators = queries
                .iter()
                .map(|query| {
                    let mut aggregator = Aggregator::new(query, env.info.clone());
                    for row in rows.next().unwrap_or_default() {
                        row.add_to(&mut aggregator, query);
                    }
                    aggregator
                })
                .collect();
            return saved.reads.finish(&env, aggregators).map(Resumed::Done);
        }
        let message = saved.reads.message();
        match encode(&saved) {
            Ok(state) => Ok(Resumed::Working { state, message }),
            Err(e) => {
                // The rest are the stored state's: the task stops them once this is stored.
                env.run.stop_all(saved.reads.started_ids()).await;
                Err(e)
            }
        }
    }

    async fn stop_ids(&self, ids: impl Iterator<Item = &str>) {
        let Ok((client, _)) = self.client.get().await else {
            return;
        };
        let run = super::run::Run {
            client: &client,
            log_group: &self.log_group,
            options: &self.options,
        };
        run.stop_all(ids).await;
    }
}

/// `saved` as gzipped JSON in base64, or why it is too large to keep.
fn encode(saved: &Saved) -> Result<Value, SourceError> {
    let json = serde_json::to_vec(saved).map_err(|e| SourceError::Internal(e.to_string()))?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&json)
        .and_then(|()| gz.try_finish())
        .map_err(|e| SourceError::Internal(e.to_string()))?;
    let text = base64::engine::general_purpose::STANDARD.encode(gz.get_ref());
    if text.len() > MAX_STATE_BYTES {
        return Err(SourceError::TooLargeForTask(format!(
            "The report's partial results grew past what a task keeps between polls ({} bytes \
             compressed, over {MAX_STATE_BYTES}); its queries were stopped. Call \
             get_bedrock_usage_report without a task to get this report, or ask for less \
             (a shorter period, a filter, fewer group_by_metadata keys).",
            text.len()
        )));
    }
    Ok(json!({ "insights": text }))
}

/// The state [`encode`] wrote.
fn decode(state: &Value) -> Result<Saved, SourceError> {
    let unreadable = |e: &dyn std::fmt::Display| {
        SourceError::Internal(format!("unreadable Logs Insights task state: {e}"))
    };
    let text = state
        .get("insights")
        .and_then(Value::as_str)
        .ok_or_else(|| unreadable(&"no insights state"))?;
    let gz = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| unreadable(&e))?;
    // Bounded: a record is at most ~400 KB, and JSON compresses far less than 1000:1.
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .take(400 * 1024 * 1024)
        .read_to_end(&mut json)
        .map_err(|e| unreadable(&e))?;
    serde_json::from_slice(&json).map_err(|e| unreadable(&e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::query::Granularity;
    use crate::usage::time::Timestamp;

    /// A month of a busy account's rows: 30 days × 10 models × 20 users, long ARNs.
    fn month_of_rows() -> Vec<ResultRow> {
        let mut rows = Vec::new();
        for day in 0..30i64 {
            for model in 0..10 {
                for user in 0..20 {
                    let row = json!({
                        "t": Timestamp::from_unix_millis((20_362 + day) * 86_400_000),
                        "r": "us-east-1",
                        "m": format!("arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.model-{model}"),
                        "u": format!("arn:aws:sts::111122223333:assumed-role/team-role-{user}/session-{user}"),
                        "o": "Converse",
                        "e": 1000 + day * model + user,
                        "n": 1000 + day * model + user,
                        "i": 123_456 * (day + 1),
                        "out": 7_890 * (user + 1),
                        "err": model,
                    });
                    rows.push(serde_json::from_value(row).unwrap());
                }
            }
        }
        rows
    }

    #[test]
    fn a_month_of_rows_fits_the_state_and_reads_back() {
        let query = UsageQuery::new(
            Timestamp::from_unix_millis(20_362 * 86_400_000).unwrap(),
            Timestamp::from_unix_millis(20_392 * 86_400_000).unwrap(),
            Granularity::Day,
        )
        .unwrap();
        let saved = Saved {
            reads: Reads::new(std::slice::from_ref(&query), &Default::default()),
            budget: ReportBudget::new(Some(1_000), 10),
            rows: Kept(vec![month_of_rows()]),
        };
        let state = encode(&saved).unwrap();
        let size = state["insights"].as_str().unwrap().len();
        let raw = serde_json::to_vec(&saved).unwrap().len();
        // 6,000 rows: about 1 MB of JSON, kept in well under the budget.
        assert!(raw > 900_000, "{raw}");
        assert!(size < MAX_STATE_BYTES / 2, "{size}");
        let back = decode(&state).unwrap();
        assert_eq!(back.rows.0[0].len(), 6_000);
        assert_eq!(
            serde_json::to_value(&back.rows).unwrap(),
            serde_json::to_value(&saved.rows).unwrap()
        );
        // Someone else's text is refused, not read.
        assert!(decode(&json!({ "insights": "bm90IGd6aXA=" })).is_err());
        assert!(decode(&json!({})).is_err());
        eprintln!("6,000 rows: {raw} bytes of JSON, {size} bytes kept");
    }

    #[test]
    fn a_state_past_the_budget_is_refused_with_what_to_do() {
        use rand::RngCore;
        let rows = (0..12_000)
            .map(|_| {
                let mut bytes = [0u8; 32];
                rand::rng().fill_bytes(&mut bytes);
                let user: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                serde_json::from_value(json!({ "u": user, "n": 1 })).unwrap()
            })
            .collect();
        let saved = Saved {
            reads: Reads::new(&[], &Default::default()),
            budget: ReportBudget::new(None, 10),
            rows: Kept(vec![rows]),
        };
        let Err(SourceError::TooLargeForTask(message)) = encode(&saved) else {
            panic!("not refused");
        };
        assert!(message.contains("without a task"), "{message}");
        assert!(
            message.contains(&format!("over {MAX_STATE_BYTES}")),
            "{message}"
        );
    }
}
