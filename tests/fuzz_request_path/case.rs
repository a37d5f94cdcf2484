//! One fuzz case of the request path, in the form the corpus stores it, and how random cases
//! are made: a well-formed message of one era, then edits of its JSON, its bytes and its
//! headers.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bedrock_usage_mcp::usage::source::synthetic::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::fuzz::mutate::{Dictionary, mutate_bytes, mutate_value, odd_string, pick_str};

/// Stand-ins in header values, replaced when the case is sent: the case era's session, a
/// session of another version, a terminated session.
pub const SESSION: &str = "{session}";
pub const OTHER_SESSION: &str = "{other_session}";
pub const ENDED_SESSION: &str = "{ended_session}";

/// The eras a case is made for: the stateless revision and the session-based ones (2025-03-26
/// is the one with batches).
pub const ERAS: [&str; 4] = ["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"];
pub const MODERN: &str = "2026-07-28";

/// A request as the corpus stores it (`tests/data/fuzz/request_path/*.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Case {
    /// The era it was made for; for a legacy version, `{session}` is a session of it.
    pub era: String,
    pub method: String,
    /// In order; a name may repeat.
    pub headers: Vec<(String, Text)>,
    pub body: Text,
    /// Sent in chunks of this many bytes instead of one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunked: Option<usize>,
}

/// Bytes, as a string when they are UTF-8 and as hex otherwise.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Text {
    Utf8(String),
    Hex { hex: String },
}

impl Text {
    pub fn new(bytes: Vec<u8>) -> Self {
        match String::from_utf8(bytes) {
            Ok(text) => Text::Utf8(text),
            Err(e) => Text::Hex {
                hex: e.as_bytes().iter().map(|b| format!("{b:02x}")).collect(),
            },
        }
    }

    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Text::Utf8(text) => text.as_bytes().to_vec(),
            Text::Hex { hex } => (0..hex.len() / 2)
                .filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
                .collect(),
        }
    }
}

const RPC: Dictionary = Dictionary {
    keys: &[
        "jsonrpc",
        "id",
        "method",
        "params",
        "result",
        "error",
        "code",
        "message",
        "_meta",
        "name",
        "arguments",
        "uri",
        "ref",
        "argument",
        "value",
        "level",
        "requestId",
        "progressToken",
        "cursor",
        "protocolVersion",
        "capabilities",
        "clientInfo",
        "inputResponses",
        "requestState",
        "io.modelcontextprotocol/protocolVersion",
        "io.modelcontextprotocol/clientCapabilities",
        "io.modelcontextprotocol/clientInfo",
        "io.modelcontextprotocol/logLevel",
    ],
    strings: &[
        "2.0",
        "1.0",
        "2026-07-28",
        "2025-11-25",
        "2025-03-26",
        "1999-01-01",
        "initialize",
        "ping",
        "tools/list",
        "tools/call",
        "prompts/get",
        "resources/read",
        "subscriptions/listen",
        "notifications/initialized",
        "notifications/cancelled",
        "test_simple_text",
        "test_param_header",
        "test_prompt_with_arguments",
        "test://static-text",
        "test://template/1/data",
        "debug",
    ],
};

