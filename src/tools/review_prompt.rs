//! `review_bedrock_usage`: a prompt that hands the model a report and asks it to look for
//! cost and usage anomalies.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use rmcp::model::{GetPromptResult, Prompt};
use serde_json::json;

use super::sources::SourceSelector;
use crate::server::{HandlerError, PromptHandler, RequestContext};
use crate::usage::{
    Date, Granularity, NoProgress, SourceError, UsageFilters, UsageQuery, render_text,
};

pub const NAME: &str = "review_bedrock_usage";

const INSTRUCTIONS: &str = "Review this Amazon Bedrock usage report. Look for anomalies and \
cost risks: sudden spikes or drops per day, a model or user dominating token use, high error \
counts (throttling, validation), unused prompt caching where input tokens are large, and usage \
in unexpected regions or accounts. For each finding give the evidence (numbers from the \
report), the likely cause and a concrete next step. Say plainly if nothing looks unusual.";

pub struct ReviewPrompt {
    sources: Arc<dyn SourceSelector>,
}

impl ReviewPrompt {
    pub fn new(sources: Arc<dyn SourceSelector>) -> Self {
        Self { sources }
    }
}

#[async_trait]
impl PromptHandler for ReviewPrompt {
    fn definition(&self) -> Prompt {
        serde_json::from_value(json!({
            "name": NAME,
            "title": "Review Bedrock usage",
            "description": "Asks the model to review a Bedrock usage report for cost and usage anomalies",
            "arguments": [
                { "name": "days", "description": "Days to cover, ending today (default 30)", "required": false },
                { "name": "model_id", "description": "Only this model", "required": false },
                { "name": "region", "description": "Only this region", "required": false },
                { "name": "user", "description": "Only this caller (identity ARN)", "required": false },
            ],
        }))
        .unwrap_or_else(|_| Prompt::new(NAME, None::<String>, None))
    }

    async fn get(
        &self,
        ctx: &RequestContext,
        arguments: BTreeMap<String, String>,
    ) -> Result<GetPromptResult, HandlerError> {
        let days = match arguments.get("days").map(|d| d.trim()) {
            None | Some("") => 30,
            Some(d) => d
                .parse::<u32>()
                .ok()
                .filter(|d| (1..=super::arguments::MAX_DAYS).contains(d))
                .ok_or_else(|| {
                    HandlerError::invalid_params("days must be a whole number from 1 to 365")
                })?,
        };
        let filters = UsageFilters {
            region: arguments.get("region").cloned(),
            aws_account_id: None,
            model_id: arguments.get("model_id").cloned(),
            user: arguments.get("user").cloned(),
        };
        let query = UsageQuery::last_days(Date::today(), days, Granularity::Day)
            .map_err(|e| HandlerError::invalid_params(e.to_string()))?
            .with_filters(filters);
        let report = match self
            .sources
            .default_source()
            .collect(&query, &NoProgress, ctx.cancellation())
            .await
        {
            Ok(report) => report,
            Err(SourceError::Cancelled) => return Err(HandlerError::Cancelled),
            Err(e) => {
                return Err(HandlerError::internal(format!(
                    "the usage source failed: {e}"
                )));
            }
        };
        let report_json =
            serde_json::to_string(&report).map_err(|e| HandlerError::internal(e.to_string()))?;
        serde_json::from_value(json!({
            "description": format!("Review of Bedrock usage over the last {days} days"),
            "messages": [
                { "role": "user", "content": { "type": "text", "text": INSTRUCTIONS } },
                { "role": "user", "content": { "type": "resource", "resource": {
                    "uri": format!("bedrock-usage://report/{days}"),
                    "mimeType": "application/json",
                    "text": report_json,
                } } },
                { "role": "user", "content": { "type": "text", "text": render_text(&report) } },
            ],
        }))
        .map_err(|e| HandlerError::internal(e.to_string()))
    }
}
