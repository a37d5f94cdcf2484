//! Two `conformance-server` processes on one DynamoDB table (moto), the faults done to them
//! (SIGKILL and restart of an instance on its port, SIGSTOP and SIGCONT of the store), and
//! what a client needs to tell an allowed failure from a bug: whether the instance it used was
//! killed, or a fault happened, while its request ran.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mcp_testkit::ServerProcess;
use mcp_testkit::moto::{Moto, unique_table};

const STATE_KEY: &str = "soak-test-request-state-key-0123456789abcdef";

/// The instance that is never killed (its memory is measured).
pub const SURVIVOR: usize = 0;
/// The instance that is killed and restarted.
pub const VICTIM: usize = 1;

/// One instance: its address stays, its process changes with each restart.
struct Slot {
    url: String,
    bind: String,
    process: Mutex<Option<ServerProcess>>,
    /// Bumped at each kill, before the signal is sent.
    generation: AtomicU64,
    /// Set from just before a kill until the restarted process listens.
    down: AtomicBool,
}

/// What a request remembers of the instance it went to and of the faults when it started.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    pub instance: usize,
    generation: u64,
    down: bool,
    faults: u64,
}

pub struct Cluster {
    moto: Arc<Moto>,
    table: String,
    slots: Vec<Slot>,
    /// Bumped when a fault starts and when it ends: a request that saw it change overlapped one.
    faults: AtomicU64,
}

impl Cluster {
    pub fn start() -> Arc<Self> {
        let moto = Moto::shared();
        let table = unique_table("soak");
        let mut cluster = Self {
            moto,
            table,
            slots: Vec::new(),
            faults: AtomicU64::new(0),
        };
        for create in [true, false] {
            let process = cluster
                .spawn("127.0.0.1:0", create)
                .unwrap_or_else(|why| panic!("{why}"));
            let bind = process
                .url
                .trim_start_matches("http://")
                .split('/')
                .next()
                .expect("host:port")
                .to_owned();
            cluster.slots.push(Slot {
                url: process.url.clone(),
                bind,
                process: Mutex::new(Some(process)),
                generation: AtomicU64::new(0),
                down: AtomicBool::new(false),
            });
        }
        Arc::new(cluster)
    }

    fn spawn(&self, bind: &str, create: bool) -> Result<ServerProcess, String> {
        let mut args = vec![
            "--session-store",
            "dynamodb",
            "--dynamodb-table",
            &self.table,
            "--request-state-key",
            STATE_KEY,
            "--store-poll-ms",
            "100",
            // Closed SSE connections are noticed at the next keep-alive: soon, so that memory
            // measured after a quiet period holds no stream a client has left.
            "--keep-alive-secs",
            "2",
            // SSE polling: long streams are closed and resumed, as behind a gateway.
            "--max-stream-secs",
            "4",
        ];
        if create {
            args.push("--create-table");
        }
        let mut env = self.moto.env();
        // Warnings only: a soak's info lines would drown what went wrong.
        env.push(("RUST_LOG", "warn".to_owned()));
        // A killed writer's streams end this long (plus 1 s of clock skew) after its last
        // lease renewal, well within the soak's `ORPHAN_WAIT`.
        env.push(("MCP_STREAM_LEASE_SECS", "10".to_owned()));
        ServerProcess::try_start_at(
            &mcp_testkit::cargo_bin("conformance-server").to_string_lossy(),
            bind,
            &args,
            &env,
        )
    }

    pub fn url(&self, instance: usize) -> &str {
        &self.slots[instance].url
    }

    pub fn ticket(&self, instance: usize) -> Ticket {
        let slot = &self.slots[instance];
        Ticket {
            instance,
            generation: slot.generation.load(Ordering::SeqCst),
            down: slot.down.load(Ordering::SeqCst),
            faults: self.faults.load(Ordering::SeqCst),
        }
    }

    /// Whether the ticket's instance was down, or was killed, since the ticket was taken: a
    /// connection error there is then expected.
    pub fn went_away(&self, ticket: &Ticket) -> bool {
        let slot = &self.slots[ticket.instance];
        ticket.down
            || slot.down.load(Ordering::SeqCst)
            || slot.generation.load(Ordering::SeqCst) != ticket.generation
    }

    /// Whether a fault was under way when the ticket was taken or happened since.
    pub fn fault_overlapped(&self, ticket: &Ticket) -> bool {
        let now = self.faults.load(Ordering::SeqCst);
        ticket.faults % 2 == 1 || now != ticket.faults
    }

    /// SIGKILLs the victim, waits `downtime`, starts it again on the same port.
    pub async fn kill_and_restart(self: &Arc<Self>, downtime: Duration) {
        let slot = &self.slots[VICTIM];
        self.faults.fetch_add(1, Ordering::SeqCst);
        slot.down.store(true, Ordering::SeqCst);
        slot.generation.fetch_add(1, Ordering::SeqCst);
        let old = slot.process.lock().expect("process lock").take();
        if let Some(mut old) = old {
            tokio::task::spawn_blocking(move || old.kill())
                .await
                .expect("kill");
        }
        tokio::time::sleep(downtime).await;
        let mut last = String::new();
        // The port can stay taken for a moment after the kill: try a few times.
        for _ in 0..20 {
            let cluster = self.clone();
            let bind = slot.bind.clone();
            match tokio::task::spawn_blocking(move || cluster.spawn(&bind, false))
                .await
                .expect("restart")
            {
                Ok(process) => {
                    assert_eq!(process.url, slot.url, "restarted where it was");
                    *slot.process.lock().expect("process lock") = Some(process);
                    slot.down.store(false, Ordering::SeqCst);
                    self.faults.fetch_add(1, Ordering::SeqCst);
                    return;
                }
                Err(why) => last = why,
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        panic!(
            "the killed instance could not be restarted on {}: {last}",
            slot.bind
        );
    }

    /// Stops the store (SIGSTOP) for `pause`, then lets it go on (SIGCONT).
    pub async fn pause_store(&self, pause: Duration) {
        self.faults.fetch_add(1, Ordering::SeqCst);
        let paused = Paused::new(self.moto.pid());
        tokio::time::sleep(pause).await;
        drop(paused);
        self.faults.fetch_add(1, Ordering::SeqCst);
    }

    /// Resident memory of an instance's current process, from `/proc/PID/status`, in KiB.
    pub fn rss_kib(&self, instance: usize) -> u64 {
        let pid = self.slots[instance]
            .process
            .lock()
            .expect("process lock")
            .as_ref()
            .expect("a running process")
            .pid();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_else(|e| panic!("reading /proc/{pid}/status: {e}"));
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no VmRSS in /proc/{pid}/status"))
    }
}

/// A stopped process, continued when dropped (also when the test fails meanwhile).
struct Paused(u32);

impl Paused {
    fn new(pid: u32) -> Self {
        signal("-STOP", pid);
        Self(pid)
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        signal("-CONT", self.0);
    }
}

fn signal(which: &str, pid: u32) {
    let status = std::process::Command::new("kill")
        .args([which, &pid.to_string()])
        .status()
        .expect("running kill");
    assert!(status.success(), "kill {which} {pid} failed");
}
