//! Serves the fixtures of the official MCP conformance suite on the product's own stack, on a
//! local port or, inside Lambda, to the Lambda Runtime API.

use bedrock_usage_mcp::config::{HttpArgs, init_tracing};
use bedrock_usage_mcp::serve;
use bedrock_usage_mcp::store::StoreArgs;
use clap::Parser;

/// MCP conformance fixture server (both protocol eras on one endpoint).
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    http: HttpArgs,
    #[command(flatten)]
    store: StoreArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_tracing();
    let cli = Cli::parse();
    let server = mcp_conformance::conformance_server(cli.http.state_key()?);
    serve::run(server, &cli.http, &cli.store).await?;
    Ok(())
}
