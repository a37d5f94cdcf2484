//! JSON-RPC 2.0 messages as an MCP client sends them: the one builder the tests and the kit
//! use, so a message's shape is written once.

use serde_json::{Value, json};

/// A request; `params` left out when it is `Value::Null` (as `tools/list` and `ping` are sent).
pub fn request(id: impl Into<Value>, method: &str, params: Value) -> Value {
    let mut message = json!({ "jsonrpc": "2.0", "id": id.into(), "method": method });
    if !params.is_null() {
        message["params"] = params;
    }
    message
}

/// A notification (no id); `params` left out when it is `Value::Null`.
pub fn notification(method: &str, params: Value) -> Value {
    let mut message = json!({ "jsonrpc": "2.0", "method": method });
    if !params.is_null() {
        message["params"] = params;
    }
    message
}

/// A response to a request the server sent (sampling, elicitation, roots).
pub fn response(id: Value, result: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "result": result })
}

/// A session-era `initialize` for `version`, from a client called `client` declaring
/// `capabilities`.
pub fn initialize(id: impl Into<Value>, version: &str, client: &str, capabilities: Value) -> Value {
    request(
        id,
        "initialize",
        json!({
            "protocolVersion": version,
            "capabilities": capabilities,
            "clientInfo": { "name": client, "version": "1" },
        }),
    )
}

/// A `tools/call` request, with a progress token when one is given.
pub fn call(id: u64, tool: &str, arguments: Value, progress_token: Option<&str>) -> Value {
    let mut params = json!({ "name": tool, "arguments": arguments });
    if let Some(token) = progress_token {
        params["_meta"] = json!({ "progressToken": token });
    }
    request(id, "tools/call", params)
}
