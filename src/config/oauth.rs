//! The OAuth flags ([`OAuthArgs`]), checked into [`OAuthSettings`].

use std::net::SocketAddr;

use clap::Args;
use http::Uri;

use super::ConfigError;
use crate::auth::{OAuthSettings, REFRESH_INTERVAL, ResourceUrls};

/// The `--help` heading of the OAuth flags.
const HEADING: &str = "OAuth 2.1 authorization";

/// OAuth 2.1 authorization (the MCP authorization specification). Off unless
/// `--oauth-issuer` is given. `--help` lists these under their own heading (set per flag, so
/// the flags flattened after them keep theirs).
#[derive(Debug, Clone, Default, Args)]
pub struct OAuthArgs {
    /// Turns OAuth authorization on: every MCP request needs a bearer JWT from this issuer
    /// (exactly its `iss`). Its metadata is discovered at start-up
    /// (/.well-known/oauth-authorization-server, then /.well-known/openid-configuration) and
    /// its keys fetched from the metadata's jwks_uri. https, or http on loopback.
    #[arg(long, env = "MCP_OAUTH_ISSUER", value_name = "URL", help_heading = HEADING)]
    pub oauth_issuer: Option<String>,

    /// The audience (`aud`) a token must carry. Default: the resource URL (--public-url).
    #[arg(long, env = "MCP_OAUTH_AUDIENCE", value_name = "VALUE", help_heading = HEADING)]
    pub oauth_audience: Option<String>,

    /// For issuers whose access tokens carry no `aud`, such as Amazon Cognito: the app client
    /// ids whose tokens are accepted (`client_id`; repeat or separate with commas). With it, a
    /// token needs one of these `client_id`s instead of the audience (an `aud`, if present,
    /// must still name it), and a Cognito ID token (`token_use` other than `access`) is refused.
    #[arg(
        long = "oauth-client-id",
        env = "MCP_OAUTH_CLIENT_IDS",
        value_name = "ID",
        value_delimiter = ',',
        help_heading = HEADING
    )]
    pub oauth_client_ids: Vec<String>,

    /// Scopes every MCP request needs (all of them; separate with spaces or commas), also
    /// announced in the Protected Resource Metadata. Default: none beyond a valid token.
    #[arg(long, env = "MCP_OAUTH_SCOPE", value_name = "SCOPE", help_heading = HEADING)]
    pub oauth_scope: Option<String>,

    /// The canonical URL of the MCP endpoint as clients reach it (`https://host/stage/mcp`),
    /// the resource identifier of OAuth. Default with --oauth-issuer: on Lambda, the URL the
    /// gateway received each request on (its domain name and stage or base path, from the
    /// event, never from client headers); elsewhere http://BIND/ENDPOINT when --bind names an
    /// address and a port, and required otherwise (say behind a proxy).
    #[arg(long, env = "MCP_PUBLIC_URL", value_name = "URL", help_heading = HEADING)]
    pub public_url: Option<String>,
}

impl OAuthArgs {
    /// The checked settings, or `None` when authorization is off.
    pub fn settings(
        &self,
        bind: SocketAddr,
        endpoint: &str,
        on_lambda: bool,
    ) -> Result<Option<OAuthSettings>, ConfigError> {
        let Some(issuer) = &self.oauth_issuer else {
            if self.oauth_audience.is_some()
                || self.oauth_scope.is_some()
                || !self.oauth_client_ids.is_empty()
            {
                return Err(ConfigError::OAuth(
                    "--oauth-audience, --oauth-scope and --oauth-client-id need --oauth-issuer"
                        .into(),
                ));
            }
            return Ok(None);
        };
        check_url("--oauth-issuer", issuer)?;
        let resource = match &self.public_url {
            Some(url) => url.clone(),
            None if on_lambda => return Ok(Some(self.checked(issuer, None, endpoint)?)),
            None if bind.ip().is_unspecified() || bind.port() == 0 => {
                return Err(ConfigError::OAuth(
                    "--public-url is required with --oauth-issuer here (the URL clients reach \
                     the endpoint at)"
                        .into(),
                ));
            }
            None => format!("http://{bind}{endpoint}"),
        };
        Ok(Some(self.checked(issuer, Some(&resource), endpoint)?))
    }

    /// The settings for the resource at `resource` (`None`: derived from the gateway).
    fn checked(
        &self,
        issuer: &str,
        resource: Option<&str>,
        endpoint: &str,
    ) -> Result<OAuthSettings, ConfigError> {
        let public = resource
            .map(|resource| public_urls(resource, endpoint))
            .transpose()?;
        let scopes: Vec<String> = self
            .oauth_scope
            .as_deref()
            .unwrap_or("")
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if scopes.iter().any(|s| s.contains(['"', '\\'])) {
            return Err(ConfigError::OAuth(
                "--oauth-scope must not contain quotes or backslashes".into(),
            ));
        }
        Ok(OAuthSettings {
            issuer: issuer.to_owned(),
            audience: self.oauth_audience.clone(),
            client_ids: self
                .oauth_client_ids
                .iter()
                .map(|id| id.trim().to_owned())
                .filter(|id| !id.is_empty())
                .collect(),
            scopes,
            public,
            endpoint: endpoint.to_owned(),
            jwks_refresh_interval: REFRESH_INTERVAL,
        })
    }
}