/// Methods a case may call, by era, with how often. Tools that wait for the client
/// (sampling, elicitation) or run long are left out: they would make slow cases, not
/// different ones (`tests/legacy_streams.rs` covers them).
const MODERN_METHODS: [(&str, u64); 12] = [
    ("server/discover", 6),
    ("tools/list", 6),
    ("tools/call", 30),
    ("resources/list", 4),
    ("resources/templates/list", 3),
    ("resources/read", 10),
    ("prompts/list", 4),
    ("prompts/get", 10),
    ("completion/complete", 8),
    ("subscriptions/listen", 2),
    ("ping", 3),
    ("initialize", 3),
];
const LEGACY_METHODS: [(&str, u64); 11] = [
    ("ping", 8),
    ("tools/list", 6),
    ("tools/call", 30),
    ("resources/list", 4),
    ("resources/read", 10),
    ("resources/subscribe", 4),
    ("prompts/get", 10),
    ("completion/complete", 8),
    ("logging/setLevel", 6),
    ("initialize", 6),
    ("server/discover", 2),
];
const QUICK_TOOLS: [&str; 10] = [
    "test_simple_text",
    "test_image_content",
    "test_audio_content",
    "test_embedded_resource",
    "test_multiple_content_types",
    "test_error_handling",
    "test_tool_with_logging",
    "test_param_header",
    "test_missing_capability",
    "no_such_tool",
];
/// Tools that answer at once with `input_required` (2026-07-28 only).
const MRTR_TOOLS: [&str; 4] = [
    "test_input_required_result_elicitation",
    "test_input_required_result_request_state",
    "test_input_required_result_multi_round",
    "test_input_required_result_tampered_state",
];
const PROMPTS: [&str; 4] = [
    "test_simple_prompt",
    "test_prompt_with_arguments",
    "test_prompt_with_embedded_resource",
    "no_such_prompt",
];
const URIS: [&str; 5] = [
    "test://static-text",
    "test://static-binary",
    "test://watched-resource",
    "test://template/42/data",
    "test://nothing",
];

/// A random case: a message (or batch) of a random era, its headers, then edits.
pub fn generate(rng: &mut Rng) -> Case {
    let era = pick_str(rng, &ERAS);
    let modern = era == MODERN;
    let method = match rng.below(100) {
        0..=84 => "POST",
        85..=91 => "GET",
        92..=96 => "DELETE",
        _ => pick_str(rng, &["OPTIONS", "PUT", "PATCH", "HEAD"]),
    };
    let mut body = if method != "POST" {
        Value::Null
    } else if rng.chance(if era == "2025-03-26" { 30 } else { 5 }) {
        Value::Array(
            (0..rng.in_range(0..=5))
                .map(|_| message(rng, era))
                .collect(),
        )
    } else {
        message(rng, era)
    };
    for _ in 0..rng.weighted(&[30, 40, 20, 10]) {
        mutate_value(rng, &mut body, &RPC);
    }
    let mut bytes = if method == "POST" {
        body.to_string().into_bytes()
    } else {
        Vec::new()
    };
    if rng.chance(15) {
        for _ in 0..rng.in_range(1..=3) {
            mutate_bytes(rng, &mut bytes);
        }
    }
    let mut headers = good_headers(method, era, &body);
    for _ in 0..rng.weighted(&[35, 35, 20, 10]) {
        mutate_header(rng, &mut headers, modern);
    }
    Case {
        era: era.to_owned(),
        method: method.to_owned(),
        headers: headers
            .into_iter()
            .map(|(name, value)| (name, Text::new(value)))
            .collect(),
        body: Text::new(bytes),
        chunked: rng.chance(10).then(|| rng.in_range(1..=64) as usize),
    }
}

/// A well-formed message of `era`: mostly requests, some notifications and responses.
fn message(rng: &mut Rng, era: &str) -> Value {
    let modern = era == MODERN;
    let table: &[(&str, u64)] = if modern {
        &MODERN_METHODS
    } else {
        &LEGACY_METHODS
    };
    let weights: Vec<u64> = table.iter().map(|(_, w)| *w).collect();
    let method = table[rng.weighted(&weights)].0;
    let id = odd_id(rng);
    match rng.below(100) {
        0..=7 => {
            let note = pick_str(
                rng,
                &[
                    "notifications/initialized",
                    "notifications/cancelled",
                    "notifications/roots/list_changed",
                    "notifications/progress",
                ],
            );
            json!({ "jsonrpc": "2.0", "method": note, "params": { "requestId": id, "reason": "x" } })
        }
        8..=14 => json!({ "jsonrpc": "2.0", "id": id, "result": {} }),
        _ => {
            let mut params = params(rng, method, era);
            if modern && method != "initialize" || rng.chance(3) {
                params["_meta"] = modern_meta(rng);
            } else if rng.chance(20) {
                params["_meta"] = json!({ "progressToken": odd_id(rng) });
            }
            json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })
        }
    }
}

