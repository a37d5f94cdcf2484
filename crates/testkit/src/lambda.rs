//! AWS Lambda behind API Gateway REST (response streaming), on this machine.
//!
//! Two in-process HTTP servers on 127.0.0.1, on a tokio runtime of their own (one dedicated
//! thread owns it), stopped when the [`LambdaHarness`] is dropped:
//!
//! - **The Lambda Runtime API** (`2018-06-01`), one listener per instance so that every poll
//!   and every response is attributed to the instance that made it. `GET …/invocation/next`
//!   long-polls for the next event; `POST …/invocation/{id}/response` takes the streamed
//!   answer (`Lambda-Runtime-Function-Response-Mode: streaming`: a JSON prelude, eight NUL
//!   bytes, then the body) and passes every chunk on to the waiting client as it arrives;
//!   `POST …/invocation/{id}/error` and `POST …/init/error` become a 502 for the client and
//!   are recorded.
//! - **An API Gateway REST API** with one stage (`prod`) and one resource (`/mcp`, method
//!   `ANY`, Lambda proxy integration with `responseTransferMode: STREAM`). Each request becomes
//!   an `ApiGatewayProxyRequest` event (the shape of `tests/data/apigw/rest-proxy-event.json`)
//!   queued for the next `/next` poll; the answer streams back with the status and headers of
//!   the prelude.
//!
//! **Instances** are processes of a server binary started with `AWS_LAMBDA_RUNTIME_API`
//! pointing at their own Runtime API listener and the environment Lambda gives a function.
//! The Lambda runtime client polls `/next` only when idle, so an instance serves one
//! invocation at a time and idle instances take events in the order they asked for them
//! (first come, first served). By default an instance waiting in `/next` is frozen
//! (`SIGSTOP`) and thawed (`SIGCONT`) when an event is handed to it, as Lambda freezes an
//! execution environment between invocations: work a server leaves running after its
//! response does not progress until that instance is invoked again.
//!
//! **Host handling.** API Gateway answers requests whose `Host` is not one of its domains
//! with `403 {"message":"Forbidden"}` without invoking the function. The harness stands in
//! for the gateway's domain on `127.0.0.1:PORT` (and `localhost:PORT`): a request with that
//! `Host` (or the gateway domain itself) is forwarded with `Host` set to the gateway domain,
//! exactly as the function would see it on AWS; any other `Host` (a DNS-rebinding attempt)
//! gets the gateway's 403 and is recorded as a [`Rejection`]. `Origin` is passed through
//! untouched, so the server's own Origin guard still decides.
//!
//! **Other gateway behaviour kept:** paths other than `/prod/mcp` get API Gateway's
//! `403 {"message":"Missing Authentication Token"}`; request bodies over 10 MB get 413; a body
//! that is not UTF-8 travels base64-encoded; `WWW-Authenticate` in an answer is renamed
//! `x-amzn-remapped-www-authenticate`; a client that goes away does not stop the invocation
//! (the rest of the stream is drained, and the instance stays busy until it ends); no prelude
//! within the integration timeout gives 504. The harness's sockets set TCP_NODELAY so that it
//! adds no latency of its own; the instances' Runtime API client is left as it is.
//!
//! Instances write stdout and stderr to a log file each ([`LambdaHarness::instance_log`],
//! [`LambdaHarness::logs_tail`]), removed on drop unless a test is failing.
//!
//! Everything that API Gateway or the Runtime API would reject, or that breaks the streaming
//! contract (a prelude that is not JSON, not exactly eight NULs, a header repeated as a JSON
//! list, a buffered instead of a streamed answer, a second answer for one invocation, a poll
//! while an invocation is still running), is recorded in [`LambdaHarness::violations`];
//! function errors in [`LambdaHarness::errors`]. [`LambdaHarness::assert_clean`] checks both.

#![allow(dead_code)]

use std::collections::HashMap;
use std::fs::File;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::{Bytes, BytesMut};
use chrono::DateTime;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, oneshot};

