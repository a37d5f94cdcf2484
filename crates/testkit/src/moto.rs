//! A local moto server standing in for AWS (DynamoDB here), shared by the tests of one binary
//! while any of them runs, and killed when the last one lets go.
//!
//! moto comes from PyPI (`moto[server]`) and must be importable by `python3`. It is started
//! through `moto_serial.py` beside this file, which answers one request at a time so that a
//! conditional write is atomic there as it is on DynamoDB (plain `moto_server` lets two racing
//! conditional writes both pass). Tests that need it fail, never skip, when it cannot start.

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use bedrock_usage_mcp::aws::http_client;
use bedrock_usage_mcp::store::DynamoStore;
use bedrock_usage_mcp::store::dynamodb::CallCounts;

/// The region every test client uses (moto keeps one set of tables per region).
pub const REGION: &str = "us-east-1";

/// How long moto may take to answer after it was started.
const START_WITHIN: Duration = Duration::from_secs(60);

/// A running moto server on 127.0.0.1; killed when dropped.
pub struct Moto {
    child: Child,
    log: PathBuf,
    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL`.
    pub endpoint: String,
}

static SHARED: Mutex<Weak<Moto>> = Mutex::new(Weak::new());

impl Moto {
    /// The server of this test binary, started if no test holds one.
    pub fn shared() -> Arc<Moto> {
        let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(moto) = shared.upgrade() {
            return moto;
        }
        let moto = Arc::new(Moto::start());
        *shared = Arc::downgrade(&moto);
        moto
    }

    /// Starts a new server on a free port and waits until it answers. Panics, saying why, if
    /// it cannot.
    pub fn start() -> Self {
        let mut last_error = String::new();
        // A port found free can be taken before moto binds it: try a few.
        for _ in 0..3 {
            let port = free_port();
            // moto logs every request: to a file, since an unread pipe would fill and stall it.
            let log = std::env::temp_dir().join(format!("moto-{port}.log"));
            let log_file = File::create(&log).expect("creating moto's log file");
            let mut child = Command::new("python3")
                .arg(launcher())
                .arg(port.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log_file)
                .spawn()
                .unwrap_or_else(|e| {
                    let _ = std::fs::remove_file(&log);
                    panic!(
                        "could not start moto ({e}): install it with \
                         `python3 -m pip install 'moto[server]'`"
                    )
                });
            match wait_until_listening(&mut child, port, &log) {
                Ok(()) => {
                    return Self {
                        child,
                        log,
                        endpoint: format!("http://127.0.0.1:{port}"),
                    };
                }
                Err(why) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let _ = std::fs::remove_file(&log);
                    last_error = why;
                }
            }
        }
        panic!("moto did not start: {last_error}");
    }

    /// The process id of the server (to pause it with SIGSTOP as a stalled store).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A DynamoDB client for this server, with dummy credentials.
    pub fn dynamodb(&self) -> Client {
        dynamodb_at(&self.endpoint)
    }

    /// The environment that points the standard AWS configuration at this server, with
    /// roomier session-store timeouts than production's (2 s an attempt, 5 s an operation).
    /// moto answers one request at a time for every test of the binary, so on a loaded
    /// machine a request can wait behind many others (a start-up's CreateTable timed out
    /// after 5 s once in a busy run); the timeouts themselves are tested against a store that
    /// never answers (`tests/store_outage.rs`), not here.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
            ("MCP_STORE_ATTEMPT_TIMEOUT_MS", "20000".to_owned()),
            ("MCP_STORE_OPERATION_TIMEOUT_MS", "60000".to_owned()),
        ]
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// A DynamoDB client for an endpoint on this machine (moto, or a stand-in that misbehaves),
/// with dummy credentials, in [`REGION`], on the product's HTTPS client.
pub fn dynamodb_at(endpoint: &str) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
        .endpoint_url(endpoint)
        .http_client(http_client())
        .build();
    Client::from_conf(config)
}

/// What `op` returns, and the DynamoDB requests `store` made while it ran (the requests one
/// operation cost on the instance that served it).
pub async fn calls_during<F: std::future::Future>(
    store: &DynamoStore,
    op: F,
) -> (F::Output, CallCounts) {
    let before = store.calls();
    let output = op.await;
    (output, store.calls().since(&before))
}

/// A table name no other test uses.
pub fn unique_table(prefix: &str) -> String {
    format!("{prefix}-{:016x}", rand::random::<u64>())
}

/// The launcher that serves moto one request at a time.
fn launcher() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("moto_serial.py")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

fn wait_until_listening(child: &mut Child, port: u16, log: &Path) -> Result<(), String> {
    let deadline = Instant::now() + START_WITHIN;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            let stderr = std::fs::read_to_string(log).unwrap_or_default();
            return Err(format!("moto exited with {status}: {stderr}"));
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!(
        "nothing listened on port {port} within {START_WITHIN:?}"
    ))
}