/// Ids: small and huge integers, strings, and the edges of what JSON-RPC allows.
fn odd_id(rng: &mut Rng) -> Value {
    match rng.below(10) {
        0 => json!(u64::MAX),
        1 => json!(i64::MIN),
        2 => json!(""),
        3 => json!(odd_string(rng)),
        4 => json!(0),
        5 => json!(format!("req-{}", rng.below(1000))),
        _ => json!(rng.below(1_000_000)),
    }
}

fn modern_meta(rng: &mut Rng) -> Value {
    let mut meta = json!({
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": { "name": "fuzz", "version": "1" },
        "io.modelcontextprotocol/clientCapabilities":
            if rng.chance(70) { json!({ "elicitation": {}, "sampling": {} }) } else { json!({}) },
    });
    if rng.chance(20) {
        meta["io.modelcontextprotocol/logLevel"] = json!(pick_str(rng, &["debug", "info", "x"]));
    }
    if rng.chance(20) {
        meta["progressToken"] = odd_id(rng);
    }
    meta
}

fn params(rng: &mut Rng, method: &str, era: &str) -> Value {
    match method {
        "initialize" => json!({
            "protocolVersion": pick_str(rng, &ERAS),
            "capabilities": { "sampling": {}, "roots": { "listChanged": true } },
            "clientInfo": { "name": "fuzz", "version": "1" },
        }),
        "tools/call" => {
            let name = if era == MODERN && rng.chance(30) {
                pick_str(rng, &MRTR_TOOLS)
            } else {
                pick_str(rng, &QUICK_TOOLS)
            };
            let mut arguments = Map::new();
            if name == "test_param_header" || rng.chance(10) {
                arguments.insert("region".into(), json!("us-east-1"));
            }
            json!({ "name": name, "arguments": arguments })
        }
        "prompts/get" => json!({
            "name": pick_str(rng, &PROMPTS),
            "arguments": { "arg1": "a", "arg2": "b" },
        }),
        "resources/read" | "resources/subscribe" => json!({ "uri": pick_str(rng, &URIS) }),
        "completion/complete" => json!({
            "ref": { "type": "ref/prompt", "name": "test_prompt_with_arguments" },
            "argument": { "name": pick_str(rng, &["arg1", "arg2", "x"]), "value": "p" },
        }),
        "logging/setLevel" => json!({ "level": pick_str(rng, &["debug", "error", "loud"]) }),
        "subscriptions/listen" => json!({ "notifications": { "toolsListChanged": true } }),
        _ => json!({}),
    }
}

/// The headers a well-behaved client of `era` sends with `body`.
fn good_headers(method: &str, era: &str, body: &Value) -> Vec<(String, Vec<u8>)> {
    let mut headers = vec![("host".to_owned(), b"127.0.0.1".to_vec())];
    let mut add = |name: &str, value: &str| headers.push((name.to_owned(), header_text(value)));
    match method {
        "POST" => {
            add("accept", "application/json, text/event-stream");
            add("content-type", "application/json");
        }
        "GET" => add("accept", "text/event-stream"),
        _ => {}
    }
    add("mcp-protocol-version", era);
    let method_name = body["method"].as_str();
    if era == MODERN {
        if let Some(name) = method_name {
            add("mcp-method", name);
        }
        let target = body["params"]["name"]
            .as_str()
            .or(body["params"]["uri"].as_str());
        if let Some(target) = target {
            add("mcp-name", target);
        }
        if let Some(region) = body["params"]["arguments"]["region"].as_str() {
            add("mcp-param-region", region);
        }
    } else if method_name != Some("initialize") {
        add("mcp-session-id", SESSION);
    }
    headers
}

