//! The client-credentials grant (RFC 6749 section 4.4) at a token endpoint: the client
//! authenticates with HTTP Basic (`client_secret_basic`, which every authorization server
//! must support, Amazon Cognito included), asks for its scope and names the resource
//! (RFC 8707), as the MCP authorization specification asks of every client.

use std::time::Duration;

use serde_json::Value;

use super::super::ClientError;
use super::discovery::read_json;

/// The longest lifetime believed: a token said to last longer is obtained again after a day
/// (or when the server refuses it), and an absurd `expires_in` cannot overflow a clock.
const MAX_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// A token the endpoint issued.
#[derive(Clone)]
pub struct Issued {
    pub access_token: String,
    /// `expires_in`, when the endpoint said.
    pub lifetime: Option<Duration>,
}

/// Asks `token_endpoint` for a token. `resource` is left out when `None`.
pub async fn client_credentials(
    http: &reqwest::Client,
    token_endpoint: &str,
    client_id: &str,
    client_secret: &str,
    scope: Option<&str>,
    resource: Option<&str>,
) -> Result<Issued, ClientError> {
    let mut form = vec![("grant_type", "client_credentials")];
    form.extend(scope.map(|s| ("scope", s)));
    form.extend(resource.map(|r| ("resource", r)));
    // RFC 6749 section 2.3.1: the id and secret are form-encoded before Basic encoding.
    let response = http
        .post(token_endpoint)
        .basic_auth(form_encode(client_id), Some(form_encode(client_secret)))
        .header("accept", "application/json")
        .form(&form)
        .send()
        .await?;
    let (status, body) = read_json(response).await?;
    if !status.is_success() {
        return Err(ClientError::TokenRefused {
            endpoint: token_endpoint.to_owned(),
            client_id: client_id.to_owned(),
            status: status.as_u16(),
            error: body["error"].as_str().unwrap_or("no error code").to_owned(),
            description: body["error_description"]
                .as_str()
                .unwrap_or("")
                .chars()
                .take(300)
                .collect(),
        });
    }
    let access_token = body["access_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ClientError::OAuth(format!("{token_endpoint} answered without an access_token"))
        })?;
    if !body["token_type"]
        .as_str()
        .is_some_and(|t| t.eq_ignore_ascii_case("bearer"))
    {
        return Err(ClientError::OAuth(format!(
            "{token_endpoint} issued a token of type {}, not Bearer",
            body["token_type"]
        )));
    }
    Ok(Issued {
        access_token: access_token.to_owned(),
        lifetime: lifetime(&body),
    })
}

/// `expires_in` (seconds), at most [`MAX_LIFETIME`]; `None` when absent or not a whole number.
fn lifetime(body: &Value) -> Option<Duration> {
    body["expires_in"]
        .as_u64()
        .map(|secs| Duration::from_secs(secs).min(MAX_LIFETIME))
}

/// `application/x-www-form-urlencoded` of one value: unreserved characters stay, space
/// becomes `+`, every other byte `%XX`.
fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issuers_lifetime_is_believed_up_to_a_day() {
        let of = |expires_in: Value| lifetime(&serde_json::json!({ "expires_in": expires_in }));
        assert_eq!(of(3600.into()), Some(Duration::from_secs(3600)));
        assert_eq!(of(u64::MAX.into()), Some(MAX_LIFETIME));
        assert_eq!(of((-5).into()), None);
        assert_eq!(of("3600".into()), None);
        assert_eq!(lifetime(&serde_json::json!({})), None);
    }

    #[test]
    fn ids_and_secrets_are_form_encoded_before_basic() {
        assert_eq!(form_encode("abc-123_X.y"), "abc-123_X.y");
        assert_eq!(form_encode("a b+c/d=e%"), "a+b%2Bc%2Fd%3De%25");
        assert_eq!(form_encode("é"), "%C3%A9");
    }
}
