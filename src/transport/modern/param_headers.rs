//! `Mcp-Param-{Name}` headers (SEP-2243): a tool may mark arguments with `x-mcp-header` in its
//! input schema so gateways can route on them without reading the body. The server checks that
//! each such header agrees with the body, so a proxy's view and the tool's view cannot differ.

use http::HeaderMap;
use serde_json::{Map, Value};

use crate::protocol::headers;

/// A disagreement between an `Mcp-Param-*` header and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParamMismatch(pub String);

/// Checks every `x-mcp-header` argument of `schema` against the request's headers.
pub fn check(
    headers: &HeaderMap,
    schema: &Map<String, Value>,
    arguments: Option<&Value>,
) -> Result<(), ParamMismatch> {
    let mut annotated = Vec::new();
    collect(schema, &mut Vec::new(), &mut annotated);
    for (path, header_name) in annotated {
        let body = lookup(arguments, &path).filter(|v| !v.is_null());
        let name = format!("mcp-param-{}", header_name.to_ascii_lowercase());
        let mut values = headers.get_all(name.as_str()).iter();
        let header = values.next();
        if values.next().is_some() {
            return Err(ParamMismatch(format!(
                "Mcp-Param-{header_name} is repeated"
            )));
        }
        match (header, body) {
            (None, None) => {}
            (Some(_), None) => {
                return Err(ParamMismatch(format!(
                    "Mcp-Param-{header_name} is set but the argument is absent"
                )));
            }
            (None, Some(_)) => {
                return Err(ParamMismatch(format!(
                    "Mcp-Param-{header_name} header is missing"
                )));
            }
            (Some(raw), Some(value)) => {
                let raw = raw
                    .to_str()
                    .map_err(|_| {
                        ParamMismatch(format!("Mcp-Param-{header_name} is not visible ASCII"))
                    })?
                    .trim_matches([' ', '\t']);
                let decoded = headers::decode_value(raw, "Mcp-Param")
                    .map_err(|e| ParamMismatch(format!("Mcp-Param-{header_name}: {e}")))?;
                if !agrees(&decoded, value) {
                    return Err(ParamMismatch(format!(
                        "Mcp-Param-{header_name} header {decoded:?} does not match the argument {value}"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Walks `properties` (only `properties`: annotations elsewhere are not honoured) and records
/// the argument path and header name of each `x-mcp-header` annotation.
fn collect(
    schema: &Map<String, Value>,
    path: &mut Vec<String>,
    out: &mut Vec<(Vec<String>, String)>,
) {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (name, property) in properties {
        let Some(property) = property.as_object() else {
            continue;
        };
        path.push(name.clone());
        if let Some(header) = property.get("x-mcp-header").and_then(Value::as_str) {
            out.push((path.clone(), header.to_owned()));
        }
        collect(property, path, out);
        path.pop();
    }
}

fn lookup<'a>(arguments: Option<&'a Value>, path: &[String]) -> Option<&'a Value> {
    path.iter()
        .try_fold(arguments?, |value, key| value.get(key))
}

/// Strings compare as they are; integers numerically (`42` equals `42.0`); booleans as
/// `true`/`false`.
fn agrees(header: &str, body: &Value) -> bool {
    match body {
        Value::String(s) => s == header,
        Value::Bool(b) => header == if *b { "true" } else { "false" },
        Value::Number(n) => match (n.as_f64(), header.parse::<f64>()) {
            (Some(a), Ok(b)) => a == b,
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use serde_json::json;

    fn schema() -> Map<String, Value> {
        json!({ "type": "object", "properties": {
            "region": { "type": "string", "x-mcp-header": "Region" },
            "limit": { "type": "integer", "x-mcp-header": "Limit" },
        } })
        .as_object()
        .cloned()
        .unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn validates_param_headers() {
        let args = json!({ "region": "Hello", "limit": 42 });
        let ok = headers(&[
            ("mcp-param-region", "=?base64?SGVsbG8=?="),
            ("mcp-param-limit", "42.0"),
        ]);
        assert_eq!(check(&ok, &schema(), Some(&args)), Ok(()));
        let literal = headers(&[("mcp-param-region", "Hello"), ("mcp-param-limit", "42")]);
        assert_eq!(check(&literal, &schema(), Some(&args)), Ok(()));
        let bad_padding = headers(&[
            ("mcp-param-region", "=?base64?SGVsbG8?="),
            ("mcp-param-limit", "42"),
        ]);
        assert!(check(&bad_padding, &schema(), Some(&args)).is_err());
        let missing = headers(&[("mcp-param-limit", "42")]);
        assert!(check(&missing, &schema(), Some(&args)).is_err());
        let absent_body = headers(&[("mcp-param-region", "x")]);
        assert!(check(&absent_body, &schema(), Some(&json!({}))).is_err());
        assert_eq!(
            check(&HeaderMap::new(), &schema(), Some(&json!({}))),
            Ok(())
        );
    }
}
