//! Request metadata headers of 2026-07-28: `Mcp-Method`, `Mcp-Name`, and the
//! `=?base64?…?=` encoding of header values.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::HeaderMap;

pub(crate) const PROTOCOL_VERSION: &str = "mcp-protocol-version";
pub(crate) const SESSION_ID: &str = "mcp-session-id";
pub(crate) const METHOD: &str = "mcp-method";
pub const NAME: &str = "mcp-name";
pub(crate) const LAST_EVENT_ID: &str = "last-event-id";

/// Why a header cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("{0} header is repeated")]
    Repeated(&'static str),
    #[error("{0} header is not visible ASCII")]
    NotAscii(&'static str),
    #[error("{0} header has invalid base64")]
    BadBase64(&'static str),
}

/// The single value of a header, trimmed; `Ok(None)` if absent.
pub fn single<'a>(
    headers: &'a HeaderMap,
    name: &'static str,
) -> Result<Option<&'a str>, HeaderError> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(HeaderError::Repeated(name));
    }
    let text = first.to_str().map_err(|_| HeaderError::NotAscii(name))?;
    Ok(Some(text.trim_matches([' ', '\t'])))
}

/// Decodes a header value that may use the `=?base64?{value}?=` form (standard alphabet,
/// padded, UTF-8); any other value is taken literally.
pub(crate) fn decode_value(raw: &str, name: &'static str) -> Result<String, HeaderError> {
    match raw
        .strip_prefix("=?base64?")
        .and_then(|rest| rest.strip_suffix("?="))
    {
        Some(encoded) => {
            let bytes = STANDARD
                .decode(encoded)
                .map_err(|_| HeaderError::BadBase64(name))?;
            String::from_utf8(bytes).map_err(|_| HeaderError::BadBase64(name))
        }
        None => Ok(raw.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_base64_values() {
        assert_eq!(
            decode_value("=?base64?SGVsbG8sIOS4lueVjA==?=", NAME),
            Ok("Hello, 世界".to_owned())
        );
        assert_eq!(
            decode_value("=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=", NAME),
            Ok("=?base64?literal?=".to_owned())
        );
        assert_eq!(decode_value("plain", NAME), Ok("plain".to_owned()));
        assert!(decode_value("=?base64?!!!?=", NAME).is_err());
        assert!(decode_value("=?base64?SGVsbG8?=", NAME).is_err());
    }
}
