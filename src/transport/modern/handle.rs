//! Serving one modern message.

use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use rmcp::model::ErrorCode;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use super::exchange::{Answer, ModernExchange};
use super::listen;
use super::validate::{ModernMeta, validate};
use crate::clock::unix_now;
use crate::protocol::message::{self, Incoming};
use crate::protocol::shape::{modern_status, shape_error, shape_result};
use crate::protocol::version::{self, Era};
use crate::server::{ContextParts, HandlerError, McpServer, RequestContext};
use crate::transport::McpService;
use crate::transport::http_error::HttpError;
use crate::transport::response::{self, ChannelBody};
use crate::transport::wind_down::wind_down;

/// Serves a message already classified as modern.
pub async fn handle(service: &McpService, headers: &HeaderMap, incoming: Incoming) -> Response {
    match incoming {
        // This revision defines no client notifications over HTTP; accept and ignore them,
        // unless they name a version this server does not speak.
        Incoming::Notification { .. } => match unsupported_version_header(headers) {
            Some(e) => e.into_response(),
            None => response::accepted(),
        },
        Incoming::Response { .. } => {
            HttpError::bad_request("Invalid Request: 2026-07-28 clients do not send responses")
                .into_response()
        }
        Incoming::Request { id, method, params } => {
            let meta = match validate(headers, &id, &method, params.as_ref()) {
                Ok(meta) => meta,
                Err(e) => return e.into_response(),
            };
            if let Err(e) = check_param_headers(&service.server, headers, &method, params.as_ref())
            {
                return e.with_id(Some(id)).into_response();
            }
            match method.as_str() {
                "server/discover" => {
                    let result = discover_result(&service.server);
                    finish_json(service, &id, &method, Ok(result))
                }
                // Without the standalone stream there is nothing to listen for, and a stream
                // held open for nothing costs an invocation on Lambda.
                "subscriptions/listen" if !service.server.sends_change_notifications() => {
                    let outcome = Err(HandlerError::method_not_found(&method));
                    finish_json(service, &id, &method, outcome)
                }
                "subscriptions/listen" => listen::open(service, id, params, &meta),
                _ => run(service, id, method, params, meta).await,
            }
        }
    }
}

/// 400 with -32022 when `MCP-Protocol-Version` names a version this server does not speak.
fn unsupported_version_header(headers: &HeaderMap) -> Option<HttpError> {
    let requested =
        crate::protocol::headers::single(headers, crate::protocol::headers::PROTOCOL_VERSION)
            .ok()
            .flatten()?;
    (!version::is_supported(requested)).then(|| {
        HttpError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::UNSUPPORTED_PROTOCOL_VERSION,
            format!("Unsupported protocol version {requested}"),
        )
        .with_data(json!({ "supported": version::supported(), "requested": requested }))
    })
}

/// Runs a request through the dispatcher, answering as JSON unless it streams.
async fn run(
    service: &McpService,
    id: Value,
    method: String,
    params: Option<Value>,
    meta: ModernMeta,
) -> Response {
    let owner = task_owner(service);
    let (input_responses, request_state) =
        match round_trip_inputs(&service.server, &method, params.as_ref(), &owner) {
            Ok(inputs) => inputs,
            Err(e) => return finish_json(service, &id, &method, Err(e)),
        };
    let cancel = CancellationToken::new();
    let guard = cancel.clone().drop_guard();
    let (exchange, answer) = ModernExchange::new();
    let exchange = Arc::new(exchange);
    let ctx = RequestContext::new(ContextParts {
        era: Era::Modern,
        protocol_version: version::MODERN.to_owned(),
        client_capabilities: meta.client_capabilities,
        progress_token: meta.progress_token,
        log_level: meta.log_level,
        input_responses,
        request_state,
        outbox: exchange.clone(),
        session: None,
        cancel: cancel.clone(),
        task_owner: owner,
    });
    let server = service.server.clone();
    tokio::spawn(async move {
        let dispatch = server.dispatch(&ctx, &method, params);
        let outcome = wind_down(dispatch, cancel.cancelled()).await;
        if let Some(message) = final_message(&server, &id, &method, outcome) {
            exchange.finish(message);
        }
    });
    match answer.await {
        Ok(Answer::Json(message)) => {
            let status = message
                .get("error")
                .and_then(|e| serde_json::from_value(e.clone()).ok())
                .map_or(StatusCode::OK, |e| modern_status(&e));
            response::json(status, &message)
        }
        Ok(Answer::Stream(rx)) => response::sse(ChannelBody::new(rx, Some(guard)).into_body()),
        Err(_) => HttpError::internal("the request ended without an answer").into_response(),
    }
}

