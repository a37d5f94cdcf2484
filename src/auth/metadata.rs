//! The two metadata documents: the issuer's (RFC 8414 / OpenID Connect Discovery), read at
//! start-up to find its JWKS, and our own Protected Resource Metadata (RFC 9728), which tells
//! a host where to get a token for this server.

use serde::Deserialize;
use serde_json::{Value, json};

use super::fetch::{self, FetchError};
use super::{AuthError, OAuthSettings, ResourceUrls};

/// The well-known path of Protected Resource Metadata (RFC 9728 section 3).
pub const PRM_WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// What the server needs from the issuer's metadata.
#[derive(Debug, Clone, Deserialize)]
pub struct IssuerMetadata {
    pub issuer: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub token_endpoint: Option<String>,
    #[serde(default)]
    pub scopes_supported: Vec<String>,
}

/// The metadata URLs to try for `issuer`, in the order the MCP authorization specification
/// gives: OAuth 2.0 Authorization Server Metadata, then OpenID Connect Discovery (both the
/// RFC 8414 path-inserted form and the OIDC path-appended form when the issuer has a path,
/// as a Cognito pool's issuer does).
pub fn discovery_urls(issuer: &str) -> Vec<String> {
    let trimmed = issuer.trim_end_matches('/');
    let (origin, path) = split_origin(trimmed);
    if path.is_empty() {
        vec![
            format!("{origin}/.well-known/oauth-authorization-server"),
            format!("{origin}/.well-known/openid-configuration"),
        ]
    } else {
        vec![
            format!("{origin}/.well-known/oauth-authorization-server{path}"),
            format!("{origin}/.well-known/openid-configuration{path}"),
            format!("{origin}{path}/.well-known/openid-configuration"),
        ]
    }
}

/// `scheme://authority` and the path (empty or starting with `/`) of an absolute URL.
fn split_origin(url: &str) -> (&str, &str) {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => url.split_at(after_scheme + i),
        None => (url, ""),
    }
}

/// Reads the issuer's metadata from the first discovery URL that has it. A document whose
/// `issuer` is not exactly the configured one is refused (RFC 8414 section 3.3), so a
/// misconfigured or impersonated issuer fails the start instead of every request.
pub async fn discover(client: &reqwest::Client, issuer: &str) -> Result<IssuerMetadata, AuthError> {
    let mut tried = Vec::new();
    for url in discovery_urls(issuer) {
        match fetch::json::<IssuerMetadata>(client, &url).await {
            Ok(metadata) if metadata.issuer == issuer => return Ok(metadata),
            Ok(metadata) => {
                return Err(AuthError::IssuerMismatch {
                    url,
                    found: metadata.issuer,
                });
            }
            Err(e @ (FetchError::Status { .. } | FetchError::Json { .. })) => {
                tried.push(e.to_string());
            }
            Err(e) => return Err(AuthError::Fetch(e)),
        }
    }
    Err(AuthError::NoMetadata(tried.join("; ")))
}

/// The Protected Resource Metadata document (RFC 9728 section 2) of the resource at `urls`.
pub fn protected_resource(settings: &OAuthSettings, urls: &ResourceUrls) -> Value {
    let mut document = json!({
        "resource": urls.resource,
        "authorization_servers": [settings.issuer],
        "bearer_methods_supported": ["header"],
        "resource_name": "Bedrock usage MCP server",
    });
    if !settings.scopes.is_empty() {
        document["scopes_supported"] = json!(settings.scopes);
    }
    document
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_urls_follow_the_mcp_order() {
        assert_eq!(
            discovery_urls("https://auth.example"),
            [
                "https://auth.example/.well-known/oauth-authorization-server",
                "https://auth.example/.well-known/openid-configuration",
            ]
        );
        assert_eq!(
            discovery_urls("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC"),
            [
                "https://cognito-idp.eu-west-1.amazonaws.com/.well-known/oauth-authorization-server/eu-west-1_AbC",
                "https://cognito-idp.eu-west-1.amazonaws.com/.well-known/openid-configuration/eu-west-1_AbC",
                "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC/.well-known/openid-configuration",
            ]
        );
    }
}
