//! Serving an MCP server: through the Lambda door when Lambda started the process, else on a
//! local TCP listener. The binaries only say *what* to serve.

mod activity;
mod limits;

pub use crate::config::ConnectionLimits;
pub(crate) use crate::config::MAX_CONNECTIONS;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use activity::{Activity, Watched};
use limits::LimitWarnings;

use crate::auth::{AuthError, Authorizer};
use crate::config::{ConfigError, HttpArgs};
use crate::server::McpServer;
use crate::store::{SessionStore, StoreArgs, StoreConfigError};
use crate::transport::McpService;

/// How long SSE connections stay open when no limit was set.
const STREAM_LIMIT: Duration = Duration::from_secs(240);

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
    #[error(
        "reading the requestState key from the session store: {0} (or give --request-state-key)"
    )]
    StateKey(String),
    #[error(transparent)]
    Auth(#[from] AuthError),
}

/// The name under which a shared store keeps the key that seals `requestState`.
pub const REQUEST_STATE_SECRET: &str = "request-state-key";

/// How long start-up waits for the shared store's requestState key.
const STATE_KEY_TIMEOUT: Duration = Duration::from_secs(5);

/// `server` with the requestState key every instance shares: the one given
/// (`--request-state-key`) wins; otherwise a shared store's (created once, atomically, by the
/// first instance that starts); otherwise (memory store) the server's own random key.
pub(crate) async fn shared_state_key(
    server: McpServer,
    http: &HttpArgs,
    store: &dyn SessionStore,
) -> Result<McpServer, RunError> {
    if http.state_key()?.is_some() {
        return Ok(server);
    }
    let secret = tokio::time::timeout(STATE_KEY_TIMEOUT, store.shared_secret(REQUEST_STATE_SECRET))
        .await
        .map_err(|_| RunError::StateKey(format!("no answer within {STATE_KEY_TIMEOUT:?}")))?
        .map_err(|e| RunError::StateKey(e.to_string()))?;
    Ok(match secret {
        Some(key) => {
            tracing::info!("requestState is sealed with the key kept in the session store");
            server.with_request_state_key(key)
        }
        None => server,
    })
}

/// Builds the session store, fits the transport to it, and serves `server` until shutdown.
/// Locally it prints one `listening on URL` line on stdout, so scripts and tests can bind
/// port 0 and read where the server is.
pub async fn run(server: McpServer, http: &HttpArgs, store: &StoreArgs) -> Result<(), RunError> {
    let limits = http.connection_limits()?;
    let name = server.info().name.clone();
    let app = app(server, http, store).await?;
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
    serve_with_limits(listener, app, &limits, shutdown_signal()).await?;
    Ok(())
}

/// The HTTP app the flags describe: the session store built, the transport fitted to it, the
/// requestState key shared, and (with `--oauth-issuer`) the issuer discovered and its
/// authorization in front of the endpoint.
pub async fn app(
    server: McpServer,
    http: &HttpArgs,
    store: &StoreArgs,
) -> Result<Router, RunError> {
    let mut config = http.transport_config()?;
    let oauth = http.oauth_settings()?;
    let store = store.build().await?;
    // Every SSE connection gets a time limit (clients resume or reopen, as SSE polling allows):
    // a stream read on another instance than its writer's ends only when its last event
    // arrives, so if the writer died only a time limit ends it; and an open stream holds one
    // of the listener's connection slots whether or not its client still reads.
    if config.max_stream_duration.is_none() {
        config.max_stream_duration = Some(STREAM_LIMIT);
        tracing::info!("SSE connections close after 240 s (--max-stream-secs)");
    }
    let server = shared_state_key(server, http, store.as_ref()).await?;
    let mut service = McpService::new(server, store, config);
    if let Some(settings) = oauth {
        service = service.with_authorizer(Arc::new(Authorizer::discover(settings).await?));
    }
    Ok(service.router())
}

/// Binds `addr` (use port 0 for any free port).
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves `app` on `listener` with the default [`ConnectionLimits`] until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_limits(listener, app, &ConnectionLimits::default(), shutdown).await
}

