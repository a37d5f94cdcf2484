//! Finding the token endpoint the way the MCP authorization specification has a client find
//! it: the server's Protected Resource Metadata (RFC 9728: the URL its 401 challenge names, else
//! the well-known URLs of the endpoint), its first authorization server, and that server's
//! metadata (RFC 8414, else OpenID Connect discovery, as Amazon Cognito offers).

use reqwest::Url;
use serde_json::Value;

use super::super::ClientError;

/// Most a metadata or token document may weigh; real ones are a few KiB.
const MAX_DOCUMENT: usize = 64 * 1024;

/// What discovery found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    /// The `resource` of the Protected Resource Metadata (sent as RFC 8707's `resource`).
    pub resource: String,
    pub issuer: String,
    pub token_endpoint: String,
}

/// Discovers the token endpoint for the MCP endpoint `mcp_url`, starting from `prm_url` (the
/// challenge's `resource_metadata`) when the server named one.
pub async fn discover(
    http: &reqwest::Client,
    mcp_url: &str,
    prm_url: Option<&str>,
) -> Result<Discovered, ClientError> {
    let candidates = match prm_url {
        Some(url) => vec![url.to_owned()],
        None => well_known(mcp_url, "oauth-protected-resource", true)?,
    };
    let (prm_at, prm) = first_document(http, &candidates, "Protected Resource Metadata").await?;
    let resource = prm["resource"].as_str().unwrap_or_default().to_owned();
    if resource.trim_end_matches('/') != mcp_url.trim_end_matches('/') {
        return Err(ClientError::OAuth(format!(
            "the Protected Resource Metadata at {prm_at} is for resource {resource:?}, not for \
             {mcp_url}: use the URL it names"
        )));
    }
    let issuer = prm["authorization_servers"][0]
        .as_str()
        .ok_or_else(|| {
            ClientError::OAuth(format!(
                "the Protected Resource Metadata at {prm_at} names no authorization_servers"
            ))
        })?
        .to_owned();
    let mut candidates = well_known(&issuer, "oauth-authorization-server", false)?;
    candidates.extend(well_known(&issuer, "openid-configuration", false)?);
    let (metadata_at, metadata) =
        first_document(http, &candidates, "authorization server metadata").await?;
    if metadata["issuer"].as_str() != Some(issuer.as_str()) {
        return Err(ClientError::OAuth(format!(
            "the metadata at {metadata_at} names issuer {}, not {issuer}",
            metadata["issuer"]
        )));
    }
    let token_endpoint = metadata["token_endpoint"]
        .as_str()
        .ok_or_else(|| ClientError::OAuth(format!("{metadata_at} names no token_endpoint")))?;
    check_secure(token_endpoint)?;
    Ok(Discovered {
        resource,
        issuer,
        token_endpoint: token_endpoint.to_owned(),
    })
}

/// The well-known URLs of `name` for `url`: inserted between host and path (RFC 8414, RFC
/// 9728), then, for OpenID Connect, appended to the path; the bare form when the path is
/// empty. `with_root` adds the host's root form (RFC 9728 section 3.1 fallback).
fn well_known(url: &str, name: &str, with_root: bool) -> Result<Vec<String>, ClientError> {
    let parsed =
        Url::parse(url).map_err(|_| ClientError::OAuth(format!("{url:?} is not a URL")))?;
    check_secure(url)?;
    let origin = parsed.origin().ascii_serialization();
    let path = parsed.path().trim_end_matches('/');
    let mut urls = vec![format!("{origin}/.well-known/{name}{path}")];
    if name == "openid-configuration" && !path.is_empty() {
        urls.push(format!("{origin}{path}/.well-known/{name}"));
    }
    if with_root && !path.is_empty() {
        urls.push(format!("{origin}/.well-known/{name}"));
    }
    Ok(urls)
}

/// Credentials travel over https only, or http to this machine (local tests and tunnels).
pub(crate) fn check_secure(url: &str) -> Result<(), ClientError> {
    let parsed =
        Url::parse(url).map_err(|_| ClientError::OAuth(format!("{url:?} is not a URL")))?;
    let loopback = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if parsed.scheme() == "https" || (parsed.scheme() == "http" && loopback) {
        Ok(())
    } else {
        Err(ClientError::OAuth(format!(
            "{url} is neither https nor http on loopback (localhost, 127.0.0.1, [::1]): no \
             credentials are sent there"
        )))
    }
}

/// The first of `urls` that answers 200 with a JSON object.
async fn first_document(
    http: &reqwest::Client,
    urls: &[String],
    what: &str,
) -> Result<(String, Value), ClientError> {
    let mut tried = Vec::new();
    for url in urls {
        match get_json(http, url).await {
            Ok(document) => return Ok((url.clone(), document)),
            Err(why) => tried.push(format!("{url}: {why}")),
        }
    }
    Err(ClientError::OAuth(format!(
        "no {what} found ({})",
        tried.join("; ")
    )))
}

async fn get_json(http: &reqwest::Client, url: &str) -> Result<Value, String> {
    let response = http
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("HTTP {}", status.as_u16()));
    }
    let (_, body) = read_json(response).await.map_err(|e| e.to_string())?;
    if body.is_object() {
        Ok(body)
    } else {
        Err("not a JSON object".into())
    }
}

/// Reads a JSON body of at most [`MAX_DOCUMENT`] bytes, with its status.
pub(crate) async fn read_json(
    mut response: reqwest::Response,
) -> Result<(reqwest::StatusCode, Value), ClientError> {
    let status = response.status();
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if bytes.len() + chunk.len() > MAX_DOCUMENT {
            return Err(ClientError::OAuth(format!(
                "{} answered more than {MAX_DOCUMENT} bytes",
                response.url()
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    let body = serde_json::from_slice(&bytes).map_err(|_| {
        ClientError::OAuth(format!(
            "{} answered HTTP {} without JSON",
            response.url(),
            status.as_u16()
        ))
    })?;
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_urls_insert_then_append() {
        assert_eq!(
            well_known(
                "https://gw.example/prod/mcp",
                "oauth-protected-resource",
                true
            )
            .unwrap(),
            [
                "https://gw.example/.well-known/oauth-protected-resource/prod/mcp",
                "https://gw.example/.well-known/oauth-protected-resource",
            ]
        );
        // Amazon Cognito's issuer has a path and only OpenID Connect discovery.
        let cognito = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc";
        assert_eq!(
            well_known(cognito, "openid-configuration", false).unwrap(),
            [
                "https://cognito-idp.eu-west-1.amazonaws.com/.well-known/openid-configuration/eu-west-1_abc",
                "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc/.well-known/openid-configuration",
            ]
        );
        assert_eq!(
            well_known("http://127.0.0.1:9", "oauth-authorization-server", false).unwrap(),
            ["http://127.0.0.1:9/.well-known/oauth-authorization-server"]
        );
    }

    #[test]
    fn credentials_go_over_https_or_to_this_machine() {
        assert!(check_secure("https://auth.example/oauth2/token").is_ok());
        assert!(check_secure("http://127.0.0.1:8080/token").is_ok());
        assert!(check_secure("http://localhost/token").is_ok());
        assert!(check_secure("http://auth.example/oauth2/token").is_err());
        assert!(check_secure("ftp://127.0.0.1/token").is_err());
    }
}
