//! The one way a request of the client (and of its proxy) leaves: with the bearer token when
//! there is one, signed with SigV4 when asked, and sent once more with a new token when the
//! server answers 401 and client credentials can obtain one. A 401 nothing can answer becomes
//! [`ClientError::Unauthorized`], which says where the server's metadata is and what to pass;
//! so does a 403 `insufficient_scope`, naming the scope the server wants. A bearer token only
//! travels to https, or to http on this machine ([`check_secure`]): a run with a token and any
//! other URL is refused before anything is sent.

use reqwest::header::{AUTHORIZATION, HeaderValue};

use super::oauth::{Challenge, check_secure};
use super::{ClientError, ClientOptions};

/// Sends `request` as `options` say (see the module doc).
pub(crate) async fn send(
    http: &reqwest::Client,
    options: &ClientOptions,
    request: reqwest::RequestBuilder,
) -> Result<reqwest::Response, ClientError> {
    let request = request.build()?;
    let bearer = options.bearer.as_deref();
    if bearer.is_some() {
        check_secure(request.url().as_str())?;
    }
    let mut token = match bearer {
        Some(bearer) => bearer.current(http, &options.url).await?,
        None => None,
    };
    // Only a request that may be sent again keeps a copy (its body is a string).
    let mut spare = bearer
        .filter(|b| b.can_renew())
        .and_then(|_| request.try_clone());
    let mut request = request;
    loop {
        let response = execute(http, options, request, token.as_deref()).await?;
        if response.status() == reqwest::StatusCode::FORBIDDEN
            && token.is_some()
            && let Some(challenge) = Challenge::from_headers(response.headers())
            && challenge.error.as_deref() == Some("insufficient_scope")
        {
            return Err(ClientError::Unauthorized(format!(
                "{} refused the bearer token (HTTP 403, insufficient_scope): it needs scope {:?}; \
                 ask for it with --oauth-scope, or obtain a token that carries it",
                response.url(),
                challenge.scope.as_deref().unwrap_or("?"),
            )));
        }
        if response.status() != reqwest::StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let challenge = Challenge::from_headers(response.headers());
        if let (Some(bearer), Some(again)) = (bearer, spare.take())
            && let Some(next) = bearer
                .renew(http, &options.url, token.as_deref(), challenge.as_ref())
                .await?
        {
            token = Some(next);
            request = again;
            continue;
        }
        return Err(unauthorized(response, challenge, token.is_some()).await);
    }
}

/// Adds the token, signs, sends.
async fn execute(
    http: &reqwest::Client,
    options: &ClientOptions,
    mut request: reqwest::Request,
    token: Option<&str>,
) -> Result<reqwest::Response, ClientError> {
    if let Some(token) = token {
        let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| ClientError::OAuth("the token cannot travel in a header".into()))?;
        value.set_sensitive(true);
        request.headers_mut().insert(AUTHORIZATION, value);
    }
    if let Some(signer) = &options.signer {
        signer.sign(&mut request).await?;
    }
    Ok(http.execute(request).await?)
}

/// What a 401 means for the person running the client.
async fn unauthorized(
    response: reqwest::Response,
    challenge: Option<Challenge>,
    sent_token: bool,
) -> ClientError {
    let url = response.url().to_string();
    let body: String = response
        .text()
        .await
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect();
    let Some(challenge) = challenge else {
        return ClientError::Unauthorized(format!(
            "{url} answered HTTP 401 without a Bearer challenge: {body}"
        ));
    };
    let metadata = challenge
        .resource_metadata
        .as_deref()
        .map(|prm| format!(" Its Protected Resource Metadata: {prm}."))
        .unwrap_or_default();
    if sent_token {
        return ClientError::Unauthorized(format!(
            "{url} refused the bearer token (HTTP 401, {}: {}).{metadata}",
            challenge.error.as_deref().unwrap_or("no error code"),
            challenge
                .error_description
                .as_deref()
                .unwrap_or("no description"),
        ));
    }
    ClientError::Unauthorized(format!(
        "{url} needs an OAuth bearer token (HTTP 401).{metadata} Pass a token with \
         MCP_BEARER_TOKEN or --bearer-token-file FILE, or client credentials with \
         --oauth-client-id ID and MCP_OAUTH_CLIENT_SECRET."
    ))
}
