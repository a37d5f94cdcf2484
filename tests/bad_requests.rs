//! Bad requests, table-driven. Each row is one malformed, unauthorised or unsupported HTTP
//! request to the in-process router, with the HTTP status and the JSON-RPC error code the MCP
//! Streamable HTTP transport calls for (2026-07-28 for the stateless era, 2025-03-26 to
//! 2025-11-25 for sessions). Every row runs and every mismatch is reported at once. After each
//! row the same app must still answer a good 2026-07-28 request and a good legacy one.
//!
//! Error bodies must be `{"jsonrpc":"2.0","id":…,"error":{"code":…,"message":…}}` with
//! `Content-Type: application/json`. The `id` echoes the request's id when the server could
//! read it, and is null or absent when it could not (parse errors, rejections before the body
//! is read). Session rejections answer the HTTP request rather than a message, so their `id`
//! is not checked.
//!

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use bedrock_usage_mcp::store::MemoryStore;
use bedrock_usage_mcp::transport::{McpService, TransportConfig};
use http::Method;
use mcp_conformance::conformance_server;
use mcp_testkit::http::{Framing, RawRequest, Reply, exchange};
use mcp_testkit::jsonrpc::{self, request as rpc};
use serde_json::{Value, json};

// JSON-RPC error codes.
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;
const HEADER_MISMATCH: i64 = -32020;
const MISSING_CAPABILITY: i64 = -32021;
const UNSUPPORTED_VERSION: i64 = -32022;
/// Legacy only; 2026-07-28 uses -32602.
const RESOURCE_NOT_FOUND: i64 = -32002;
/// This server's code for a legacy 404 (legacy implementation-defined range).
const SESSION_NOT_FOUND: i64 = -32001;

const MODERN: &str = "2026-07-28";
const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
const META_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
const META_LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";

/// Longest a single exchange may take before it counts as a hang.
const PATIENCE: Duration = Duration::from_secs(10);
/// `max_body_bytes` of the small app.
const SMALL_LIMIT: usize = 1024;
const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;
/// A session id of the right shape (64 hex digits) that was never issued.
const UNKNOWN_SESSION: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
/// Bytes that are a valid header value (`obs-text`) but not UTF-8.
const NOT_UTF8: &[u8] = b"caf\xe9\xff";

// ------------------------------------------------------------------------------------------
// The table
// ------------------------------------------------------------------------------------------

/// The rows the server gets right.
fn cases(s: &Sessions) -> Vec<Case> {
    let mut rows = Vec::new();
    rows.extend(routing_and_guards(s));
    rows.extend(accept_content_type_and_size());
    rows.extend(parse_errors(s));
    rows.extend(invalid_messages(s));
    rows.extend(legacy_sessions(s));
    rows.extend(legacy_in_session(s));
    rows.extend(legacy_batches(s));
    rows.extend(legacy_get_and_delete(s));
    rows.extend(modern_meta_and_headers());
    rows.extend(modern_dispatch());
    rows.extend(garbage());
    rows.extend(version_headers(s));
    rows
}

/// Unsupported version headers outside the request path (found by this table, now fixed).
fn version_headers(s: &Sessions) -> Vec<Case> {
    vec![
        // Legacy transport (2025-06-18 and 2025-11-25), "Protocol Version Header": the client
        // MUST send `MCP-Protocol-Version` on all subsequent requests, and "if the server
        // receives a request with an invalid or unsupported MCP-Protocol-Version, it MUST
        // respond with 400 Bad Request" — DELETE included.
        row(
            "DELETE with an unsupported MCP-Protocol-Version",
            delete(&s.doomed).set("mcp-protocol-version", "1999-01-01"),
            400,
            error(INVALID_REQUEST).any_id(),
        ),
        // Both eras: a POST naming a version the server does not implement MUST get 400
        // (2026-07-28 "Protocol Version Header": "400 Bad Request and an
        // UnsupportedProtocolVersionError"; legacy: "invalid or unsupported
        // MCP-Protocol-Version ... MUST respond with 400"), notifications included.
        row(
            "notification with an unsupported MCP-Protocol-Version",
            RawRequest::post(note("notifications/initialized").to_string())
                .header("mcp-protocol-version", "1999-01-01"),
            400,
            error(UNSUPPORTED_VERSION).data(|data| supported_and_requested(data, "1999-01-01")),
        ),
    ]
}

fn routing_and_guards(s: &Sessions) -> Vec<Case> {
    let good = || modern(modern_body(1, "tools/list", json!({})));
    vec![
        row("POST to another path", good().path("/"), 404, Want::Plain),
        row("POST to /mcp/", good().path("/mcp/"), 404, Want::Plain),
        row("POST to /MCP", good().path("/MCP"), 404, Want::Plain),
        row(
            "PUT",
            good().method(Method::PUT),
            405,
            error(INVALID_REQUEST),
        )
        .header_contains("allow", "POST"),
        row(
            "PATCH",
            good().method(Method::PATCH),
            405,
            error(INVALID_REQUEST),
        )
        .header_contains("allow", "POST"),
        // OPTIONS answers CORS preflights (browsers on allowed origins); without an Origin it
        // only names the methods.
        row(
            "OPTIONS",
            RawRequest::new(Method::OPTIONS),
            204,
            Want::Empty,
        )
        .header_contains("allow", "POST")
        .header_absent("access-control-allow-origin"),
        row(
            "OPTIONS preflight from an allowed origin",
            RawRequest::new(Method::OPTIONS)
                .header("origin", "http://localhost:5173")
                .header("access-control-request-method", "POST"),
            204,
            Want::Empty,
        )
        .header_contains("access-control-allow-origin", "http://localhost:5173")
        .header_contains("access-control-allow-headers", "mcp-session-id"),
        row(
            "OPTIONS preflight from a hostile origin",
            RawRequest::new(Method::OPTIONS).header("origin", "https://evil.example"),
            403,
            error(INVALID_REQUEST),
        ),
        row("HEAD", RawRequest::new(Method::HEAD), 405, Want::Plain)
            .header_contains("allow", "POST"),
        // DNS-rebinding guard.
        row(
            "Host not allowed",
            good().set("host", "evil.example"),
            403,
            error(INVALID_REQUEST),
        ),
        row(
            "Host not allowed, with a port",
            good().set("host", "evil.example:8080"),
            403,
            error(INVALID_REQUEST),
        ),
        row(
            "Host that only starts with localhost",
            good().set("host", "localhost.evil.example"),
            403,
            error(INVALID_REQUEST),
        ),
        row(
            "Host not UTF-8 (malformed: 400, RFC 9112 section 3.2)",
            good().set("host", NOT_UTF8),
            400,
            error(INVALID_REQUEST),
        ),
        row(
            "Host not allowed on GET",
            get(&s.current).set("host", "evil.example"),
            403,
            error(INVALID_REQUEST),
        ),
        row(
            "Host not allowed on PUT (guards before methods)",
            good().method(Method::PUT).set("host", "evil.example"),
            403,
            error(INVALID_REQUEST),
        ),
        // Origin: "If the Origin header is present and invalid, servers MUST respond with 403".
        row(
            "Origin not allowed",
            good().header("origin", "https://evil.example"),
            403,
            error(INVALID_REQUEST),
        ),
        row(
            "Origin null",
            good().header("origin", "null"),
            403,
            error(INVALID_REQUEST),
        ),
        row(
            "Origin that only starts with localhost",
            good().header("origin", "http://localhost.evil.example"),
            403,
            error(INVALID_REQUEST),
        ),
        row(
            "Origin with localhost as user info",
            good().header("origin", "http://localhost@evil.example"),
            403,
            error(INVALID_REQUEST),
        ),
        row(
            "Origin not UTF-8",
            good().header("origin", NOT_UTF8),
            403,
            error(INVALID_REQUEST),
        ),
        row(
            "Origin not allowed on GET",
            get(&s.current).header("origin", "https://evil.example"),
            403,
            error(INVALID_REQUEST),
        ),
        // The probe's legacy ping afterwards proves the session survived.
        row(
            "Origin not allowed on DELETE leaves the session alone",
            delete(&s.current).header("origin", "https://evil.example"),
            403,
            error(INVALID_REQUEST),
        ),
    ]
}

