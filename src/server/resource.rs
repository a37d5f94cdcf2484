//! Resources: what a server lets clients read.

use async_trait::async_trait;
use rmcp::model::{ReadResourceResult, Resource, ResourceTemplate};

use super::context::RequestContext;
use super::error::HandlerError;

/// The resources of a server: a fixed list, templates, and reading by URI.
#[async_trait]
pub trait ResourceProvider: Send + Sync + 'static {
    /// Concrete resources, as `resources/list` shows them.
    fn resources(&self) -> Vec<Resource>;

    /// URI templates, as `resources/templates/list` shows them.
    fn templates(&self) -> Vec<ResourceTemplate>;

    /// Reads one resource; an unknown URI is [`HandlerError::resource_not_found`].
    async fn read(
        &self,
        ctx: &RequestContext,
        uri: &str,
    ) -> Result<ReadResourceResult, HandlerError>;
}
