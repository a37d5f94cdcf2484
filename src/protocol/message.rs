//! JSON-RPC envelopes: telling requests, notifications and responses apart, and building the
//! messages we send.

use rmcp::model::ErrorData;
use serde_json::{Map, Value, json};

/// One incoming JSON-RPC message, classified.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    Request {
        id: Value,
        method: String,
        params: Option<Value>,
    },
    Notification {
        method: String,
        params: Option<Value>,
    },
    /// The client's answer to a server-to-client request (`result` or `error`).
    Response { id: Value, raw: Value },
}

/// Why a JSON value is not a JSON-RPC message (-32600), with the id if it could be read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct InvalidMessage {
    pub id: Option<Value>,
    pub reason: String,
}

impl Incoming {
    /// Classifies one JSON value.
    pub(crate) fn classify(value: Value) -> Result<Self, InvalidMessage> {
        let Value::Object(mut object) = value else {
            return Err(invalid(None, "a JSON-RPC message must be an object"));
        };
        let id = object.get("id").cloned();
        let readable_id = id.clone().filter(is_valid_id);
        if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            return Err(invalid(readable_id, "jsonrpc must be \"2.0\""));
        }
        let params = object.remove("params");
        if params
            .as_ref()
            .is_some_and(|p| !p.is_object() && !p.is_array())
        {
            return Err(invalid(readable_id, "params must be an object"));
        }
        match object.remove("method") {
            Some(Value::String(method)) => match id {
                None => Ok(Self::Notification { method, params }),
                Some(id) if is_valid_id(&id) => Ok(Self::Request { id, method, params }),
                Some(_) => Err(invalid(None, "id must be a string or an integer")),
            },
            Some(_) => Err(invalid(readable_id, "method must be a string")),
            None => {
                let has_outcome = object.contains_key("result") ^ object.contains_key("error");
                match id {
                    Some(id) if has_outcome && is_valid_id(&id) => {
                        object.insert("id".into(), id.clone());
                        Ok(Self::Response {
                            id,
                            raw: Value::Object(object),
                        })
                    }
                    _ => Err(invalid(
                        readable_id,
                        "not a request, notification or response",
                    )),
                }
            }
        }
    }

    pub fn method(&self) -> Option<&str> {
        match self {
            Self::Request { method, .. } | Self::Notification { method, .. } => Some(method),
            Self::Response { .. } => None,
        }
    }

    pub fn params(&self) -> Option<&Value> {
        match self {
            Self::Request { params, .. } | Self::Notification { params, .. } => params.as_ref(),
            Self::Response { .. } => None,
        }
    }
}

/// JSON-RPC ids are strings or integers (never null, never fractional).
fn is_valid_id(id: &Value) -> bool {
    match id {
        Value::String(_) => true,
        Value::Number(n) => n.is_i64() || n.is_u64(),
        _ => false,
    }
}

fn invalid(id: Option<Value>, reason: &str) -> InvalidMessage {
    InvalidMessage {
        id,
        reason: reason.to_owned(),
    }
}

/// A successful response.
pub fn response(id: &Value, result: Value) -> Value {
    // Built by hand: `json!` would copy `result` through `to_value`.
    envelope(id.clone(), "result", result)
}

/// `{"jsonrpc":"2.0","id":…,KEY:VALUE}` without copying VALUE.
fn envelope(id: Value, key: &str, value: Value) -> Value {
    let mut object = Map::new();
    object.insert("jsonrpc".to_owned(), Value::from("2.0"));
    object.insert("id".to_owned(), id);
    object.insert(key.to_owned(), value);
    Value::Object(object)
}

/// Serialises a message (a `Vec` with room for it, not `Display`'s growing `String`).
pub fn encode(message: &Value) -> String {
    serde_json::to_string(message).unwrap_or_default()
}

/// An error response.
pub(crate) fn error_response(id: &Value, error: &ErrorData) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": error })
}

/// A notification.
pub fn notification(method: &str, params: Value) -> Value {
    let mut object = Map::new();
    object.insert("jsonrpc".to_owned(), Value::from("2.0"));
    object.insert("method".to_owned(), Value::from(method));
    object.insert("params".to_owned(), params);
    Value::Object(object)
}

/// A server-to-client request.
pub fn request(id: &str, method: &str, params: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })
}

/// The `_meta` object of a request's params, if any.
pub(crate) fn params_meta(params: Option<&Value>) -> Option<&Map<String, Value>> {
    params?.get("_meta")?.as_object()
}

/// A stable text key for a JSON-RPC id (`"abc"` and `1` stay distinct).
pub(crate) fn id_key(id: &Value) -> String {
    id.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_messages() {
        let req = Incoming::classify(json!({"jsonrpc":"2.0","id":1,"method":"ping"}));
        assert!(matches!(req, Ok(Incoming::Request { .. })));
        let note =
            Incoming::classify(json!({"jsonrpc":"2.0","method":"notifications/initialized"}));
        assert!(matches!(note, Ok(Incoming::Notification { .. })));
        let resp = Incoming::classify(json!({"jsonrpc":"2.0","id":"s-1","result":{}}));
        assert!(matches!(resp, Ok(Incoming::Response { .. })));
    }

    #[test]
    fn rejects_malformed_messages() {
        for bad in [
            json!([]),
            json!("x"),
            json!({"id":1,"method":"ping"}),
            json!({"jsonrpc":"2.0","id":null,"method":"ping"}),
            json!({"jsonrpc":"2.0","id":1.5,"method":"ping"}),
            json!({"jsonrpc":"2.0","id":1,"method":7}),
            json!({"jsonrpc":"2.0","id":1,"method":"ping","params":"x"}),
            json!({"jsonrpc":"2.0","id":1}),
            json!({"jsonrpc":"2.0","id":1,"result":{},"error":{}}),
        ] {
            assert!(Incoming::classify(bad.clone()).is_err(), "{bad}");
        }
        let err = Incoming::classify(json!({"jsonrpc":"1.0","id":7,"method":"x"})).unwrap_err();
        assert_eq!(err.id, Some(json!(7)));
    }
}
