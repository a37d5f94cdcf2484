//! A stand-in for API Gateway with IAM authorization: every request must carry a valid SigV4
//! signature (service `execute-api`) for the test credentials, or it is refused with 403 as
//! the gateway does; valid requests are forwarded to an MCP endpoint, answers streamed back.
//! Every request is recorded, so that another signer (botocore) can check the signatures too.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDateTime;
use serde_json::{Value, json};

pub const ACCESS_KEY: &str = "AKIDGATEWAYTEST0001";
pub const SECRET_KEY: &str = "gateway/test/secret/key/0123456789abcdefXYZ";
pub const SESSION_TOKEN: &str = "gateway-test-session-token//+==";
pub const REGION: &str = "eu-west-3";
pub const SERVICE: &str = "execute-api";

/// The environment that gives the AWS credential chain the test credentials.
pub fn credentials_env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_owned()),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_owned()),
        ("AWS_SESSION_TOKEN", SESSION_TOKEN.to_owned()),
        ("AWS_REGION", REGION.to_owned()),
        // No profile or SSO from the machine running the tests.
        ("AWS_CONFIG_FILE", "/nonexistent".to_owned()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ]
}

#[derive(Clone)]
struct Shared {
    upstream: String,
    http: reqwest::Client,
    records: Arc<Mutex<Vec<Value>>>,
    refused: Arc<Mutex<Vec<String>>>,
}

/// The gateway, serving on a free port until dropped.
pub struct Gateway {
    /// `http://127.0.0.1:PORT/mcp`.
    pub url: String,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Gateway {
    /// Forwards to `upstream` (an MCP endpoint URL).
    pub async fn start(upstream: &str) -> Self {
        let shared = Shared {
            upstream: upstream.to_owned(),
            http: reqwest::Client::new(),
            records: Arc::default(),
            refused: Arc::default(),
        };
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Gateway {
            url: format!("http://{addr}/mcp"),
            shared,
            task,
        }
    }

    /// The requests that passed verification, as recorded for another verifier.
    pub fn records(&self) -> Vec<Value> {
        self.shared.records.lock().unwrap().clone()
    }

    /// Why requests were refused.
    pub fn refused(&self) -> Vec<String> {
        self.shared.refused.lock().unwrap().clone()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(State(shared): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 16 << 20).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    if let Err(why) = verify(&parts, &body) {
        shared.refused.lock().unwrap().push(why.clone());
        return (
            StatusCode::FORBIDDEN,
            [("content-type", "application/json")],
            json!({ "message": why }).to_string(),
        )
            .into_response();
    }
    shared.records.lock().unwrap().push(record(&parts, &body));
    // Forward, without the signature (the upstream does not check it).
    let mut forward = shared.http.request(parts.method.clone(), &shared.upstream);
    for (name, value) in &parts.headers {
        let skip = ["host", "authorization", "content-length"].contains(&name.as_str())
            || name.as_str().starts_with("x-amz-");
        if !skip {
            forward = forward.header(name, value);
        }
    }
    let answer = match forward.body(body.to_vec()).send().await {
        Ok(answer) => answer,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let mut response = Response::builder().status(answer.status().as_u16());
    for (name, value) in answer.headers() {
        if name != "content-length" && name != "transfer-encoding" {
            response = response.header(name.as_str(), value.as_bytes());
        }
    }
    response
        .body(Body::from_stream(answer.bytes_stream()))
        .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
}

/// `20261201T213800Z` as a time.
fn amz_date(text: &str) -> Option<SystemTime> {
    // chrono alone would also read `2026121T213800Z`.
    if text.len() != 16 {
        return None;
    }
    let at = NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%SZ").ok()?;
    Some(at.and_utc().into())
}

/// Checks the request's SigV4 signature as API Gateway would (for the test credentials),
/// computing the expected one with aws-sigv4 over the headers the request says it signed.
fn verify(parts: &axum::http::request::Parts, body: &[u8]) -> Result<(), String> {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let authorization = header("authorization").ok_or("Missing Authentication Token")?;
    let rest = authorization
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or("not AWS4-HMAC-SHA256")?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(", ") {
        match part.split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed_headers = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => return Err(format!("bad Authorization part {part:?}")),
        }
    }
    let (credential, signed_headers, signature) = (
        credential.ok_or("no Credential")?,
        signed_headers.ok_or("no SignedHeaders")?,
        signature.ok_or("no Signature")?,
    );
    let scope: Vec<&str> = credential.split('/').collect();
    if scope.len() != 5 || scope[0] != ACCESS_KEY {
        return Err(format!("unknown credential {credential}"));
    }
    if scope[2] != REGION || scope[3] != SERVICE || scope[4] != "aws4_request" {
        return Err(format!("wrong scope {credential}"));
    }
    let date = header("x-amz-date").ok_or("no X-Amz-Date")?;
    let time = amz_date(date).ok_or("bad X-Amz-Date")?;
    if header("x-amz-security-token") != Some(SESSION_TOKEN) {
        return Err("missing or wrong X-Amz-Security-Token".into());
    }
    let signed: Vec<&str> = signed_headers.split(';').collect();
    for needed in ["host", "x-amz-date", "x-amz-security-token"] {
        if !signed.contains(&needed) {
            return Err(format!("{needed} is not signed"));
        }
    }
    // The signer adds X-Amz-Date and the token itself; the host comes from the URL.
    let host = header("host").ok_or("no Host")?;
    let headers: Vec<(&str, &str)> = signed
        .iter()
        .filter(|h| !["host", "x-amz-date", "x-amz-security-token"].contains(h))
        .map(|h| {
            header(h)
                .map(|v| (*h, v))
                .ok_or(format!("signed header {h} is missing"))
        })
        .collect::<Result<_, _>>()?;
    let url = format!(
        "http://{host}{}",
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let identity = Credentials::new(
        ACCESS_KEY,
        SECRET_KEY,
        Some(SESSION_TOKEN.to_owned()),
        None,
        "gateway",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name(SERVICE)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let signable = SignableRequest::new(
        parts.method.as_str(),
        url,
        headers.into_iter(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| e.to_string())?;
    let expected = sign(signable, &params).map_err(|e| e.to_string())?;
    if expected.signature() != signature {
        return Err(format!(
            "The request signature we calculated does not match the signature you provided \
             ({signature} != {})",
            expected.signature()
        ));
    }
    Ok(())
}

/// What another verifier needs to recompute the signature.
fn record(parts: &axum::http::request::Parts, body: &[u8]) -> Value {
    let headers: serde_json::Map<String, Value> = parts
        .headers
        .iter()
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.to_string(), json!(v))))
        .collect();
    json!({
        "method": parts.method.as_str(),
        "path": parts.uri.path_and_query().map_or("/", |p| p.as_str()),
        "headers": headers,
        "body": String::from_utf8_lossy(body),
    })
}
