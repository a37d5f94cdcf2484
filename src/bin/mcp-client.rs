//! `mcp-client`: talk to an MCP endpoint from a terminal or a pipeline.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use std::sync::Arc;

use bedrock_usage_mcp::client::proxy::run_proxy;
use bedrock_usage_mcp::client::{
    BearerAuth, ClientCredentials, ClientOptions, EXECUTE_API, Incoming, McpClient, SigV4Signer,
    run_smoke,
};
use bedrock_usage_mcp::config::init_tracing;
use clap::{Parser, Subcommand};
use serde_json::{Value, json};

/// An MCP client for Streamable HTTP endpoints (both protocol eras).
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// The MCP endpoint, e.g. the `mcp_url` Terraform outputs.
    #[arg(long, env = "MCP_URL", global = true)]
    url: Option<String>,
    /// An extra header `Name: value` on every request (repeatable), e.g. `x-api-key: …`.
    #[arg(long = "header", value_name = "NAME:VALUE", global = true)]
    headers: Vec<String>,
    /// Protocol version: a legacy one (session) or 2026-07-28 (stateless).
    #[arg(long, default_value = "2025-11-25", global = true)]
    protocol: String,
    /// Seconds to wait for an answer to start arriving.
    #[arg(long, default_value_t = 120, global = true)]
    timeout: u64,
    /// Sign every request with SigV4 (endpoints with IAM authorization), with credentials
    /// from the standard AWS chain (environment, profile, SSO, roles).
    #[arg(long, global = true)]
    sigv4: bool,
    /// The region to sign for (default: AWS_REGION or the profile's, else the one in an
    /// execute-api URL). Give it before the command: `report --region` filters the report.
    #[arg(long, requires = "sigv4")]
    region: Option<String>,
    /// The service name to sign for.
    #[arg(long, default_value = EXECUTE_API)]
    aws_service: String,
    /// A bearer token for an OAuth-protected endpoint. Prefer the environment variable or
    /// --bearer-token-file: other users of the machine can read a command line.
    #[arg(long, env = "MCP_BEARER_TOKEN", hide_env_values = true, global = true)]
    bearer_token: Option<String>,
    /// A file whose content is the bearer token (surrounding whitespace is ignored).
    #[arg(
        long,
        env = "MCP_BEARER_TOKEN_FILE",
        value_name = "FILE",
        global = true
    )]
    bearer_token_file: Option<PathBuf>,
    /// OAuth client credentials (for pipelines): the client id. A token is obtained with the
    /// client-credentials grant from the token endpoint the server's metadata names, cached
    /// until shortly before it expires, and obtained again when the server answers 401.
    #[arg(long, env = "MCP_OAUTH_CLIENT_ID", value_name = "ID", global = true)]
    oauth_client_id: Option<String>,
    /// The client secret for --oauth-client-id. Prefer the environment variable.
    #[arg(
        long,
        env = "MCP_OAUTH_CLIENT_SECRET",
        hide_env_values = true,
        global = true
    )]
    oauth_client_secret: Option<String>,
    /// The scope to ask for with --oauth-client-id (default: the scope the server's 401
    /// challenge names).
    #[arg(long, env = "MCP_OAUTH_SCOPE", value_name = "SCOPE", global = true)]
    oauth_scope: Option<String>,
    /// The token endpoint for --oauth-client-id (default: discovered from the server's
    /// Protected Resource Metadata and its authorization server's metadata).
    #[arg(
        long,
        env = "MCP_OAUTH_TOKEN_ENDPOINT",
        value_name = "URL",
        global = true
    )]
    oauth_token_endpoint: Option<String>,
    #[command(subcommand)]
    command: Command,
}

