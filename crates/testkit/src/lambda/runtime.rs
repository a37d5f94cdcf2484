//! The Lambda Runtime API (`2018-06-01`) each instance polls: events handed out, answers
//! (streamed with a prelude, or buffered) checked and passed on to the waiting client, errors.

use super::*;

#[derive(Clone)]
pub(super) struct RuntimeState {
    pub(super) shared: Arc<Shared>,
    pub(super) instance: usize,
}

pub(super) fn accepted() -> Response {
    (
        StatusCode::ACCEPTED,
        [("content-type", "application/json")],
        r#"{"status":"OK"}"#,
    )
        .into_response()
}

pub(super) fn runtime_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    (
        status,
        [("content-type", "application/json")],
        json!({ "errorMessage": message, "errorType": error_type }).to_string(),
    )
        .into_response()
}

pub(super) fn signal(pid: Option<u32>, signal: &str) {
    if let Some(pid) = pid {
        let _ = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// `GET /2018-06-01/runtime/invocation/next`: the next event, when there is one.
pub(super) async fn next_invocation(State(state): State<RuntimeState>) -> Response {
    let RuntimeState { shared, instance } = state;
    let (pid, stale) = {
        let mut instances = lock(&shared.instances);
        let me = &mut instances[instance];
        me.polls += 1;
        (me.pid, me.busy.take())
    };
    if let Some(busy) = stale {
        shared.violation(format!(
            "instance {instance} polled /next while invocation {busy} was still running"
        ));
    }
    lock(&shared.record).polls.push(Poll {
        instance,
        at: shared.now(),
    });

    // Take an event at once if one is waiting and no other instance is ahead; otherwise
    // freeze while waiting in line, as Lambda freezes an idle execution environment.
    let ready = match shared.queue_rx.try_lock() {
        Ok(mut queue) => queue.try_recv().ok(),
        Err(_) => None,
    };
    let pending = match ready {
        Some(pending) => pending,
        None => {
            let freeze = shared.options.freeze_idle;
            if freeze {
                signal(pid, "STOP");
            }
            let pending = {
                let mut queue = shared.queue_rx.lock().await;
                queue.recv().await
            };
            if freeze {
                signal(pid, "CONT");
            }
            match pending {
                Some(pending) => pending,
                None => return runtime_error(StatusCode::GONE, "Shutdown", "shutting down"),
            }
        }
    };

    let deadline = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        + shared.options.function_timeout;
    lock(&shared.instances)[instance].busy = Some(pending.request_id.clone());
    shared.update(pending.index, |i| {
        i.instance = Some(instance);
        i.dispatched = Some(shared.now());
    });
    lock(&shared.in_flight).insert(
        pending.request_id.clone(),
        InFlight {
            index: pending.index,
            instance,
            reply: pending.reply,
        },
    );
    let arn = format!(
        "arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{}",
        shared.options.function_name
    );
    let mut response = Response::new(Body::from(pending.event));
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set("content-type", "application/json");
    set("lambda-runtime-aws-request-id", &pending.request_id);
    set(
        "lambda-runtime-deadline-ms",
        &deadline.as_millis().to_string(),
    );
    set("lambda-runtime-invoked-function-arn", &arn);
    set("lambda-runtime-trace-id", &pending.trace_id);
    response
}

/// Takes the invocation `id` off the in-flight table, checking who answers it.
pub(super) fn answering(
    shared: &Shared,
    instance: usize,
    id: &str,
    what: &str,
) -> Option<InFlight> {
    let Some(in_flight) = lock(&shared.in_flight).remove(id) else {
        let known = lock(&shared.record).by_request_id.contains_key(id);
        shared.violation(if known {
            format!("instance {instance} sent a second {what} for invocation {id}")
        } else {
            format!("instance {instance} sent a {what} for unknown invocation {id}")
        });
        return None;
    };
    if in_flight.instance != instance {
        shared.violation(format!(
            "instance {instance} answered invocation {id}, which instance {} took",
            in_flight.instance
        ));
    }
    let mut instances = lock(&shared.instances);
    if instances[in_flight.instance].busy.as_deref() == Some(id) {
        instances[in_flight.instance].busy = None;
    }
    Some(in_flight)
}

/// `POST /2018-06-01/runtime/invocation/{id}/response`.
pub(super) async fn invocation_response(
    State(state): State<RuntimeState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let RuntimeState { shared, instance } = state;
    let Some(in_flight) = answering(&shared, instance, &id, "response") else {
        return runtime_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            "unknown or already answered request id",
        );
    };
    let (parts, body) = request.into_parts();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let index = in_flight.index;
    shared.update(index, |i| i.answer_started = Some(shared.now()));
    if !header("lambda-runtime-function-response-mode").eq_ignore_ascii_case("streaming") {
        shared.violation(format!(
            "invocation {index}: a buffered answer (no `Lambda-Runtime-Function-Response-Mode: \
             streaming`); API Gateway STREAM integrations need a streamed one"
        ));
        buffered_response(&shared, in_flight, body).await;
        return accepted();
    }
    let content_type = header("content-type");
    if content_type != "application/vnd.awslambda.http-integration-response" {
        shared.violation(format!(
            "invocation {index}: streamed answer with Content-Type {content_type:?}, expected \
             application/vnd.awslambda.http-integration-response"
        ));
    }
    stream_response(&shared, in_flight, body).await;
    accepted()
}

/// Reads a buffered (`ApiGatewayProxyResponse`) answer and hands it to the client whole.
pub(super) async fn buffered_response(shared: &Shared, in_flight: InFlight, body: Body) {
    let index = in_flight.index;
    let bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let reply = match serde_json::from_slice::<Value>(&bytes) {
        Ok(answer) => {
            let status = answer["statusCode"]
                .as_u64()
                .and_then(|s| u16::try_from(s).ok())
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::BAD_GATEWAY);
            let mut headers = HeaderMap::new();
            if let Some(map) = answer["headers"].as_object() {
                for (name, value) in map {
                    if let (Ok(name), Some(Ok(value))) = (
                        HeaderName::from_bytes(name.as_bytes()),
                        value.as_str().map(HeaderValue::from_str),
                    ) {
                        headers.insert(as_the_gateway_sends(name), value);
                    }
                }
            }
            let text = answer["body"].as_str().unwrap_or_default();
            let body = if answer["isBase64Encoded"].as_bool() == Some(true) {
                Bytes::from(BASE64.decode(text).unwrap_or_default())
            } else {
                Bytes::from(text.to_owned())
            };
            shared.update(index, |i| {
                i.status = Some(status.as_u16());
                i.prelude = Some(shared.now());
                i.completed = Some(shared.now());
                i.body_bytes = body.len();
            });
            Reply::Whole {
                status,
                headers,
                body,
            }
        }
        Err(e) => {
            shared.violation(format!(
                "invocation {index}: buffered answer is not JSON: {e}"
            ));
            Reply::Failed {
                status: StatusCode::BAD_GATEWAY,
                message: "Internal server error".to_owned(),
            }
        }
    };
    let _ = in_flight.reply.send(reply);
}

