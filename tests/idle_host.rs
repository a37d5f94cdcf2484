//! An idle host costs nothing on Lambda. The product binary (`bedrock-usage-mcp`) runs as two
//! instances behind the Lambda harness of `mcp_testkit::lambda` (crates/testkit) (API Gateway REST, the
//! Runtime API, idle instances frozen as Lambda freezes them), on the DynamoDB store on moto
//! with every DynamoDB call counted on the way (`mcp_testkit::counting_aws`). An official
//! SDK client (TypeScript `tests/interop/ts_idle.mjs`, Python `tests/interop/py_idle.py`)
//! connects as a host does, opening the standalone GET stream on its own, and then idles.
//!
//! With the Lambda defaults the GET is answered 405, both SDKs accept it (TypeScript at once,
//! Python after its one retry a second later) and from then on nothing runs: no invocation
//! starts or stays open and no DynamoDB call is made. The same host with
//! `--standalone-stream on` holds an invocation open and polls the table the whole time, so
//! the counts can fail.
//!
//! The idle spell lasts `IDLE_HOST_SECS` (default 10) after a settling time that covers
//! every reconnect attempt the SDKs make; `IDLE_HOST_SECS=600` runs the full ten
//! minutes. Beyond the spell nothing can start on its own: a frozen instance runs nothing,
//! and after a 405 neither SDK has a timer left that opens a stream (the TypeScript
//! transport returns on 405; the Python one gives up after 2 attempts).
//!
//! Needs Node 22, the TypeScript SDK and the Python venv from `scripts/install-test-tools.sh`,
//! and moto; fails (never skips) without them.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write as _};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use mcp_testkit::counting_aws::CountingEndpoint;
use mcp_testkit::lambda::{InstanceSpec, Invocation, LambdaHarness, Options};
use mcp_testkit::moto::{Moto, unique_table};
use mcp_testkit::{node22, repo_root, test_tool};
use serde_json::Value;

/// How long after connecting the SDKs may still retry on their own: the Python transport
/// retries a refused GET once, 1 s later.
const SETTLE: Duration = Duration::from_secs(4);

/// How long a host line may take (connecting includes an instance's first DynamoDB calls).
const LINE_WAIT: Duration = Duration::from_secs(60);

/// The idle spell: `IDLE_HOST_SECS`, default 10.
fn idle_spell() -> Duration {
    let secs = std::env::var("IDLE_HOST_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    Duration::from_secs(secs)
}

/// Two instances of the product on a new table, reached through `counter`.
fn product_on_lambda(moto: &Moto, counter: &CountingEndpoint, args: &[&str]) -> LambdaHarness {
    let table = unique_table("idle-host");
    let spec = InstanceSpec::new(env!("CARGO_BIN_EXE_bedrock-usage-mcp"))
        .args(args.iter().copied())
        .envs(moto.env())
        .env("AWS_ENDPOINT_URL", counter.url.clone())
        .env("MCP_SESSION_STORE", "dynamodb")
        .env("MCP_SESSION_TABLE", table);
    let first = spec.clone().args(["--create-table"]);
    LambdaHarness::with_instances(Options::default(), &[first, spec])
}

/// A host script: started, connected, and told when to finish.
struct Host {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
}

impl Host {
    /// Starts `program script url` and waits for its `{"ready":true}` line.
    fn connect(program: PathBuf, script: &str, url: &str) -> Self {
        let mut child = Command::new(&program)
            .arg(repo_root().join("tests/interop").join(script))
            .arg(url)
            .current_dir(repo_root())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("could not run {}: {e}", program.display()));
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut host = Self {
            child,
            stdin,
            lines,
        };
        let ready = host.line(script);
        let ready: Value = serde_json::from_str(&ready).unwrap_or_default();
        assert_eq!(ready["ready"], true, "{script} did not connect");
        host
    }

    fn line(&mut self, script: &str) -> String {
        match self.lines.recv_timeout(LINE_WAIT) {
            Ok(line) => line,
            Err(_) => {
                let _ = self.child.kill();
                panic!("{script} printed nothing within {LINE_WAIT:?} (see its stderr above)");
            }
        }
    }

    /// Lets the host go on (it lists tools and closes) and returns its summary.
    fn finish(mut self, script: &str) -> Value {
        writeln!(self.stdin).expect("writing to the host");
        let line = self.line(script);
        let status = self.child.wait().expect("the host exits");
        let summary: Value = serde_json::from_str(&line).expect("a JSON summary");
        assert!(status.success(), "{script} failed: {summary}");
        summary
    }
}

/// What happened during the idle spell.
struct Spell {
    /// Invocations that started during it.
    started: Vec<Invocation>,
    /// Invocations open when it ended.
    open: Vec<Invocation>,
    /// DynamoDB calls made during it, by operation.
    dynamodb: BTreeMap<String, usize>,
}