/// Parsed once per run, so `Report`'s many flags cost nothing worth boxing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// List the server's tools.
    Tools,
    /// Call a tool with JSON arguments and print its result as JSON.
    Call {
        name: String,
        #[arg(default_value = "{}")]
        arguments: String,
    },
    /// Run the Bedrock usage report (table by default, --json for scripts).
    Report {
        #[arg(long)]
        days: Option<u32>,
        #[arg(long)]
        start: Option<String>,
        #[arg(long)]
        end: Option<String>,
        #[arg(long)]
        region: Option<String>,
        #[arg(long)]
        model_id: Option<String>,
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        granularity: Option<String>,
        #[arg(long)]
        top_n: Option<u32>,
        /// Only records that ran in this region (inferenceRegion).
        #[arg(long)]
        inference_region: Option<String>,
        /// Only calls made through this application inference profile (its ARN).
        #[arg(long, value_name = "ARN")]
        inference_profile: Option<String>,
        /// Only records whose requestMetadata has KEY=VALUE (repeatable).
        #[arg(long, value_name = "KEY=VALUE")]
        metadata: Vec<String>,
        /// requestMetadata keys to break usage down by (comma-separated), e.g. team,project.
        #[arg(long, value_delimiter = ',')]
        group_by_metadata: Option<Vec<String>>,
        /// Compare with the period of the same length just before: previous_period.
        #[arg(long, value_name = "PERIOD")]
        compare_to: Option<String>,
        /// List the days, models, users and metadata values whose tokens or errors jumped
        /// against their previous 14 days.
        #[arg(long)]
        anomalies: bool,
        /// Print the structured report as JSON instead of the table.
        #[arg(long)]
        json: bool,
        /// Run the report as an MCP task: create it, then poll it (no request held open
        /// between polls), showing its status. Each poll waits the server's poll interval
        /// (100 ms to 10 s).
        #[arg(long)]
        task: bool,
        /// With --task: give up (exit non-zero) when the task is still running after this
        /// many seconds of polling.
        #[arg(long, value_name = "SECS", default_value_t = 3600)]
        task_timeout: u64,
    },
    /// Resume a cut SSE stream of a legacy session and print what it still carries.
    Resume {
        #[arg(long)]
        session: String,
        #[arg(long)]
        last_event_id: String,
    },
    /// End a legacy session (DELETE).
    Terminate {
        #[arg(long)]
        session: String,
    },
    /// Serve MCP on stdin/stdout for a host that launches local commands, forwarding every
    /// message to --url (with --header or --sigv4), as mcp-proxy-for-aws does.
    Proxy,
    /// End-to-end check of a server; exits non-zero on any failure.
    Smoke {
        /// The tool to call (it must report progress when asked).
        #[arg(long, default_value = "get_bedrock_usage_report")]
        tool: String,
        #[arg(long, default_value = r#"{"days": 7}"#)]
        arguments: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(code) => code,
        // `mcp-client tools | head`: the reader left; that is not our failure.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Writes a line to stdout, reporting a closed pipe as an error instead of panicking.
fn out(line: impl std::fmt::Display) -> std::io::Result<()> {
    writeln!(std::io::stdout().lock(), "{line}")
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let headers = cli
        .headers
        .iter()
        .map(|h| {
            h.split_once(':')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .with_context(|| format!("--header {h:?} is not NAME:VALUE"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let Some(url) = cli.url.clone() else {
        bail!("--url (or MCP_URL) is required: the MCP endpoint, e.g. http://127.0.0.1:8080/mcp");
    };
    let signer = if cli.sigv4 {
        let signer = SigV4Signer::from_env(cli.region.clone(), &cli.aws_service, &url).await?;
        Some(Arc::new(signer))
    } else {
        None
    };
    let bearer = bearer_auth(&cli)?.map(Arc::new);
    if bearer.is_some() && cli.sigv4 {
        bail!("--sigv4 and a bearer token both need the Authorization header: choose one");
    }
    let options = ClientOptions {
        url,
        headers,
        protocol: cli.protocol.clone(),
        timeout: Duration::from_secs(cli.timeout),
        signer,
        bearer,
    };
    match cli.command {
        Command::Proxy => {
            init_tracing();
            run_proxy(
                options,
                tokio::io::BufReader::new(tokio::io::stdin()),
                tokio::io::stdout(),
            )
            .await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Smoke { tool, arguments } => {
            let arguments: Value =
                serde_json::from_str(&arguments).context("--arguments is not JSON")?;
            let checks = run_smoke(&options, &tool, &arguments).await;
            let mut failed = 0;
            for check in &checks {
                let mark = if check.passed { "PASS" } else { "FAIL" };
                failed += usize::from(!check.passed);
                out(format_args!("{mark}  {:<40} {}", check.name, check.detail))?;
            }
            out(format_args!(
                "{} passed, {failed} failed",
                checks.len() - failed
            ))?;
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Resume {
            session,
            last_event_id,
        } => {
            let mut client = McpClient::new(options)?;
            client.use_session(&session, &cli.protocol);
            let answer = client.resume(&last_event_id, &mut print_incoming).await?;
            if let Some(answer) = answer {
                out(serde_json::to_string_pretty(&answer)?)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Terminate { session } => {
            let mut client = McpClient::new(options)?;
            client.use_session(&session, &cli.protocol);
            let status = client.terminate().await?;
            out(format_args!("DELETE answered {status}"))?;
            Ok(if (200..300).contains(&status) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Tools => {
            let mut client = connected(options).await?;
            let result = client
                .request("tools/list", json!({}), &mut print_incoming)
                .await?;
            for tool in result["tools"].as_array().into_iter().flatten() {
                out(format_args!(
                    "{:<40} {}",
                    tool["name"].as_str().unwrap_or("?"),
                    tool["description"]
                        .as_str()
                        .unwrap_or("")
                        .lines()
                        .next()
                        .unwrap_or("")
                ))?;
            }
            end(&mut client).await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Call { name, arguments } => {
            let arguments: Value =
                serde_json::from_str(&arguments).context("arguments are not JSON")?;
            let mut client = connected(options).await?;
            let params = json!({ "name": name, "arguments": arguments, "_meta": { "progressToken": "cli" } });
            let result = client
                .request("tools/call", params, &mut progress_bar)
                .await;
            clear_progress();
            end(&mut client).await;
            let result = result?;
            out(serde_json::to_string_pretty(&result)?)?;
            Ok(if result["isError"] == json!(true) {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Report {
            days,
            start,
            end: until,
            region,
            model_id,
            user,
            granularity,
            top_n,
            inference_region,
            inference_profile,
            metadata,
            group_by_metadata,
            compare_to,
            anomalies,
            json,
            task,
            task_timeout,
        } => {
            let mut filters = serde_json::Map::new();
            for pair in metadata {
                let Some((key, value)) = pair.split_once('=') else {
                    bail!("--metadata takes KEY=VALUE, got {pair:?}");
                };
                filters.insert(key.to_owned(), Value::from(value));
            }
            let mut arguments = serde_json::Map::new();
            let mut set = |key: &str, value: Option<Value>| {
                if let Some(value) = value {
                    arguments.insert(key.to_owned(), value);
                }
            };
            set("days", days.map(Value::from));
            set("start", start.map(Value::from));
            set("end", until.map(Value::from));
            set("region", region.map(Value::from));
            set("model_id", model_id.map(Value::from));
            set("user", user.map(Value::from));
            set("granularity", granularity.map(Value::from));
            set("top_n", top_n.map(Value::from));
            set("inference_region", inference_region.map(Value::from));
            set("inference_profile", inference_profile.map(Value::from));
            set(
                "metadata",
                (!filters.is_empty()).then_some(Value::Object(filters)),
            );
            set("group_by_metadata", group_by_metadata.map(Value::from));
            set("compare_to", compare_to.map(Value::from));
            set("anomalies", anomalies.then_some(Value::Bool(true)));
            let mut client = connected(options).await?;
            let result = if task {
                let tool = "get_bedrock_usage_report";
                let arguments = Value::Object(arguments);
                let max_wait = Duration::from_secs(task_timeout);
                let called = client
                    .call_as_task(tool, arguments, max_wait, &mut task_status)
                    .await;
                called.map_err(anyhow::Error::from)
            } else {
                let params = json!({ "name": "get_bedrock_usage_report", "arguments": arguments,
                                     "_meta": { "progressToken": "report" } });
                let called = client
                    .request("tools/call", params, &mut progress_bar)
                    .await;
                called.map_err(anyhow::Error::from)
            };
            clear_progress();
            end(&mut client).await;
            let result = result?;
            if result["isError"] == json!(true) {
                bail!("the report failed: {}", text_of(&result));
            }
            if json {
                out(serde_json::to_string_pretty(&result["structuredContent"])?)?;
            } else {
                out(text_of(&result))?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The bearer token source the flags ask for: a token (given or in a file), client
/// credentials, or none.
fn bearer_auth(cli: &Cli) -> anyhow::Result<Option<BearerAuth>> {
    let from_file = match &cli.bearer_token_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading --bearer-token-file {}", path.display()))?,
        ),
        None => None,
    };
    let token = match (cli.bearer_token.clone(), from_file) {
        (Some(_), Some(_)) => bail!("give --bearer-token or --bearer-token-file, not both"),
        (Some(token), None) | (None, Some(token)) => Some(token),
        (None, None) => None,
    };
    match (token, &cli.oauth_client_id) {
        (Some(_), Some(_)) => {
            bail!("give a bearer token or --oauth-client-id, not both")
        }
        (Some(token), None) => Ok(Some(BearerAuth::fixed(&token)?)),
        (None, Some(client_id)) => {
            let Some(client_secret) = cli.oauth_client_secret.clone() else {
                bail!("--oauth-client-id needs its secret: MCP_OAUTH_CLIENT_SECRET");
            };
            let credentials = ClientCredentials {
                client_id: client_id.clone(),
                client_secret,
                scope: cli.oauth_scope.clone(),
                token_endpoint: cli.oauth_token_endpoint.clone(),
            };
            Ok(Some(BearerAuth::client_credentials(credentials)?))
        }
        (None, None) => Ok(None),
    }
}

async fn connected(options: ClientOptions) -> anyhow::Result<McpClient> {
    let mut client = McpClient::new(options)?;
    client.connect().await.context("connecting")?;
    Ok(client)
}

/// Ends a legacy session politely; a failure here changes nothing for the user.
async fn end(client: &mut McpClient) {
    if client.session_id().is_some() {
        let _ = client.terminate().await;
    }
}

fn text_of(result: &Value) -> String {
    result["content"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

fn print_incoming(incoming: Incoming) {
    match incoming {
        Incoming::Notification(n) => eprintln!("{n}"),
        Incoming::ServerRequest(r) => eprintln!("declined server request {}", r["method"]),
    }
}

/// A one-line progress bar on stderr (only on a terminal; pipelines get a quiet stderr).
fn progress_bar(incoming: Incoming) {
    let Incoming::Notification(n) = incoming else {
        return;
    };
    if !std::io::stderr().is_terminal() {
        return;
    }
    let params = &n["params"];
    match n["method"].as_str() {
        Some("notifications/progress") => {
            let progress = params["progress"].as_f64().unwrap_or(0.0);
            let message = params["message"].as_str().unwrap_or("");
            let line = match params["total"].as_f64().filter(|t| *t > 0.0) {
                Some(total) => {
                    let fraction = (progress / total).clamp(0.0, 1.0);
                    let filled = (fraction * 30.0).round() as usize;
                    format!(
                        "[{}{}] {:>3.0}% {message}",
                        "#".repeat(filled),
                        " ".repeat(30 - filled),
                        fraction * 100.0
                    )
                }
                None => format!("[{progress}] {message}"),
            };
            eprint!("\r\x1b[2K{line}");
            let _ = std::io::stderr().flush();
        }
        Some("notifications/message") => {
            eprintln!(
                "\r\x1b[2K[{}] {}",
                params["level"].as_str().unwrap_or("log"),
                params["data"]
            );
        }
        _ => {}
    }
}

/// A report task's status on stderr (a terminal's progress line), as polls see it.
fn task_status(status: bedrock_usage_mcp::client::TaskStatus<'_>) {
    if std::io::stderr().is_terminal() {
        let message = status.message.unwrap_or("");
        eprint!("\r\x1b[2Ktask {}: {message}", status.status);
    }
}

fn clear_progress() {
    if std::io::stderr().is_terminal() {
        eprint!("\r\x1b[2K");
    }
}
