//! Command-line flags and environment variables shared by the server binaries, turned into a
//! validated [`TransportConfig`].

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, ValueEnum};

mod limits;
mod oauth;
mod scan_cost;

pub use limits::ConnectionLimits;
pub(crate) use limits::MAX_CONNECTIONS;
pub use oauth::OAuthArgs;
pub use scan_cost::ScanCostArgs;

use crate::auth::OAuthSettings;
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
    /// separate with commas. Default: localhost, 127.0.0.1, `[::1]`.
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

    /// Seconds of the lease an instance answering a POST over SSE keeps on its stream (renewed
    /// every third of it, one store write each). A stream whose writer died ends this long
    /// (plus 1 s for clock skew) after its last renewal, with a JSON-RPC error (-32603) for
    /// the requests it had not answered.
    #[arg(long, env = "MCP_STREAM_LEASE_SECS", default_value_t = 30)]
    pub stream_lease_secs: u64,

    /// Whether hosts may hold the standalone SSE stream (a legacy GET, a 2026-07-28
    /// `subscriptions/listen`). `off` answers a GET without `Last-Event-ID` with 405 and
    /// promises no list-changed notifications or resource subscriptions; resuming a stream
    /// still works. Default: `off` on Lambda, where an open stream is a billed invocation
    /// waiting for nothing this server sends, `on` elsewhere.
    #[arg(long, env = "MCP_STANDALONE_STREAM", value_enum)]
    pub standalone_stream: Option<Switch>,

    /// Seconds between keep-alive comments on idle SSE streams.
    #[arg(long, env = "MCP_KEEP_ALIVE_SECS", default_value_t = 15)]
    pub keep_alive_secs: u64,

    /// Most connections served at once (local listener); further clients wait until one
    /// closes. Keep it below the file-descriptor limit (`ulimit -n`).
    #[arg(long, env = "MCP_MAX_CONNECTIONS", default_value_t = 512)]
    pub max_connections: usize,

    /// Seconds a client has to send a complete request head, also the longest a kept-alive
    /// connection waits for its next request (local listener).
    #[arg(long, env = "MCP_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,

    /// Close a connection on which no byte moved either way for this many seconds (local
    /// listener). Must exceed --keep-alive-secs, or idle SSE streams would be cut.
    #[arg(long, env = "MCP_IDLE_TIMEOUT_SECS", default_value_t = 300)]
    pub idle_timeout_secs: u64,

    /// Largest request head (request line and headers) in bytes; 431 beyond (local listener;
    /// API Gateway has its own limit of about 10 KB).
    #[arg(long, env = "MCP_MAX_HEADER_BYTES", default_value_t = 16 * 1024)]
    pub max_header_bytes: usize,

    /// Secret that seals requestState (2026-07-28); instances behind one URL must share it.
    /// Default: with the DynamoDB store, a key kept in the table (created once by the first
    /// instance, read by every other); with the memory store, a random key per process.
    #[arg(long, env = "MCP_REQUEST_STATE_KEY", hide_env_values = true)]
    pub request_state_key: Option<String>,

    #[command(flatten)]
    pub oauth: OAuthArgs,
}

/// A feature turned on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
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
    #[error("--stream-lease-secs must be between 1 and 3600")]
    StreamLease,
    #[error("--request-state-key must be at least 32 bytes")]
    StateKey,
    #[error("--max-body-bytes must be at least 1024")]
    BodyLimit,
    #[error("--max-connections must be between 1 and {max}")]
    MaxConnections { max: usize },
    #[error("--header-timeout-secs must be between 1 and 3600")]
    HeaderTimeout,
    #[error("--idle-timeout-secs must be longer than --keep-alive-secs ({keep_alive})")]
    IdleTimeout { keep_alive: u64 },
    #[error("--max-header-bytes must be between 1024 and 262144")]
    HeaderLimit,
    #[error("OAuth: {0}")]
    OAuth(String),
}