/// The domain API Gateway gives a REST API (`{api-id}.execute-api.{region}.amazonaws.com`).
pub const GATEWAY_DOMAIN: &str = "abc123.execute-api.eu-west-1.amazonaws.com";
/// The API id, the first label of [`GATEWAY_DOMAIN`].
pub const API_ID: &str = "abc123";
/// The stage, the first segment of every client path.
pub const STAGE: &str = "prod";
/// The account the function and the API live in.
pub const ACCOUNT_ID: &str = "123456789012";
/// The region of the function and the API.
pub const REGION: &str = "eu-west-1";
/// The largest request payload API Gateway accepts (10 MB).
const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;
/// Headers that describe one hop, never forwarded either way.
const HOP_BY_HOP: [&str; 6] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "transfer-encoding",
    "upgrade",
];

/// How the gateway and the functions behave.
#[derive(Debug, Clone)]
pub struct Options {
    /// The function name (`AWS_LAMBDA_FUNCTION_NAME`, and the ARN).
    pub function_name: String,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`.
    pub memory_mb: u32,
    /// The function timeout, for `Lambda-Runtime-Deadline-Ms` (max 900 s).
    pub function_timeout: Duration,
    /// How long the gateway waits for the prelude (`timeoutInMillis`, up to 900000 with
    /// STREAM) before answering 504.
    pub integration_timeout: Duration,
    /// The API resource path (`/mcp`), served at `/{STAGE}{resource}`.
    pub resource: String,
    /// Freeze idle instances (SIGSTOP while they wait in `/next`), as Lambda does.
    pub freeze_idle: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            function_name: "bedrock-usage-mcp".to_owned(),
            memory_mb: 512,
            function_timeout: Duration::from_secs(900),
            integration_timeout: Duration::from_secs(120),
            resource: "/mcp".to_owned(),
            freeze_idle: true,
        }
    }
}

/// A process to start as an instance of the function.
#[derive(Debug, Clone)]
pub struct InstanceSpec {
    pub binary: PathBuf,
    pub args: Vec<String>,
    /// Added after (and so overriding) the Lambda environment.
    pub env: Vec<(String, String)>,
}

impl InstanceSpec {
    pub fn new(binary: impl Into<PathBuf>) -> Self {
        Self {
            binary: binary.into(),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    /// The conformance fixture server of the main package (built beside the running test).
    pub fn conformance() -> Self {
        Self::new(crate::cargo_bin("conformance-server"))
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    pub fn envs<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.env
            .extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }
}

/// One request that reached the function (or was queued for it).
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The Lambda request id (`Lambda-Runtime-Aws-Request-Id`).
    pub request_id: String,
    /// API Gateway's request id (`requestContext.requestId`).
    pub gateway_request_id: String,
    /// The instance that took the event, once one did.
    pub instance: Option<usize>,
    pub http_method: String,
    /// The path the client asked for, stage included (`/prod/mcp`).
    pub path: String,
    /// The request's `Mcp-Session-Id`.
    pub session: Option<String>,
    /// The JSON-RPC `method` of the request body, if it has one.
    pub rpc_method: Option<String>,
    /// The event handed to the function.
    pub event: Value,
    /// The status of the prelude.
    pub status: Option<u16>,
    /// The headers of the prelude, as the function sent them.
    pub response_headers: Vec<(String, String)>,
    /// Times since the harness started.
    pub received: Duration,
    pub dispatched: Option<Duration>,
    /// The function's answer began (its `POST …/response` arrived).
    pub answer_started: Option<Duration>,
    /// The prelude and its eight NULs were complete (status and headers went to the client).
    pub prelude: Option<Duration>,
    pub completed: Option<Duration>,
    /// Body bytes after the prelude, and in how many chunks they came.
    pub body_bytes: usize,
    pub body_chunks: usize,
    /// The client went away before the function finished (the function ran on).
    pub client_gone: bool,
    /// A function error, a timeout, or a framing failure that cut the answer.
    pub error: Option<String>,
}

impl Invocation {
    /// The session this request belongs to: the one it names, or the one its answer created.
    pub fn session_id(&self) -> Option<&str> {
        self.session.as_deref().or_else(|| {
            self.response_headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("mcp-session-id"))
                .map(|(_, v)| v.as_str())
        })
    }
}

/// A `/next` poll.
#[derive(Debug, Clone)]
pub struct Poll {
    pub instance: usize,
    pub at: Duration,
}

/// A request the gateway answered itself, without invoking the function.
#[derive(Debug, Clone)]
pub struct Rejection {
    pub status: u16,
    pub reason: String,
    pub host: Option<String>,
    pub path: String,
}

/// Everything the harness saw, in order.
#[derive(Debug, Default)]
struct Record {
    invocations: Vec<Invocation>,
    by_request_id: HashMap<String, usize>,
    polls: Vec<Poll>,
    rejections: Vec<Rejection>,
    violations: Vec<String>,
    errors: Vec<String>,
}

/// What the gateway hands back to its waiting client.
enum Reply {
    /// The prelude's head; the body follows on the channel as the function writes it.
    Stream {
        status: StatusCode,
        headers: HeaderMap,
        body: mpsc::Receiver<Bytes>,
    },
    /// A whole (buffered) answer.
    Whole {
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    },
    /// The gateway's own error answer (function error, bad framing, instance died).
    Failed { status: StatusCode, message: String },
}

/// An event waiting for an instance.
struct Pending {
    index: usize,
    request_id: String,
    trace_id: String,
    event: Bytes,
    reply: oneshot::Sender<Reply>,
}

/// An event an instance took and has not answered yet.
struct InFlight {
    index: usize,
    instance: usize,
    reply: oneshot::Sender<Reply>,
}

#[derive(Debug, Default)]
struct InstanceState {
    pid: Option<u32>,
    /// The request id it is serving, between `/next` and its answer.
    busy: Option<String>,
    polls: usize,
    exited: Option<String>,
}

struct Shared {
    options: Options,
    started: Instant,
    gateway_port: u16,
    queue_tx: mpsc::UnboundedSender<Pending>,
    queue_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Pending>>,
    record: Mutex<Record>,
    in_flight: Mutex<HashMap<String, InFlight>>,
    instances: Mutex<Vec<InstanceState>>,
    /// Set when the harness is dropped: instances exiting then are no news.
    stopping: std::sync::atomic::AtomicBool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    fn violation(&self, what: String) {
        eprintln!("lambda harness: VIOLATION: {what}");
        lock(&self.record).violations.push(what);
    }

    fn error(&self, what: String) {
        eprintln!("lambda harness: function error: {what}");
        lock(&self.record).errors.push(what);
    }

    fn update(&self, index: usize, f: impl FnOnce(&mut Invocation)) {
        if let Some(invocation) = lock(&self.record).invocations.get_mut(index) {
            f(invocation);
        }
    }
}

struct InstanceProcess {
    instance: usize,
    child: Child,
    log: PathBuf,
    spec: InstanceSpec,
    runtime_api: SocketAddr,
}

/// API Gateway REST + Lambda on 127.0.0.1. Dropping it kills the instances and stops the
/// servers.
pub struct LambdaHarness {
    shared: Arc<Shared>,
    handle: tokio::runtime::Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    gateway: SocketAddr,
    processes: Arc<Mutex<Vec<InstanceProcess>>>,
}

impl LambdaHarness {
    /// The gateway and the Runtime API, with no instance yet.
    pub fn new(options: Options) -> Self {
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("lambda-harness".to_owned())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(4)
                    .thread_name("lambda-harness-worker")
                    .enable_all()
                    .build()
                    .expect("the harness runtime");
                let _ = handle_tx.send(runtime.handle().clone());
                runtime.block_on(async move {
                    let _ = stop_rx.await;
                });
                runtime.shutdown_timeout(Duration::from_secs(1));
            })
            .expect("starting the harness thread");
        let handle = handle_rx.recv().expect("the harness runtime handle");

        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding the gateway");
        let gateway = listener.local_addr().expect("the gateway address");
        let (queue_tx, queue_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            options,
            started: Instant::now(),
            gateway_port: gateway.port(),
            queue_tx,
            queue_rx: tokio::sync::Mutex::new(queue_rx),
            record: Mutex::new(Record::default()),
            in_flight: Mutex::new(HashMap::new()),
            instances: Mutex::new(Vec::new()),
            stopping: std::sync::atomic::AtomicBool::new(false),
        });
        let app = Router::new()
            .fallback(gateway_request)
            .with_state(shared.clone());
        serve(&handle, listener, app);

        let processes: Arc<Mutex<Vec<InstanceProcess>>> = Arc::new(Mutex::new(Vec::new()));
        handle.spawn(watch_instances(shared.clone(), processes.clone()));
        Self {
            shared,
            handle,
            stop: Some(stop_tx),
            thread: Some(thread),
            gateway,
            processes,
        }
    }

    /// The gateway with `count` instances of `spec`, started one after the other, each ready
    /// (polling `/next`) before the next starts.
    pub fn with_instances(options: Options, specs: &[InstanceSpec]) -> Self {
        let harness = Self::new(options);
        for spec in specs {
            let instance = harness.add_instance(spec.clone());
            harness.wait_ready(instance, Duration::from_secs(60));
        }
        harness
    }

    /// One instance of the conformance server with the memory store.
    pub fn conformance(args: &[&str]) -> Self {
        Self::with_instances(
            Options::default(),
            &[InstanceSpec::conformance().args(args.iter().copied())],
        )
    }

    /// The client URL of the MCP endpoint: `http://127.0.0.1:PORT/prod/mcp`.
    pub fn url(&self) -> String {
        format!(
            "http://{}/{STAGE}{}",
            self.gateway, self.shared.options.resource
        )
    }

    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.gateway)
    }

    pub fn gateway_addr(&self) -> SocketAddr {
        self.gateway
    }

    /// A Runtime API endpoint for an instance that the caller runs itself (a test acting as
    /// the Lambda runtime client); returns the instance index and the address to call.
    pub fn add_runtime_endpoint(&self) -> (usize, SocketAddr) {
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("binding a Runtime API listener");
        let runtime_api = listener.local_addr().expect("the Runtime API address");
        let instance = {
            let mut instances = lock(&self.shared.instances);
            instances.push(InstanceState::default());
            instances.len() - 1
        };
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(invocation_response),
            )
            .route(
                "/2018-06-01/runtime/invocation/{id}/error",
                post(invocation_error),
            )
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .fallback(runtime_unknown)
            .with_state(RuntimeState {
                shared: self.shared.clone(),
                instance,
            });
        serve(&self.handle, listener, app);
        (instance, runtime_api)
    }

    /// Starts a process of `spec` as a new instance, without waiting for it; returns its index.
    pub fn add_instance(&self, spec: InstanceSpec) -> usize {
        let (instance, runtime_api) = self.add_runtime_endpoint();
        let options = &self.shared.options;
        let log = std::env::temp_dir().join(format!(
            "lambda-harness-{}-{}-{instance}.log",
            std::process::id(),
            self.gateway.port()
        ));
        let log_file = File::create(&log).expect("creating an instance log");
        let name = &options.function_name;
        let mut command = Command::new(&spec.binary);
        command
            .args(&spec.args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env(
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                options.memory_mb.to_string(),
            )
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env(
                "AWS_LAMBDA_LOG_STREAM_NAME",
                format!("2026/01/01/[$LATEST]{:032x}", rand::random::<u128>()),
            )
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023")
            .env("AWS_REGION", REGION)
            .env("AWS_DEFAULT_REGION", REGION)
            .env("_HANDLER", "bootstrap")
            .env("TZ", ":UTC")
            .env("LANG", "en_US.UTF-8");
        for passed in ["RUST_LOG", "RUST_BACKTRACE"] {
            if let Some(value) = std::env::var_os(passed) {
                command.env(passed, value);
            }
        }
        for (name, value) in &spec.env {
            command.env(name, value);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("the instance log"))
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", spec.binary.display()));
        lock(&self.shared.instances)[instance].pid = Some(child.id());
        lock(&self.processes).push(InstanceProcess {
            instance,
            child,
            log,
            spec,
            runtime_api,
        });
        instance
    }

    /// Waits until `instance` polls `/next` for the first time. Panics with its log if it
    /// exits or does not within `limit`.
    pub fn wait_ready(&self, instance: usize, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            {
                let instances = lock(&self.shared.instances);
                if instances[instance].polls > 0 {
                    return;
                }
                if let Some(exit) = &instances[instance].exited {
                    panic!(
                        "instance {instance} exited before its first poll ({exit}):\n{}",
                        self.instance_log(instance)
                    );
                }
            }
            assert!(
                Instant::now() < deadline,
                "instance {instance} did not poll /next within {limit:?}:\n{}",
                self.instance_log(instance)
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Time since the harness started (the clock of every recorded time).
    pub fn now(&self) -> Duration {
        self.shared.now()
    }

    /// Whether `instance` is frozen (stopped by SIGSTOP) right now, from `/proc` (Linux).
    pub fn is_frozen(&self, instance: usize) -> Option<bool> {
        let pid = lock(&self.shared.instances).get(instance)?.pid?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // `pid (comm) state ...`: the state follows the last ')'.
        let state = stat.rsplit_once(')')?.1.trim_start().chars().next()?;
        Some(state == 'T')
    }

    /// The process id of `instance`, if it was started as a process (for `/proc` readings).
    pub fn pid(&self, instance: usize) -> Option<u32> {
        lock(&self.shared.instances).get(instance)?.pid
    }

    /// How many instances were started.
    pub fn instance_count(&self) -> usize {
        lock(&self.shared.instances).len()
    }

    /// What an instance wrote to stdout and stderr.
    pub fn instance_log(&self, instance: usize) -> String {
        lock(&self.processes)
            .iter()
            .find(|p| p.instance == instance)
            .and_then(|p| std::fs::read_to_string(&p.log).ok())
            .unwrap_or_default()
    }

    /// The last `lines` lines of every instance's log, for failure messages.
    pub fn logs_tail(&self, lines: usize) -> String {
        let mut out = String::new();
        for instance in 0..self.instance_count() {
            let log = self.instance_log(instance);
            let all: Vec<&str> = log.lines().collect();
            let start = all.len().saturating_sub(lines);
            out.push_str(&format!("--- instance {instance} ---\n"));
            for line in &all[start..] {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }

    /// Every request that reached the function, in arrival order.
    pub fn invocations(&self) -> Vec<Invocation> {
        lock(&self.shared.record).invocations.clone()
    }

    /// Every `/next` poll, in order.
    pub fn polls(&self) -> Vec<Poll> {
        lock(&self.shared.record).polls.clone()
    }

    /// Requests the gateway answered itself.
    pub fn rejections(&self) -> Vec<Rejection> {
        lock(&self.shared.record).rejections.clone()
    }

    /// Breaches of the gateway's or the Runtime API's contract.
    pub fn violations(&self) -> Vec<String> {
        lock(&self.shared.record).violations.clone()
    }

    /// Function errors, init errors, timeouts and instances that died.
    pub fn errors(&self) -> Vec<String> {
        lock(&self.shared.record).errors.clone()
    }

    /// Panics if any contract was breached or any function error was reported.
    pub fn assert_clean(&self) {
        let violations = self.violations();
        let errors = self.errors();
        assert!(
            violations.is_empty() && errors.is_empty(),
            "violations: {violations:#?}\nerrors: {errors:#?}\n{}",
            self.logs_tail(40)
        );
    }

    /// Which instance served each invocation, in arrival order.
    pub fn instances_served(&self) -> Vec<Option<usize>> {
        self.invocations().iter().map(|i| i.instance).collect()
    }
}

impl Drop for LambdaHarness {
    fn drop(&mut self) {
        self.shared
            .stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        for process in lock(&self.processes).iter_mut() {
            let _ = process.child.kill();
            let _ = process.child.wait();
            if !std::thread::panicking() {
                let _ = std::fs::remove_file(&process.log);
            }
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(handle: &tokio::runtime::Handle, listener: std::net::TcpListener, app: Router) {
    listener
        .set_nonblocking(true)
        .expect("a non-blocking listener");
    handle.spawn(async move {
        use axum::serve::ListenerExt as _;
        // No Nagle on the harness's own writes: it must not add latency of its own.
        let listener = tokio::net::TcpListener::from_std(listener)
            .expect("a tokio listener")
            .tap_io(|stream| {
                let _ = stream.set_nodelay(true);
            });
        let _ = axum::serve(listener, app).await;
    });
}

/// Notices instances that exit: records it, fails what they were serving, and fails queued
/// events when no instance is left.
async fn watch_instances(shared: Arc<Shared>, processes: Arc<Mutex<Vec<InstanceProcess>>>) {
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if shared.stopping.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let mut exits = Vec::new();
        for process in lock(&processes).iter_mut() {
            let instance = process.instance;
            if lock(&shared.instances)[instance].exited.is_some() {
                continue;
            }
            if let Ok(Some(status)) = process.child.try_wait() {
                exits.push((instance, status.to_string()));
            }
        }
        if shared.stopping.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        for (instance, status) in exits {
            let busy = {
                let mut instances = lock(&shared.instances);
                instances[instance].exited = Some(status.clone());
                instances[instance].busy.take()
            };
            shared.error(format!("instance {instance} exited ({status})"));
            if let Some(request_id) = busy
                && let Some(in_flight) = lock(&shared.in_flight).remove(&request_id)
            {
                shared.update(in_flight.index, |i| {
                    i.error = Some(format!("instance exited ({status})"));
                    i.completed = Some(shared.now());
                });
                let _ = in_flight.reply.send(Reply::Failed {
                    status: StatusCode::BAD_GATEWAY,
                    message: "Internal server error".to_owned(),
                });
            }
        }
        let all_dead = {
            let instances = lock(&shared.instances);
            !instances.is_empty() && instances.iter().all(|i| i.exited.is_some())
        };
        if all_dead && let Ok(mut queue) = shared.queue_rx.try_lock() {
            while let Ok(pending) = queue.try_recv() {
                shared.update(pending.index, |i| {
                    i.error = Some("no instance left".to_owned());
                });
                let _ = pending.reply.send(Reply::Failed {
                    status: StatusCode::BAD_GATEWAY,
                    message: "Internal server error".to_owned(),
                });
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The gateway front
// ---------------------------------------------------------------------------------------------

fn gateway_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    let mut response = (
        status,
        [
            ("content-type", "application/json"),
            ("x-amzn-errortype", error_type),
        ],
        json!({ "message": message }).to_string(),
    )
        .into_response();
    response.headers_mut().insert(
        "x-amzn-requestid",
        HeaderValue::from_str(&uuid()).expect("a uuid header"),
    );
    response
}

async fn gateway_request(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned);
    let full_path = parts.uri.path().to_owned();
    let reject = |status: StatusCode, error_type: &str, message: &str, reason: String| {
        lock(&shared.record).rejections.push(Rejection {
            status: status.as_u16(),
            reason,
            host: host.clone(),
            path: full_path.clone(),
        });
        gateway_error(status, error_type, message)
    };

    // The gateway answers only on its own domain; 127.0.0.1:PORT stands in for it.
    let port = shared.gateway_port;
    let known_host = host.as_deref().is_some_and(|h| {
        let h = h.to_ascii_lowercase();
        h == format!("127.0.0.1:{port}")
            || h == format!("localhost:{port}")
            || h == GATEWAY_DOMAIN
            || h == format!("{GATEWAY_DOMAIN}:443")
    });
    if !known_host {
        return reject(
            StatusCode::FORBIDDEN,
            "ForbiddenException",
            "Forbidden",
            format!("unknown Host {host:?}"),
        );
    }
    // `/{stage}{resource}`; anything else is an unknown resource (REST APIs answer 403).
    let stage_prefix = format!("/{STAGE}");
    let resource_path = full_path.strip_prefix(&stage_prefix).unwrap_or("");
    if resource_path != shared.options.resource {
        return reject(
            StatusCode::FORBIDDEN,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
            format!("no resource at {full_path}"),
        );
    }
    let body = match http_body_util::Limited::new(body, MAX_REQUEST_BYTES)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(_) => {
            return reject(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestTooLargeException",
                "Request Too Long",
                "request body over 10 MB".to_owned(),
            );
        }
    };

    let gateway_request_id = uuid();
    let request_id = uuid();
    let trace_id = trace_id();
    let event = rest_event(&EventInput {
        method: parts.method.as_str(),
        resource: &shared.options.resource,
        query: parts.uri.query(),
        headers: &parts.headers,
        body: &body,
        gateway_request_id: &gateway_request_id,
        trace_id: &trace_id,
    });
    let session = parts
        .headers
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let rpc_method = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("method").and_then(Value::as_str).map(str::to_owned));
    let (reply_tx, reply_rx) = oneshot::channel();
    let index = {
        let mut record = lock(&shared.record);
        record.invocations.push(Invocation {
            request_id: request_id.clone(),
            gateway_request_id: gateway_request_id.clone(),
            instance: None,
            http_method: parts.method.to_string(),
            path: full_path.clone(),
            session,
            rpc_method,
            event: event.clone(),
            status: None,
            response_headers: Vec::new(),
            received: shared.now(),
            dispatched: None,
            answer_started: None,
            prelude: None,
            completed: None,
            body_bytes: 0,
            body_chunks: 0,
            client_gone: false,
            error: None,
        });
        let index = record.invocations.len() - 1;
        record.by_request_id.insert(request_id.clone(), index);
        index
    };
    let pending = Pending {
        index,
        request_id,
        trace_id,
        event: Bytes::from(event.to_string()),
        reply: reply_tx,
    };
    if shared.queue_tx.send(pending).is_err() {
        return gateway_error(
            StatusCode::BAD_GATEWAY,
            "InternalServerErrorException",
            "Internal server error",
        );
    }

    let reply = match tokio::time::timeout(shared.options.integration_timeout, reply_rx).await {
        Ok(Ok(reply)) => reply,
        Ok(Err(_)) => Reply::Failed {
            status: StatusCode::BAD_GATEWAY,
            message: "Internal server error".to_owned(),
        },
        Err(_) => {
            shared.update(index, |i| i.error = Some("integration timeout".to_owned()));
            shared.error(format!(
                "invocation {index} ({full_path}): no prelude within {:?}",
                shared.options.integration_timeout
            ));
            Reply::Failed {
                status: StatusCode::GATEWAY_TIMEOUT,
                message: "Endpoint request timed out".to_owned(),
            }
        }
    };
    let mut response = match reply {
        Reply::Failed { status, message } => {
            let error_type = if status == StatusCode::GATEWAY_TIMEOUT {
                "IntegrationTimeout"
            } else {
                "InternalServerErrorException"
            };
            return gateway_error(status, error_type, &message);
        }
        Reply::Whole {
            status,
            headers,
            body,
        } => {
            let mut response = Response::new(Body::from(body));
            *response.status_mut() = status;
            *response.headers_mut() = headers;
            response
        }
        Reply::Stream {
            status,
            headers,
            body,
        } => {
            let stream = futures_util::stream::unfold(body, |mut body| async move {
                body.recv()
                    .await
                    .map(|chunk| (Ok::<_, std::io::Error>(chunk), body))
            });
            let mut response = Response::new(Body::from_stream(stream));
            *response.status_mut() = status;
            *response.headers_mut() = headers;
            response
        }
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&gateway_request_id) {
        headers.insert("x-amzn-requestid", value);
    }
    response
}

struct EventInput<'a> {
    method: &'a str,
    resource: &'a str,
    query: Option<&'a str>,
    headers: &'a HeaderMap,
    body: &'a [u8],
    gateway_request_id: &'a str,
    trace_id: &'a str,
}

/// The `ApiGatewayProxyRequest` API Gateway REST sends a Lambda proxy integration.
fn rest_event(input: &EventInput<'_>) -> Value {
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

fn percent_decode(text: &str) -> String {
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
fn request_time(unix_secs: u64) -> String {
    let at = i64::try_from(unix_secs)
        .ok()
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
        .unwrap_or_default();
    at.format("%d/%b/%Y:%H:%M:%S +0000").to_string()
}

/// A random UUID (version 4).
fn uuid() -> String {
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
fn trace_id() -> String {
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

// ---------------------------------------------------------------------------------------------
// The Runtime API
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
struct RuntimeState {
    shared: Arc<Shared>,
    instance: usize,
}

fn accepted() -> Response {
    (
        StatusCode::ACCEPTED,
        [("content-type", "application/json")],
        r#"{"status":"OK"}"#,
    )
        .into_response()
}

fn runtime_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    (
        status,
        [("content-type", "application/json")],
        json!({ "errorMessage": message, "errorType": error_type }).to_string(),
    )
        .into_response()
}

fn signal(pid: Option<u32>, signal: &str) {
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
async fn next_invocation(State(state): State<RuntimeState>) -> Response {
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
fn answering(shared: &Shared, instance: usize, id: &str, what: &str) -> Option<InFlight> {
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
async fn invocation_response(
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
async fn buffered_response(shared: &Shared, in_flight: InFlight, body: Body) {
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
                        headers.insert(name, value);
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
enum Framing {
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
async fn stream_response(shared: &Shared, in_flight: InFlight, mut body: Body) {
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
                                shared.update(index, |i| {
                                    i.status = Some(status.as_u16());
                                    i.response_headers = seen.pairs;
                                    i.prelude = Some(shared.now());
                                });
                                if let Some(reply) = reply.take() {
                                    let _ = reply.send(Reply::Stream {
                                        status,
                                        headers,
                                        body: rx,
                                    });
                                }
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
                    shared.update(index, |i| {
                        i.status = Some(status.as_u16());
                        i.response_headers = seen.pairs;
                        i.prelude = Some(shared.now());
                    });
                    if let Some(reply) = reply.take() {
                        let _ = reply.send(Reply::Stream {
                            status,
                            headers,
                            body: rx,
                        });
                    }
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
struct PreludeHeaders {
    pairs: Vec<(String, String)>,
    repeated: Option<String>,
    problems: Vec<String>,
}

/// Parses and checks a prelude: `{"statusCode":…,"headers":{…},"cookies":[…]}`. Returns the
/// client's status and headers (as API Gateway would send them).
fn check_prelude(prelude: &[u8]) -> Result<(StatusCode, HeaderMap, PreludeHeaders), String> {
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
            // API Gateway REST renames WWW-Authenticate in proxy answers.
            let header_name = if lower == "www-authenticate" {
                HeaderName::from_static("x-amzn-remapped-www-authenticate")
            } else {
                header_name.clone()
            };
            match HeaderValue::from_str(&value) {
                Ok(value) => {
                    headers.append(header_name, value);
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
struct Entries(Vec<(String, Value)>);

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
async fn invocation_error(
    State(state): State<RuntimeState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let RuntimeState { shared, instance } = state;
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
    let Some(in_flight) = answering(&shared, instance, &id, "error") else {
        return runtime_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            "unknown or already answered request id",
        );
    };
    let why = format!("{error_type}: {}", String::from_utf8_lossy(&body));
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
async fn init_error(State(state): State<RuntimeState>, request: Request) -> Response {
    let RuntimeState { shared, instance } = state;
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
    shared.error(format!(
        "instance {instance} failed to initialise: {error_type}: {}",
        String::from_utf8_lossy(&body)
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

async fn runtime_unknown(State(state): State<RuntimeState>, request: Request) -> Response {
    state.shared.violation(format!(
        "instance {} called an unknown Runtime API route: {} {}",
        state.instance,
        request.method(),
        request.uri()
    ));
    runtime_error(StatusCode::NOT_FOUND, "NotFound", "unknown route")
}

// ---------------------------------------------------------------------------------------------
// Event shapes
// ---------------------------------------------------------------------------------------------

/// Maps whose keys vary from request to request (header and parameter names).
const FREE_KEYED: [&str; 6] = [
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

fn shape_at(value: &Value, key: &str) -> Value {
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
