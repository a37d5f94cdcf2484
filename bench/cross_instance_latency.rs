//! What crossing instances costs with the DynamoDB store: the added latency per hop and the
//! DynamoDB requests per tool call. Starts moto on 127.0.0.1 (the test kit's `Moto`, which
//! answers one request at a time, as in the tests) and two in-process "instances" (two stores
//! on one table, each with its own in-process wake-ups).
//!
//! Also the latency of the first event after an idle spell, which the idle reader's back-off
//! (the poll interval doubling up to `DEFAULT_MAX_POLL_INTERVAL`) adds to.
//!
//! `cargo run --release --example cross_instance_latency -- [POLL_MS] [ROUNDS] [IDLE_ROUNDS]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use bedrock_usage_mcp::store::dynamodb::{self, DynamoStore, create_table};
use bedrock_usage_mcp::transport::TransportConfig;
use http_body_util::BodyExt;
use mcp_conformance::conformance_server;
use mcp_testkit::app::App;
use mcp_testkit::jsonrpc::{self, call};
use mcp_testkit::moto::Moto;
use mcp_testkit::sse::SseReader;
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let poll_ms: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100);
    let rounds: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20);
    let idle_rounds: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(3);

    let moto = Moto::start();
    let client = moto.dynamodb();
    create_table(&client, "bench").await?;
    let poll = Duration::from_millis(poll_ms);
    let store_a = Arc::new(DynamoStore::new(client.clone(), "bench").with_poll_interval(poll));
    let store_b = Arc::new(DynamoStore::new(client, "bench").with_poll_interval(poll));
    let key = b"cross-instance-bench-key-0123456789abcdef".to_vec();
    let app = |store: Arc<DynamoStore>| {
        App::serving(
            conformance_server(Some(key.clone())),
            store,
            TransportConfig::default(),
        )
    };
    let (a, b) = (app(store_a.clone()), app(store_b.clone()));

    let session = initialize(&a).await?;
    let mut same = Vec::new();
    let mut cross = Vec::new();
    for i in 0..rounds {
        same.push(reply_hop(&a, &a, &session, 100 + i as u64 * 2).await?);
        cross.push(reply_hop(&a, &b, &session, 101 + i as u64 * 2).await?);
    }
    let (note_same, note_cross) = notification_hops(&a, &b, rounds).await?;
    let idle = idle_hops(&a, &b, idle_rounds).await?;

    let before = store_b.calls();
    let quick = b
        .post(
            Some(&session),
            call(900, "test_simple_text", json!({}), None),
        )
        .await;
    let _ = quick.into_body().collect().await?;
    let json_call = store_b.calls().since(&before);
    let (before_a, before_b) = (store_a.calls(), store_b.calls());
    let streamed = a
        .post(
            Some(&session),
            call(
                901,
                "test_long_operation",
                json!({ "steps": 3, "interval_ms": 0 }),
                Some("t"),
            ),
        )
        .await;
    let _ = streamed.into_body().collect().await?;
    let stream_call_a = store_a.calls().since(&before_a);
    let stream_call_b = store_b.calls().since(&before_b);

    println!(
        "cross-instance costs, DynamoDB store on moto, poll interval {poll_ms} ms, {rounds} rounds"
    );
    println!("| hop | same instance p50 / p90 | across instances p50 / p90 |");
    println!("|---|---|---|");
    println!(
        "| reply to a server-to-client request reaches the waiting tool | {} | {} |",
        p50_p90(&mut same),
        p50_p90(&mut cross)
    );
    println!(
        "| notification caused on A reaches a standalone GET stream | {} | {} |",
        p50_p90(&mut { note_same }),
        p50_p90(&mut { note_cross })
    );
    println!();
    println!(
        "first event on a standalone GET stream on B after an idle spell, caused on A \
         (longest poll {:?}), {idle_rounds} rounds each",
        dynamodb::DEFAULT_MAX_POLL_INTERVAL
    );
    println!("| idle spell | p50 / max |");
    println!("|---|---|");
    for (spell, mut times) in idle {
        times.sort();
        let max = times.last().copied().unwrap_or_default();
        println!(
            "| {spell:?} | {:.0} ms / {:.0} ms |",
            times[times.len() / 2].as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3
        );
    }
    println!();
    println!("| tool call | DynamoDB reads | DynamoDB writes |");
    println!("|---|---|---|");
    println!(
        "| answered as JSON (instance B) | {} | {} |",
        json_call.reads(),
        json_call.writes()
    );
    println!(
        "| streamed, 3 progress notifications (A serves it, B idle) | {} | {} |",
        stream_call_a.reads() + stream_call_b.reads(),
        stream_call_a.writes() + stream_call_b.writes()
    );
    Ok(())
}