/// Serves `app` on `listener` within `limits` until `shutdown` resolves, then lets the open
/// connections finish their requests.
///
/// At most `limits.max_connections` connections are served at once; while that many are open,
/// no further one is accepted (clients wait in the listen backlog). Each connection has
/// `limits.header_timeout` to send a request head, may not sit with no byte moving for
/// `limits.idle_timeout`, and gets 431 for a head over `limits.max_header_bytes`. A warning is
/// logged, at most every 10 s per kind, when a limit bites.
///
/// Nagle's algorithm is turned off on every connection: an SSE answer goes out as several
/// small writes, and with Nagle on each waits for the client's delayed ACK (about 40 ms).
pub async fn serve_with_limits(
    listener: TcpListener,
    app: Router,
    limits: &ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let max = limits.max_connections.clamp(1, MAX_CONNECTIONS);
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_header_size(limits.max_header_bytes);
    let shared = Arc::new(Shared {
        http,
        app,
        idle_timeout: limits.idle_timeout,
        header_timeout: limits.header_timeout,
        max_header_bytes: limits.max_header_bytes,
        warnings: LimitWarnings::default(),
    });
    let slots = Arc::new(Semaphore::new(max));
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let slot = match Arc::clone(&slots).try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                shared.warnings.connection_limit.hit(|n| {
                    tracing::warn!(
                        max_connections = max,
                        times = n,
                        "connection limit reached: new connections wait until one closes \
                         (--max-connections)"
                    );
                });
                tokio::select! {
                    slot = Arc::clone(&slots).acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_) => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _peer)) => tcp,
                Err(e) => {
                    accept_failed(e, &shared.warnings).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        tokio::spawn(connection(tcp, Arc::clone(&shared), stopping.clone(), slot));
    }
    drop(listener);
    let _ = stop.send(true);
    // Every connection holds a slot until it ends: having them all means all have ended.
    let _ = slots.acquire_many(max as u32).await;
    Ok(())
}

/// What every connection of one listener shares.
struct Shared {
    http: http1::Builder,
    app: Router,
    idle_timeout: Duration,
    header_timeout: Duration,
    max_header_bytes: usize,
    warnings: LimitWarnings,
}

/// Serves one connection until it ends, is idle too long, or the server stops.
async fn connection(
    tcp: TcpStream,
    shared: Arc<Shared>,
    mut stopping: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) {
    let activity = Activity::new();
    let io = TokioIo::new(Watched::new(tcp, Arc::clone(&activity)));
    let service = TowerToHyperService::new(shared.app.clone());
    let conn = shared.http.serve_connection(io, service);
    tokio::pin!(conn);
    let idle = activity.idle_for(shared.idle_timeout);
    tokio::pin!(idle);
    let mut draining = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    connection_failed(&e, &activity, &shared);
                }
                return;
            }
            () = &mut idle => {
                shared.warnings.idle.hit(|n| {
                    tracing::warn!(
                        idle_timeout_secs = shared.idle_timeout.as_secs(),
                        times = n,
                        "closed a connection on which nothing moved (--idle-timeout-secs)"
                    );
                });
                return;
            }
            changed = stopping.changed(), if !draining => {
                draining = true;
                if changed.is_ok() {
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// Logs why hyper ended a connection, when a limit of ours did it.
fn connection_failed(e: &hyper::Error, activity: &Activity, shared: &Shared) {
    if e.is_timeout() {
        if activity.reading_since_last_write() || !activity.wrote_anything() {
            shared.warnings.slow_head.hit(|n| {
                tracing::warn!(
                    header_timeout_secs = shared.header_timeout.as_secs(),
                    times = n,
                    "closed a connection that sent no complete request head in time \
                     (--header-timeout-secs)"
                );
            });
        } else {
            tracing::debug!("closed a kept-alive connection left unused");
        }
    } else if e.is_parse_too_large() {
        shared.warnings.head_too_large.hit(|n| {
            tracing::warn!(
                max_header_bytes = shared.max_header_bytes,
                times = n,
                "answered 431 to a request head over the limit (--max-header-bytes)"
            );
        });
    } else {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

/// After a failed `accept`: a connection that died in the backlog is nothing; running out of
/// file descriptors (or anything else) is logged and waited out, as axum does.
async fn accept_failed(e: std::io::Error, warnings: &LimitWarnings) {
    use std::io::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    warnings.accept.hit(|n| {
        tracing::error!(error = %e, times = n, "accepting a connection failed; retrying in 1 s");
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
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
