//! The benchmark's load generator (bench/run.sh drives it; see bench/README.md).
//!
//! ```text
//! loadgen launch --url URL --pidfile FILE --log FILE [--timeout-ms MS] -- CMD ARGS...
//!     Starts CMD (its output to FILE), polls URL with a tiny `initialize` POST every
//!     millisecond until one is answered, prints {"startup_ms":..,"pid":..} and leaves the
//!     server running (its pid in FILE).
//!
//! loadgen run --mode stateless|session|progress --url URL --concurrency N
//!             --warmup SECS --duration SECS [--era modern|legacy] [--steps N]
//!             [--server-pid PID] [--max-requests N]
//!     Runs one workload and prints one JSON line with requests/s, p50/p99 latency, errors,
//!     and, with --server-pid, the server's CPU seconds over the measured window and its
//!     VmHWM. One HTTP/1.1 keep-alive connection per worker, TCP_NODELAY on, and a JSON-RPC id
//!     that is unique within each session (and across the run for stateless calls).
//! ```
//!
//! Workloads:
//! - `stateless`: `tools/call test_simple_text` with no session. `--era modern` sends a
//!   2026-07-28 request (`_meta` protocol version and capabilities, `MCP-Protocol-Version`,
//!   `Mcp-Method`, `Mcp-Name`); `--era legacy` sends the same call with
//!   `MCP-Protocol-Version: 2025-11-25` and no session, for SDK servers in stateless mode.
//! - `session`: each worker loops over whole legacy sessions: `initialize`,
//!   `notifications/initialized`, ten `tools/call`, `DELETE`. Every HTTP request counts.
//! - `progress`: `tools/call test_long_operation {"steps":N,"interval_ms":0}` with a
//!   progressToken; the answer (SSE) must carry N progress notifications and the result.
//!   `--era legacy` opens one session per worker first (none if the server issues none).

use std::future::Future;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpStream;

const LEGACY_VERSION: &str = "2025-11-25";
const MODERN_VERSION: &str = "2026-07-28";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    // Everything runs on this one thread: workers and their connections are local tasks.
    let local = tokio::task::LocalSet::new();
    let code = match args.first().map(String::as_str) {
        Some("launch") => local.block_on(&runtime, launch(&args[1..])),
        Some("run") => local.block_on(&runtime, run(&args[1..])),
        _ => {
            eprintln!("usage: loadgen launch|run ... (see the source's header)");
            2
        }
    };
    std::process::exit(code);
}

/// `--name value` options before an optional `--`; what follows `--` is returned apart.
struct Opts {
    pairs: Vec<(String, String)>,
    rest: Vec<String>,
}

impl Opts {
    fn parse(args: &[String]) -> Self {
        let mut pairs = Vec::new();
        let mut i = 0;
        while i < args.len() {
            if args[i] == "--" {
                return Self {
                    pairs,
                    rest: args[i + 1..].to_vec(),
                };
            }
            let name = args[i].trim_start_matches("--").to_owned();
            let value = args
                .get(i + 1)
                .unwrap_or_else(|| panic!("--{name} needs a value"))
                .clone();
            pairs.push((name, value));
            i += 2;
        }
        Self {
            pairs,
            rest: Vec::new(),
        }
    }
    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    fn req(&self, name: &str) -> &str {
        self.get(name)
            .unwrap_or_else(|| panic!("--{name} is required"))
    }
    fn num<T: std::str::FromStr>(&self, name: &str, default: T) -> T {
        self.get(name).map_or(default, |v| {
            v.parse()
                .unwrap_or_else(|_| panic!("--{name}: not a number: {v}"))
        })
    }
}

/// Where to send requests: socket address, `Host` header value and path.
#[derive(Clone)]
struct Target {
    addr: SocketAddr,
    host: String,
    path: String,
}

impl Target {
    fn parse(url: &str) -> Self {
        let rest = url
            .strip_prefix("http://")
            .unwrap_or_else(|| panic!("only http:// URLs: {url}"));
        let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let addr: SocketAddr = host
            .parse()
            .unwrap_or_else(|_| panic!("the URL's host must be IP:PORT: {url}"));
        assert!(
            addr.ip().is_loopback(),
            "the benchmark only targets loopback"
        );
        Self {
            addr,
            host: host.to_owned(),
            path: if path.is_empty() {
                "/".to_owned()
            } else {
                path.to_owned()
            },
        }
    }
}

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    sender: SendRequest<Full<Bytes>>,
}