/// Waits for the SDK's own retries to settle, then idles for [`idle_spell`] and says what the
/// functions did meanwhile.
fn idle(harness: &LambdaHarness, counter: &CountingEndpoint) -> Spell {
    std::thread::sleep(SETTLE);
    let from = harness.now();
    let before = counter.counts();
    std::thread::sleep(idle_spell());
    let after = counter.counts();
    let invocations = harness.invocations();
    let dynamodb = after
        .into_iter()
        .map(|(op, n)| (op.clone(), n - before.get(&op).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    Spell {
        started: (invocations.iter())
            .filter(|i| i.received >= from)
            .cloned()
            .collect(),
        open: (invocations.iter())
            .filter(|i| i.completed.is_none() && i.error.is_none())
            .cloned()
            .collect(),
        dynamodb,
    }
}

fn describe(invocations: &[Invocation]) -> Vec<String> {
    invocations
        .iter()
        .map(|i| {
            format!(
                "{} {} -> {:?}",
                i.http_method,
                i.rpc_method.as_deref().unwrap_or(""),
                i.status
            )
        })
        .collect()
}

/// The GETs a host made, as (Last-Event-ID given, status).
fn gets(summary: &Value) -> Vec<(bool, u64)> {
    summary["requests"]
        .as_array()
        .expect("the host's requests")
        .iter()
        .filter(|r| r["method"] == "GET")
        .map(|r| {
            (
                !r["lastEventId"].is_null(),
                r["status"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// With the Lambda defaults, an idle host costs nothing: asserts it for the host `script`
/// run by `program`, and that it got 405 for at most `max_gets` GETs without retrying more.
fn idle_host_costs_nothing(program: PathBuf, script: &str, max_gets: usize) {
    let moto = Moto::shared();
    let counter = CountingEndpoint::start(&moto.endpoint);
    let harness = product_on_lambda(&moto, &counter, &[]);
    let host = Host::connect(program, script, &harness.url());
    let spell = idle(&harness, &counter);
    assert!(
        spell.started.is_empty() && spell.open.is_empty(),
        "{script}: invocations started {:?}, open {:?} while the host idled",
        describe(&spell.started),
        describe(&spell.open),
    );
    assert!(
        spell.dynamodb.is_empty(),
        "{script}: DynamoDB calls while the host idled: {:?}",
        spell.dynamodb
    );

    let summary = host.finish(script);
    let gets = gets(&summary);
    eprintln!(
        "{script}: idled {:?} after {SETTLE:?}: no invocation, no DynamoDB call; its GETs: {gets:?}; \
         invocations in all: {:?}",
        idle_spell(),
        describe(&harness.invocations())
    );
    assert!(
        !gets.is_empty() && gets.len() <= max_gets,
        "{script}: GETs {gets:?}"
    );
    assert!(
        gets.iter().all(|&g| g == (false, 405)),
        "{script}: {gets:?}"
    );
    // The session went on working after the idle spell, and nothing was promised that only
    // the stream could deliver.
    assert!(summary["tools"].as_u64() >= Some(1), "{summary}");
    let caps = &summary["capabilities"];
    assert_ne!(caps["resources"]["subscribe"], true, "{caps}");
    for kind in ["tools", "resources", "prompts"] {
        assert_ne!(caps[kind]["listChanged"], true, "{caps}");
    }
    harness.assert_clean();
}

#[test]
fn an_idle_typescript_sdk_host_holds_no_invocation_and_reads_nothing() {
    test_tool("npm/node_modules/@modelcontextprotocol/sdk/package.json");
    // The TypeScript transport takes a 405 as "no stream here" and never retries it.
    idle_host_costs_nothing(node22(), "ts_idle.mjs", 1);
}

#[test]
fn an_idle_python_sdk_host_holds_no_invocation_and_reads_nothing() {
    // The Python transport tries a refused GET twice, a second apart, then stops.
    idle_host_costs_nothing(test_tool("venv/bin/python"), "py_idle.py", 2);
}

/// The control: the same host with the standalone stream on holds an invocation open for the
/// whole spell, and that invocation polls the table.
#[test]
fn with_the_stream_on_an_idle_host_holds_an_invocation_that_polls() {
    test_tool("npm/node_modules/@modelcontextprotocol/sdk/package.json");
    let moto = Moto::shared();
    let counter = CountingEndpoint::start(&moto.endpoint);
    let harness = product_on_lambda(&moto, &counter, &["--standalone-stream", "on"]);
    let host = Host::connect(node22(), "ts_idle.mjs", &harness.url());
    let spell = idle(&harness, &counter);
    let open_gets = spell.open.iter().filter(|i| i.http_method == "GET").count();
    assert_eq!(open_gets, 1, "open: {:?}", describe(&spell.open));
    let reads = spell.dynamodb.get("Query").copied().unwrap_or(0);
    assert!(
        reads >= 1,
        "the open stream never read: {:?}",
        spell.dynamodb
    );
    let summary = host.finish("ts_idle.mjs");
    eprintln!(
        "with the stream on, over {:?}: open {:?}, DynamoDB {:?}",
        idle_spell(),
        describe(&spell.open),
        spell.dynamodb
    );
    assert_eq!(gets(&summary)[0], (false, 200), "{summary}");
}
