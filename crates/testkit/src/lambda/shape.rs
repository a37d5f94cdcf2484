//! Event shapes (keys and value types) for comparing events, and failure artefacts.

use super::*;

/// Maps whose keys vary from request to request (header and parameter names).
pub(super) const FREE_KEYED: [&str; 6] = [
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "pathParameters",
    "stageVariables",
];

/// The shape of a JSON value: its keys and value types, with free-keyed maps reduced to the
/// types of their values. Two events of the same kind have the same shape.
pub fn shape(value: &Value) -> Value {
    shape_at(value, "")
}

pub(super) fn shape_at(value: &Value, key: &str) -> Value {
    match value {
        Value::Null => json!("null"),
        Value::Bool(_) => json!("bool"),
        Value::Number(_) => json!("number"),
        Value::String(_) => json!("string"),
        Value::Array(items) => {
            let mut kinds: Vec<Value> = items.iter().map(|v| shape_at(v, "")).collect();
            kinds.dedup();
            Value::Array(kinds)
        }
        Value::Object(map) if FREE_KEYED.contains(&key) => {
            let mut kinds: Vec<Value> = map.values().map(|v| shape_at(v, "")).collect();
            kinds.sort_by_key(Value::to_string);
            kinds.dedup();
            json!({ "<any>": kinds })
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), shape_at(v, k)))
                .collect(),
        ),
    }
}

/// Writes `text` to a file in the temp dir and returns its path (for failure artefacts).
pub fn dump(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(name);
    if let Ok(mut file) = File::create(&path) {
        let _ = file.write_all(text.as_bytes());
    }
    path
}