impl Conn {
    async fn open(target: &Target) -> Result<Self, String> {
        let stream = TcpStream::connect(target.addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::task::spawn_local(async move {
            let _ = conn.await;
        });
        Ok(Self { sender })
    }
}

/// What came back: status, session id (if any) and the whole body.
struct Answer {
    status: StatusCode,
    session: Option<String>,
    body: Bytes,
}

async fn send(
    conn: &mut Conn,
    target: &Target,
    method: Method,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> Result<Answer, String> {
    let mut builder = Request::builder()
        .method(method)
        .uri(target.path.as_str())
        .header("host", target.host.as_str())
        .header("accept", "application/json, text/event-stream");
    if body.is_some() {
        builder = builder.header("content-type", "application/json");
    }
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| e.to_string())?;
    conn.sender
        .ready()
        .await
        .map_err(|e| format!("connection: {e}"))?;
    let response = conn
        .sender
        .send_request(request)
        .await
        .map_err(|e| format!("request: {e}"))?;
    let status = response.status();
    let session = response
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?
        .to_bytes();
    Ok(Answer {
        status,
        session,
        body,
    })
}

fn count(haystack: &[u8], needle: &str) -> usize {
    memchr::memmem::find_iter(haystack, needle.as_bytes()).count()
}

fn initialize_body(id: u64) -> String {
    json!({
        "jsonrpc": "2.0", "id": id, "method": "initialize",
        "params": {
            "protocolVersion": LEGACY_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "bench-loadgen", "version": "0"}
        }
    })
    .to_string()
}

// ---------------------------------------------------------------------------------------------
// launch

async fn launch(args: &[String]) -> i32 {
    let opts = Opts::parse(args);
    let target = Target::parse(opts.req("url"));
    let timeout = Duration::from_millis(opts.num("timeout-ms", 60_000));
    assert!(!opts.rest.is_empty(), "launch needs -- CMD ...");
    let log = std::fs::File::create(opts.req("log")).expect("creating the log file");
    let started = Instant::now();
    let child = Command::new(&opts.rest[0])
        .args(&opts.rest[1..])
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log file"))
        .stderr(log)
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            eprintln!("could not start {}: {e}", opts.rest[0]);
            return 1;
        }
    };
    let pid = child.id();
    std::fs::write(opts.req("pidfile"), pid.to_string()).expect("writing the pid file");
    let body = initialize_body(1);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            eprintln!("the server exited before answering ({status})");
            return 1;
        }
        if started.elapsed() > timeout {
            eprintln!("no answer within {timeout:?}");
            return 1;
        }
        if let Ok(mut conn) = Conn::open(&target).await {
            match send(&mut conn, &target, Method::POST, &[], Some(body.clone())).await {
                Ok(a) if a.status.is_success() && count(&a.body, "\"result\"") > 0 => {
                    let ms = started.elapsed().as_secs_f64() * 1000.0;
                    println!("{}", json!({"startup_ms": ms, "pid": pid}));
                    return 0;
                }
                _ => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// run

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Stateless,
    Session,
    Progress,
}

struct Shared {
    target: Target,
    mode: Mode,
    modern: bool,
    steps: u64,
    measure_from: Instant,
    end: Instant,
    max_requests: u64,
    issued: std::cell::Cell<u64>,
    next_id: std::cell::Cell<u64>,
}

impl Shared {
    fn next_id(&self) -> u64 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        id
    }
    /// False once the run is over (time or request budget).
    fn go_on(&self) -> bool {
        let n = self.issued.get();
        self.issued.set(n + 1);
        n < self.max_requests && Instant::now() < self.end
    }
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
    sessions: u64,
}

impl Tally {
    /// Records one finished request that began at `began`.
    fn done(&mut self, shared: &Shared, began: Instant, outcome: Result<(), String>) {
        let now = Instant::now();
        if now < shared.measure_from || now > shared.end {
            return;
        }
        match outcome {
            Ok(()) => self
                .latencies_us
                .push(now.duration_since(began).as_micros().min(u32::MAX as u128) as u32),
            Err(e) => {
                self.errors += 1;
                if self.first_error.is_none() {
                    self.first_error = Some(e);
                }
            }
        }
    }
}

fn call_body(shared: &Shared, id: u64, name: &str, arguments: serde_json::Value) -> String {
    let mut params = json!({"name": name, "arguments": arguments});
    let mut meta = serde_json::Map::new();
    if shared.mode == Mode::Progress {
        meta.insert("progressToken".into(), json!(format!("p{id}")));
    }
    if shared.modern {
        meta.insert(
            "io.modelcontextprotocol/protocolVersion".into(),
            json!(MODERN_VERSION),
        );
        meta.insert(
            "io.modelcontextprotocol/clientCapabilities".into(),
            json!({}),
        );
        meta.insert(
            "io.modelcontextprotocol/clientInfo".into(),
            json!({"name": "bench-loadgen", "version": "0"}),
        );
    }
    if !meta.is_empty() {
        params["_meta"] = serde_json::Value::Object(meta);
    }
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}).to_string()
}