fn accept_content_type_and_size() -> Vec<Case> {
    let good = || modern(modern_body(1, "tools/list", json!({})));
    let padded = |size: usize| {
        let body = modern_body(1, "tools/list", json!({})).to_string();
        format!("{body}{}", " ".repeat(size - body.len()))
    };
    let tools_list_headers = |body: String| {
        RawRequest::post(body)
            .header("mcp-protocol-version", MODERN)
            .header("mcp-method", "tools/list")
    };
    vec![
        row(
            "POST without Accept",
            good().without("accept"),
            406,
            error(INVALID_REQUEST),
        ),
        row(
            "POST accepting only JSON",
            good().set("accept", "application/json"),
            406,
            error(INVALID_REQUEST),
        ),
        row(
            "POST accepting only SSE",
            good().set("accept", "text/event-stream"),
            406,
            error(INVALID_REQUEST),
        ),
        row(
            "POST accepting application/* only",
            good().set("accept", "application/*"),
            406,
            error(INVALID_REQUEST),
        ),
        row(
            "POST refusing SSE with q=0",
            good().set("accept", "application/json, text/event-stream;q=0"),
            406,
            error(INVALID_REQUEST),
        ),
        row(
            "POST refusing everything with */*;q=0",
            good().set("accept", "*/*;q=0"),
            406,
            error(INVALID_REQUEST),
        ),
        row(
            "POST with Accept not UTF-8",
            good().set("accept", NOT_UTF8),
            406,
            error(INVALID_REQUEST),
        ),
        row(
            "POST without Content-Type",
            good().without("content-type"),
            415,
            error(INVALID_REQUEST),
        ),
        row(
            "POST with Content-Type text/plain",
            good().set("content-type", "text/plain"),
            415,
            error(INVALID_REQUEST),
        ),
        row(
            "POST with a form Content-Type",
            good().set("content-type", "application/x-www-form-urlencoded"),
            415,
            error(INVALID_REQUEST),
        ),
        row(
            "POST with Content-Type application/json-patch+json",
            good().set("content-type", "application/json-patch+json"),
            415,
            error(INVALID_REQUEST),
        ),
        row(
            "POST with Content-Type not UTF-8",
            good().set("content-type", NOT_UTF8),
            415,
            error(INVALID_REQUEST),
        ),
        row(
            "POST with wrong Accept and Content-Type (Accept first)",
            good()
                .set("accept", "text/html")
                .set("content-type", "text/plain"),
            406,
            error(INVALID_REQUEST),
        ),
        // 413: the 4 MiB default, then a 1 KiB limit; with and without Content-Length.
        row(
            "body over 4 MiB with Content-Length",
            tools_list_headers(padded(4 * MIB + 1)).framing(Framing::ContentLength),
            413,
            error(INVALID_REQUEST),
        ),
        row(
            "body over 4 MiB, chunked",
            tools_list_headers(padded(4 * MIB + 1)).framing(Framing::Chunked(64 * KIB)),
            413,
            error(INVALID_REQUEST),
        ),
        row(
            "body over 1 KiB limit with Content-Length",
            tools_list_headers(padded(SMALL_LIMIT + 1)).framing(Framing::ContentLength),
            413,
            error(INVALID_REQUEST),
        )
        .on_small_app(),
        row(
            "body over 1 KiB limit, chunked",
            tools_list_headers(padded(2 * KIB)).framing(Framing::Chunked(100)),
            413,
            error(INVALID_REQUEST),
        )
        .on_small_app(),
        row(
            "body over 1 KiB limit under a lying Content-Length: 10",
            tools_list_headers(padded(2 * KIB)).header("content-length", "10"),
            413,
            error(INVALID_REQUEST),
        )
        .on_small_app(),
        row(
            "Content-Length of 10 GiB on a tiny body",
            good().header("content-length", (10u64 << 30).to_string()),
            413,
            error(INVALID_REQUEST),
        )
        .on_small_app(),
        row(
            "2 MiB JSON string over a 1 KiB limit",
            modern(modern_body(
                1,
                "tools/call",
                json!({ "name": "test_simple_text", "arguments": { "x": "a".repeat(2 * MIB) } }),
            )),
            413,
            error(INVALID_REQUEST),
        )
        .on_small_app(),
        // The edge: a body of exactly the limit is served.
        row(
            "body of exactly 1 KiB is served (control)",
            tools_list_headers(padded(SMALL_LIMIT)).framing(Framing::ContentLength),
            200,
            Want::Result,
        )
        .on_small_app(),
    ]
}

