//! The Bedrock usage MCP server's offer, as thin glue over the usage domain: the report tool,
//! the report resource template, the review prompt and argument completion.

mod arguments;
mod completion;
mod progress;
mod report_resource;
mod report_task;
mod report_tool;
mod review_prompt;
mod sources;

pub(crate) use report_tool::ReportTool;
pub use sources::{FixedSource, SourceSelector};

use std::sync::Arc;

use crate::server::{CacheHints, McpServer};
use crate::usage::cost::CostEstimator;
use crate::usage::profiles::ProfileResolver;

const INSTRUCTIONS: &str = "This server reports Amazon Bedrock usage from model-invocation \
logs. Call get_bedrock_usage_report for requests, tokens and errors by day, region, model, \
user and operation; read bedrock-usage://report/{days} for the same report as a resource; use \
the review_bedrock_usage prompt to look for cost and usage anomalies.";

/// The product server over `sources`. `state_key` seals `requestState` (shared by every
/// instance behind one URL).
pub fn usage_server(
    sources: Arc<dyn SourceSelector>,
    costs: Option<Arc<CostEstimator>>,
    state_key: Option<Vec<u8>>,
) -> McpServer {
    usage_server_with(sources, costs, state_key, Vec::new(), None)
}

/// [`usage_server`] whose report tool breaks usage down by the `requestMetadata` keys
/// `group_by_metadata` when a call names none (`--group-by-metadata`; checked by
/// [`crate::usage::query::check_metadata_keys`]) and resolves application inference profiles
/// through `profiles` (none: they are shown by ARN).
pub fn usage_server_with(
    sources: Arc<dyn SourceSelector>,
    costs: Option<Arc<CostEstimator>>,
    state_key: Option<Vec<u8>>,
    group_by_metadata: Vec<String>,
    profiles: Option<Arc<dyn ProfileResolver>>,
) -> McpServer {
    let mut builder = McpServer::builder("bedrock-usage-mcp", env!("CARGO_PKG_VERSION"))
        .title("Amazon Bedrock usage")
        .instructions(INSTRUCTIONS)
        .tool(
            ReportTool::new(sources.clone())
                .with_costs(costs)
                .with_default_group_by_metadata(group_by_metadata)
                .with_profiles(profiles.clone()),
        )
        .resources(report_resource::ReportResources::new(
            sources.clone(),
            profiles.clone(),
        ))
        .prompt(review_prompt::ReviewPrompt::new(
            sources.clone(),
            profiles.clone(),
        ))
        .completer(completion::UsageCompleter::new(sources))
        // Reports depend on the caller's access; lists are the same for everyone.
        .cache_hints(CacheHints {
            ttl_ms: 300_000,
            public: false,
        });
    if let Some(key) = state_key {
        builder = builder.request_state_key(key);
    }
    builder.build()
}
