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
//! **Other gateway behaviour kept:** paths other than `/prod/mcp` (and the
//! [`Options::more_resources`]) get API Gateway's
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

mod event;
mod runtime;
mod shape;

use event::*;
use runtime::*;
pub use shape::{dump, shape};

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
    /// More resources with the same proxy integration, as the OAuth deployment adds for the
    /// Protected Resource Metadata ([`Options::oauth`]).
    pub more_resources: Vec<String>,
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
            more_resources: Vec::new(),
            freeze_idle: true,
        }
    }
}

impl Options {
    /// The API of `auth_mode = "oauth"` with an existing issuer (terraform/oauth_gateway.tf):
    /// the metadata routes (the plain and the path-suffixed well-known paths) beside `/mcp`,
    /// with no authorizer; a token is checked by the function. (Its request validator, which
    /// answers a request without `Authorization` itself, is not emulated: such a request
    /// reaches the function, which answers 401 as the gateway response would.)
    pub fn oauth() -> Self {
        let defaults = Self::default();
        let metadata = "/.well-known/oauth-protected-resource";
        Self {
            more_resources: vec![
                metadata.to_owned(),
                format!("{metadata}{}", defaults.resource),
            ],
            ..defaults
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
    let options = &shared.options;
    let known = std::iter::once(&options.resource).chain(&options.more_resources);
    let Some(resource) = known.into_iter().find(|r| *r == resource_path).cloned() else {
        return reject(
            StatusCode::FORBIDDEN,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
            format!("no resource at {full_path}"),
        );
    };
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
        resource: &resource,
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
