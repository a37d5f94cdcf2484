//! The rmcp peer of the benchmark: rmcp 3.11's `StreamableHttpService` (both protocol eras,
//! legacy sessions in `LocalSessionManager`) behind `axum::serve` with TCP_NODELAY on every
//! accepted socket. Two tools, as on every peer:
//!
//! - `test_simple_text`: one line of text;
//! - `test_long_operation`: `steps` progress notifications (default 100, no sleeps), then a
//!   one-line result.
//!
//! Usage: `rmcp-peer --bind 127.0.0.1:PORT`; prints `listening on http://ADDR/mcp`.

use std::sync::Arc;

use axum::serve::ListenerExt;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ProgressNotificationParam, ServerCapabilities,
    ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::json;

#[derive(Clone)]
struct Bench {
    tools: Arc<Vec<Tool>>,
}

impl Bench {
    fn new() -> Self {
        let schema = |v: serde_json::Value| match v {
            serde_json::Value::Object(map) => Arc::new(map),
            _ => unreachable!("schemas are objects"),
        };
        Self {
            tools: Arc::new(vec![
                Tool::new(
                    "test_simple_text",
                    "Tests simple text content response",
                    schema(json!({"type": "object", "properties": {}})),
                ),
                Tool::new(
                    "test_long_operation",
                    "Sends `steps` progress notifications, then answers",
                    schema(json!({
                        "type": "object",
                        "properties": {
                            "steps": {"type": "integer"},
                            "interval_ms": {"type": "integer"}
                        }
                    })),
                ),
            ]),
        }
    }
}

impl ServerHandler for Bench {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("rmcp-peer", "0.0.0"))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.tools.as_ref().clone()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        match request.name.as_ref() {
            "test_simple_text" => Ok(CallToolResult::success(vec![ContentBlock::text(
                "This is a simple text response for testing.",
            )])
            .into()),
            "test_long_operation" => {
                let steps = request
                    .arguments
                    .as_ref()
                    .and_then(|a| a.get("steps"))
                    .and_then(serde_json::Value::as_u64)
                    .unwrap_or(100)
                    .clamp(1, 1000);
                if let Some(token) = context.meta.get_progress_token() {
                    for step in 1..=steps {
                        let param = ProgressNotificationParam::new(token.clone(), step as f64)
                            .with_total(steps as f64)
                            .with_message(format!("step {step} of {steps}"));
                        context
                            .peer
                            .notify_progress(param)
                            .await
                            .map_err(|e| McpError::internal_error(e.to_string(), None))?;
                    }
                }
                Ok(CallToolResult::success(vec![ContentBlock::text(format!(
                    "completed {steps} steps"
                ))])
                .into())
            }
            other => Err(McpError::invalid_params(
                format!("unknown tool {other}"),
                None,
            )),
        }
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut bind = "127.0.0.1:8000".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bind" => bind = args.next().expect("--bind needs an address"),
            other => panic!("unknown argument {other}"),
        }
    }
    let ct = tokio_util::sync::CancellationToken::new();
    let service = StreamableHttpService::new(
        || Ok(Bench::new()),
        LocalSessionManager::default().into(),
        StreamableHttpServerConfig::default().with_cancellation_token(ct.child_token()),
    );
    let router = axum::Router::new().nest_service("/mcp", service);
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    println!("listening on http://{}/mcp", listener.local_addr()?);
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
            ct.cancel();
        })
        .await
}
