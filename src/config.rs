//! Command-line flags and environment variables shared by the server binaries, turned into a
//! validated [`TransportConfig`].

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

use crate::transport::TransportConfig;

/// How the HTTP endpoint is served. Every flag has an environment equivalent.
#[derive(Debug, Clone, Args)]
pub struct HttpArgs {
    /// Address to listen on. Keep it on loopback for local use.
    #[arg(long, env = "MCP_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Path of the MCP endpoint.
    #[arg(long, env = "MCP_ENDPOINT", default_value = "/mcp")]
    pub endpoint: String,

    /// Host names requests may address (DNS-rebinding guard); `*` allows any. Repeat or
    /// separate with commas. Default: localhost, 127.0.0.1, [::1].
    #[arg(
        long = "allowed-host",
        env = "MCP_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,

    /// Browser origins allowed to call (`https://app.example`); `*` allows any. Default:
    /// loopback origins only. Requests without an Origin header are not affected.
    #[arg(
        long = "allowed-origin",
        env = "MCP_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,

    /// Largest request body in bytes (413 beyond).
    #[arg(long, env = "MCP_MAX_BODY_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Seconds a legacy session lives after its last use.
    #[arg(long, env = "MCP_SESSION_TTL", default_value_t = 3600)]
    pub session_ttl: u64,

    /// `retry:` hint for SSE reconnection, in milliseconds.
    #[arg(long, env = "MCP_SSE_RETRY_MS", default_value_t = 1000)]
    pub sse_retry_ms: u64,

    /// Close SSE connections after this many seconds (clients resume with Last-Event-ID);
    /// 0 keeps them open.
    #[arg(long, env = "MCP_MAX_STREAM_SECS", default_value_t = 0)]
    pub max_stream_secs: u64,

    /// Seconds between keep-alive comments on idle SSE streams.
    #[arg(long, env = "MCP_KEEP_ALIVE_SECS", default_value_t = 15)]
    pub keep_alive_secs: u64,

    /// Secret that seals requestState (2026-07-28); instances behind one URL must share it.
    /// Default: a random key per process.
    #[arg(long, env = "MCP_REQUEST_STATE_KEY", hide_env_values = true)]
    pub request_state_key: Option<String>,
}

/// A configuration that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("--endpoint must start with '/', got {0:?}")]
    Endpoint(String),
    #[error("--session-ttl must be at least 10 seconds")]
    SessionTtl,
    #[error("--keep-alive-secs must be at least 1")]
    KeepAlive,
    #[error("--request-state-key must be at least 32 bytes")]
    StateKey,
    #[error("--max-body-bytes must be at least 1024")]
    BodyLimit,
}

impl HttpArgs {
    /// Checks the flags and builds the transport configuration.
    pub fn transport_config(&self) -> Result<TransportConfig, ConfigError> {
        if !self.endpoint.starts_with('/') {
            return Err(ConfigError::Endpoint(self.endpoint.clone()));
        }
        if self.session_ttl < 10 {
            return Err(ConfigError::SessionTtl);
        }
        if self.keep_alive_secs == 0 {
            return Err(ConfigError::KeepAlive);
        }
        if self.max_body_bytes < 1024 {
            return Err(ConfigError::BodyLimit);
        }
        let defaults = TransportConfig::default();
        Ok(TransportConfig {
            endpoint: self.endpoint.clone(),
            allowed_hosts: if self.allowed_hosts.is_empty() {
                defaults.allowed_hosts
            } else {
                self.allowed_hosts.clone()
            },
            allowed_origins: self.allowed_origins.clone(),
            max_body_bytes: self.max_body_bytes,
            session_ttl: Duration::from_secs(self.session_ttl),
            sse_retry: Duration::from_millis(self.sse_retry_ms),
            max_stream_duration: (self.max_stream_secs > 0)
                .then(|| Duration::from_secs(self.max_stream_secs)),
            keep_alive: Duration::from_secs(self.keep_alive_secs),
            reply_timeout: defaults.reply_timeout,
        })
    }

    /// The requestState key, if one was given and is long enough.
    pub fn state_key(&self) -> Result<Option<Vec<u8>>, ConfigError> {
        match &self.request_state_key {
            None => Ok(None),
            Some(key) if key.len() >= 32 => Ok(Some(key.as_bytes().to_vec())),
            Some(_) => Err(ConfigError::StateKey),
        }
    }
}

/// Logs to stderr; `RUST_LOG` sets the level (default `info`). `MCP_LOG_FORMAT=json` writes
/// one JSON object per line, which CloudWatch Logs Insights can query field by field; the
/// Lambda door turns it on by default.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let json = match std::env::var("MCP_LOG_FORMAT") {
        Ok(format) => format.eq_ignore_ascii_case("json"),
        Err(_) => crate::lambda::detected(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init()
    } else {
        builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init()
    };
}
