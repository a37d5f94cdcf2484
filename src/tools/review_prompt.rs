//! `review_bedrock_usage`: a prompt that hands the model a report, compared with the previous
//! period and with its anomalies listed, and asks it to say what changed and to name them.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use rmcp::model::{
    ContentBlock, GetPromptResult, Prompt, PromptArgument, PromptMessage, ResourceContents, Role,
};

use super::sources::SourceSelector;
use crate::server::{HandlerError, PromptHandler, RequestContext};
use crate::usage::change::{ChangeOptions, ChangePlan};
use crate::usage::profiles::{ProfileResolver, resolve_report};
use crate::usage::report::CompareTo;
use crate::usage::{
    Date, Granularity, NoProgress, SourceError, UsageFilters, UsageQuery, render_text,
};

pub const NAME: &str = "review_bedrock_usage";

const INSTRUCTIONS: &str = "Review this Amazon Bedrock usage report. It is compared with the \
previous period of the same length (compare_to: each breakdown entry has previous and change) \
and lists anomalies (days, models, users and metadata values whose tokens or errors jumped above \
median + k * MAD of their previous 14 days, with value, median, MAD and threshold). Start with \
what changed: the biggest rises and falls against the previous period, and entries that are new \
or gone. Then name every listed anomaly (day, what, metric) with its evidence, and say whether \
it looks like a one-off or a trend. Also look for cost risks: a model or user dominating token \
use, high error counts (throttling, validation), unused prompt caching where input tokens are \
large, and usage in unexpected regions or accounts. For each finding give the evidence (numbers \
from the report), the likely cause and a concrete next step. Say plainly if nothing looks \
unusual.";

pub(crate) struct ReviewPrompt {
    sources: Arc<dyn SourceSelector>,
    /// Resolves application inference profiles, as the report tool does.
    profiles: Option<Arc<dyn ProfileResolver>>,
}

impl ReviewPrompt {
    /// Reports of `sources`, their application inference profiles resolved by `profiles`.
    pub fn new(
        sources: Arc<dyn SourceSelector>,
        profiles: Option<Arc<dyn ProfileResolver>>,
    ) -> Self {
        Self { sources, profiles }
    }
}

#[async_trait]
impl PromptHandler for ReviewPrompt {
    fn definition(&self) -> Prompt {
        let arguments = [
            ("days", "Days to cover, ending today (default 30)"),
            ("model_id", "Only this model"),
            ("region", "Only this region"),
            ("user", "Only this caller (identity ARN)"),
        ]
        .into_iter()
        .map(|(name, description)| {
            PromptArgument::new(name)
                .with_description(description)
                .with_required(false)
        })
        .collect();
        Prompt::new(
            NAME,
            Some("Asks the model to review a Bedrock usage report for cost and usage anomalies"),
            Some(arguments),
        )
        .with_title("Review Bedrock usage")
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
            ..UsageFilters::default()
        };
        let query = UsageQuery::last_days(Date::today(), days, Granularity::Day)
            .map_err(|e| HandlerError::invalid_params(e.to_string()))?
            .with_filters(filters);
        let both = ChangeOptions {
            compare_to: Some(CompareTo::PreviousPeriod),
            anomalies: true,
        };
        let plan = ChangePlan::new(&query, both)
            .map_err(|e| HandlerError::invalid_params(e.to_string()))?;
        let source = self.sources.default_source();
        let mut report = match plan
            .collect(source.as_ref(), &NoProgress, ctx.cancellation())
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
        resolve_report(&mut report, self.profiles.as_deref()).await;
        let report_json =
            serde_json::to_string(&report).map_err(|e| HandlerError::internal(e.to_string()))?;
        let report_resource =
            ResourceContents::text(report_json, format!("bedrock-usage://report/{days}"))
                .with_mime_type("application/json");
        Ok(GetPromptResult::new(vec![
            PromptMessage::new_text(Role::User, INSTRUCTIONS),
            PromptMessage::new(Role::User, ContentBlock::resource(report_resource)),
            PromptMessage::new_text(Role::User, render_text(&report)),
        ])
        .with_description(format!("Review of Bedrock usage over the last {days} days")))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::tools::sources::FixedSource;
    use crate::usage::source::SampleSource;

    /// The prompt over the bundled sample.
    fn sample() -> ReviewPrompt {
        ReviewPrompt::new(Arc::new(FixedSource(Arc::new(SampleSource::new()))), None)
    }

    #[test]
    fn the_definition_keeps_its_wire_form() {
        let prompt = sample().definition();
        assert_eq!(
            serde_json::to_value(prompt).unwrap(),
            json!({
                "name": NAME,
                "title": "Review Bedrock usage",
                "description": "Asks the model to review a Bedrock usage report for cost and usage anomalies",
                "arguments": [
                    { "name": "days", "description": "Days to cover, ending today (default 30)", "required": false },
                    { "name": "model_id", "description": "Only this model", "required": false },
                    { "name": "region", "description": "Only this region", "required": false },
                    { "name": "user", "description": "Only this caller (identity ARN)", "required": false },
                ],
            }) as Value
        );
    }
}
