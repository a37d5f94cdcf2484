//! Settings of the HTTP transport.

use std::time::Duration;

/// How the MCP endpoint behaves. `Default` suits a local run on loopback.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// Path of the MCP endpoint.
    pub endpoint: String,
    /// Host names (without port) that requests may address; `*` allows any. Guards against DNS
    /// rebinding: a browser tricked into calling us sends the attacker's host name.
    pub allowed_hosts: Vec<String>,
    /// Origins (`scheme://host[:port]`) allowed to call; `*` allows any. When empty, only
    /// loopback origins are allowed. Requests without `Origin` (non-browser clients) pass.
    pub allowed_origins: Vec<String>,
    /// Largest request body accepted; larger ones get 413.
    pub max_body_bytes: usize,
    /// A legacy session ends this long after its last use.
    pub session_ttl: Duration,
    /// The `retry:` hint sent with priming events and before closing a stream early.
    pub sse_retry: Duration,
    /// Close SSE connections after this long (the client resumes with `Last-Event-ID`), so no
    /// stream outlives a gateway's or a function's time limit. `None` keeps them open.
    pub max_stream_duration: Option<Duration>,
    /// Interval of keep-alive comments on idle SSE streams.
    pub keep_alive: Duration,
    /// How long a tool waits for the client's reply to a server-to-client request.
    pub reply_timeout: Duration,
    /// Whether a legacy session may open the standalone GET stream (and a 2026-07-28 client
    /// `subscriptions/listen`). When off, a GET without `Last-Event-ID` gets 405, listen gets
    /// -32601, and the capabilities promise no list changes or resource subscriptions: on
    /// Lambda an open stream is a running invocation, billed while it waits for nothing.
    pub standalone_stream: bool,
    /// The lease the instance answering a POST over SSE keeps on its stream, renewed every
    /// third of this while its handlers run. A reader ends a stream whose lease lapsed (its
    /// writer died) with a JSON-RPC error for the requests left unanswered.
    pub stream_lease: Duration,
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            endpoint: "/mcp".to_owned(),
            allowed_hosts: vec![
                "localhost".to_owned(),
                "127.0.0.1".to_owned(),
                "[::1]".to_owned(),
            ],
            allowed_origins: Vec::new(),
            max_body_bytes: 4 * 1024 * 1024,
            session_ttl: Duration::from_secs(3600),
            sse_retry: Duration::from_millis(1000),
            max_stream_duration: None,
            keep_alive: Duration::from_secs(15),
            reply_timeout: Duration::from_secs(300),
            standalone_stream: true,
            stream_lease: Duration::from_secs(30),
        }
    }
}
