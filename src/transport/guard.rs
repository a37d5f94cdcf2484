//! Checks every request passes before the protocol sees it: Host, Origin, Accept and
//! Content-Type.

use http::uri::Authority;
use http::{HeaderMap, header};

use super::config::TransportConfig;
use super::http_error::HttpError;
use http::StatusCode;
use rmcp::model::ErrorCode;

const LOOPBACK_HOSTS: [&str; 4] = ["localhost", "127.0.0.1", "[::1]", "::1"];

/// The DNS-rebinding guard. A request must carry exactly one `Host`, of the form
/// `host[:port]` with a port that fits 16 bits, or it is malformed (400, as RFC 9112 section
/// 3.2 requires); a well-formed `Host` that is not allowed is refused (403). The domain a
/// gateway received the request on (`gateway`) is always allowed, and vouches for a request
/// that reached us without a `Host` (the gateway checked the client's).
pub(crate) fn check_host(
    headers: &HeaderMap,
    config: &TransportConfig,
    gateway: Option<&str>,
) -> Result<(), HttpError> {
    let mut values = headers.get_all(header::HOST).iter();
    let host = match (values.next(), values.next()) {
        (None, _) if gateway.is_some() => return Ok(()),
        (None, _) => {
            return Err(HttpError::bad_request(
                "Bad Request: a Host header is required",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(HttpError::bad_request(
                "Bad Request: more than one Host header",
            ));
        }
        (Some(host), None) => host,
    };
    let authority =
        host.to_str().ok().and_then(host_authority).ok_or_else(|| {
            HttpError::bad_request("Bad Request: Host is not a valid host[:port]")
        })?;
    let name = authority.host();
    if config.allowed_hosts.iter().any(|h| h == "*") {
        return Ok(());
    }
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
pub(crate) fn check_origin(headers: &HeaderMap, config: &TransportConfig) -> Result<(), HttpError> {
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
pub(crate) fn check_post_accept(headers: &HeaderMap) -> Result<(), HttpError> {
    if accepts(headers, "application/json") && accepts(headers, "text/event-stream") {
        Ok(())
    } else {
        Err(not_acceptable(
            "Not Acceptable: Client must accept both application/json and text/event-stream",
        ))
    }
}

/// GET opens an SSE stream, so it must accept one (406 otherwise).
pub(crate) fn check_get_accept(headers: &HeaderMap) -> Result<(), HttpError> {
    if accepts(headers, "text/event-stream") {
        Ok(())
    } else {
        Err(not_acceptable(
            "Not Acceptable: Client must accept text/event-stream",
        ))
    }
}

/// POST bodies are JSON (415 otherwise).
pub(crate) fn check_content_type(headers: &HeaderMap) -> Result<(), HttpError> {
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

/// `value` as an authority with no user info and, when it names a port, a port that fits 16
/// bits: what a `Host` header may hold (RFC 9110 section 7.2).
fn host_authority(value: &str) -> Option<Authority> {
    if value.is_empty() || value.contains('@') {
        return None;
    }
    let authority: Authority = value.parse().ok()?;
    if authority.host().is_empty() || authority.as_str() != value {
        return None;
    }
    let names_port = value.len() > authority.host().len();
    if names_port && authority.port_u16().is_none() {
        return None;
    }
    Some(authority)
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
    fn host_must_be_one_well_formed_authority() {
        let config = TransportConfig::default();
        let status = |value: &str| {
            check_host(&with(header::HOST, value), &config, None)
                .err()
                .map(|e| e.status)
        };
        assert_eq!(status("localhost:65535"), None);
        assert_eq!(status("[::1]"), None);
        assert_eq!(status("LOCALHOST"), None);
        for malformed in [
            "localhost:99999",
            "localhost:",
            "localhost:8o",
            "127.0.0.1:80@evil.example",
            "user@localhost",
            "localhost/path",
            "localhost:80:80",
            "[::1",
            "",
            " localhost",
        ] {
            assert_eq!(
                status(malformed),
                Some(StatusCode::BAD_REQUEST),
                "{malformed:?}"
            );
        }
        assert_eq!(status("evil.example:80"), Some(StatusCode::FORBIDDEN));
        let missing = check_host(&HeaderMap::new(), &config, None).unwrap_err();
        assert_eq!(missing.status, StatusCode::BAD_REQUEST);
        let mut twice = with(header::HOST, "localhost");
        twice.append(header::HOST, HeaderValue::from_static("localhost"));
        let twice = check_host(&twice, &config, None).unwrap_err();
        assert_eq!(twice.status, StatusCode::BAD_REQUEST);
        // Behind a gateway, a request without Host is the gateway's to have checked.
        let gateway = Some("abc.execute-api.eu-west-1.amazonaws.com");
        assert!(check_host(&HeaderMap::new(), &config, gateway).is_ok());
        let any = TransportConfig {
            allowed_hosts: vec!["*".into()],
            ..TransportConfig::default()
        };
        assert!(check_host(&with(header::HOST, "evil.example"), &any, None).is_ok());
        let bad = check_host(&with(header::HOST, "a@b"), &any, None).unwrap_err();
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
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