/// The URLs of the endpoint at `resource` (`--public-url`), which must end with its path.
fn public_urls(resource: &str, endpoint: &str) -> Result<ResourceUrls, ConfigError> {
    let uri = check_url("--public-url", resource)?;
    let Some(prefix) = uri.path().strip_suffix(endpoint) else {
        return Err(ConfigError::OAuth(format!(
            "--public-url {resource} must end with the endpoint path {endpoint}"
        )));
    };
    let base = format!(
        "{}://{}{prefix}",
        uri.scheme_str().unwrap_or("https"),
        uri.authority().map_or("", |a| a.as_str())
    );
    Ok(ResourceUrls {
        resource: resource.to_owned(),
        metadata_url: ResourceUrls::at(&base, endpoint).metadata_url,
    })
}

/// `url` parsed, if it is an absolute https URL (or http on loopback) without query or
/// fragment, and safe to quote in a header.
fn check_url(flag: &str, url: &str) -> Result<Uri, ConfigError> {
    let bad = |why: &str| ConfigError::OAuth(format!("{flag} {url:?}: {why}"));
    if url.contains(['"', '\\', '#', ' ']) {
        return Err(bad("not a plain URL"));
    }
    let uri: Uri = url.parse().map_err(|_| bad("not a URL"))?;
    let host = uri.host().ok_or_else(|| bad("not an absolute URL"))?;
    if uri.query().is_some() {
        return Err(bad("must have no query"));
    }
    let loopback = ["localhost", "127.0.0.1", "[::1]"].contains(&host);
    match uri.scheme_str() {
        Some("https") => Ok(uri),
        Some("http") if loopback => Ok(uri),
        _ => Err(bad("must be https (http only on loopback)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(issuer: Option<&str>, public: Option<&str>) -> OAuthArgs {
        OAuthArgs {
            oauth_issuer: issuer.map(str::to_owned),
            public_url: public.map(str::to_owned),
            ..OAuthArgs::default()
        }
    }

    const BIND: &str = "127.0.0.1:8080";

    #[test]
    fn off_without_an_issuer() {
        let bind = BIND.parse().unwrap();
        assert_eq!(
            args(None, None).settings(bind, "/mcp", false).unwrap(),
            None
        );
        let stray = OAuthArgs {
            oauth_scope: Some("mcp".into()),
            ..OAuthArgs::default()
        };
        assert!(stray.settings(bind, "/mcp", false).is_err());
    }

    #[test]
    fn the_metadata_url_keeps_the_stage_prefix() {
        let bind = BIND.parse().unwrap();
        let settings = args(
            Some("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_x"),
            Some("https://abc.execute-api.eu-west-1.amazonaws.com/prod/mcp"),
        )
        .settings(bind, "/mcp", true)
        .unwrap()
        .unwrap();
        let public = settings.public.unwrap();
        assert_eq!(
            public.metadata_url,
            "https://abc.execute-api.eu-west-1.amazonaws.com/prod/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(settings.audience, None, "the resource URL");
        let local = args(Some("http://127.0.0.1:9000"), None)
            .settings(bind, "/mcp", false)
            .unwrap()
            .unwrap()
            .public
            .unwrap();
        assert_eq!(local.resource, "http://127.0.0.1:8080/mcp");
        assert_eq!(
            local.metadata_url,
            "http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp"
        );
    }

    #[test]
    fn bad_urls_are_refused() {
        let bind = BIND.parse().unwrap();
        for (issuer, public) in [
            ("http://auth.example", None),
            ("https://auth.example", Some("https://api.example/other")),
            ("https://auth.example", Some("https://api.example/mcp?x=1")),
            ("https://auth.example\"", None),
            ("auth.example", None),
        ] {
            let result = args(Some(issuer), public).settings(bind, "/mcp", false);
            assert!(result.is_err(), "{issuer} {public:?} accepted");
        }
        let lambda = args(Some("https://auth.example"), None).settings(bind, "/mcp", true);
        let lambda = lambda.unwrap().unwrap();
        assert_eq!(
            lambda.public, None,
            "on Lambda, derived from each request's gateway"
        );
        let any = args(Some("https://auth.example"), None).settings(
            "0.0.0.0:8080".parse().unwrap(),
            "/mcp",
            false,
        );
        assert!(
            any.is_err(),
            "a wildcard bind names no URL: --public-url is needed"
        );
    }
}
