//! Serves the fixtures of the official MCP conformance suite on the product's own stack.

use std::sync::Arc;

use anyhow::Context;
use bedrock_usage_mcp::config::{HttpArgs, init_tracing};
use bedrock_usage_mcp::store::MemoryStore;
use bedrock_usage_mcp::transport::McpService;
use bedrock_usage_mcp::{fixtures, serve};
use clap::Parser;

/// MCP conformance fixture server (both protocol eras on one endpoint).
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    http: HttpArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_tracing();
    let cli = Cli::parse();
    let config = cli.http.transport_config()?;
    let server = fixtures::conformance_server(cli.http.state_key()?);
    let service = McpService::new(server, Arc::new(MemoryStore::new()), config);
    let listener = serve::bind(cli.http.bind)
        .await
        .with_context(|| format!("binding {}", cli.http.bind))?;
    let addr = serve::local_addr(&listener)?;
    // One machine-readable line on stdout, so scripts and tests can bind port 0.
    println!("listening on http://{addr}{}", cli.http.endpoint);
    tracing::info!(%addr, "conformance server listening");
    serve::serve(listener, service.router(), serve::shutdown_signal()).await?;
    Ok(())
}
