//! Argument completion (`completion/complete`).

use async_trait::async_trait;
use rmcp::model::{CompleteRequestParams, CompletionInfo};

use super::context::RequestContext;
use super::error::HandlerError;

/// Suggests values for a prompt's or a resource template's arguments.
#[async_trait]
pub trait Completer: Send + Sync + 'static {
    async fn complete(
        &self,
        ctx: &RequestContext,
        params: &CompleteRequestParams,
    ) -> Result<CompletionInfo, HandlerError>;
}