/// Where the framing of a streamed answer is.
pub(super) enum Framing {
    /// Reading the JSON prelude (everything before the first NUL).
    Prelude(BytesMut),
    /// Counting the NULs after it.
    Delimiter { prelude: Bytes, nuls: usize },
    /// Body bytes; `first` until one has been seen.
    Body { first: bool },
    /// The framing was broken; the rest is drained.
    Broken,
}

/// Reads a streamed answer: checks the prelude framing, then passes body chunks to the client
/// as they arrive. Returns when the function ends the stream.
pub(super) async fn stream_response(shared: &Shared, in_flight: InFlight, mut body: Body) {
    let index = in_flight.index;
    let mut reply = Some(in_flight.reply);
    let mut to_client: Option<mpsc::Sender<Bytes>> = None;
    let mut framing = Framing::Prelude(BytesMut::new());
    let fail = |reply: &mut Option<oneshot::Sender<Reply>>, why: String| {
        shared.violation(format!("invocation {index}: {why}"));
        shared.update(index, |i| i.error = Some(why));
        if let Some(reply) = reply.take() {
            let _ = reply.send(Reply::Failed {
                status: StatusCode::BAD_GATEWAY,
                message: "Internal server error".to_owned(),
            });
        }
    };
    // The prelude was read: record it and hand the client the head, the body following on `rx`.
    let open = |reply: &mut Option<oneshot::Sender<Reply>>,
                status: StatusCode,
                headers: HeaderMap,
                pairs: Vec<(String, String)>,
                rx: mpsc::Receiver<Bytes>| {
        shared.update(index, |i| {
            i.status = Some(status.as_u16());
            i.response_headers = pairs;
            i.prelude = Some(shared.now());
        });
        if let Some(reply) = reply.take() {
            let _ = reply.send(Reply::Stream {
                status,
                headers,
                body: rx,
            });
        }
    };
    loop {
        let frame = match body.frame().await {
            None => break,
            Some(Ok(frame)) => frame,
            Some(Err(e)) => {
                if shared.stopping.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                shared.error(format!(
                    "invocation {index}: the response stream broke: {e}"
                ));
                shared.update(index, |i| i.error = Some(format!("stream broke: {e}")));
                break;
            }
        };
        let frame = match frame.into_data() {
            Ok(data) => data,
            Err(frame) => {
                if let Some(trailers) = frame.trailers_ref()
                    && let Some(kind) = trailers.get("lambda-runtime-function-error-type")
                {
                    let body = trailers
                        .get("lambda-runtime-function-error-body")
                        .map(|b| String::from_utf8_lossy(b.as_bytes()).into_owned())
                        .unwrap_or_default();
                    let why = format!("{kind:?} {body}");
                    shared.error(format!("invocation {index}: mid-stream error {why}"));
                    shared.update(index, |i| i.error = Some(why));
                }
                continue;
            }
        };
        let mut data = frame;
        while !data.is_empty() {
            match &mut framing {
                Framing::Prelude(buffer) => match data.iter().position(|b| *b == 0) {
                    None => {
                        buffer.extend_from_slice(&data);
                        data.clear();
                    }
                    Some(at) => {
                        buffer.extend_from_slice(&data[..at]);
                        let prelude = std::mem::take(buffer).freeze();
                        let _ = data.split_to(at);
                        framing = Framing::Delimiter { prelude, nuls: 0 };
                    }
                },
                Framing::Delimiter { prelude, nuls } => {
                    let zeros = data.iter().take_while(|b| **b == 0).count();
                    let take = zeros.min(8 - *nuls);
                    *nuls += take;
                    let _ = data.split_to(take);
                    if *nuls < 8 && !data.is_empty() {
                        let why = format!("only {} NUL bytes after the prelude", *nuls);
                        framing = Framing::Broken;
                        fail(&mut reply, why);
                        continue;
                    }
                    if *nuls == 8 {
                        let prelude = prelude.clone();
                        match check_prelude(&prelude) {
                            Ok((status, headers, seen)) => {
                                if let Some(repeated) = seen.repeated {
                                    shared.violation(format!(
                                        "invocation {index}: header repeated in the prelude: \
                                         {repeated}"
                                    ));
                                }
                                for problem in seen.problems {
                                    shared.violation(format!("invocation {index}: {problem}"));
                                }
                                let (tx, rx) = mpsc::channel(64);
                                to_client = Some(tx);
                                open(&mut reply, status, headers, seen.pairs, rx);
                                framing = Framing::Body { first: true };
                            }
                            Err(why) => {
                                framing = Framing::Broken;
                                fail(&mut reply, why);
                            }
                        }
                    }
                }
                Framing::Body { first } => {
                    if *first {
                        *first = false;
                        if data[0] == 0 {
                            shared.violation(format!(
                                "invocation {index}: more than eight NUL bytes after the prelude"
                            ));
                        }
                    }
                    let chunk = std::mem::take(&mut data);
                    if chunk.starts_with(b"Lambda-Runtime-Function-Error-Type:") {
                        let why = String::from_utf8_lossy(&chunk).into_owned();
                        shared.error(format!("invocation {index}: mid-stream error: {why}"));
                        shared.update(index, |i| i.error = Some(why));
                        // The gateway ends the client's stream there.
                        to_client = None;
                        continue;
                    }
                    shared.update(index, |i| {
                        i.body_bytes += chunk.len();
                        i.body_chunks += 1;
                    });
                    if let Some(tx) = &to_client
                        && tx.send(chunk).await.is_err()
                    {
                        // The client left; the function runs on, its output goes nowhere.
                        to_client = None;
                        shared.update(index, |i| i.client_gone = true);
                    }
                }
                Framing::Broken => data.clear(),
            }
        }
    }
    match framing {
        Framing::Prelude(_) => fail(
            &mut reply,
            "the response stream ended before the prelude's eight NUL bytes".to_owned(),
        ),
        Framing::Delimiter { nuls, .. } if nuls < 8 => fail(
            &mut reply,
            format!("the response stream ended after {nuls} of eight NUL bytes"),
        ),
        Framing::Delimiter { prelude, .. } => {
            // Eight NULs and nothing after: an empty body.
            match check_prelude(&prelude) {
                Ok((status, headers, seen)) => {
                    let (_tx, rx) = mpsc::channel(1);
                    open(&mut reply, status, headers, seen.pairs, rx);
                }
                Err(why) => fail(&mut reply, why),
            }
        }
        Framing::Body { .. } | Framing::Broken => {}
    }
    drop(to_client);
    shared.update(index, |i| i.completed = Some(shared.now()));
}

