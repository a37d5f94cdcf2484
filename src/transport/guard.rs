//! Checks every request passes before the protocol sees it: Host, Origin, Accept and
//! Content-Type.

use http::{HeaderMap, header};

use super::config::TransportConfig;
use super::http_error::HttpError;
use http::StatusCode;
use rmcp::model::ErrorCode;

const LOOPBACK_HOSTS: [&str; 4] = ["localhost", "127.0.0.1", "[::1]", "::1"];

/// Rejects a request whose `Host` is not allowed (403): the DNS-rebinding guard. The domain a
/// gateway received the request on (`gateway`) is always allowed.
pub fn check_host(
    headers: &HeaderMap,
    config: &TransportConfig,
    gateway: Option<&str>,
) -> Result<(), HttpError> {
    if config.allowed_hosts.iter().any(|h| h == "*") {
        return Ok(());
    }
    let Some(host) = headers.get(header::HOST) else {
        return Ok(());
    };
    let host = host.to_str().map_err(|_| forbidden_host())?;
    let name = strip_port(host);
    if gateway.is_some_and(|g| g.eq_ignore_ascii_case(name)) {
        return Ok(());
    }
    if config
        .allowed_hosts
        .iter()
        .any(|allowed| allowed.eq_ignore_ascii_case(name))
    {
        Ok(())
    } else {
        Err(forbidden_host())
    }
}

/// Rejects a request whose `Origin` is present and not allowed (403).
pub fn check_origin(headers: &HeaderMap, config: &TransportConfig) -> Result<(), HttpError> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin
        .to_str()
        .map_err(|_| HttpError::forbidden("Forbidden: invalid Origin header"))?;
    let allowed = if config.allowed_origins.is_empty() {
        origin_host(origin).is_some_and(|host| LOOPBACK_HOSTS.contains(&host))
    } else {
        config
            .allowed_origins
            .iter()
            .any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
    };
    if allowed {
        Ok(())
    } else {
        Err(HttpError::forbidden(format!(
            "Forbidden: Origin {origin} is not allowed"
        )))
    }
}

/// POST must accept both JSON and SSE answers (406 otherwise).
pub fn check_post_accept(headers: &HeaderMap) -> Result<(), HttpError> {
    if accepts(headers, "application/json") && accepts(headers, "text/event-stream") {
        Ok(())
    } else {
        Err(not_acceptable(
            "Not Acceptable: Client must accept both application/json and text/event-stream",
        ))
    }
}

/// GET opens an SSE stream, so it must accept one (406 otherwise).
pub fn check_get_accept(headers: &HeaderMap) -> Result<(), HttpError> {
    if accepts(headers, "text/event-stream") {
        Ok(())
    } else {
        Err(not_acceptable(
            "Not Acceptable: Client must accept text/event-stream",
        ))
    }
}

/// POST bodies are JSON (415 otherwise).
pub fn check_content_type(headers: &HeaderMap) -> Result<(), HttpError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    if is_json {
        Ok(())
    } else {
        Err(HttpError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::INVALID_REQUEST,
            "Unsupported Media Type: Content-Type must be application/json",
        ))
    }
}

/// Whether the `Accept` headers admit `mime` (exactly, by `type/*`, or by `*/*`), ignoring
/// entries with `q=0`.
fn accepts(headers: &HeaderMap, mime: &str) -> bool {
    let (kind, _) = mime.split_once('/').unwrap_or((mime, ""));
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|entry| {
            let mut parts = entry.split(';');
            let range = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| {
                let p = p.trim();
                p.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            !refused
                && (range.eq_ignore_ascii_case(mime)
                    || range == "*/*"
                    || range
                        .strip_suffix("/*")
                        .is_some_and(|k| k.eq_ignore_ascii_case(kind)))
        })
}

fn not_acceptable(message: &str) -> HttpError {
    HttpError::new(
        StatusCode::NOT_ACCEPTABLE,
        ErrorCode::INVALID_REQUEST,
        message,
    )
}

fn forbidden_host() -> HttpError {
    HttpError::forbidden("Forbidden: Host header is not allowed")
}

/// `example.com:8080` -> `example.com`; `[::1]:80` -> `[::1]`.
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |end| &host[..=end]);
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

/// The host part of `scheme://host[:port]`.
fn origin_host(origin: &str) -> Option<&str> {
    let (_, rest) = origin.split_once("://")?;
    let authority = rest.split('/').next()?;
    Some(strip_port(authority))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn with(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).expect("valid header"));
        h
    }

    #[test]
    fn host_guard_allows_loopback_only_by_default() {
        let config = TransportConfig::default();
        assert!(check_host(&with(header::HOST, "127.0.0.1:8080"), &config, None).is_ok());
        assert!(check_host(&with(header::HOST, "localhost"), &config, None).is_ok());
        assert!(check_host(&with(header::HOST, "[::1]:3000"), &config, None).is_ok());
        let evil = with(header::HOST, "evil.example:8080");
        let err = check_host(&evil, &config, None).unwrap_err();
        assert_eq!(err.status, StatusCode::FORBIDDEN);
        let gateway = with(header::HOST, "abc.execute-api.eu-west-1.amazonaws.com");
        assert!(check_host(&gateway, &config, None).is_err());
        let domain = Some("abc.execute-api.eu-west-1.amazonaws.com");
        assert!(check_host(&gateway, &config, domain).is_ok());
    }

    #[test]
    fn origin_guard() {
        let config = TransportConfig::default();
        assert!(check_origin(&with(header::ORIGIN, "http://localhost:5173"), &config).is_ok());
        assert!(check_origin(&with(header::ORIGIN, "https://evil.example"), &config).is_err());
        assert!(check_origin(&HeaderMap::new(), &config).is_ok());
        let listed = TransportConfig {
            allowed_origins: vec!["https://app.example".into()],
            ..TransportConfig::default()
        };
        assert!(check_origin(&with(header::ORIGIN, "https://app.example"), &listed).is_ok());
        assert!(check_origin(&with(header::ORIGIN, "http://localhost"), &listed).is_err());
    }

    #[test]
    fn accept_rules() {
        let both = with(header::ACCEPT, "application/json, text/event-stream");
        assert!(check_post_accept(&both).is_ok());
        assert!(check_post_accept(&with(header::ACCEPT, "*/*")).is_ok());
        assert!(check_post_accept(&with(header::ACCEPT, "application/json")).is_err());
        let refused = with(header::ACCEPT, "application/json, text/event-stream;q=0");
        assert!(check_post_accept(&refused).is_err());
        assert!(check_get_accept(&with(header::ACCEPT, "text/*")).is_ok());
    }
}