impl HttpArgs {
    /// Checks the flags and builds the transport configuration.
    pub(crate) fn transport_config(&self) -> Result<TransportConfig, ConfigError> {
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
        if !(1..=3600).contains(&self.stream_lease_secs) {
            return Err(ConfigError::StreamLease);
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
            standalone_stream: self.standalone_stream_on(crate::lambda::detected()),
            stream_lease: Duration::from_secs(self.stream_lease_secs),
        })
    }

    /// Whether the standalone stream is offered: as the flag says, else off on Lambda.
    pub(crate) fn standalone_stream_on(&self, on_lambda: bool) -> bool {
        self.standalone_stream
            .map_or(!on_lambda, |s| s == Switch::On)
    }

    /// Checks the flags and builds the limits of the local listener's connections.
    pub(crate) fn connection_limits(&self) -> Result<ConnectionLimits, ConfigError> {
        if !(1..=MAX_CONNECTIONS).contains(&self.max_connections) {
            return Err(ConfigError::MaxConnections {
                max: MAX_CONNECTIONS,
            });
        }
        if !(1..=3600).contains(&self.header_timeout_secs) {
            return Err(ConfigError::HeaderTimeout);
        }
        if self.idle_timeout_secs <= self.keep_alive_secs {
            return Err(ConfigError::IdleTimeout {
                keep_alive: self.keep_alive_secs,
            });
        }
        if !(1024..=256 * 1024).contains(&self.max_header_bytes) {
            return Err(ConfigError::HeaderLimit);
        }
        Ok(ConnectionLimits {
            max_connections: self.max_connections,
            header_timeout: Duration::from_secs(self.header_timeout_secs),
            idle_timeout: Duration::from_secs(self.idle_timeout_secs),
            max_header_bytes: self.max_header_bytes,
        })
    }

    /// The checked OAuth settings, or `None` when authorization is off.
    pub fn oauth_settings(&self) -> Result<Option<OAuthSettings>, ConfigError> {
        self.oauth
            .settings(self.bind, &self.endpoint, crate::lambda::detected())
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        http: HttpArgs,
    }

    fn parse(args: &[&str]) -> Result<HttpArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("test").chain(args.iter().copied())).map(|c| c.http)
    }

    #[test]
    fn connection_limit_flags_default_to_the_documented_limits() {
        let args = parse(&[]).unwrap();
        assert_eq!(
            args.connection_limits().unwrap(),
            ConnectionLimits::default()
        );
    }

    #[test]
    fn the_standalone_stream_is_off_on_lambda_unless_turned_on() {
        let default = parse(&[]).unwrap();
        assert!(default.standalone_stream_on(false), "on by default locally");
        assert!(
            !default.standalone_stream_on(true),
            "off by default on Lambda"
        );
        let on = parse(&["--standalone-stream", "on"]).unwrap();
        assert!(on.standalone_stream_on(true));
        let off = parse(&["--standalone-stream", "off"]).unwrap();
        assert!(!off.standalone_stream_on(false));
        assert!(parse(&["--standalone-stream", "maybe"]).is_err());
    }

    #[test]
    fn connection_limit_flags_are_read_and_checked() {
        let args = parse(&[
            "--max-connections",
            "64",
            "--header-timeout-secs",
            "3",
            "--idle-timeout-secs",
            "60",
            "--max-header-bytes",
            "10240",
        ])
        .unwrap();
        let limits = args.connection_limits().unwrap();
        assert_eq!(limits.max_connections, 64);
        assert_eq!(limits.header_timeout, Duration::from_secs(3));
        assert_eq!(limits.idle_timeout, Duration::from_secs(60));
        assert_eq!(limits.max_header_bytes, 10240);
        for bad in [
            &["--max-connections", "0"][..],
            &["--header-timeout-secs", "0"],
            &["--idle-timeout-secs", "15"],
            &["--max-header-bytes", "100"],
            &["--max-header-bytes", "1000000"],
        ] {
            let args = parse(bad).unwrap();
            assert!(args.connection_limits().is_err(), "{bad:?} accepted");
        }
    }
}
