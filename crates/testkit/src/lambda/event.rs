//! The event API Gateway REST sends a Lambda proxy integration, and the ids it makes up.

use super::*;

pub(super) struct EventInput<'a> {
    pub(super) method: &'a str,
    pub(super) resource: &'a str,
    pub(super) query: Option<&'a str>,
    pub(super) headers: &'a HeaderMap,
    pub(super) body: &'a [u8],
    pub(super) gateway_request_id: &'a str,
    pub(super) trace_id: &'a str,
}

/// The `ApiGatewayProxyRequest` API Gateway REST sends a Lambda proxy integration.
pub(super) fn rest_event(input: &EventInput<'_>) -> Value {
    // Headers as API Gateway forwards them: the client's, minus hop-by-hop ones, with its own
    // Host and X-Forwarded-* / X-Amzn-Trace-Id.
    let mut multi: Vec<(String, Vec<String>)> = Vec::new();
    let mut push = |name: &str, value: String| match multi
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        Some((_, values)) => values.push(value),
        None => multi.push((name.to_owned(), vec![value])),
    };
    let mut forwarded_for = Vec::new();
    let mut client_trace = None;
    let mut user_agent = None;
    for (name, value) in input.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match name.as_str() {
            "host" | "x-forwarded-port" | "x-forwarded-proto" => {}
            "x-forwarded-for" => forwarded_for.push(value),
            "x-amzn-trace-id" => client_trace = Some(value),
            n if HOP_BY_HOP.contains(&n) => {}
            n => {
                if n == "user-agent" {
                    user_agent = Some(value.clone());
                }
                push(n, value);
            }
        }
    }
    let source_ip = "127.0.0.1";
    forwarded_for.push(source_ip.to_owned());
    push("Host", GATEWAY_DOMAIN.to_owned());
    push(
        "X-Amzn-Trace-Id",
        client_trace.unwrap_or_else(|| input.trace_id.to_owned()),
    );
    push("X-Forwarded-For", forwarded_for.join(", "));
    push("X-Forwarded-Port", "443".to_owned());
    push("X-Forwarded-Proto", "https".to_owned());
    let headers: Map<String, Value> = multi
        .iter()
        .map(|(n, v)| (n.clone(), json!(v.last())))
        .collect();
    let multi_value_headers: Map<String, Value> =
        multi.iter().map(|(n, v)| (n.clone(), json!(v))).collect();

    let (query, multi_query) = match input.query.filter(|q| !q.is_empty()) {
        None => (Value::Null, Value::Null),
        Some(query) => {
            let mut pairs: Vec<(String, Vec<String>)> = Vec::new();
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                let (name, value) = (percent_decode(name), percent_decode(value));
                match pairs.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, values)) => values.push(value),
                    None => pairs.push((name, vec![value])),
                }
            }
            let single: Map<String, Value> = pairs
                .iter()
                .map(|(n, v)| (n.clone(), json!(v.last())))
                .collect();
            let multi: Map<String, Value> =
                pairs.iter().map(|(n, v)| (n.clone(), json!(v))).collect();
            (Value::Object(single), Value::Object(multi))
        }
    };
    let (body, is_base64) = if input.body.is_empty() {
        (Value::Null, false)
    } else {
        match std::str::from_utf8(input.body) {
            Ok(text) => (json!(text), false),
            Err(_) => (json!(BASE64.encode(input.body)), true),
        }
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    json!({
        "resource": input.resource,
        "path": input.resource,
        "httpMethod": input.method,
        "headers": headers,
        "multiValueHeaders": multi_value_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": null,
        "stageVariables": null,
        "requestContext": {
            "resourceId": "a1b2c3",
            "resourcePath": input.resource,
            "httpMethod": input.method,
            "extendedRequestId": BASE64.encode(rand::random::<[u8; 10]>()),
            "requestTime": request_time(now.as_secs()),
            "path": format!("/{STAGE}{}", input.resource),
            "accountId": ACCOUNT_ID,
            "protocol": "HTTP/1.1",
            "stage": STAGE,
            "domainPrefix": API_ID,
            "requestTimeEpoch": u64::try_from(now.as_millis()).unwrap_or(u64::MAX),
            "requestId": input.gateway_request_id,
            "identity": {
                "cognitoIdentityPoolId": null,
                "accountId": null,
                "cognitoIdentityId": null,
                "caller": null,
                "sourceIp": source_ip,
                "principalOrgId": null,
                "accessKey": null,
                "cognitoAuthenticationType": null,
                "cognitoAuthenticationProvider": null,
                "userArn": null,
                "userAgent": user_agent,
                "user": null,
            },
            "domainName": GATEWAY_DOMAIN,
            "apiId": API_ID,
        },
        "body": body,
        "isBase64Encoded": is_base64,
    })
}

pub(super) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(u8::try_from(high * 16 + low).unwrap_or(b'?'));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `12/Apr/2026:09:15:02 +0000`, the format of `requestContext.requestTime`.
pub(super) fn request_time(unix_secs: u64) -> String {
    let at = i64::try_from(unix_secs)
        .ok()
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
        .unwrap_or_default();
    at.format("%d/%b/%Y:%H:%M:%S +0000").to_string()
}

/// A random UUID (version 4).
pub(super) fn uuid() -> String {
    let n = rand::random::<u128>() & !(0xf000 << 64) | (0x4000 << 64);
    let n = n & !(0xc000 << 48) | (0x8000 << 48);
    let hex = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// An X-Ray trace header for a new trace.
pub(super) fn trace_id() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    format!(
        "Root=1-{secs:08x}-{:024x};Parent={:016x};Sampled=0",
        rand::random::<u128>() >> 32,
        rand::random::<u64>()
    )
}
