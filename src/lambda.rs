//! The Lambda door: the same HTTP app, handed to `lambda_http`'s streaming runner.
//!
//! API Gateway REST (response transfer mode `STREAM`) and Function URLs (`RESPONSE_STREAM`)
//! both arrive here as events. Two things differ from a direct HTTP request:
//! - REST API paths carry the stage (`/prod/mcp`); the app routes on the path without it.
//! - The `Host` is the gateway's own domain, which the app should accept without being told:
//!   the event's request context names it, and [`GatewayHost`] carries it to the host guard.
//! - With OAuth on and no `--public-url`, the resource's URL is the one the gateway received
//!   the request on: its domain name and the path before the app's (the stage), from the
//!   request context, carried as [`GatewayBase`] (see `auth::resource` for why nothing the
//!   client sends is read for it).

use axum::Router;
use axum::body::Body;
use http::Request;
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;
use tower::ServiceExt;

use crate::auth::GatewayBase;
use crate::transport::GatewayHost;

/// Whether this process runs inside Lambda (the Runtime API is announced to it).
pub fn detected() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
}

/// Serves `app` to Lambda invocations until the runtime stops, streaming every response.
pub async fn run(app: Router) -> Result<(), lambda_http::Error> {
    let service = lambda_http::tower::service_fn(move |request: lambda_http::Request| {
        let app = app.clone();
        async move { app.oneshot(adapt(request)).await }
    });
    lambda_http::run_with_streaming_response(service).await
}

/// Turns a gateway event's request into the request the app expects.
pub fn adapt(request: lambda_http::Request) -> Request<Body> {
    let gateway_host = gateway_domain(&request);
    let client_path = gateway_path(&request);
    let raw_path = request.raw_http_path().to_owned();
    let (mut parts, body) = request.into_parts();
    if !raw_path.is_empty() {
        let query = parts
            .uri
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        if let Ok(uri) = format!("{raw_path}{query}").parse() {
            parts.uri = uri;
        }
    }
    if let Some(domain) = gateway_host {
        let base = client_path
            .and_then(|path| GatewayBase::from_gateway(&domain, &path, parts.uri.path()));
        if let Some(base) = base {
            parts.extensions.insert(base);
        }
        parts.extensions.insert(GatewayHost(domain));
    }
    let body = match body {
        lambda_http::Body::Empty => Body::empty(),
        lambda_http::Body::Text(text) => Body::from(text),
        lambda_http::Body::Binary(bytes) => Body::from(bytes),
        _ => Body::empty(),
    };
    Request::from_parts(parts, body)
}

/// The domain the gateway received the request on, from the event's request context.
fn gateway_domain(request: &lambda_http::Request) -> Option<String> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV1(context) => context.domain_name.clone(),
        RequestContext::ApiGatewayV2(context) => context.domain_name.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// The whole path the client asked the gateway for (stage or base path included), from the
/// event's request context.
fn gateway_path(request: &lambda_http::Request) -> Option<String> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV1(context) => context.path.clone(),
        RequestContext::ApiGatewayV2(context) => context.http.path.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Function URL invocation (payload format 2.0), as Lambda delivers it.
    const FUNCTION_URL_EVENT: &str = r#"{
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/mcp",
        "rawQueryString": "",
        "headers": {
            "host": "abcdefg.lambda-url.eu-west-1.on.aws",
            "content-type": "application/json",
            "accept": "application/json, text/event-stream"
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdefg",
            "domainName": "abcdefg.lambda-url.eu-west-1.on.aws",
            "domainPrefix": "abcdefg",
            "http": { "method": "POST", "path": "/mcp", "protocol": "HTTP/1.1",
                      "sourceIp": "192.0.2.1", "userAgent": "test" },
            "requestId": "id", "routeKey": "$default", "stage": "$default",
            "time": "25/Nov/2026:18:00:00 +0000", "timeEpoch": 1795636800000
        },
        "body": "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}",
        "isBase64Encoded": false
    }"#;

    /// An API Gateway REST proxy invocation through the `prod` stage.
    const REST_EVENT: &str = r#"{
        "resource": "/mcp", "path": "/mcp", "httpMethod": "POST",
        "headers": { "Host": "abc123.execute-api.eu-west-1.amazonaws.com" },
        "multiValueHeaders": { "Host": ["abc123.execute-api.eu-west-1.amazonaws.com"] },
        "queryStringParameters": null, "multiValueQueryStringParameters": null,
        "pathParameters": null, "stageVariables": null,
        "requestContext": {
            "resourcePath": "/mcp", "httpMethod": "POST", "path": "/prod/mcp",
            "stage": "prod", "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
            "requestId": "r", "accountId": "123456789012", "apiId": "abc123",
            "identity": { "sourceIp": "192.0.2.1" }
        },
        "body": "{}", "isBase64Encoded": false
    }"#;

    #[test]
    fn function_url_and_rest_events_route_to_the_endpoint_with_their_gateway_host() {
        for (event, domain) in [
            (FUNCTION_URL_EVENT, "abcdefg.lambda-url.eu-west-1.on.aws"),
            (REST_EVENT, "abc123.execute-api.eu-west-1.amazonaws.com"),
        ] {
            let request = lambda_http::request::from_str(event).expect("a gateway event");
            let adapted = adapt(request);
            assert_eq!(adapted.uri().path(), "/mcp", "stage-free path for {domain}");
            assert_eq!(
                adapted.extensions().get::<GatewayHost>(),
                Some(&GatewayHost(domain.to_owned()))
            );
            let stage = if event == REST_EVENT { "/prod" } else { "" };
            assert_eq!(
                adapted.extensions().get::<GatewayBase>(),
                Some(&GatewayBase(format!("https://{domain}{stage}")))
            );
        }
    }
}
