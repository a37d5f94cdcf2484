//! CORS for browser-based MCP clients on allowed origins: the preflight (`OPTIONS`) and the
//! headers a browser needs to read an answer (notably `Mcp-Session-Id`). Only requests whose
//! `Origin` already passed the origin guard get here.

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};

/// Headers a client may send; a preflight that asks for more (e.g. `Mcp-Param-*`) gets its
/// own list echoed.
const ALLOWED_HEADERS: &str = "content-type, accept, authorization, x-api-key, mcp-session-id, \
mcp-protocol-version, mcp-method, mcp-name, last-event-id";
const EXPOSED_HEADERS: &str = "mcp-session-id, mcp-protocol-version, www-authenticate";

/// The answer to `OPTIONS`: a preflight for an allowed origin, or just the allowed methods.
pub fn preflight(headers: &HeaderMap) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let out = response.headers_mut();
    out.insert(
        header::ALLOW,
        HeaderValue::from_static("GET, POST, DELETE, OPTIONS"),
    );
    if let Some(origin) = headers.get(header::ORIGIN) {
        out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        out.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, DELETE"),
        );
        let requested = headers
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .cloned()
            .unwrap_or_else(|| HeaderValue::from_static(ALLOWED_HEADERS));
        out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested);
        out.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        out.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}

/// Lets a browser on an allowed origin read the answer and its session header.
pub(crate) fn decorate(request: &HeaderMap, response: &mut Response) {
    if let Some(origin) = request.get(header::ORIGIN) {
        let out = response.headers_mut();
        out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        out.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED_HEADERS),
        );
        out.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
}