/// One `tools/call`: checks the status, the result and (progress) the notifications.
async fn tool_call(
    conn: &mut Conn,
    shared: &Shared,
    session: Option<&str>,
    id: u64,
) -> Result<(), String> {
    let (name, arguments) = match shared.mode {
        Mode::Progress => (
            "test_long_operation",
            json!({"steps": shared.steps, "interval_ms": 0}),
        ),
        _ => ("test_simple_text", json!({})),
    };
    let body = call_body(shared, id, name, arguments);
    let mut headers: Vec<(&str, &str)> = Vec::with_capacity(4);
    if shared.modern {
        headers.push(("mcp-protocol-version", MODERN_VERSION));
        headers.push(("mcp-method", "tools/call"));
        headers.push(("mcp-name", name));
    } else {
        headers.push(("mcp-protocol-version", LEGACY_VERSION));
    }
    if let Some(session) = session {
        headers.push(("mcp-session-id", session));
    }
    let answer = send(conn, &shared.target, Method::POST, &headers, Some(body)).await?;
    if !answer.status.is_success() {
        return Err(format!(
            "tools/call: HTTP {}: {}",
            answer.status,
            String::from_utf8_lossy(&answer.body[..answer.body.len().min(300)])
        ));
    }
    if count(&answer.body, "\"result\"") == 0 || count(&answer.body, "\"isError\":true") > 0 {
        return Err(format!(
            "tools/call: no result: {}",
            String::from_utf8_lossy(&answer.body[..answer.body.len().min(300)])
        ));
    }
    if shared.mode == Mode::Progress {
        let seen = count(&answer.body, "notifications/progress") as u64;
        if seen != shared.steps {
            return Err(format!(
                "progress: {seen} notifications, expected {}",
                shared.steps
            ));
        }
    }
    Ok(())
}

/// `initialize` + `notifications/initialized`; the session id, if the server issued one.
async fn open_session(
    conn: &mut Conn,
    shared: &Shared,
    tally: &mut Tally,
) -> Result<Option<String>, String> {
    let began = Instant::now();
    let answer = send(
        conn,
        &shared.target,
        Method::POST,
        &[],
        Some(initialize_body(0)),
    )
    .await;
    let answer = match answer {
        Ok(a) if a.status.is_success() && count(&a.body, "\"result\"") > 0 => a,
        Ok(a) => {
            let e = format!("initialize: HTTP {}", a.status);
            tally.done(shared, began, Err(e.clone()));
            return Err(e);
        }
        Err(e) => {
            tally.done(shared, began, Err(e.clone()));
            return Err(e);
        }
    };
    tally.done(shared, began, Ok(()));
    let session = answer.session;
    let began = Instant::now();
    let mut headers: Vec<(&str, &str)> = vec![("mcp-protocol-version", LEGACY_VERSION)];
    if let Some(s) = session.as_deref() {
        headers.push(("mcp-session-id", s));
    }
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string();
    let outcome = match send(conn, &shared.target, Method::POST, &headers, Some(note)).await {
        Ok(a) if a.status.is_success() => Ok(()),
        Ok(a) => Err(format!("notifications/initialized: HTTP {}", a.status)),
        Err(e) => Err(e),
    };
    tally.done(shared, began, outcome.clone());
    outcome.map(|()| session)
}

