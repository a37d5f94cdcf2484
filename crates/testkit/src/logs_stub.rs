//! A stand-in for the CloudWatch Logs API (AWS JSON 1.1) on 127.0.0.1, for tests that script
//! its answers (and for any other JSON 1.1 API: the Price List, Cost Explorer): each request's operation and body go to the test's handler. Stopped when
//! dropped. And the SDK configuration that points the product's client at it (or at moto).

use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bedrock_usage_mcp::aws::{RetryPolicy, http_client};
use bedrock_usage_mcp::usage::source::cloudwatch::{Backoff, InsightsOptions};

/// The content type of the protocol, both ways.
pub const JSON_1_1: &str = "application/x-amz-json-1.1";

/// A Logs stub serving on [`LogsStub::url`].
pub struct LogsStub {
    /// `http://127.0.0.1:PORT`, for the SDK's endpoint URL.
    pub url: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for LogsStub {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl LogsStub {
    /// Serves `handler(operation, body)` for every request (`operation` is `StartQuery`,
    /// `GetQueryResults`, ...), after checking that the request speaks JSON 1.1.
    pub async fn start(handler: impl Fn(&str, &str) -> Response + Send + Sync + 'static) -> Self {
        let handler = Arc::new(handler);
        let app = Router::new().route(
            "/",
            post(move |headers: HeaderMap, body: String| {
                let handler = handler.clone();
                async move { handler(operation(&headers), &body) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port on 127.0.0.1");
        let url = format!(
            "http://{}",
            listener.local_addr().expect("the listener's address")
        );
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, server }
    }
}

/// The operation a request calls, from `X-Amz-Target` (`Logs_20140328.StartQuery`,
/// `AWSPriceListService.GetProducts`); fails the test when the request is not JSON 1.1.
fn operation(headers: &HeaderMap) -> &str {
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some(JSON_1_1),
        "JSON 1.1 protocol"
    );
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    target
        .rsplit_once('.')
        .map_or(target, |(_, operation)| operation)
}

/// An answer of the protocol: `status` and a JSON `body`.
pub fn json_response(status: StatusCode, body: String) -> Response {
    (status, [("content-type", JSON_1_1)], body).into_response()
}

/// The product's SDK configuration (its HTTPS client and `retries`) for `endpoint` in
/// `region`, with static test credentials.
pub fn sdk_config(endpoint: &str, region: &str, retries: &RetryPolicy) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "test", "test", None, None, "test",
        )))
        .endpoint_url(endpoint)
        .http_client(http_client())
        .retry_config(retries.config())
        .build()
}

/// The product's retry policy with pauses of milliseconds, for tests against a stub or moto.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(40),
        ..RetryPolicy::DEFAULT
    }
}

/// Logs Insights options with polling pauses of milliseconds, for tests.
pub fn fast_insights() -> InsightsOptions {
    InsightsOptions {
        poll: Backoff {
            initial: Duration::from_millis(5),
            max: Duration::from_millis(40),
        },
        ..InsightsOptions::default()
    }
}