/// A header value as a 2026-07-28 client sends one: as it is when it is visible ASCII, else
/// `=?base64?…?=`.
fn header_text(value: &str) -> Vec<u8> {
    if value.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
        value.into()
    } else {
        format!("=?base64?{}?=", STANDARD.encode(value)).into_bytes()
    }
}

/// Values worth trying for each header a server reads.
fn odd_header(rng: &mut Rng, name: &str) -> Vec<u8> {
    let values: &[&str] = match name {
        "host" => &[
            "localhost:8080",
            "[::1]:1",
            "evil.example",
            "127.0.0.1:80@evil.example",
            "127.0.0.1:99999",
            "",
            "LOCALHOST",
            "127.0.0.1.",
            "127.0.0.1:",
        ],
        "origin" => &[
            "http://localhost:5173",
            "http://127.0.0.1",
            "https://evil.example",
            "null",
            "",
            "http://localhost:5173/path",
            "file://",
            "http://[::1]:1",
        ],
        "accept" => &[
            "application/json",
            "text/event-stream",
            "*/*",
            "application/*, text/*",
            "",
            "application/json;q=0, text/event-stream;q=0",
            "APPLICATION/JSON, TEXT/EVENT-STREAM",
            "application/json,text/event-stream,",
        ],
        "content-type" => &[
            "application/json; charset=utf-8",
            "application/json; charset=latin1",
            "text/plain",
            "",
            "application/jsonx",
            "APPLICATION/JSON",
            "application/json ; x=\"y\"",
        ],
        "mcp-protocol-version" => &[
            "2026-07-28",
            "2025-11-25",
            "2025-06-18",
            "2025-03-26",
            "1999-01-01",
            "",
            " 2025-11-25 ",
            "2025-11-25, 2026-07-28",
        ],
        "mcp-session-id" => &[
            SESSION,
            OTHER_SESSION,
            ENDED_SESSION,
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "",
            "x",
            "{session} ",
        ],
        "last-event-id" => &[
            "0",
            "1",
            "abc",
            "-1",
            "99999999999999999999",
            "",
            "{session}:1",
            "s:0:1",
        ],
        "mcp-method" | "mcp-name" => &[
            "tools/call",
            "test_simple_text",
            "",
            "=?base64?dGVzdF9zaW1wbGVfdGV4dA==?=",
            "=?base64?!!?=",
            "tools/list ",
        ],
        _ => &["us-east-1", "=?base64?dXMtZWFzdC0x?=", "", "=?base64??="],
    };
    match rng.below(10) {
        0 => b"caf\xe9\xff".to_vec(),
        1 => "a".repeat(rng.in_range(100..=20_000) as usize).into_bytes(),
        _ => pick_str(rng, values).as_bytes().to_vec(),
    }
}

const HEADER_NAMES: [&str; 11] = [
    "host",
    "origin",
    "accept",
    "content-type",
    "mcp-protocol-version",
    "mcp-session-id",
    "last-event-id",
    "mcp-method",
    "mcp-name",
    "mcp-param-region",
    "mcp-param-other",
];

/// One header edit: removed, replaced, repeated or added.
fn mutate_header(rng: &mut Rng, headers: &mut Vec<(String, Vec<u8>)>, modern: bool) {
    let name = if modern || rng.chance(50) {
        pick_str(rng, &HEADER_NAMES)
    } else {
        pick_str(rng, &HEADER_NAMES[..7])
    };
    let value = odd_header(rng, name);
    match rng.below(4) {
        0 => headers.retain(|(n, _)| n != name),
        1 => {
            headers.retain(|(n, _)| n != name);
            headers.push((name.to_owned(), value));
        }
        _ => headers.push((name.to_owned(), value)),
    }
}
