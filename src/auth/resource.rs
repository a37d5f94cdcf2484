//! The URLs that name this resource: the canonical URL of the MCP endpoint (the RFC 8707
//! resource identifier, and the default audience) and where its Protected Resource Metadata
//! is. Fixed by `--public-url`, or, on Lambda without it, derived per request from what the
//! gateway says it received ([`GatewayBase`]).
//!
//! Only the gateway's own account of the request is trusted: the domain name and path in the
//! event's request context, which API Gateway and Lambda Function URLs write themselves.
//! `Host` and `X-Forwarded-Host` / `X-Forwarded-Proto` are never read for this: behind a REST
//! API the client chooses them (the gateway passes `X-Forwarded-Host` through), so a URL built
//! from them would let a client point the challenge at metadata of its choosing, and make the
//! audience check accept tokens minted for another resource. Anywhere else (a server behind
//! a proxy, a container), `--public-url` says what the URL is.

/// Where clients reach this server, as the gateway that received the request saw it:
/// `https://` + the domain name + the path before the app's own path (the REST API stage,
/// `/prod`, or a custom domain's base path; empty for a Function URL). Set by the Lambda door.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayBase(pub String);

/// The resource identifier and the metadata URL of the endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceUrls {
    /// The canonical URL of the MCP endpoint (RFC 8707 resource identifier).
    pub resource: String,
    /// Where hosts find our Protected Resource Metadata (the `resource_metadata` URL): the
    /// path-suffixed well-known URL, under the same prefix as the endpoint.
    pub metadata_url: String,
}

impl ResourceUrls {
    /// The URLs of `endpoint` (the app's path, `/mcp`) reached under `base` (scheme,
    /// authority and any path prefix, without a trailing `/`).
    pub fn at(base: &str, endpoint: &str) -> Self {
        Self {
            resource: format!("{base}{endpoint}"),
            metadata_url: format!("{base}{}{endpoint}", super::PRM_WELL_KNOWN),
        }
    }
}

impl GatewayBase {
    /// The base of a request the gateway received on `domain` at `client_path` (the whole
    /// path the client used) and that the app routes as `app_path`. `None` when the domain is
    /// not a plain host name, or when the paths do not fit (the prefix would be a guess).
    pub fn from_gateway(domain: &str, client_path: &str, app_path: &str) -> Option<Self> {
        let plain = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
        if domain.is_empty() || !domain.chars().all(plain) {
            return None;
        }
        let prefix = client_path.strip_suffix(app_path)?;
        let safe = |c: char| c.is_ascii_alphanumeric() || "-._~/".contains(c);
        if !(prefix.is_empty() || prefix.starts_with('/')) || !prefix.chars().all(safe) {
            return None;
        }
        Some(Self(format!(
            "https://{}{prefix}",
            domain.to_ascii_lowercase()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_is_the_gateway_domain_and_the_path_before_the_app_path() {
        let rest = GatewayBase::from_gateway(
            "abc123.execute-api.eu-west-1.amazonaws.com",
            "/prod/mcp",
            "/mcp",
        );
        assert_eq!(
            rest,
            Some(GatewayBase(
                "https://abc123.execute-api.eu-west-1.amazonaws.com/prod".into()
            ))
        );
        let urls = ResourceUrls::at(&rest.unwrap().0, "/mcp");
        assert_eq!(
            urls.metadata_url,
            "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/.well-known/oauth-protected-resource/mcp"
        );
        let prm = GatewayBase::from_gateway(
            "api.example.com",
            "/v1/.well-known/oauth-protected-resource/mcp",
            "/.well-known/oauth-protected-resource/mcp",
        );
        assert_eq!(prm, Some(GatewayBase("https://api.example.com/v1".into())));
        let function_url =
            GatewayBase::from_gateway("x.lambda-url.eu-west-1.on.aws", "/mcp", "/mcp");
        assert_eq!(
            function_url,
            Some(GatewayBase("https://x.lambda-url.eu-west-1.on.aws".into()))
        );
        assert_eq!(GatewayBase::from_gateway("evil\"", "/mcp", "/mcp"), None);
        assert_eq!(
            GatewayBase::from_gateway("a.example", "/other", "/mcp"),
            None
        );
        assert_eq!(
            GatewayBase::from_gateway("a.example", "/a\"b/mcp", "/mcp"),
            None
        );
        assert_eq!(
            GatewayBase::from_gateway("a.example", "x/mcp", "/mcp"),
            None
        );
    }
}