/// What the prelude's headers said.
pub(super) struct PreludeHeaders {
    pairs: Vec<(String, String)>,
    repeated: Option<String>,
    problems: Vec<String>,
}

/// Parses and checks a prelude: `{"statusCode":…,"headers":{…},"cookies":[…]}`. Returns the
/// client's status and headers (as API Gateway would send them).
pub(super) fn check_prelude(
    prelude: &[u8],
) -> Result<(StatusCode, HeaderMap, PreludeHeaders), String> {
    let text = std::str::from_utf8(prelude).map_err(|_| "the prelude is not UTF-8".to_owned())?;
    let entries: Entries = serde_json::from_str(text)
        .map_err(|e| format!("the prelude is not a JSON object ({e}): {text:?}"))?;
    let mut problems = Vec::new();
    let mut status = None;
    let mut header_entries = None;
    let mut cookies = Vec::new();
    for (key, value) in entries.0 {
        match key.as_str() {
            "statusCode" => status = Some(value),
            "headers" => {
                let entries: Entries = serde_json::from_value(value)
                    .map_err(|e| format!("prelude `headers` is not an object: {e}"))?;
                header_entries = Some(entries.0);
            }
            "cookies" => match value {
                Value::Array(items) => {
                    for item in items {
                        match item {
                            Value::String(cookie) => cookies.push(cookie),
                            other => {
                                problems.push(format!("prelude cookie {other} is not a string"))
                            }
                        }
                    }
                }
                other => problems.push(format!("prelude `cookies` is {other}, not a list")),
            },
            other => problems.push(format!("unexpected prelude field {other:?}")),
        }
    }
    let status = status
        .as_ref()
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .ok_or_else(|| format!("the prelude has no valid statusCode: {text:?}"))?;
    let header_entries =
        header_entries.ok_or_else(|| format!("the prelude has no headers: {text:?}"))?;

    let mut headers = HeaderMap::new();
    let mut pairs = Vec::new();
    let mut repeated = Vec::new();
    let mut names_seen: Vec<String> = Vec::new();
    for (name, value) in header_entries {
        let lower = name.to_ascii_lowercase();
        if names_seen.contains(&lower) {
            repeated.push(format!("{name} (twice as a key)"));
        }
        names_seen.push(lower.clone());
        let values: Vec<String> = match value {
            Value::String(v) => vec![v],
            Value::Array(items) => {
                repeated.push(format!("{name}: {items:?}"));
                items
                    .into_iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string())
                    })
                    .collect()
            }
            other => {
                problems.push(format!("prelude header {name} is {other}, not a string"));
                vec![other.to_string()]
            }
        };
        let Ok(header_name) = HeaderName::from_bytes(name.as_bytes()) else {
            problems.push(format!("invalid header name {name:?} in the prelude"));
            continue;
        };
        for value in values {
            pairs.push((name.clone(), value.clone()));
            if HOP_BY_HOP.contains(&lower.as_str()) || lower == "content-length" {
                // The gateway streams with its own framing.
                continue;
            }
            match HeaderValue::from_str(&value) {
                Ok(value) => {
                    headers.append(as_the_gateway_sends(header_name.clone()), value);
                }
                Err(_) => problems.push(format!("invalid value for header {name} in the prelude")),
            }
        }
    }
    for cookie in cookies {
        match HeaderValue::from_str(&cookie) {
            Ok(value) => {
                headers.append(http::header::SET_COOKIE, value);
            }
            Err(_) => problems.push(format!("invalid cookie {cookie:?} in the prelude")),
        }
    }
    let seen = PreludeHeaders {
        pairs,
        repeated: (!repeated.is_empty()).then(|| repeated.join("; ")),
        problems,
    };
    Ok((status, headers, seen))
}