async fn worker(shared: Rc<Shared>) -> Tally {
    let mut tally = Tally::default();
    let mut conn: Option<Conn> = None;
    let mut session: Option<String> = None;
    let mut opened = false;
    while shared.go_on() {
        if conn.is_none() {
            match Conn::open(&shared.target).await {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    tally.done(&shared, Instant::now(), Err(e));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let c = conn.as_mut().expect("connected");
        // A request still under way when the run ends is dropped (and not counted): every run
        // ends on time, whatever the server does.
        let step = async {
            match shared.mode {
                Mode::Stateless => {
                    let began = Instant::now();
                    let r = tool_call(c, &shared, None, shared.next_id()).await;
                    tally.done(&shared, began, r.clone());
                    r
                }
                Mode::Progress => {
                    if !shared.modern && !opened {
                        let s = open_session(c, &shared, &mut tally).await?;
                        session = s;
                        opened = true;
                        return Ok(());
                    }
                    let began = Instant::now();
                    // Ids unique within the session (and the run).
                    let r = tool_call(c, &shared, session.as_deref(), shared.next_id()).await;
                    tally.done(&shared, began, r.clone());
                    r
                }
                Mode::Session => session_cycle(c, &shared, &mut tally).await,
            }
        };
        let outcome = tokio::select! {
            outcome = step => outcome,
            () = tokio::time::sleep_until(shared.end.into()) => break,
        };
        if outcome.is_err() {
            // Start afresh: a new connection (and, for progress, a new session).
            conn = None;
            opened = false;
        }
    }
    tally
}

/// One whole legacy session: initialize, initialized, 10 calls (ids 1..=10), DELETE.
async fn session_cycle(c: &mut Conn, shared: &Shared, tally: &mut Tally) -> Result<(), String> {
    let session = open_session(c, shared, tally).await?;
    for id in 1..=10 {
        if Instant::now() >= shared.end {
            return Ok(());
        }
        let began = Instant::now();
        let r = tool_call(c, shared, session.as_deref(), id).await;
        tally.done(shared, began, r.clone());
        r?;
    }
    let began = Instant::now();
    let mut headers: Vec<(&str, &str)> = vec![("mcp-protocol-version", LEGACY_VERSION)];
    if let Some(s) = session.as_deref() {
        headers.push(("mcp-session-id", s));
    }
    let outcome = match send(c, &shared.target, Method::DELETE, &headers, None).await {
        Ok(a) if a.status.is_success() => Ok(()),
        Ok(a) => Err(format!("DELETE: HTTP {}", a.status)),
        Err(e) => Err(e),
    };
    tally.done(shared, began, outcome.clone());
    if outcome.is_ok() {
        let now = Instant::now();
        if now >= shared.measure_from && now <= shared.end {
            tally.sessions += 1;
        }
    }
    outcome
}

/// utime + stime of a process, in seconds.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after ')'.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks())
}

fn clock_ticks() -> f64 {
    // sysconf(_SC_CLK_TCK) is 100 on Linux for every mainstream architecture.
    100.0
}

fn vmhwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

async fn at(instant: Instant, f: impl Future<Output = ()>) {
    tokio::time::sleep_until(instant.into()).await;
    f.await;
}

async fn run(args: &[String]) -> i32 {
    let opts = Opts::parse(args);
    let mode = match opts.req("mode") {
        "stateless" => Mode::Stateless,
        "session" => Mode::Session,
        "progress" => Mode::Progress,
        other => panic!("unknown mode {other}"),
    };
    let modern = match opts.get("era").unwrap_or("legacy") {
        "modern" => true,
        "legacy" => false,
        other => panic!("unknown era {other}"),
    };
    assert!(
        !(modern && mode == Mode::Session),
        "sessions are legacy-era only"
    );
    let concurrency: usize = opts.num("concurrency", 1);
    let warmup = Duration::from_secs_f64(opts.num("warmup", 2.0));
    let duration = Duration::from_secs_f64(opts.num("duration", 8.0));
    let pid: Option<u32> = opts.get("server-pid").map(|p| p.parse().expect("pid"));
    let start = Instant::now();
    let shared = Rc::new(Shared {
        target: Target::parse(opts.req("url")),
        mode,
        modern,
        steps: opts.num("steps", 100),
        measure_from: start + warmup,
        end: start + warmup + duration,
        max_requests: opts.num("max-requests", 10_000_000),
        issued: std::cell::Cell::new(0),
        next_id: std::cell::Cell::new(1),
    });
    let cpu_before = Rc::new(std::cell::Cell::new(None));
    let snap = cpu_before.clone();
    let probe = tokio::task::spawn_local(at(shared.measure_from, async move {
        snap.set(pid.and_then(cpu_seconds));
    }));
    let workers: Vec<_> = (0..concurrency)
        .map(|_| tokio::task::spawn_local(worker(shared.clone())))
        .collect();
    let mut tallies = Vec::new();
    for w in workers {
        tallies.push(w.await.expect("worker"));
    }
    let _ = probe.await;
    let cpu_after = pid.and_then(cpu_seconds);
    let hwm = pid.and_then(vmhwm_kb);
    let mut latencies: Vec<u32> = tallies
        .iter()
        .flat_map(|t| t.latencies_us.iter().copied())
        .collect();
    latencies.sort_unstable();
    let errors: u64 = tallies.iter().map(|t| t.errors).sum();
    let sessions: u64 = tallies.iter().map(|t| t.sessions).sum();
    let first_error = tallies.iter().find_map(|t| t.first_error.clone());
    let n = latencies.len() as u64;
    let secs = duration.as_secs_f64();
    let cpu = match (cpu_before.get(), cpu_after) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    let out = json!({
        "mode": opts.req("mode"),
        "era": if modern { "modern" } else { "legacy" },
        "concurrency": concurrency,
        "requests": n,
        "errors": errors,
        "first_error": first_error,
        "sessions": sessions,
        "rps": n as f64 / secs,
        "p50_ms": percentile(&latencies, 50.0),
        "p99_ms": percentile(&latencies, 99.0),
        "cpu_s": cpu,
        "cpu_s_per_1k": cpu.map(|c| if n > 0 { c * 1000.0 / n as f64 } else { f64::NAN }),
        "vmhwm_kb": hwm,
    });
    println!("{out}");
    if errors > 0 && n == 0 { 1 } else { 0 }
}
