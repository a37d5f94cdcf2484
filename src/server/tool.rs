//! Tools: what a server can be asked to do.

use async_trait::async_trait;
use rmcp::model::{CallToolResult, JsonObject, Tool};

use super::context::RequestContext;
use super::error::HandlerError;

/// One tool. Implementations parse their arguments, do the work and map failures: a failure
/// the model should see is a result with `isError: true`; a malformed call is
/// [`HandlerError::invalid_params`].
#[async_trait]
pub trait ToolHandler: Send + Sync + 'static {
    /// The tool as `tools/list` shows it.
    fn definition(&self) -> Tool;

    /// Runs the tool. A tool that needs input from the client asks through
    /// [`RequestContext::input`], which works in both protocol eras.
    async fn call(
        &self,
        ctx: &RequestContext,
        arguments: JsonObject,
    ) -> Result<CallToolResult, HandlerError>;
}