/// A JSON object's entries in order, keeping keys that repeat.
pub(super) struct Entries(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Entries {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Entries;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Entries, A::Error> {
                let mut entries = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, Value>()? {
                    entries.push((key, value));
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// `POST /2018-06-01/runtime/invocation/{id}/error`: the function failed; the client gets 502.
pub(super) async fn invocation_error(
    State(state): State<RuntimeState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let RuntimeState { shared, instance } = state;
    let (error_type, body) = reported_error(request).await;
    let Some(in_flight) = answering(&shared, instance, &id, "error") else {
        return runtime_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            "unknown or already answered request id",
        );
    };
    let why = format!("{error_type}: {body}");
    shared.error(format!(
        "invocation {} failed on instance {instance}: {why}",
        in_flight.index
    ));
    shared.update(in_flight.index, |i| {
        i.error = Some(why);
        i.completed = Some(shared.now());
    });
    let _ = in_flight.reply.send(Reply::Failed {
        status: StatusCode::BAD_GATEWAY,
        message: "Internal server error".to_owned(),
    });
    accepted()
}

/// `POST /2018-06-01/runtime/init/error`: the instance could not start; the request that woke
/// it (the first one waiting) gets 502.
pub(super) async fn init_error(State(state): State<RuntimeState>, request: Request) -> Response {
    let RuntimeState { shared, instance } = state;
    let (error_type, body) = reported_error(request).await;
    shared.error(format!(
        "instance {instance} failed to initialise: {error_type}: {body}"
    ));
    let waiting = match shared.queue_rx.try_lock() {
        Ok(mut queue) => queue.try_recv().ok(),
        Err(_) => None,
    };
    if let Some(pending) = waiting {
        shared.update(pending.index, |i| {
            i.instance = Some(instance);
            i.error = Some(format!("init error: {error_type}"));
        });
        let _ = pending.reply.send(Reply::Failed {
            status: StatusCode::BAD_GATEWAY,
            message: "Internal server error".to_owned(),
        });
    }
    accepted()
}

/// The error a function reported to the Runtime API: its
/// `Lambda-Runtime-Function-Error-Type` header and its body as text.
async fn reported_error(request: Request) -> (String, String) {
    let error_type = request
        .headers()
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    (error_type, String::from_utf8_lossy(&body).into_owned())
}

pub(super) async fn runtime_unknown(
    State(state): State<RuntimeState>,
    request: Request,
) -> Response {
    state.shared.violation(format!(
        "instance {} called an unknown Runtime API route: {} {}",
        state.instance,
        request.method(),
        request.uri()
    ));
    runtime_error(StatusCode::NOT_FOUND, "NotFound", "unknown route")
}

/// The name under which API Gateway REST passes a header of a proxy integration's answer on:
/// its own, except `WWW-Authenticate`, which it renames `x-amzn-remapped-www-authenticate`
/// (the OAuth deployment's gateway responses carry the challenge instead).
fn as_the_gateway_sends(name: HeaderName) -> HeaderName {
    if name == http::header::WWW_AUTHENTICATE {
        HeaderName::from_static("x-amzn-remapped-www-authenticate")
    } else {
        name
    }
}
