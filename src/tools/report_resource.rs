//! The report as a resource: `bedrock-usage://report/{days}` reads as the JSON report of the
//! last `days` days.

use std::sync::Arc;

use async_trait::async_trait;
use rmcp::model::{ReadResourceResult, Resource, ResourceContents, ResourceTemplate};

use super::sources::SourceSelector;
use crate::server::{HandlerError, RequestContext, ResourceProvider};
use crate::usage::profiles::{ProfileResolver, resolve_report};
use crate::usage::{Date, Granularity, NoProgress, SourceError, UsageQuery};

pub(crate) const TEMPLATE: &str = "bedrock-usage://report/{days}";
const PREFIX: &str = "bedrock-usage://report/";

pub(crate) struct ReportResources {
    sources: Arc<dyn SourceSelector>,
    /// Resolves application inference profiles, as the report tool does.
    profiles: Option<Arc<dyn ProfileResolver>>,
}

impl ReportResources {
    /// Reports of `sources`, their application inference profiles resolved by `profiles`.
    pub fn new(
        sources: Arc<dyn SourceSelector>,
        profiles: Option<Arc<dyn ProfileResolver>>,
    ) -> Self {
        Self { sources, profiles }
    }
}

/// `bedrock-usage://report/7` -> 7, for 1 to 365 days.
pub(crate) fn days_of(uri: &str) -> Option<u32> {
    let days: u32 = uri.strip_prefix(PREFIX)?.parse().ok()?;
    (1..=super::arguments::MAX_DAYS)
        .contains(&days)
        .then_some(days)
}

#[async_trait]
impl ResourceProvider for ReportResources {
    fn resources(&self) -> Vec<Resource> {
        [(7, "Last 7 days"), (30, "Last 30 days")]
            .into_iter()
            .map(|(days, title)| {
                Resource::new(format!("{PREFIX}{days}"), format!("bedrock-usage-{days}d"))
                    .with_title(format!("Bedrock usage report: {title}"))
                    .with_description(format!("Bedrock usage of the last {days} days as JSON"))
                    .with_mime_type("application/json")
            })
            .collect()
    }

    fn templates(&self) -> Vec<ResourceTemplate> {
        vec![
            ResourceTemplate::new(TEMPLATE, "bedrock-usage-report")
                .with_title("Bedrock usage report")
                .with_description(
                    "Bedrock usage of the last {days} days (1 to 365) as JSON, in the get_bedrock_usage_report contract",
                )
                .with_mime_type("application/json"),
        ]
    }

    async fn read(
        &self,
        ctx: &RequestContext,
        uri: &str,
    ) -> Result<ReadResourceResult, HandlerError> {
        let days = days_of(uri).ok_or_else(|| HandlerError::resource_not_found(uri))?;
        let query = UsageQuery::last_days(Date::today(), days, Granularity::Day)
            .map_err(|e| HandlerError::invalid_params(e.to_string()))?;
        let source = self.sources.default_source();
        let mut report = match source
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
        resolve_report(&mut report, self.profiles.as_deref()).await;
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| HandlerError::internal(e.to_string()))?;
        Ok(ReadResourceResult::new(vec![
            ResourceContents::text(text, uri).with_mime_type("application/json"),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::tools::sources::FixedSource;
    use crate::usage::source::SampleSource;

    #[test]
    fn the_listings_keep_their_wire_form() {
        let resources =
            ReportResources::new(Arc::new(FixedSource(Arc::new(SampleSource::new()))), None);
        assert_eq!(
            serde_json::to_value(resources.resources()).unwrap(),
            json!([7, 30].map(|days| json!({
                "uri": format!("bedrock-usage://report/{days}"),
                "name": format!("bedrock-usage-{days}d"),
                "title": format!("Bedrock usage report: Last {days} days"),
                "description": format!("Bedrock usage of the last {days} days as JSON"),
                "mimeType": "application/json",
            })))
        );
        assert_eq!(
            serde_json::to_value(resources.templates()).unwrap(),
            json!([{
                "uriTemplate": TEMPLATE,
                "name": "bedrock-usage-report",
                "title": "Bedrock usage report",
                "description": "Bedrock usage of the last {days} days (1 to 365) as JSON, in the get_bedrock_usage_report contract",
                "mimeType": "application/json",
            }])
        );
    }
}