/// The response message for a handler outcome; `None` when nothing is to be sent.
fn final_message(
    server: &McpServer,
    id: &Value,
    method: &str,
    outcome: Result<Value, HandlerError>,
) -> Option<Value> {
    match outcome {
        Ok(result) => Some(message::response(
            id,
            shape_result(
                Era::Modern,
                method,
                result,
                server.info(),
                server.cache_hints(),
            ),
        )),
        Err(HandlerError::Rpc(error)) => Some(message::error_response(
            id,
            &shape_error(Era::Modern, error),
        )),
        Err(HandlerError::Cancelled | HandlerError::InputRequired) => None,
    }
}

fn finish_json(
    service: &McpService,
    id: &Value,
    method: &str,
    outcome: Result<Value, HandlerError>,
) -> Response {
    match final_message(&service.server, id, method, outcome) {
        Some(message) => {
            let status = message
                .get("error")
                .and_then(|e| serde_json::from_value(e.clone()).ok())
                .map_or(StatusCode::OK, |e| modern_status(&e));
            response::json(status, &message)
        }
        None => HttpError::internal("no answer").into_response(),
    }
}

/// `Mcp-Param-*` headers of a `tools/call` must agree with the arguments they mirror.
fn check_param_headers(
    server: &McpServer,
    headers: &HeaderMap,
    method: &str,
    params: Option<&Value>,
) -> Result<(), HttpError> {
    if method != "tools/call" {
        return Ok(());
    }
    let name = params.and_then(|p| p.get("name")).and_then(Value::as_str);
    let Some(tool) = name.and_then(|n| server.tool(n)) else {
        return Ok(());
    };
    let schema = tool.definition().input_schema;
    super::param_headers::check(headers, &schema, params.and_then(|p| p.get("arguments"))).map_err(
        |e| {
            HttpError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::HEADER_MISMATCH,
                format!("Header mismatch: {}", e.0),
            )
        },
    )
}

/// Whose tasks a modern request may see: everyone's without authorization (task ids are
/// 256 random bits, known only to their creator), else its principal's.
fn task_owner(service: &McpService) -> String {
    match &service.caller {
        Some(principal) => format!("principal:{}", principal.as_str()),
        None => "public".to_owned(),
    }
}

/// `server/discover`: versions, capabilities, instructions and cache hints.
pub(crate) fn discover_result(server: &McpServer) -> Value {
    let mut result = json!({
        "supportedVersions": version::supported(),
        "capabilities": server.capabilities_for(Era::Modern, version::MODERN),
    });
    if let Some(instructions) = server.instructions() {
        result["instructions"] = json!(instructions);
    }
    result
}

/// The client's answers from earlier rounds and the `requestState`, verified as sealed for
/// this request's target and `owner`.
fn round_trip_inputs(
    server: &McpServer,
    method: &str,
    params: Option<&Value>,
    owner: &str,
) -> Result<(Map<String, Value>, Option<Value>), HandlerError> {
    let Some(params) = params else {
        return Ok((Map::new(), None));
    };
    let responses = match params.get("inputResponses") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(_) => {
            return Err(HandlerError::invalid_params(
                "inputResponses must be an object",
            ));
        }
    };
    let state = match params.get("requestState") {
        None | Some(Value::Null) => None,
        Some(Value::String(sealed)) => {
            let name = McpServer::state_binding(method, Some(params), owner);
            let opened = server
                .state_codec()
                .open_state(method, &name, sealed, unix_now())
                .map_err(|_| {
                    HandlerError::Rpc(rmcp::model::ErrorData::new(
                        ErrorCode::INVALID_PARAMS,
                        "Invalid params: requestState failed verification",
                        None,
                    ))
                })?;
            Some(opened)
        }
        Some(_) => {
            return Err(HandlerError::invalid_params(
                "requestState must be a string",
            ));
        }
    };
    Ok((responses, state))
}