/// Bodies that are not JSON: 400 + -32700, id null or absent, in either era.
fn parse_errors(s: &Sessions) -> Vec<Case> {
    let raw = |body: &[u8]| RawRequest::post(body.to_vec());
    let modern_raw = |body: &[u8]| raw(body).header("mcp-protocol-version", MODERN);
    let deep_arrays = "[".repeat(100_000);
    let deep_objects = "{\"a\":".repeat(100_000);
    let deep_params = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{{"x":{}}}}}"#,
        "[".repeat(100_000)
    );
    vec![
        row("empty body", raw(b""), 400, error(PARSE_ERROR)),
        row(
            "empty body with Content-Length: 0",
            raw(b"").framing(Framing::ContentLength),
            400,
            error(PARSE_ERROR),
        ),
        row("plain text body", raw(b"hello"), 400, error(PARSE_ERROR)),
        row(
            "truncated JSON",
            raw(br#"{"jsonrpc":"2.0","id":1,"#),
            400,
            error(PARSE_ERROR),
        ),
        row(
            "JSON followed by garbage",
            raw(br#"{"jsonrpc":"2.0","id":1,"method":"ping"} xyz"#),
            400,
            error(PARSE_ERROR),
        ),
        row(
            "two JSON objects",
            raw(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}{"jsonrpc":"2.0","id":2,"method":"ping"}"#),
            400,
            error(PARSE_ERROR),
        ),
        row(
            "single quotes",
            raw(b"{'jsonrpc':'2.0','id':1,'method':'ping'}"),
            400,
            error(PARSE_ERROR),
        ),
        row(
            "invalid UTF-8 in a string",
            raw(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"p\xffing\"}"),
            400,
            error(PARSE_ERROR),
        ),
        row(
            "invalid UTF-8 in a 2026-07-28 body",
            modern_raw(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\xc3\x28\"}"),
            400,
            error(PARSE_ERROR),
        ),
        row(
            "UTF-8 byte order mark",
            raw(b"\xef\xbb\xbf{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}"),
            400,
            error(PARSE_ERROR),
        ),
        row(
            "lone surrogate escape",
            raw(br#"{"jsonrpc":"2.0","id":1,"method":"\ud800"}"#),
            400,
            error(PARSE_ERROR),
        ),
        row(
            "raw NUL byte between members",
            raw(b"{\"jsonrpc\":\"2.0\",\0\"id\":1,\"method\":\"ping\"}"),
            400,
            error(PARSE_ERROR),
        ),
        row(
            "raw NUL byte inside a string",
            raw(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"pi\0ng\"}"),
            400,
            error(PARSE_ERROR),
        ),
        row("only NUL bytes", raw(&[0; 64]), 400, error(PARSE_ERROR)),
        row(
            "100,000 nested arrays",
            raw(deep_arrays.as_bytes()),
            400,
            error(PARSE_ERROR),
        ),
        row(
            "100,000 nested objects",
            raw(deep_objects.as_bytes()),
            400,
            error(PARSE_ERROR),
        ),
        row(
            "100,000 nested arrays inside params (2026-07-28)",
            modern_raw(deep_params.as_bytes()).header("mcp-method", "tools/list"),
            400,
            error(PARSE_ERROR),
        ),
        row(
            "number out of range",
            raw(br#"{"jsonrpc":"2.0","id":1e999,"method":"ping"}"#),
            400,
            error(PARSE_ERROR),
        ),
        row(
            "not JSON, in a session",
            legacy_raw(&s.current, b"{nope"),
            400,
            error(PARSE_ERROR),
        ),
    ]
}

/// JSON that is not a JSON-RPC message: 400 + -32600, with the id when it can be read. Run
/// in the 2026-07-28 era (version header, no session) and in a legacy session.
fn invalid_messages(s: &Sessions) -> Vec<Case> {
    let shapes: Vec<(&str, Value, Option<Value>)> = vec![
        (
            "jsonrpc 1.0",
            json!({"jsonrpc":"1.0","id":7,"method":"tools/list"}),
            Some(json!(7)),
        ),
        (
            "jsonrpc missing",
            json!({"id":7,"method":"tools/list"}),
            Some(json!(7)),
        ),
        (
            "jsonrpc a number",
            json!({"jsonrpc":2.0,"id":"s7","method":"tools/list"}),
            Some(json!("s7")),
        ),
        (
            "id null",
            json!({"jsonrpc":"2.0","id":null,"method":"tools/list"}),
            None,
        ),
        (
            "fractional id",
            json!({"jsonrpc":"2.0","id":1.5,"method":"tools/list"}),
            None,
        ),
        (
            "id an object",
            json!({"jsonrpc":"2.0","id":{},"method":"tools/list"}),
            None,
        ),
        (
            "id an array",
            json!({"jsonrpc":"2.0","id":[1],"method":"tools/list"}),
            None,
        ),
        (
            "id a boolean",
            json!({"jsonrpc":"2.0","id":true,"method":"tools/list"}),
            None,
        ),
        (
            "method a number",
            json!({"jsonrpc":"2.0","id":7,"method":7}),
            Some(json!(7)),
        ),
        (
            "method null",
            json!({"jsonrpc":"2.0","id":7,"method":null}),
            Some(json!(7)),
        ),
        (
            "params a string",
            json!({"jsonrpc":"2.0","id":7,"method":"tools/list","params":"x"}),
            Some(json!(7)),
        ),
        (
            "params a number",
            json!({"jsonrpc":"2.0","id":7,"method":"tools/list","params":5}),
            Some(json!(7)),
        ),
        (
            "neither request nor response",
            json!({"jsonrpc":"2.0","id":7}),
            Some(json!(7)),
        ),
        (
            "both result and error",
            json!({"jsonrpc":"2.0","id":7,"result":{},"error":{"code":1,"message":"x"}}),
            Some(json!(7)),
        ),
        ("a JSON string", json!("tools/list"), None),
        ("a JSON number", json!(42), None),
        ("JSON null", json!(null), None),
    ];
    let mut rows = Vec::new();
    for (shape, body, id) in shapes {
        let want = |id: &Option<Value>| match id {
            Some(id) => error(INVALID_REQUEST).id(id.clone()),
            None => error(INVALID_REQUEST),
        };
        rows.push(row(
            format!("2026-07-28: {shape}"),
            RawRequest::post(body.to_string()).header("mcp-protocol-version", MODERN),
            400,
            want(&id),
        ));
        rows.push(row(
            format!("legacy session: {shape}"),
            legacy(&s.current, body),
            400,
            want(&id),
        ));
    }
    rows.extend([
        row(
            "2026-07-28: a JSON-RPC response",
            RawRequest::post(json!({"jsonrpc":"2.0","id":"srv-1","result":{}}).to_string())
                .header("mcp-protocol-version", MODERN),
            400,
            error(INVALID_REQUEST),
        ),
        row(
            "2026-07-28: a batch",
            RawRequest::post(
                json!([
                    modern_body(1, "tools/list", json!({})),
                    modern_body(2, "tools/list", json!({}))
                ])
                .to_string(),
            )
            .header("mcp-protocol-version", MODERN)
            .header("mcp-method", "tools/list"),
            400,
            error(INVALID_REQUEST),
        ),
        row(
            "2026-07-28: an empty batch",
            RawRequest::post("[]").header("mcp-protocol-version", MODERN),
            400,
            error(INVALID_REQUEST),
        ),
    ]);
    rows
}

/// Legacy requests without a usable session.
fn legacy_sessions(s: &Sessions) -> Vec<Case> {
    let plain = |body: Value| RawRequest::post(body.to_string());
    let with_id = |id: &str| plain(rpc(1, "tools/list", json!({}))).header("mcp-session-id", id);
    vec![
        row(
            "tools/list without Mcp-Session-Id",
            plain(rpc(1, "tools/list", json!({}))),
            400,
            error(INVALID_REQUEST).any_id(),
        ),
        row(
            "tools/list without Mcp-Session-Id, with a legacy version header",
            plain(rpc(1, "tools/list", json!({}))).header("mcp-protocol-version", "2025-11-25"),
            400,
            error(INVALID_REQUEST).any_id(),
        ),
        row(
            "notification without Mcp-Session-Id",
            plain(note("notifications/initialized")),
            400,
            error(INVALID_REQUEST).any_id(),
        ),
        row(
            "JSON-RPC response without a session",
            plain(json!({"jsonrpc":"2.0","id":"srv-1","result":{}})),
            400,
            error(INVALID_REQUEST).any_id(),
        ),
        row(
            "batch without a session",
            plain(json!([rpc(1, "ping", json!({}))])),
            400,
            error(INVALID_REQUEST).any_id(),
        ),
        row(
            "initialize inside a batch, without a session",
            plain(json!([initialize_body("2025-03-26")])),
            400,
            error(INVALID_REQUEST).any_id(),
        ),
        row(
            "unknown session id",
            with_id(UNKNOWN_SESSION),
            404,
            error(SESSION_NOT_FOUND).any_id(),
        ),
        row(
            "garbage session id",
            with_id("not-a-session"),
            404,
            error(SESSION_NOT_FOUND).any_id(),
        ),
        row(
            "64 KiB session id",
            with_id(&"a".repeat(64 * KIB)),
            404,
            error(SESSION_NOT_FOUND).any_id(),
        ),
        row(
            "session id not UTF-8",
            plain(rpc(1, "tools/list", json!({}))).header("mcp-session-id", NOT_UTF8),
            400,
            error(INVALID_REQUEST).any_id(),
        ),
        row(
            "session id repeated",
            legacy(&s.current, rpc(1, "tools/list", json!({})))
                .header("mcp-session-id", &s.current.id),
            400,
            error(INVALID_REQUEST).any_id(),
        ),
        row(
            "terminated session",
            legacy(&s.ended, rpc(1, "tools/list", json!({}))),
            404,
            error(SESSION_NOT_FOUND).any_id(),
        ),
        row(
            "notification to a terminated session",
            legacy(&s.ended, note("notifications/initialized")),
            404,
            error(SESSION_NOT_FOUND).any_id(),
        ),
        // initialize
        row(
            "initialize without protocolVersion",
            plain(
                json!({"jsonrpc":"2.0","id":"init","method":"initialize","params":{
                "capabilities":{},"clientInfo":{"name":"t","version":"1"}}}),
            ),
            400,
            error(INVALID_PARAMS).id("init"),
        ),
        row(
            "initialize with a 1 MiB clientInfo (a session keeps at most 16 KiB of it)",
            plain(
                json!({"jsonrpc":"2.0","id":"init","method":"initialize","params":{
                "protocolVersion":"2025-11-25","capabilities":{},
                "clientInfo":{"name":"x".repeat(1 << 20),"version":"1"}}}),
            ),
            400,
            error(INVALID_PARAMS).id("init"),
        ),
        row(
            "initialize with 64 KiB of capabilities",
            plain(
                json!({"jsonrpc":"2.0","id":"init","method":"initialize","params":{
                "protocolVersion":"2025-11-25","clientInfo":{"name":"t","version":"1"},
                "capabilities":{"experimental":{"pad":"x".repeat(64 << 10)}}}}),
            ),
            400,
            error(INVALID_PARAMS).id("init"),
        ),
        row(
            "initialize without params",
            plain(json!({"jsonrpc":"2.0","id":"init","method":"initialize"})),
            400,
            error(INVALID_PARAMS).id("init"),
        ),
        row(
            "initialize with a numeric protocolVersion",
            plain(
                json!({"jsonrpc":"2.0","id":"init","method":"initialize","params":{
                "protocolVersion":20251125,"capabilities":{}}}),
            ),
            400,
            error(INVALID_PARAMS).id("init"),
        ),
        row(
            "initialize with params a string",
            plain(json!({"jsonrpc":"2.0","id":"init","method":"initialize","params":"2025-11-25"})),
            400,
            error(INVALID_REQUEST).id("init"),
        ),
        row(
            "initialize with jsonrpc 1.0",
            plain(
                json!({"jsonrpc":"1.0","id":"init","method":"initialize","params":{
                "protocolVersion":"2025-11-25","capabilities":{}}}),
            ),
            400,
            error(INVALID_REQUEST).id("init"),
        ),
        row(
            "initialize as a notification",
            plain(json!({"jsonrpc":"2.0","method":"initialize","params":{
                "protocolVersion":"2025-11-25","capabilities":{}}})),
            400,
            error(INVALID_REQUEST),
        ),
    ]
}

/// Requests inside a live 2025-11-25 session.
fn legacy_in_session(s: &Sessions) -> Vec<Case> {
    let current = &s.current;
    let call = |id: i64, params: Value| legacy(current, rpc(id, "tools/call", params));
    vec![
        row(
            "unsupported MCP-Protocol-Version in a session",
            legacy(current, rpc(1, "tools/list", json!({})))
                .set("mcp-protocol-version", "1999-01-01"),
            400,
            error(INVALID_REQUEST).any_id(),
        ),
        row(
            "MCP-Protocol-Version 2024-11-05 in a session",
            legacy(current, rpc(1, "tools/list", json!({})))
                .set("mcp-protocol-version", "2024-11-05"),
            400,
            error(INVALID_REQUEST).any_id(),
        ),
        row(
            "MCP-Protocol-Version 2026-07-28 in a session, body without _meta",
            legacy(current, rpc(1, "tools/list", json!({}))).set("mcp-protocol-version", MODERN),
            400,
            error(INVALID_REQUEST).any_id(),
        ),
        row(
            "MCP-Protocol-Version repeated in a session",
            legacy(current, rpc(1, "tools/list", json!({})))
                .header("mcp-protocol-version", "2025-11-25"),
            400,
            error(INVALID_REQUEST).any_id(),
        ),
        row(
            "MCP-Protocol-Version not UTF-8 in a session",
            legacy(current, rpc(1, "tools/list", json!({}))).set("mcp-protocol-version", NOT_UTF8),
            400,
            error(INVALID_REQUEST).any_id(),
        ),
        row(
            "MCP-Protocol-Version of 64 KiB in a session",
            legacy(current, rpc(1, "tools/list", json!({})))
                .set("mcp-protocol-version", "9".repeat(64 * KIB)),
            400,
            error(INVALID_REQUEST).any_id(),
        ),
        // JSON-RPC errors inside a session travel with 200: a legacy 404 means "session gone".
        row(
            "unknown method in a session",
            legacy(current, rpc(11, "tools/unknown", json!({}))),
            200,
            error(METHOD_NOT_FOUND).id(11),
        ),
        row(
            "2026-07-28-only subscriptions/listen in a session",
            legacy(
                current,
                rpc(12, "subscriptions/listen", json!({"notifications":{}})),
            ),
            200,
            error(METHOD_NOT_FOUND).id(12),
        ),
        row(
            "2026-07-28-only server/discover in a session",
            legacy(current, rpc(13, "server/discover", json!({}))),
            200,
            error(METHOD_NOT_FOUND).id(13),
        ),
        row(
            "tools/call of an unknown tool",
            call(14, json!({"name":"no_such_tool","arguments":{}})),
            200,
            error(INVALID_PARAMS).id(14),
        ),
        row(
            "tools/call without a name",
            call(15, json!({"arguments":{}})),
            200,
            error(INVALID_PARAMS).id(15),
        ),
        row(
            "tools/call with a numeric name",
            call(16, json!({"name":5})),
            200,
            error(INVALID_PARAMS).id(16),
        ),
        row(
            "tools/call with arguments a string",
            call(17, json!({"name":"test_simple_text","arguments":"x"})),
            200,
            error(INVALID_PARAMS).id(17),
        ),
        row(
            "prompts/get of an unknown prompt",
            legacy(
                current,
                rpc(18, "prompts/get", json!({"name":"no_such_prompt"})),
            ),
            200,
            error(INVALID_PARAMS).id(18),
        ),
        row(
            "resources/read of an unknown URI (legacy code)",
            legacy(
                current,
                rpc(19, "resources/read", json!({"uri":"test://nothing"})),
            ),
            200,
            error(RESOURCE_NOT_FOUND).id(19),
        ),
        row(
            "logging/setLevel with an invalid level",
            legacy(
                current,
                rpc(20, "logging/setLevel", json!({"level":"verbose"})),
            ),
            200,
            error(INVALID_PARAMS).id(20),
        ),
        row(
            "completion/complete without a ref",
            legacy(
                current,
                rpc(21, "completion/complete", json!({"argument":{}})),
            ),
            200,
            error(INVALID_PARAMS).id(21),
        ),
        row(
            "2 MiB tool name",
            call(22, json!({"name":"t".repeat(2 * MIB)})),
            200,
            error(INVALID_PARAMS).id(22),
        ),
        row(
            "2 MiB method name",
            legacy(current, rpc(23, &"m".repeat(2 * MIB), json!({}))),
            200,
            error(METHOD_NOT_FOUND).id(23),
        ),
        row(
            "method name with an escaped NUL",
            legacy(current, rpc(24, "tools/list\u{0}", json!({}))),
            200,
            error(METHOD_NOT_FOUND).id(24),
        ),
        row(
            "2026-07-28 _meta on legacy initialize makes it a 2026-07-28 request",
            modern(modern_body(
                25,
                "initialize",
                initialize_body("2025-11-25")["params"].clone(),
            )),
            404,
            error(METHOD_NOT_FOUND).id(25),
        ),
    ]
}

/// Batches: only sessions negotiated at 2025-03-26 take them.
fn legacy_batches(s: &Sessions) -> Vec<Case> {
    vec![
        row(
            "batch in a 2025-11-25 session",
            legacy(
                &s.current,
                json!([rpc(1, "ping", json!({})), rpc(2, "ping", json!({}))]),
            ),
            400,
            error(INVALID_REQUEST),
        ),
        row(
            "empty batch in a 2025-11-25 session",
            legacy(&s.current, json!([])),
            400,
            error(INVALID_REQUEST),
        ),
        row(
            "empty batch in a 2025-03-26 session",
            legacy(&s.old, json!([])),
            400,
            error(INVALID_REQUEST),
        ),
        row(
            "initialize inside a 2025-03-26 batch",
            legacy(&s.old, json!([initialize_body("2025-03-26")])),
            200,
            Want::Batch(|items| expect_items(items, &[(json!("init"), Some(INVALID_REQUEST))])),
        ),
        row(
            "initialize beside a ping in a 2025-03-26 batch",
            legacy(
                &s.old,
                json!([rpc(1, "ping", json!({})), initialize_body("2025-03-26")]),
            ),
            200,
            Want::Batch(|items| {
                expect_items(
                    items,
                    &[(json!(1), None), (json!("init"), Some(INVALID_REQUEST))],
                )
            }),
        ),
        row(
            "a non-object inside a 2025-03-26 batch",
            legacy(&s.old, json!([rpc(1, "ping", json!({})), 5])),
            200,
            Want::Batch(|items| {
                expect_items(
                    items,
                    &[(json!(1), None), (Value::Null, Some(INVALID_REQUEST))],
                )
            }),
        ),
        row(
            "a 2025-03-26 batch of nothing but non-objects",
            legacy(&s.old, json!([1, "two", null])),
            200,
            Want::Batch(|items| {
                let all_invalid = items.as_array().is_some_and(|items| {
                    items.len() == 3
                        && items.iter().all(|item| {
                            item["error"]["code"] == INVALID_REQUEST && item["id"].is_null()
                        })
                });
                if all_invalid {
                    Ok(())
                } else {
                    Err(format!("want three -32600 errors with null ids: {items}"))
                }
            }),
        ),
        row(
            "an invalid request inside a 2025-03-26 batch",
            legacy(
                &s.old,
                json!([{"jsonrpc":"1.0","id":2,"method":"ping"}, rpc(3, "nope/nope", json!({}))]),
            ),
            200,
            Want::Batch(|items| {
                expect_items(
                    items,
                    &[
                        (json!(2), Some(INVALID_REQUEST)),
                        (json!(3), Some(METHOD_NOT_FOUND)),
                    ],
                )
            }),
        ),
    ]
}

fn legacy_get_and_delete(s: &Sessions) -> Vec<Case> {
    vec![
        row(
            "GET without a session",
            get_without_session(),
            405,
            error(INVALID_REQUEST),
        )
        .header_contains("allow", "POST"),
        row(
            "GET without a session, 2026-07-28 version header",
            get_without_session().header("mcp-protocol-version", MODERN),
            405,
            error(INVALID_REQUEST),
        )
        .header_contains("allow", "POST"),
        row(
            "GET without Accept",
            get(&s.current).without("accept"),
            406,
            error(INVALID_REQUEST),
        ),
        row(
            "GET accepting only JSON",
            get(&s.current).set("accept", "application/json"),
            406,
            error(INVALID_REQUEST),
        ),
        row(
            "GET with an unknown session",
            get(&s.current).set("mcp-session-id", UNKNOWN_SESSION),
            404,
            error(SESSION_NOT_FOUND),
        ),
        row(
            "GET with a terminated session",
            get(&s.ended),
            404,
            error(SESSION_NOT_FOUND),
        ),
        row(
            "GET with an unsupported MCP-Protocol-Version",
            get(&s.current).set("mcp-protocol-version", "1999-01-01"),
            400,
            error(INVALID_REQUEST),
        ),
        row(
            "GET with a garbage Last-Event-ID",
            get(&s.current).header("last-event-id", "bogus"),
            400,
            error(INVALID_REQUEST),
        ),
        row(
            "GET with the Last-Event-ID of an unknown stream",
            get(&s.current).header("last-event-id", "0123456789abcdef.3"),
            400,
            error(INVALID_REQUEST),
        ),
        row(
            "GET with a Last-Event-ID past the standalone stream",
            get(&s.current).header("last-event-id", "get.999999"),
            400,
            error(INVALID_REQUEST),
        ),
        row(
            "GET with a Last-Event-ID not UTF-8",
            get(&s.current).header("last-event-id", NOT_UTF8),
            400,
            error(INVALID_REQUEST),
        ),
        row(
            "GET with a 64 KiB Last-Event-ID",
            get(&s.current).header("last-event-id", "1".repeat(64 * KIB)),
            400,
            error(INVALID_REQUEST),
        ),
        row(
            "GET with Last-Event-ID repeated",
            get(&s.current)
                .header("last-event-id", "get.0")
                .header("last-event-id", "get.0"),
            400,
            error(INVALID_REQUEST),
        ),
        row(
            "DELETE without a session",
            RawRequest::new(Method::DELETE),
            405,
            error(INVALID_REQUEST),
        )
        .header_contains("allow", "POST"),
        row(
            "DELETE of an unknown session",
            delete(&s.current).set("mcp-session-id", UNKNOWN_SESSION),
            404,
            error(SESSION_NOT_FOUND),
        ),
        row(
            "DELETE of a garbage session id",
            delete(&s.current).set("mcp-session-id", "../../etc/passwd"),
            404,
            error(SESSION_NOT_FOUND),
        ),
        row(
            "DELETE of a terminated session",
            delete(&s.ended),
            404,
            error(SESSION_NOT_FOUND),
        ),
        row(
            "DELETE with a session id not UTF-8",
            delete(&s.current).set("mcp-session-id", NOT_UTF8),
            400,
            error(INVALID_REQUEST),
        ),
    ]
}

/// 2026-07-28: required `_meta` (-32602) and the metadata headers (-32020).
fn modern_meta_and_headers() -> Vec<Case> {
    let list = |meta: Value| modern(modern_body(1, "tools/list", json!({ "_meta": meta })));
    let call = |name: &str| {
        modern(modern_body(
            2,
            "tools/call",
            json!({"name": name, "arguments": {}}),
        ))
    };
    let region = |value: &str| {
        modern(modern_body(
            3,
            "tools/call",
            json!({"name":"test_param_header","arguments":{"region":"us-west1"}}),
        ))
        .header("mcp-param-region", value)
    };
    vec![
        row(
            "_meta without protocolVersion",
            list(json!({ META_VERSION: null })),
            400,
            error(INVALID_PARAMS).id(1),
        ),
        row(
            "_meta without clientCapabilities",
            list(json!({ META_CAPABILITIES: null })),
            400,
            error(INVALID_PARAMS).id(1),
        ),
        row(
            "clientCapabilities not an object",
            list(json!({ META_CAPABILITIES: "all" })),
            400,
            error(INVALID_PARAMS).id(1),
        ),
        row(
            "protocolVersion not a string",
            list(json!({ META_VERSION: 20260728 })),
            400,
            error(INVALID_PARAMS).id(1),
        ),
        row(
            "_meta not an object",
            modern(json!({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":5}})),
            400,
            error(INVALID_PARAMS).id(1),
        ),
        row(
            "no params at all",
            modern(json!({"jsonrpc":"2.0","id":1,"method":"tools/list"})),
            400,
            error(INVALID_PARAMS).id(1),
        ),
        row(
            "MCP-Protocol-Version missing",
            list(json!({})).without("mcp-protocol-version"),
            400,
            error(HEADER_MISMATCH).id(1),
        ),
        row(
            "MCP-Protocol-Version differs from _meta",
            list(json!({})).set("mcp-protocol-version", "2025-11-25"),
            400,
            error(HEADER_MISMATCH).id(1),
        ),
        row(
            "_meta version differs from MCP-Protocol-Version",
            list(json!({ META_VERSION: "v999.0.0" })),
            400,
            error(HEADER_MISMATCH).id(1),
        ),
        row(
            "MCP-Protocol-Version repeated",
            list(json!({})).header("mcp-protocol-version", MODERN),
            400,
            error(HEADER_MISMATCH).id(1),
        ),
        row(
            "MCP-Protocol-Version not UTF-8",
            list(json!({})).set("mcp-protocol-version", NOT_UTF8),
            400,
            error(HEADER_MISMATCH).id(1),
        ),
        row(
            "MCP-Protocol-Version of 64 KiB",
            list(json!({})).set("mcp-protocol-version", "2".repeat(64 * KIB)),
            400,
            error(HEADER_MISMATCH).id(1),
        ),
        row(
            "Mcp-Method missing",
            list(json!({})).without("mcp-method"),
            400,
            error(HEADER_MISMATCH).id(1),
        ),
        row(
            "Mcp-Method differs",
            list(json!({})).set("mcp-method", "prompts/list"),
            400,
            error(HEADER_MISMATCH).id(1),
        ),
        row(
            "Mcp-Method differs in case",
            list(json!({})).set("mcp-method", "TOOLS/LIST"),
            400,
            error(HEADER_MISMATCH).id(1),
        ),
        row(
            "Mcp-Method repeated",
            list(json!({})).header("mcp-method", "tools/list"),
            400,
            error(HEADER_MISMATCH).id(1),
        ),
        row(
            "Mcp-Method not UTF-8",
            list(json!({})).set("mcp-method", NOT_UTF8),
            400,
            error(HEADER_MISMATCH).id(1),
        ),
        row(
            "Mcp-Name missing on tools/call",
            call("test_simple_text").without("mcp-name"),
            400,
            error(HEADER_MISMATCH).id(2),
        ),
        row(
            "Mcp-Name differs",
            call("test_simple_text").set("mcp-name", "test_image_content"),
            400,
            error(HEADER_MISMATCH).id(2),
        ),
        row(
            "Mcp-Name differs in case",
            call("test_simple_text").set("mcp-name", "TEST_SIMPLE_TEXT"),
            400,
            error(HEADER_MISMATCH).id(2),
        ),
        row(
            "Mcp-Name with invalid base64",
            call("test_simple_text").set("mcp-name", "=?base64?!!!?="),
            400,
            error(HEADER_MISMATCH).id(2),
        ),
        row(
            "Mcp-Name with unpadded base64",
            // "test_simple_text" is dGVzdF9zaW1wbGVfdGV4dA== padded.
            call("test_simple_text").set("mcp-name", "=?base64?dGVzdF9zaW1wbGVfdGV4dA?="),
            400,
            error(HEADER_MISMATCH).id(2),
        ),
        row(
            "Mcp-Name with URL-safe base64",
            // "a?>" is YT8+ in the standard alphabet, YT8- in the URL-safe one.
            call("a?>").set("mcp-name", "=?base64?YT8-?="),
            400,
            error(HEADER_MISMATCH).id(2),
        ),
        row(
            "Mcp-Name base64 of another name",
            call("test_simple_text").set("mcp-name", "=?base64?dGVzdF9pbWFnZV9jb250ZW50?="),
            400,
            error(HEADER_MISMATCH).id(2),
        ),
        row(
            "Mcp-Name base64 of bytes that are not UTF-8",
            call("test_simple_text").set("mcp-name", "=?base64?/w==?="),
            400,
            error(HEADER_MISMATCH).id(2),
        ),
        row(
            "Mcp-Name repeated",
            call("test_simple_text").header("mcp-name", "test_simple_text"),
            400,
            error(HEADER_MISMATCH).id(2),
        ),
        row(
            "Mcp-Name not UTF-8",
            call("test_simple_text").set("mcp-name", NOT_UTF8),
            400,
            error(HEADER_MISMATCH).id(2),
        ),
        row(
            "Mcp-Name as raw UTF-8 instead of base64",
            call("h\u{e9}llo").set("mcp-name", "h\u{e9}llo".as_bytes()),
            400,
            error(HEADER_MISMATCH).id(2),
        ),
        row(
            "Mcp-Name of 64 KiB",
            call("test_simple_text").set("mcp-name", "n".repeat(64 * KIB)),
            400,
            error(HEADER_MISMATCH).id(2),
        ),
        row(
            "Mcp-Name without a name in the body",
            modern(modern_body(2, "tools/call", json!({"arguments":{}})))
                .header("mcp-name", "test_simple_text"),
            400,
            error(HEADER_MISMATCH).id(2),
        ),
        row(
            "Mcp-Name missing on resources/read",
            modern(modern_body(
                4,
                "resources/read",
                json!({"uri":"test://static-text"}),
            ))
            .without("mcp-name"),
            400,
            error(HEADER_MISMATCH).id(4),
        ),
        row(
            "Mcp-Name differs on prompts/get",
            modern(modern_body(
                5,
                "prompts/get",
                json!({"name":"test_simple_prompt"}),
            ))
            .set("mcp-name", "test_prompt_with_image"),
            400,
            error(HEADER_MISMATCH).id(5),
        ),
        row(
            "Mcp-Param-Region missing",
            region("us-west1").without("mcp-param-region"),
            400,
            error(HEADER_MISMATCH).id(3),
        ),
        row(
            "Mcp-Param-Region differs",
            region("eu-west1"),
            400,
            error(HEADER_MISMATCH).id(3),
        ),
        row(
            "Mcp-Param-Region with invalid base64",
            region("=?base64?***?="),
            400,
            error(HEADER_MISMATCH).id(3),
        ),
        row(
            "Mcp-Param-Region repeated",
            region("us-west1").header("mcp-param-region", "us-west1"),
            400,
            error(HEADER_MISMATCH).id(3),
        ),
        row(
            "Mcp-Param-Region not UTF-8",
            region("us-west1").set("mcp-param-region", NOT_UTF8),
            400,
            error(HEADER_MISMATCH).id(3),
        ),
        // Unsupported versions: checked after the headers agree.
        row(
            "unsupported version in both header and _meta",
            list(json!({ META_VERSION: "1900-01-01" })).set("mcp-protocol-version", "1900-01-01"),
            400,
            error(UNSUPPORTED_VERSION)
                .id(1)
                .data(|data| supported_and_requested(data, "1900-01-01")),
        ),
        row(
            "a legacy version in 2026-07-28 form",
            list(json!({ META_VERSION: "2025-11-25" })).set("mcp-protocol-version", "2025-11-25"),
            400,
            error(UNSUPPORTED_VERSION)
                .id(1)
                .data(|data| supported_and_requested(data, "2025-11-25")),
        ),
        row(
            "invalid logLevel",
            list(json!({ META_LOG_LEVEL: "verbose" })),
            400,
            error(INVALID_PARAMS).id(1),
        ),
        row(
            "logLevel not a string",
            list(json!({ META_LOG_LEVEL: 5 })),
            400,
            error(INVALID_PARAMS).id(1),
        ),
    ]
}

/// 2026-07-28: methods, capabilities, params, notifications.
fn modern_dispatch() -> Vec<Case> {
    let removed = |method: &str, params: Value| {
        row(
            format!("2026-07-28: removed method {method}"),
            modern(modern_body(6, method, params)),
            404,
            error(METHOD_NOT_FOUND).id(6),
        )
    };
    let call = |id: i64, params: Value| modern(modern_body(id, "tools/call", params));
    vec![
        row(
            "2026-07-28: unknown method",
            modern(modern_body(6, "unknown/method", json!({}))),
            404,
            error(METHOD_NOT_FOUND).id(6),
        ),
        row(
            "2026-07-28: method with an escaped NUL",
            // No header can carry NUL, so the body's method differs from any Mcp-Method.
            RawRequest::post(modern_body(6, "tools/list\u{0}", json!({})).to_string())
                .header("mcp-protocol-version", MODERN)
                .header("mcp-method", "tools/list"),
            400,
            error(HEADER_MISMATCH).id(6),
        ),
        removed("ping", json!({})),
        removed(
            "initialize",
            json!({"protocolVersion": MODERN, "capabilities": {}}),
        ),
        removed("logging/setLevel", json!({"level":"info"})),
        removed("resources/subscribe", json!({"uri":"test://static-text"})),
        removed("resources/unsubscribe", json!({"uri":"test://static-text"})),
        row(
            "2026-07-28: tools/call needing an undeclared capability",
            call(7, json!({"name":"test_missing_capability","arguments":{}})),
            400,
            error(MISSING_CAPABILITY)
                .id(7)
                .data(|data| match data.get("requiredCapabilities") {
                    Some(Value::Object(caps)) if caps.contains_key("sampling") => Ok(()),
                    other => Err(format!(
                        "data.requiredCapabilities {other:?}, want an object naming sampling"
                    )),
                }),
        ),
        row(
            "2026-07-28: tampered requestState",
            call(
                8,
                json!({"name":"test_input_required_result_request_state","arguments":{},
                       "requestState":"eyJraW5kIjoicmVxdWVzdC1zdGF0ZSJ9.AAAA",
                       "inputResponses":{"confirm":{"action":"accept","content":{"ok":true}}}}),
            ),
            200,
            error(INVALID_PARAMS).id(8),
        ),
        row(
            "2026-07-28: requestState without a seal",
            call(
                8,
                json!({"name":"test_input_required_result_request_state","arguments":{},
                       "requestState":"garbage"}),
            ),
            200,
            error(INVALID_PARAMS).id(8),
        ),
        row(
            "2026-07-28: requestState a number",
            call(
                8,
                json!({"name":"test_input_required_result_request_state","arguments":{},
                       "requestState":5}),
            ),
            200,
            error(INVALID_PARAMS).id(8),
        ),
        row(
            "2026-07-28: inputResponses a string",
            call(
                8,
                json!({"name":"test_input_required_result_request_state","arguments":{},
                       "inputResponses":"yes"}),
            ),
            200,
            error(INVALID_PARAMS).id(8),
        ),
        row(
            "2026-07-28: unknown tool",
            call(9, json!({"name":"no_such_tool","arguments":{}})),
            200,
            error(INVALID_PARAMS).id(9),
        ),
        row(
            "2026-07-28: unknown tool with a 2 MiB argument",
            call(
                9,
                json!({"name":"no_such_tool","arguments":{"blob":"b".repeat(2 * MIB)}}),
            ),
            200,
            error(INVALID_PARAMS).id(9),
        ),
        row(
            "2026-07-28: resources/read of an unknown URI (-32602, not -32002)",
            modern(modern_body(
                10,
                "resources/read",
                json!({"uri":"test://nothing"}),
            )),
            200,
            error(INVALID_PARAMS).id(10),
        ),
        row(
            "2026-07-28: prompts/get of an unknown prompt",
            modern(modern_body(
                10,
                "prompts/get",
                json!({"name":"no_such_prompt"}),
            )),
            200,
            error(INVALID_PARAMS).id(10),
        ),
        row(
            "2026-07-28: subscriptions/listen without notifications",
            modern(modern_body(10, "subscriptions/listen", json!({}))),
            200,
            error(INVALID_PARAMS).id(10),
        ),
        // Notifications are accepted and ignored; no session is minted or echoed.
        row(
            "2026-07-28: notification",
            RawRequest::post(
                json!({"jsonrpc":"2.0","method":"notifications/cancelled",
                       "params":{"requestId":1,"reason":"x"}})
                .to_string(),
            )
            .header("mcp-protocol-version", MODERN),
            202,
            Want::Empty,
        )
        .header_absent("mcp-session-id"),
        row(
            "2026-07-28: notification with _meta and no Mcp-Method",
            RawRequest::post(
                json!({"jsonrpc":"2.0","method":"notifications/initialized",
                       "params":{"_meta":{META_VERSION: MODERN, META_CAPABILITIES: {}}}})
                .to_string(),
            )
            .header("mcp-protocol-version", MODERN)
            .header("mcp-session-id", UNKNOWN_SESSION),
            202,
            Want::Empty,
        )
        .header_absent("mcp-session-id"),
        row(
            "2026-07-28: a stale Mcp-Session-Id is ignored (control)",
            modern(modern_body(1, "tools/list", json!({})))
                .header("mcp-session-id", UNKNOWN_SESSION),
            200,
            Want::Result,
        )
        .header_absent("mcp-session-id"),
        row(
            "2026-07-28: a Last-Event-ID is ignored (control)",
            modern(modern_body(1, "tools/list", json!({}))).header("last-event-id", "bogus"),
            200,
            Want::Result,
        ),
    ]
}

/// Odd inputs not covered above.
fn garbage() -> Vec<Case> {
    vec![
        row(
            "64 KiB unknown header on a good request (control)",
            modern(modern_body(1, "tools/list", json!({}))).header("x-junk", "j".repeat(64 * KIB)),
            200,
            Want::Result,
        ),
        row(
            "64 KiB Host",
            modern(modern_body(1, "tools/list", json!({}))).set("host", "h".repeat(64 * KIB)),
            403,
            error(INVALID_REQUEST),
        ),
        row(
            "64 KiB Origin",
            modern(modern_body(1, "tools/list", json!({})))
                .header("origin", format!("http://{}", "o".repeat(64 * KIB))),
            403,
            error(INVALID_REQUEST),
        ),
        row(
            "64 KiB Accept of junk",
            modern(modern_body(1, "tools/list", json!({})))
                .set("accept", "x/y, ".repeat(64 * KIB / 6)),
            406,
            error(INVALID_REQUEST),
        ),
        row(
            "a thousand Accept lines",
            (0..1000).fold(
                modern(modern_body(1, "tools/list", json!({}))).without("accept"),
                |r, _| r.header("accept", "text/html"),
            ),
            406,
            error(INVALID_REQUEST),
        ),
        row(
            "2026-07-28 id that overflows u64",
            RawRequest::post(
                r#"{"jsonrpc":"2.0","id":18446744073709551616,"method":"tools/list"}"#,
            )
            .header("mcp-protocol-version", MODERN),
            400,
            error(INVALID_REQUEST),
        ),
    ]
}

// ------------------------------------------------------------------------------------------
// Running the table
// ------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_spec_shaped_errors() {
    let started = Instant::now();
    let apps = Apps::start().await;
    let cases = cases(&apps.sessions);
    assert_unique_names(&cases);

    let mut failures = Vec::new();
    for case in &cases {
        let outcome = apps.run(case).await;
        let problems: Vec<String> = outcome.row.into_iter().chain(outcome.probe).collect();
        if !problems.is_empty() {
            failures.push(format!(
                "{}:\n      {}",
                case.name,
                problems.join("\n      ")
            ));
        }
    }
    eprintln!(
        "bad_requests: {} rows in {:.2?}",
        cases.len(),
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n  - {}",
        failures.len(),
        cases.len(),
        failures.join("\n  - ")
    );
}

/// The judge itself: a reply that differs in status, code, id, shape or headers is flagged.
#[test]
fn the_judge_flags_every_kind_of_mismatch() {
    let reply = |status: u16, content_type: &str, body: Value| Reply {
        status: http::StatusCode::from_u16(status).expect("status"),
        headers: [(
            http::header::CONTENT_TYPE,
            content_type.parse().expect("value"),
        )]
        .into_iter()
        .collect(),
        body: body.to_string().into(),
    };
    let case = row(
        "sample",
        RawRequest::new(Method::POST),
        400,
        error(HEADER_MISMATCH).id(1),
    );
    let good = json!({"jsonrpc":"2.0","id":1,"error":{"code":-32020,"message":"m"}});
    assert!(judge(&case, &reply(400, "application/json", good.clone())).is_empty());

    let mut wrong_code = good.clone();
    wrong_code["error"]["code"] = json!(-32600);
    let mut wrong_id = good.clone();
    wrong_id["id"] = json!(2);
    let mut no_message = good.clone();
    no_message["error"]["message"] = json!("");
    let mut wrong_version = good.clone();
    wrong_version["jsonrpc"] = json!("1.0");
    for (what, bad) in [
        ("status", reply(200, "application/json", good.clone())),
        ("code", reply(400, "application/json", wrong_code)),
        ("id", reply(400, "application/json", wrong_id)),
        ("message", reply(400, "application/json", no_message)),
        ("jsonrpc", reply(400, "application/json", wrong_version)),
        ("content type", reply(400, "text/plain", good.clone())),
        (
            "not JSON",
            reply(400, "application/json", json!("Bad Request")),
        ),
    ] {
        assert!(!judge(&case, &bad).is_empty(), "{what} not flagged");
    }
    let absent = row("sample", RawRequest::new(Method::POST), 202, Want::Empty)
        .header_absent("content-type");
    assert_eq!(
        judge(&absent, &reply(202, "application/json", json!(""))).len(),
        2
    );
}

fn assert_unique_names(cases: &[Case]) {
    let mut seen = BTreeSet::new();
    for case in cases {
        assert!(
            seen.insert(&case.name),
            "duplicate row name {:?}",
            case.name
        );
    }
}

/// One row: a request and what must come back.
struct Case {
    name: String,
    request: RawRequest,
    small_app: bool,
    status: u16,
    want: Want,
    headers: Vec<HeaderRule>,
}

fn row(name: impl Into<String>, request: RawRequest, status: u16, want: Want) -> Case {
    Case {
        name: name.into(),
        request,
        small_app: false,
        status,
        want,
        headers: Vec::new(),
    }
}

impl Case {
    /// Runs on the app whose body limit is `SMALL_LIMIT`.
    fn on_small_app(mut self) -> Self {
        self.small_app = true;
        self
    }

    fn header_contains(mut self, name: &'static str, part: &'static str) -> Self {
        self.headers.push(HeaderRule::Contains(name, part));
        self
    }

    fn header_absent(mut self, name: &'static str) -> Self {
        self.headers.push(HeaderRule::Absent(name));
        self
    }
}

enum HeaderRule {
    Contains(&'static str, &'static str),
    Absent(&'static str),
}

/// The body a row expects.
enum Want {
    /// A JSON-RPC error with this code.
    Error {
        code: i64,
        id: Id,
        data: Option<Check>,
    },
    /// A JSON-RPC result (the controls).
    Result,
    /// A JSON array of responses, examined by the check.
    Batch(Check),
    /// No body at all (202).
    Empty,
    /// Not JSON-RPC; not examined (404 elsewhere than the endpoint, HEAD).
    Plain,
}

/// What the `id` of an error must be.
enum Id {
    /// Null or absent: the id could not be read.
    Null,
    Is(Value),
    /// Not checked.
    Any,
}

type Check = fn(&Value) -> Result<(), String>;

/// A JSON-RPC error with `code` and a null or absent id.
fn error(code: i64) -> Want {
    Want::Error {
        code,
        id: Id::Null,
        data: None,
    }
}

impl Want {
    fn id(self, expected: impl Into<Value>) -> Self {
        self.with_id(Id::Is(expected.into()))
    }

    fn any_id(self) -> Self {
        self.with_id(Id::Any)
    }

    fn with_id(self, id: Id) -> Self {
        match self {
            Want::Error { code, data, .. } => Want::Error { code, id, data },
            other => other,
        }
    }

    fn data(self, check: Check) -> Self {
        match self {
            Want::Error { code, id, .. } => Want::Error {
                code,
                id,
                data: Some(check),
            },
            other => other,
        }
    }
}

/// The default app (with the sessions the rows use) and the small-body app.
struct Apps {
    default: Router,
    small: Router,
    sessions: Sessions,
}

struct Outcome {
    /// Where the answer differs from the row.
    row: Vec<String>,
    /// Where the app failed a good request afterwards.
    probe: Vec<String>,
}

impl Apps {
    async fn start() -> Self {
        let default = app(TransportConfig::default());
        let small = app(TransportConfig {
            max_body_bytes: SMALL_LIMIT,
            ..TransportConfig::default()
        });
        let sessions = Sessions::start(&default).await;
        Self {
            default,
            small,
            sessions,
        }
    }

    async fn run(&self, case: &Case) -> Outcome {
        let app = if case.small_app {
            &self.small
        } else {
            &self.default
        };
        let row = match exchange(app, case.request.clone(), PATIENCE).await {
            Ok(reply) => judge(case, &reply),
            Err(e) => vec![e],
        };
        let session = (!case.small_app).then_some(&self.sessions.current);
        Outcome {
            row,
            probe: probe(app, session).await,
        }
    }
}

/// Everything about `reply` that differs from `case`.
fn judge(case: &Case, reply: &Reply) -> Vec<String> {
    let mut problems = Vec::new();
    if reply.status.as_u16() != case.status {
        problems.push(format!(
            "HTTP {} (want {}); body: {}",
            reply.status.as_u16(),
            case.status,
            reply.excerpt()
        ));
    }
    match &case.want {
        Want::Error { code, id, data } => match error_object(reply) {
            Err(e) => problems.push(e),
            Ok(body) => {
                let error = &body["error"];
                if error["code"].as_i64() != Some(*code) {
                    problems.push(format!(
                        "JSON-RPC code {} (want {code}): {}",
                        error["code"], error["message"]
                    ));
                }
                let got = body.get("id").unwrap_or(&Value::Null);
                match id {
                    Id::Null if !got.is_null() => {
                        problems.push(format!("id {got} (want null or absent)"))
                    }
                    Id::Is(want) if got != want => problems.push(format!("id {got} (want {want})")),
                    _ => {}
                }
                if let Some(check) = data
                    && let Err(e) = check(&error["data"])
                {
                    problems.push(e);
                }
            }
        },
        Want::Result => match reply.json() {
            Some(body) if body.get("result").is_some() && body.get("error").is_none() => {}
            _ => problems.push(format!("want a JSON-RPC result, got {}", reply.excerpt())),
        },
        Want::Batch(check) => {
            if !reply.content_type().starts_with("application/json") {
                problems.push(format!("Content-Type {:?}", reply.content_type()));
            }
            match reply.json() {
                Some(items @ Value::Array(_)) => {
                    if let Err(e) = check(&items) {
                        problems.push(e);
                    }
                }
                _ => problems.push(format!("want a JSON array, got {}", reply.excerpt())),
            }
        }
        Want::Empty => {
            if !reply.body.is_empty() {
                problems.push(format!("want no body, got {}", reply.excerpt()));
            }
        }
        Want::Plain => {}
    }
    for rule in &case.headers {
        match *rule {
            HeaderRule::Contains(name, part) => {
                if !reply.header(name).is_some_and(|v| v.contains(part)) {
                    problems.push(format!(
                        "header {name}: {:?} (want it to contain {part:?})",
                        reply.header(name)
                    ));
                }
            }
            HeaderRule::Absent(name) => {
                if let Some(value) = reply.header(name) {
                    problems.push(format!("header {name}: {value:?} (want none)"));
                }
            }
        }
    }
    problems
}

/// The body of an error answer, checked for the JSON-RPC error shape.
fn error_object(reply: &Reply) -> Result<Value, String> {
    if !reply.content_type().starts_with("application/json") {
        return Err(format!(
            "Content-Type {:?} (want application/json); body: {}",
            reply.content_type(),
            reply.excerpt()
        ));
    }
    let body = reply
        .json()
        .ok_or_else(|| format!("body is not JSON: {}", reply.excerpt()))?;
    let shaped = body["jsonrpc"] == "2.0"
        && body["error"]["code"].is_i64()
        && body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
        && body.get("result").is_none();
    if shaped {
        Ok(body)
    } else {
        Err(format!("not a JSON-RPC error: {}", reply.excerpt()))
    }
}

/// A good 2026-07-28 request and, with a session, a good legacy one must still be served.
async fn probe(app: &Router, session: Option<&Session>) -> Vec<String> {
    let mut requests = vec![(
        "server/discover",
        modern(modern_body("probe", "server/discover", json!({}))),
    )];
    if let Some(session) = session {
        requests.push(("legacy ping", legacy(session, rpc(0, "ping", json!({})))));
    }
    let mut problems = Vec::new();
    for (what, request) in requests {
        match exchange(app, request, PATIENCE).await {
            Ok(reply)
                if reply.status == 200 && reply.json().is_some_and(|b| b["result"].is_object()) => {
            }
            Ok(reply) => problems.push(format!(
                "afterwards, a good {what} got HTTP {}: {}",
                reply.status.as_u16(),
                reply.excerpt()
            )),
            Err(e) => problems.push(format!("afterwards, a good {what} failed: {e}")),
        }
    }
    problems
}

// ------------------------------------------------------------------------------------------
// Building requests
// ------------------------------------------------------------------------------------------

fn app(config: TransportConfig) -> Router {
    McpService::new(
        conformance_server(None),
        Arc::new(MemoryStore::new()),
        config,
    )
    .router()
}

/// A legacy session made by a real `initialize`.
#[derive(Clone)]
struct Session {
    id: String,
    version: &'static str,
}

struct Sessions {
    /// 2025-11-25: no batches.
    current: Session,
    /// 2025-03-26: the only revision with batches.
    old: Session,
    /// Terminated with DELETE before the rows run.
    ended: Session,
    /// Left for a row that may end it.
    doomed: Session,
}

impl Sessions {
    async fn start(app: &Router) -> Self {
        let ended = initialize(app, "2025-11-25").await;
        let reply = exchange(app, delete(&ended), PATIENCE)
            .await
            .expect("DELETE");
        assert!(reply.status.is_success(), "DELETE: HTTP {}", reply.status);
        Self {
            current: initialize(app, "2025-11-25").await,
            old: initialize(app, "2025-03-26").await,
            ended,
            doomed: initialize(app, "2025-06-18").await,
        }
    }
}

fn initialize_body(version: &str) -> Value {
    jsonrpc::initialize("init", version, "bad-requests", json!({}))
}

/// `initialize` plus `notifications/initialized`.
async fn initialize(app: &Router, version: &'static str) -> Session {
    let reply = exchange(
        app,
        RawRequest::post(initialize_body(version).to_string()),
        PATIENCE,
    )
    .await
    .expect("initialize");
    assert_eq!(reply.status, 200, "initialize: {}", reply.excerpt());
    let negotiated = reply.json().expect("JSON")["result"]["protocolVersion"].clone();
    assert_eq!(negotiated, version, "negotiated version");
    let session = Session {
        id: reply
            .header("mcp-session-id")
            .expect("Mcp-Session-Id")
            .to_owned(),
        version,
    };
    let initialized = exchange(
        app,
        legacy(&session, note("notifications/initialized")),
        PATIENCE,
    )
    .await
    .expect("notifications/initialized");
    assert_eq!(
        initialized.status,
        202,
        "initialized: {}",
        initialized.excerpt()
    );
    session
}

fn note(method: &str) -> Value {
    jsonrpc::notification(method, Value::Null)
}

/// A POST in `session`, with the version header its clients send (2025-03-26 has none).
fn legacy(session: &Session, body: Value) -> RawRequest {
    legacy_raw(session, body.to_string().as_bytes())
}

fn legacy_raw(session: &Session, body: &[u8]) -> RawRequest {
    in_session(session, RawRequest::post(body.to_vec()))
}

fn in_session(session: &Session, request: RawRequest) -> RawRequest {
    let request = request.header("mcp-session-id", &session.id);
    if session.version == "2025-03-26" {
        request
    } else {
        request.header("mcp-protocol-version", session.version)
    }
}

fn get(session: &Session) -> RawRequest {
    in_session(
        session,
        RawRequest::new(Method::GET).header("accept", "text/event-stream"),
    )
}

fn get_without_session() -> RawRequest {
    RawRequest::new(Method::GET).header("accept", "text/event-stream")
}

fn delete(session: &Session) -> RawRequest {
    in_session(session, RawRequest::new(Method::DELETE))
}

/// A 2026-07-28 request: `params` plus the required `_meta`. Keys given in `params._meta`
/// replace the defaults, and a `null` removes one.
fn modern_body(id: impl Into<Value>, method: &str, mut params: Value) -> Value {
    let mut meta = json!({
        META_VERSION: MODERN,
        "io.modelcontextprotocol/clientInfo": {"name":"bad-requests","version":"1"},
        META_CAPABILITIES: {},
    });
    if let Some(overrides) = params.get("_meta").and_then(Value::as_object) {
        for (key, value) in overrides {
            match value {
                Value::Null => {
                    if let Some(meta) = meta.as_object_mut() {
                        meta.remove(key);
                    }
                }
                value => meta[key] = value.clone(),
            }
        }
    }
    params["_meta"] = meta;
    json!({"jsonrpc":"2.0","id":id.into(),"method":method,"params":params})
}

/// POSTs `body` with the headers a 2026-07-28 client derives from it: `MCP-Protocol-Version`,
/// `Mcp-Method`, and `Mcp-Name` for the methods that name a target.
fn modern(body: Value) -> RawRequest {
    let mut request = RawRequest::post(body.to_string()).header("mcp-protocol-version", MODERN);
    if let Some(method) = body["method"].as_str() {
        request = request.header("mcp-method", method);
        let target = match method {
            "tools/call" | "prompts/get" => body["params"]["name"].as_str(),
            "resources/read" => body["params"]["uri"].as_str(),
            _ => None,
        };
        if let Some(name) = target {
            request = request.header("mcp-name", name);
        }
    }
    request
}

// ------------------------------------------------------------------------------------------
// Checks of error data and batch answers
// ------------------------------------------------------------------------------------------

fn supported_and_requested(data: &Value, requested: &str) -> Result<(), String> {
    let supported = data["supported"].as_array();
    if !supported.is_some_and(|v| v.iter().any(|v| v == MODERN)) {
        return Err(format!(
            "data.supported {} should list {MODERN}",
            data["supported"]
        ));
    }
    if data["requested"] != requested {
        return Err(format!(
            "data.requested {} (want {requested:?})",
            data["requested"]
        ));
    }
    Ok(())
}

/// The array holds exactly one response per `(id, code)`: an error with `code`, or a result
/// for `None`.
fn expect_items(items: &Value, expected: &[(Value, Option<i64>)]) -> Result<(), String> {
    let items = items.as_array().ok_or("not an array")?;
    if items.len() != expected.len() {
        return Err(format!(
            "{} responses (want {}): {}",
            items.len(),
            expected.len(),
            Value::Array(items.clone())
        ));
    }
    for (id, code) in expected {
        let found = items
            .iter()
            .find(|item| item.get("id").unwrap_or(&Value::Null) == id)
            .ok_or_else(|| format!("no response with id {id}"))?;
        match code {
            Some(code) if found["error"]["code"].as_i64() != Some(*code) => {
                return Err(format!("response {id}: {found} (want error {code})"));
            }
            None if found.get("result").is_none() => {
                return Err(format!("response {id}: {found} (want a result)"));
            }
            _ => {}
        }
    }
    Ok(())
}
