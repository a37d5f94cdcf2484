//! Clients that try to hold the local listener's connections: slow request heads, silent
//! connections, stalled bodies, oversized heads. Each test serves the conformance app on
//! 127.0.0.1 with short limits and talks raw TCP to it.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bedrock_usage_mcp::serve::{ConnectionLimits, bind, serve_with_limits};
use bedrock_usage_mcp::store::MemoryStore;
use bedrock_usage_mcp::transport::{McpService, TransportConfig};
use mcp_conformance::conformance_server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::time::timeout;
use tracing_subscriber::fmt::MakeWriter;

/// Everything the tests of this file log, captured by one process-wide subscriber.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut all) = self.0.lock() {
            all.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// The captured logs, installed on first use.
fn logs() -> &'static Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");
        logs
    })
}

/// How many captured lines contain `text`.
fn logged(text: &str) -> usize {
    logs()
        .0
        .lock()
        .map(|all| {
            String::from_utf8_lossy(&all)
                .lines()
                .filter(|l| l.contains(text))
                .count()
        })
        .unwrap_or(0)
}

/// A server on 127.0.0.1 that stops when dropped.
struct Server {
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

async fn start(limits: ConnectionLimits) -> Server {
    logs();
    let listener = bind("127.0.0.1:0".parse().expect("an address"))
        .await
        .expect("binding 127.0.0.1:0");
    let addr = listener.local_addr().expect("a local address");
    let app = McpService::new(
        conformance_server(None),
        Arc::new(MemoryStore::new()),
        TransportConfig::default(),
    )
    .router();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        let _ = serve_with_limits(listener, app, &limits, shutdown).await;
    });
    Server { addr, _stop: stop }
}

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;

/// A legacy `initialize` POST, with `extra` header lines.
fn initialize_request(extra: &str) -> Vec<u8> {
    format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json, text/event-stream\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{INITIALIZE}",
        INITIALIZE.len()
    )
    .into_bytes()
}

/// Sends `request` on `stream` and returns the answer's status code, waiting at most `wait`.
async fn status_on(stream: &mut TcpStream, request: &[u8], wait: Duration) -> Option<u16> {
    stream.write_all(request).await.ok()?;
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        while !head.windows(2).any(|w| w == b"\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let line = String::from_utf8_lossy(&head).into_owned();
        line.split(' ').nth(1)?.parse().ok()
    };
    timeout(wait, read).await.ok().flatten()
}

/// Connects, sends `request`, returns the answer's status code.
async fn status(addr: SocketAddr, request: &[u8], wait: Duration) -> Option<u16> {
    let mut stream = timeout(wait, TcpStream::connect(addr)).await.ok()?.ok()?;
    status_on(&mut stream, request, wait).await
}

