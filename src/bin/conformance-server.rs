//! Serves the fixtures of the official MCP conformance suite on the product's own stack, on a
//! local port or, inside Lambda, to the Lambda Runtime API.

use anyhow::Context;
use bedrock_usage_mcp::config::{HttpArgs, init_tracing};
use bedrock_usage_mcp::store::StoreArgs;
use bedrock_usage_mcp::transport::McpService;
use bedrock_usage_mcp::{fixtures, lambda, serve};
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
    let mut config = cli.http.transport_config()?;
    let server = fixtures::conformance_server(cli.http.state_key()?);
    let store = cli
        .store
        .build()
        .await
        .context("setting up the session store")?;
    // A stream read on another instance than its writer's only ends when its last event
    // arrives; if the writer died, a time limit must end it, so shared stores get one.
    if store.poll_interval().is_some() && config.max_stream_duration.is_none() {
        config.max_stream_duration = Some(std::time::Duration::from_secs(240));
        tracing::info!(
            "shared session store: SSE connections close after 240 s (--max-stream-secs)"
        );
    }
    let service = McpService::new(server, store, config);
    if lambda::detected() {
        tracing::info!("serving Lambda invocations (streaming)");
        return lambda::run(service.router())
            .await
            .map_err(|e| anyhow::anyhow!("Lambda runtime: {e}"));
    }
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
