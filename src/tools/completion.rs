//! Completion of prompt and resource-template arguments from the data the source has seen.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rmcp::model::{CompleteRequestParams, CompletionInfo, Reference};

use super::sources::SourceSelector;
use crate::server::{Completer, HandlerError, RequestContext};
use crate::usage::{Date, Granularity, NoProgress, UsageQuery, UsageReport};

/// How long the keys of one scan serve completions before they are read again.
const FRESH_FOR: Duration = Duration::from_secs(300);
/// How far back completions look.
const DAYS: u32 = 30;

pub(crate) struct UsageCompleter {
    sources: Arc<dyn SourceSelector>,
    seen: Mutex<Option<(Instant, Arc<UsageReport>)>>,
}

impl UsageCompleter {
    pub fn new(sources: Arc<dyn SourceSelector>) -> Self {
        Self {
            sources,
            seen: Mutex::new(None),
        }
    }

    /// A report of the last 30 days with long breakdowns, cached for a few minutes.
    async fn recent(&self, ctx: &RequestContext) -> Result<Arc<UsageReport>, HandlerError> {
        if let Some((at, report)) = self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
            && at.elapsed() < FRESH_FOR
        {
            return Ok(report);
        }
        let query = UsageQuery::last_days(Date::today(), DAYS, Granularity::Day)
            .map_err(|e| HandlerError::internal(e.to_string()))?
            .with_top_n(CompletionInfo::MAX_VALUES);
        let report = self
            .sources
            .default_source()
            .collect(&query, &NoProgress, ctx.cancellation())
            .await
            .map_err(|e| HandlerError::internal(format!("the usage source failed: {e}")))?;
        let report = Arc::new(report);
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), report.clone()));
        Ok(report)
    }
}

#[async_trait]
impl Completer for UsageCompleter {
    async fn complete(
        &self,
        ctx: &RequestContext,
        params: &CompleteRequestParams,
    ) -> Result<CompletionInfo, HandlerError> {
        let typed = params.argument.value.as_str();
        let candidates: Vec<String> = match (&params.r#ref, params.argument.name.as_str()) {
            (Reference::Resource(_), "days") | (Reference::Prompt(_), "days") => {
                ["1", "7", "14", "30", "90", "365"]
                    .map(str::to_owned)
                    .to_vec()
            }
            (Reference::Prompt(_), field @ ("model_id" | "region" | "user")) => {
                let report = self.recent(ctx).await?;
                let rows = match field {
                    "model_id" => &report.by_model,
                    "region" => &report.by_region,
                    _ => &report.by_user,
                };
                rows.iter()
                    .map(|row| row.key.clone())
                    .filter(|key| !key.starts_with('('))
                    .collect()
            }
            _ => Vec::new(),
        };
        let lowered = typed.to_lowercase();
        let mut values: Vec<String> = candidates
            .into_iter()
            .filter(|c| c.to_lowercase().contains(&lowered))
            .collect();
        let total = values.len();
        values.truncate(CompletionInfo::MAX_VALUES);
        let mut info = CompletionInfo::default();
        info.has_more = Some(total > values.len());
        info.total = Some(total as u32);
        info.values = values;
        Ok(info)
    }
}