/// Whether the server closed `stream` (end of stream, or an error) within `wait`.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// Sends a request head one byte every 100 ms, as a slowloris client does; returns how long
/// after connecting the server closed the connection, or `None` if it was still open after
/// `give_up`.
async fn slow_head(addr: SocketAddr, give_up: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut stream = TcpStream::connect(addr).await.ok()?;
    let head = b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    let mut buf = [0u8; 64];
    for byte in head.iter().chain(std::iter::repeat(&b'a')) {
        if stream.write_all(&[*byte]).await.is_err() {
            return Some(start.elapsed());
        }
        match timeout(Duration::from_millis(100), stream.read(&mut buf)).await {
            Ok(Ok(_)) | Ok(Err(_)) => return Some(start.elapsed()),
            Err(_) => {}
        }
        if start.elapsed() > give_up {
            return None;
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_heads_are_cut_off_at_the_header_timeout_while_others_are_served() {
    let header_timeout = Duration::from_secs(1);
    let server = start(ConnectionLimits {
        header_timeout,
        ..ConnectionLimits::default()
    })
    .await;
    let give_up = header_timeout + Duration::from_secs(6);
    let slow: Vec<_> = (0..100)
        .map(|_| tokio::spawn(slow_head(server.addr, give_up)))
        .collect();
    // Let the slow clients connect and start dribbling, then serve others among them.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for i in 0..20 {
        let answer = status(server.addr, &initialize_request(""), Duration::from_secs(5)).await;
        assert_eq!(answer, Some(200), "request {i} among the slow clients");
    }
    let mut open = 0;
    for task in slow {
        match task.await.expect("a slow client task") {
            Some(after) => {
                assert!(
                    after >= header_timeout - Duration::from_millis(200),
                    "closed after {after:?}, before the header timeout"
                );
                assert!(
                    after <= header_timeout + Duration::from_secs(4),
                    "closed only after {after:?}"
                );
            }
            None => open += 1,
        }
    }
    assert_eq!(open, 0, "slow connections still open after {give_up:?}");
    // Said, but not once per connection: at most once per 10 s per listener (this one and
    // the silent connections test's).
    let warnings = logged("sent no complete request head in time");
    assert!(
        (1..=4).contains(&warnings),
        "{warnings} warnings for at least 100 closed connections"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_are_closed_at_the_header_timeout() {
    let server = start(ConnectionLimits {
        header_timeout: Duration::from_secs(1),
        ..ConnectionLimits::default()
    })
    .await;
    let mut silent = Vec::new();
    for _ in 0..50 {
        silent.push(TcpStream::connect(server.addr).await.expect("connect"));
    }
    for (i, stream) in silent.iter_mut().enumerate() {
        assert!(
            closed_within(stream, Duration::from_secs(5)).await,
            "silent connection {i} still open"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_limit_holds_and_a_freed_slot_serves_the_next_client() {
    let max = 8;
    let server = start(ConnectionLimits {
        max_connections: max,
        header_timeout: Duration::from_secs(60),
        ..ConnectionLimits::default()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..max {
        held.push(TcpStream::connect(server.addr).await.expect("connect"));
    }
    // The next client's connection waits in the backlog: no answer while all slots are held.
    let mut next = TcpStream::connect(server.addr).await.expect("connect");
    let request = initialize_request("");
    let waiting = status_on(&mut next, &request, Duration::from_millis(1500)).await;
    assert_eq!(waiting, None, "answered beyond the connection limit");
    drop(held.pop());
    let mut after = [0u8; 12];
    let read = timeout(Duration::from_secs(5), next.read_exact(&mut after)).await;
    assert!(
        matches!(read, Ok(Ok(_))),
        "no answer after a slot was freed"
    );
    assert_eq!(&after, b"HTTP/1.1 200", "the waiting client's answer");
    assert!(logged("connection limit reached") >= 1, "no warning");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_heads_over_the_limit_get_431() {
    let server = start(ConnectionLimits::default()).await;
    let limit = ConnectionLimits::default().max_header_bytes;
    assert_eq!(limit, 16 * 1024, "the documented default");
    let wait = Duration::from_secs(5);
    let pad = |n: usize| format!("X-Pad: {}\r\n", "p".repeat(n));
    let fits = status(server.addr, &initialize_request(&pad(limit - 1024)), wait).await;
    assert_eq!(fits, Some(200), "a head under the limit");
    let over = status(server.addr, &initialize_request(&pad(limit + 1)), wait).await;
    assert_eq!(over, Some(431), "a head just over the limit");
    let huge = status(server.addr, &initialize_request(&pad(70 * 1024)), wait).await;
    assert_eq!(huge, Some(431), "a 70 KB header");
    assert_eq!(
        status(server.addr, &initialize_request(""), wait).await,
        Some(200),
        "served afterwards"
    );
    assert!(logged("answered 431") >= 1, "no warning");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_is_closed_at_the_idle_timeout() {
    let server = start(ConnectionLimits {
        header_timeout: Duration::from_secs(60),
        idle_timeout: Duration::from_secs(1),
        ..ConnectionLimits::default()
    })
    .await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    let head = "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json, text/event-stream\r\n\
                Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"jsonrpc\":";
    stream.write_all(head.as_bytes()).await.expect("write");
    let start = Instant::now();
    assert!(
        closed_within(&mut stream, Duration::from_secs(6)).await,
        "a stalled body kept its connection open"
    );
    assert!(
        start.elapsed() >= Duration::from_millis(800),
        "closed too early"
    );
    assert!(
        logged("closed a connection on which nothing moved") >= 1,
        "no warning"
    );
}
