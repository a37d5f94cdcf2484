//! Serving an MCP server: through the Lambda door when Lambda started the process, else on a
//! local TCP listener. The binaries only say *what* to serve.

use std::future::Future;
use std::net::SocketAddr;

use std::time::Duration;

use axum::Router;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use crate::config::{ConfigError, HttpArgs};
use crate::server::McpServer;
use crate::store::{StoreArgs, StoreConfigError};
use crate::transport::McpService;

/// How long SSE connections stay open on a shared store when no limit was set.
const SHARED_STORE_STREAM_LIMIT: Duration = Duration::from_secs(240);

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("setting up the session store: {0}")]
    Store(#[from] StoreConfigError),
    #[error("binding {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("serving: {0}")]
    Serve(#[from] std::io::Error),
    #[error("Lambda runtime: {0}")]
    Lambda(String),
}

/// Builds the session store, fits the transport to it, and serves `server` until shutdown.
/// Locally it prints one `listening on URL` line on stdout, so scripts and tests can bind
/// port 0 and read where the server is.
pub async fn run(server: McpServer, http: &HttpArgs, store: &StoreArgs) -> Result<(), RunError> {
    let mut config = http.transport_config()?;
    let store = store.build().await?;
    // A stream read on another instance than its writer's ends only when its last event
    // arrives; if the writer died, only a time limit ends it, so shared stores get one.
    if store.poll_interval().is_some() && config.max_stream_duration.is_none() {
        config.max_stream_duration = Some(SHARED_STORE_STREAM_LIMIT);
        tracing::info!(
            "shared session store: SSE connections close after 240 s (--max-stream-secs)"
        );
    }
    let name = server.info().name.clone();
    let app = McpService::new(server, store, config).router();
    if crate::lambda::detected() {
        tracing::info!(server = %name, "serving Lambda invocations (streaming)");
        return crate::lambda::run(app)
            .await
            .map_err(|e| RunError::Lambda(e.to_string()));
    }
    let listener = bind(http.bind).await.map_err(|source| RunError::Bind {
        addr: http.bind,
        source,
    })?;
    let addr = local_addr(&listener)?;
    println!("listening on http://{addr}{}", http.endpoint);
    tracing::info!(server = %name, %addr, "listening");
    serve(listener, app, shutdown_signal()).await?;
    Ok(())
}

/// Binds `addr` (use port 0 for any free port).
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves `app` on `listener` until `shutdown` resolves.
///
/// Nagle's algorithm is turned off on every connection: an SSE answer goes out as several
/// small writes, and with Nagle on each waits for the client's delayed ACK (about 40 ms).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

/// The address a listener is bound to, for logs and tests.
pub fn local_addr(listener: &TcpListener) -> std::io::Result<SocketAddr> {
    listener.local_addr()
}
