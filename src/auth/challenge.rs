//! The answers to a request that may not pass (RFC 6750 section 3, MCP authorization): 401
//! with a `WWW-Authenticate: Bearer` challenge naming our Protected Resource Metadata, 403
//! `insufficient_scope`, 400 `invalid_request`. The body repeats the error as JSON.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;

/// A refused request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub status: StatusCode,
    /// The RFC 6750 error code; none when the request carried no token at all.
    pub error: Option<&'static str>,
    pub description: Option<&'static str>,
    /// The `resource_metadata` URL of the challenge.
    pub resource_metadata: String,
    /// The scopes to ask for, space-separated, when there are any.
    pub scope: Option<String>,
}

impl Denial {
    /// 401 without an error code: no token (or not a bearer one).
    pub fn unauthenticated(resource_metadata: &str, scope: Option<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: None,
            description: None,
            resource_metadata: resource_metadata.to_owned(),
            scope,
        }
    }

    /// 401 `invalid_token`.
    pub fn invalid_token(resource_metadata: &str, description: &'static str) -> Self {
        Self {
            error: Some("invalid_token"),
            description: Some(description),
            ..Self::unauthenticated(resource_metadata, None)
        }
    }

    /// 400 `invalid_request`.
    pub fn invalid_request(resource_metadata: &str, description: &'static str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error: Some("invalid_request"),
            description: Some(description),
            ..Self::unauthenticated(resource_metadata, None)
        }
    }

    /// 403 `insufficient_scope`, naming the scopes needed.
    pub fn insufficient_scope(resource_metadata: &str, scope: String) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            error: Some("insufficient_scope"),
            description: Some("the token lacks a scope this server requires"),
            resource_metadata: resource_metadata.to_owned(),
            scope: Some(scope),
        }
    }

    /// The `WWW-Authenticate` value. Every value in it is ours (URLs checked at start-up,
    /// fixed descriptions, configured scopes), never the client's.
    pub fn challenge(&self) -> String {
        let mut out = format!("Bearer resource_metadata=\"{}\"", self.resource_metadata);
        if let Some(scope) = &self.scope {
            out.push_str(&format!(", scope=\"{scope}\""));
        }
        if let Some(error) = self.error {
            out.push_str(&format!(", error=\"{error}\""));
        }
        if let Some(description) = self.description {
            out.push_str(&format!(", error_description=\"{description}\""));
        }
        out
    }
}

impl IntoResponse for Denial {
    fn into_response(self) -> Response {
        let body = json!({
            "error": self.error.unwrap_or("unauthorized"),
            "error_description": self
                .description
                .unwrap_or("this server requires an OAuth bearer token"),
        });
        let mut response = (self.status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Ok(value) = HeaderValue::from_str(&self.challenge()) {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_name_the_metadata_and_the_error() {
        let prm = "https://api.example/.well-known/oauth-protected-resource/mcp";
        assert_eq!(
            Denial::unauthenticated(prm, Some("mcp:tools".into())).challenge(),
            format!("Bearer resource_metadata=\"{prm}\", scope=\"mcp:tools\"")
        );
        let expired = Denial::invalid_token(prm, "the token has expired");
        assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            expired.challenge(),
            format!(
                "Bearer resource_metadata=\"{prm}\", error=\"invalid_token\", \
                 error_description=\"the token has expired\""
            )
        );
        let scope = Denial::insufficient_scope(prm, "mcp:tools".into());
        assert_eq!(scope.status, StatusCode::FORBIDDEN);
        assert!(scope.challenge().contains("error=\"insufficient_scope\""));
    }
}