/// A tool on `on` asks for input; the reply is posted to `reply_to`. Time from posting the
/// reply to the tool's answer arriving.
async fn reply_hop(on: &App, reply_to: &App, session: &str, id: u64) -> anyhow::Result<Duration> {
    let response = on
        .post(
            Some(session),
            call(id, "test_elicitation", json!({ "message": "x" }), None),
        )
        .await;
    let mut events = SseReader::new(response.into_body());
    let (_, request) = events
        .next_message(MESSAGE_WAIT)
        .await
        .ok_or_else(|| anyhow::anyhow!("no request"))?;
    let reply = jsonrpc::response(
        request["id"].clone(),
        json!({ "action": "accept", "content": { "response": "r" } }),
    );
    let started = Instant::now();
    let accepted = reply_to.post(Some(session), reply).await;
    anyhow::ensure!(accepted.status() == 202, "reply not accepted");
    events
        .next_message(MESSAGE_WAIT)
        .await
        .ok_or_else(|| anyhow::anyhow!("no answer"))?;
    Ok(started.elapsed())
}

/// Two sessions, one holding its GET stream on A and one on B; a trigger on A for each. Time
/// from sending the trigger to the notification arriving on the stream.
async fn notification_hops(
    a: &App,
    b: &App,
    rounds: usize,
) -> anyhow::Result<(Vec<Duration>, Vec<Duration>)> {
    let mut same = Vec::new();
    let mut cross = Vec::new();
    for (target, times) in [(a, &mut same), (b, &mut cross)] {
        let session = initialize(a).await?;
        let mut arrivals = stamped_stream(target, &session).await;
        for i in 0..rounds {
            let started = Instant::now();
            let answer = a
                .post(
                    Some(&session),
                    call(i as u64, "test_trigger_tool_change", json!({}), None),
                )
                .await;
            let _ = answer.into_body().collect().await?;
            let arrived = loop {
                let (at, message) = arrivals
                    .recv()
                    .await
                    .ok_or_else(|| anyhow::anyhow!("stream ended"))?;
                if message["method"] == "notifications/tools/list_changed" {
                    break at;
                }
            };
            times.push(arrived - started);
        }
    }
    Ok((same, cross))
}

/// A standalone GET stream held on B, left idle for each spell before a trigger on A: time
/// from sending the trigger to the notification arriving.
async fn idle_hops(
    a: &App,
    b: &App,
    rounds: usize,
) -> anyhow::Result<Vec<(Duration, Vec<Duration>)>> {
    let session = initialize(a).await?;
    let mut arrivals = stamped_stream(b, &session).await;
    let spells = [0, 1, 3, 10, 30].map(Duration::from_secs);
    let mut results = Vec::new();
    for spell in spells.into_iter().filter(|_| rounds > 0) {
        let mut times = Vec::new();
        for i in 0..rounds {
            tokio::time::sleep(spell).await;
            let started = Instant::now();
            let trigger = call(1000 + i as u64, "test_trigger_tool_change", json!({}), None);
            let _ = a
                .post(Some(&session), trigger)
                .await
                .into_body()
                .collect()
                .await?;
            let arrived = loop {
                let (at, message) = arrivals
                    .recv()
                    .await
                    .ok_or_else(|| anyhow::anyhow!("stream ended"))?;
                if message["method"] == "notifications/tools/list_changed" {
                    break at;
                }
            };
            times.push(arrived - started);
        }
        results.push((spell, times));
    }
    Ok(results)
}

fn p50_p90(samples: &mut [Duration]) -> String {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    format!(
        "{:.1} ms / {:.1} ms",
        at(0.5).as_secs_f64() * 1e3,
        at(0.9).as_secs_f64() * 1e3
    )
}

async fn initialize(app: &App) -> anyhow::Result<String> {
    let capabilities = json!({ "elicitation": {} });
    let response = app
        .post(
            None,
            jsonrpc::initialize(0, "2025-11-25", "bench", capabilities),
        )
        .await;
    Ok(response.headers()["mcp-session-id"].to_str()?.to_owned())
}

/// How long a benchmark waits for the next message on a stream before calling it lost.
const MESSAGE_WAIT: Duration = Duration::from_secs(60);

/// Opens the session's standalone GET stream on `app` and drains it on its own task, stamping
/// each message's arrival: a body polled only while we wait would hide the store's polling
/// delay.
async fn stamped_stream(
    app: &App,
    session: &str,
) -> tokio::sync::mpsc::UnboundedReceiver<(Instant, Value)> {
    let mut events = SseReader::new(app.get(session, None).await.into_body());
    let (tx, arrivals) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some((_, message)) = events.next_message(MESSAGE_WAIT).await {
            if tx.send((Instant::now(), message)).is_err() {
                break;
            }
        }
    });
    arrivals
}
