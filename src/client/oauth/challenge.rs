//! Reading a 401's `WWW-Authenticate: Bearer` challenge (RFC 6750 section 3, RFC 9728
//! section 5.1): where the Protected Resource Metadata is, the scope to ask for, and why a
//! token was refused. API Gateway renames the header of a proxied answer to
//! `x-amzn-remapped-www-authenticate`, so both are read.

use reqwest::header::HeaderMap;

/// The headers a challenge may arrive in, in order of preference.
const CHALLENGE_HEADERS: [&str; 2] = ["www-authenticate", "x-amzn-remapped-www-authenticate"];

/// What a `Bearer` challenge says. Every field is optional: a bare `Bearer` is a challenge too.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Challenge {
    pub resource_metadata: Option<String>,
    pub scope: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

impl Challenge {
    /// The `Bearer` challenge among `headers`, if there is one.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        CHALLENGE_HEADERS
            .iter()
            .flat_map(|name| headers.get_all(*name))
            .filter_map(|value| value.to_str().ok())
            .find_map(parse)
    }
}

/// Parses the `Bearer` challenge of one `WWW-Authenticate` value (which may list challenges of
/// other schemes before or after it).
pub fn parse(value: &str) -> Option<Challenge> {
    let mut rest = value.trim_start();
    let mut in_bearer = false;
    let mut found: Option<Challenge> = None;
    while !rest.is_empty() {
        // A token: either a new scheme or a parameter name.
        let end = rest
            .find(|c: char| c == '=' || c == ',' || c.is_whitespace())
            .unwrap_or(rest.len());
        let token = &rest[..end];
        rest = rest[end..].trim_start();
        if let Some(after) = rest.strip_prefix('=') {
            let (value, after) = param_value(after.trim_start());
            rest = after;
            if in_bearer && let Some(challenge) = found.as_mut() {
                let slot = match token.to_ascii_lowercase().as_str() {
                    "resource_metadata" => &mut challenge.resource_metadata,
                    "scope" => &mut challenge.scope,
                    "error" => &mut challenge.error,
                    "error_description" => &mut challenge.error_description,
                    _ => &mut None,
                };
                *slot = Some(value);
            }
        } else if !token.is_empty() {
            if found.is_some() && in_bearer {
                break;
            }
            in_bearer = token.eq_ignore_ascii_case("bearer");
            if in_bearer {
                found = Some(Challenge::default());
            }
        }
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
    }
    found
}

/// A quoted string (with `\` escapes) or a bare token, and what follows it.
fn param_value(input: &str) -> (String, &str) {
    let Some(quoted) = input.strip_prefix('"') else {
        let end = input.find([',', ' ']).unwrap_or(input.len());
        return (input[..end].to_owned(), &input[end..]);
    };
    let mut value = String::new();
    let mut chars = quoted.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' => value.extend(chars.next().map(|(_, escaped)| escaped)),
            '"' => return (value, &quoted[at + 1..]),
            c => value.push(c),
        }
    }
    (value, "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn reads_the_parameters_of_our_challenges() {
        let challenge = parse(
            r#"Bearer resource_metadata="https://h/.well-known/oauth-protected-resource/mcp", scope="mcp:tools", error="invalid_token", error_description="the token \"expired\""#,
        )
        .unwrap();
        assert_eq!(
            challenge.resource_metadata.as_deref(),
            Some("https://h/.well-known/oauth-protected-resource/mcp")
        );
        assert_eq!(challenge.scope.as_deref(), Some("mcp:tools"));
        assert_eq!(challenge.error.as_deref(), Some("invalid_token"));
        assert_eq!(
            challenge.error_description.as_deref(),
            Some("the token \"expired\"")
        );
        assert_eq!(parse("Bearer"), Some(Challenge::default()));
        assert_eq!(
            parse("bearer error=invalid_token")
                .unwrap()
                .error
                .as_deref(),
            Some("invalid_token")
        );
    }

    #[test]
    fn finds_the_bearer_challenge_among_others() {
        let value = r#"Basic realm="x, y", Bearer scope="a b", DPoP algs="ES256""#;
        let challenge = parse(value).unwrap();
        assert_eq!(challenge.scope.as_deref(), Some("a b"));
        assert_eq!(challenge.resource_metadata, None);
        assert_eq!(parse(r#"Basic realm="api""#), None);
        assert_eq!(parse(""), None);
    }

    #[test]
    fn reads_the_header_api_gateway_remaps() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-amzn-remapped-www-authenticate",
            HeaderValue::from_static(r#"Bearer resource_metadata="https://gw/prm""#),
        );
        let challenge = Challenge::from_headers(&headers).unwrap();
        assert_eq!(
            challenge.resource_metadata.as_deref(),
            Some("https://gw/prm")
        );
        headers.insert(
            "www-authenticate",
            HeaderValue::from_static(r#"Bearer resource_metadata="https://direct/prm""#),
        );
        let challenge = Challenge::from_headers(&headers).unwrap();
        assert_eq!(
            challenge.resource_metadata.as_deref(),
            Some("https://direct/prm")
        );
        assert_eq!(Challenge::from_headers(&HeaderMap::new()), None);
    }
}
