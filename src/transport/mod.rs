//! Streamable HTTP: one endpoint serving both protocol eras.
//!
//! `POST` carries messages of either era (`post`), `GET` opens or resumes a legacy SSE stream
//! (`get`), `DELETE` ends a legacy session (`delete`). Legacy state lives in the
//! [`SessionStore`], never in this process, so any instance can serve any request.

mod body;
mod config;
mod cors;
mod delete;
mod get;
mod guard;
mod http_error;
mod lease;
mod legacy;
mod modern;
mod post;
mod response;
mod sse;
mod tail;
mod task_book;
mod wind_down;

pub use config::TransportConfig;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::Method;

use crate::auth::{self, Authorizer, GatewayBase, Principal};
use crate::server::McpServer;
use crate::store::SessionStore;

/// The domain a gateway (API Gateway, a Function URL) received the request on, set by the
/// Lambda door from the event. The host guard accepts it without configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayHost(pub String);

/// Everything a request handler needs. Cheap to clone.
#[derive(Clone)]
pub struct McpService {
    pub(crate) server: McpServer,
    pub(crate) store: Arc<dyn SessionStore>,
    pub(crate) config: Arc<TransportConfig>,
    /// OAuth in front of the endpoint, when on.
    pub(crate) auth: Option<Arc<Authorizer>>,
    /// Per request: whom the request's token speaks for, once `auth` let it through (`None`
    /// with authorization off). Legacy sessions are bound to it.
    pub(crate) caller: Option<Principal>,
}

impl McpService {
    /// Serves `server` on `store`. Without the standalone stream, the server promises no
    /// notification that only that stream could carry.
    pub fn new(server: McpServer, store: Arc<dyn SessionStore>, config: TransportConfig) -> Self {
        let server = if config.standalone_stream {
            server
        } else {
            server.without_change_notifications()
        };
        let server = match store.tasks() {
            Some(_) => server.with_task_book(Arc::new(task_book::StoreTaskBook(store.clone()))),
            None => server,
        };
        Self {
            server,
            store,
            config: Arc::new(config),
            auth: None,
            caller: None,
        }
    }

    /// Requires a bearer token `auth` accepts on the endpoint, and serves its Protected
    /// Resource Metadata.
    pub fn with_authorizer(mut self, auth: Arc<Authorizer>) -> Self {
        self.auth = Some(auth);
        self
    }

    /// The HTTP app: the MCP endpoint at the configured path, 404 elsewhere.
    pub fn router(self) -> Router {
        let path = self.config.endpoint.clone();
        let metadata = self.auth.as_ref().map(Authorizer::metadata_routes);
        let router = Router::new()
            .route(&path, axum::routing::any(endpoint))
            .fallback(not_found)
            .with_state(self);
        match metadata {
            Some(metadata) => router.merge(metadata),
            None => router,
        }
    }
}

async fn endpoint(State(mut service): State<McpService>, request: Request<Body>) -> Response {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let gateway = parts.extensions.get::<GatewayHost>().map(|g| g.0.as_str());
    if let Err(e) = guard::check_host(headers, &service.config, gateway)
        .and_then(|()| guard::check_origin(headers, &service.config))
    {
        return e.into_response();
    }
    if let Some(auth) = service
        .auth
        .as_ref()
        .filter(|_| parts.method != Method::OPTIONS)
    {
        let Some(urls) = auth.resource_urls(parts.extensions.get::<GatewayBase>()) else {
            return auth::unknown_public_url();
        };
        match auth.authorize(headers, &parts.uri, &urls).await {
            Ok(principal) => service.caller = Some(principal),
            Err(denial) => {
                let mut response = denial.into_response();
                cors::decorate(headers, &mut response);
                return response;
            }
        }
    }
    let mut response = match parts.method {
        Method::POST => post::handle(&service, headers, body).await,
        Method::GET => get::handle(&service, headers).await,
        Method::DELETE => delete::handle(&service, headers).await,
        Method::OPTIONS => return cors::preflight(headers),
        _ => http_error::method_not_allowed("GET, POST, DELETE"),
    };
    cors::decorate(headers, &mut response);
    response
}

async fn not_found() -> Response {
    (http::StatusCode::NOT_FOUND, "Not Found").into_response()
}
