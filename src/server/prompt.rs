//! Prompts: message templates a client can ask for.

use std::collections::BTreeMap;

use async_trait::async_trait;
use rmcp::model::{GetPromptResult, Prompt};

use super::context::RequestContext;
use super::error::HandlerError;

/// One prompt.
#[async_trait]
pub trait PromptHandler: Send + Sync + 'static {
    /// The prompt as `prompts/list` shows it.
    fn definition(&self) -> Prompt;

    /// Renders the prompt with the client's arguments.
    async fn get(
        &self,
        ctx: &RequestContext,
        arguments: BTreeMap<String, String>,
    ) -> Result<GetPromptResult, HandlerError>;
}
