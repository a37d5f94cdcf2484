//! One virtual client: sessions of 2025-11-25 traffic (initialize, tools/list, calls that
//! stream progress and are read to the end, cut and resumed on the other instance, or
//! cancelled; DELETE), with some 2026-07-28 stateless calls between them. Every request goes
//! to an instance picked at random, so a session hops between instances as on Lambda.
//!
//! A failure the faults explain is handled as a client should handle it and counted: a 503
//! (with `Retry-After`) is waited out and tried again; a connection error on an instance that
//! was being killed sends the client to the other instance (resuming its stream there, or
//! trying the request again when it never learnt the stream). Anything else ends the client
//! with an error saying what broke.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, anyhow, bail, ensure};
use mcp_testkit::app::modern_meta;
use mcp_testkit::jsonrpc;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::ORPHANS_END_WITH_ERROR;
use crate::cluster::{Cluster, Ticket};
use crate::stats::Stats;
use crate::stream::{CallStream, Connection, Read};

const LEGACY: &str = "2025-11-25";
const STATELESS: &str = "2026-07-28";

/// Longest wait for an answer's headers, or for the next bytes of a live stream (keep-alives
/// come every 2 s; a store pause stalls a stream only while it lasts).
const SILENCE: Duration = Duration::from_secs(60);
/// How long a call may take beyond its own steps before it counts as stuck (a bug).
const CALL_BOUND: Duration = Duration::from_secs(90);
/// How long a call whose writer was killed is followed, without an answer, before it counts as
/// orphaned (or, with `ORPHANS_END_WITH_ERROR`, fails).
pub const ORPHAN_WAIT: Duration = Duration::from_secs(30);
/// Sessions one client starts at most (the run is also bounded in time).
const MAX_SESSIONS: usize = 2_000;

/// What a call does while it runs.
#[derive(Debug, Clone, Copy)]
enum Plan {
    /// Reads its stream to the end.
    Plain,
    /// Drops the connection after this much progress and resumes on the other instance.
    Cut(usize),
    /// Sends `notifications/cancelled` after this much progress.
    Cancel(usize),
}

pub struct VirtualClient {
    index: usize,
    cluster: Arc<Cluster>,
    stats: Arc<Stats>,
    http: reqwest::Client,
    rng: StdRng,
    next_id: u64,
}

impl VirtualClient {
    pub fn new(index: usize, cluster: Arc<Cluster>, stats: Arc<Stats>) -> Self {
        let http = reqwest::Client::builder()
            // A fresh connection per request: a pooled one to a killed process would fail
            // without the kill being this request's.
            .pool_max_idle_per_host(0)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .expect("HTTP client");
        Self {
            index,
            cluster,
            stats,
            http,
            rng: StdRng::seed_from_u64(rand::random()),
            next_id: 0,
        }
    }

    /// Runs sessions until `until`.
    pub async fn run(mut self, until: Instant) -> Result<()> {
        for _ in 0..MAX_SESSIONS {
            if Instant::now() >= until {
                break;
            }
            self.session()
                .await
                .map_err(|e| e.context(format!("virtual client {}", self.index)))?;
        }
        Ok(())
    }

    async fn session(&mut self) -> Result<()> {
        let session = self.initialize().await?;
        self.notify(
            &session,
            jsonrpc::notification("notifications/initialized", Value::Null),
        )
        .await?;
        let tools = self
            .request(Some(&session), "tools/list", json!({}))
            .await?;
        ensure!(
            tools["result"]["tools"]
                .as_array()
                .is_some_and(|t| !t.is_empty()),
            "tools/list: {tools}"
        );
        for _ in 0..self.rng.random_range(1..=4) {
            self.call(&session).await?;
        }
        if self.rng.random_bool(0.4) {
            self.stateless_call().await?;
        }
        // Some sessions are left to expire, as clients that vanish leave them.
        if self.rng.random_bool(0.8) {
            self.delete(&session).await?;
        }
        Ok(())
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn pick(&mut self) -> usize {
        self.rng.random_range(0..2)
    }

    fn post(
        &self,
        instance: usize,
        session: Option<&str>,
        body: &Value,
    ) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .post(self.cluster.url(instance))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", LEGACY)
            .body(body.to_string());
        if let Some(session) = session {
            request = request.header("mcp-session-id", session);
        }
        request
    }

    /// Posts a legacy-session message to a random instance until one takes it (see
    /// [`Client::send`]); `message` makes it for each try from a fresh id. Returns the id sent,
    /// the ticket of the instance that took it, and its response.
    async fn post_taken(
        &mut self,
        session: Option<&str>,
        message: impl Fn(u64) -> Value,
    ) -> Result<(u64, Ticket, reqwest::Response)> {
        loop {
            let id = self.id();
            let body = message(id);
            let instance = self.pick();
            let ticket = self.cluster.ticket(instance);
            let request = self.post(instance, session, &body);
            if let Some(response) = self.send(&ticket, request).await? {
                return Ok((id, ticket, response));
            }
        }
    }

    /// Sends a request to the ticket's instance: `None` when it is to be sent again, after a
    /// connection error on an instance that was being killed, or after waiting out a 503's
    /// `Retry-After` (at most 5 s). A 5xx other than 503, a 503 without `Retry-After`, and a
    /// connection error on an instance nobody killed are failures.
    async fn send(
        &self,
        ticket: &Ticket,
        request: reqwest::RequestBuilder,
    ) -> Result<Option<reqwest::Response>> {
        let sent = tokio::time::timeout(SILENCE, request.send())
            .await
            .map_err(|_| {
                anyhow!(
                    "no answer from instance {} within {SILENCE:?}",
                    ticket.instance
                )
            })?;
        let response = match sent {
            Ok(response) => response,
            Err(_) if self.cluster.went_away(ticket) => {
                Stats::add(&self.stats.connection_errors);
                return Ok(None);
            }
            Err(e) => bail!(
                "connection error on instance {}, which nobody killed: {e}",
                ticket.instance
            ),
        };
        let status = response.status();
        if status == 503 {
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| anyhow!("a 503 without a Retry-After in seconds"))?;
            Stats::add(&self.stats.unavailable);
            tokio::time::sleep(Duration::from_secs(retry_after.clamp(1, 5))).await;
            return Ok(None);
        }
        if status.is_server_error() {
            let body = response.text().await.unwrap_or_default();
            bail!("{status} from instance {}: {body}", ticket.instance);
        }
        Ok(Some(response))
    }

    async fn initialize(&mut self) -> Result<String> {
        let params = jsonrpc::initialize(0, LEGACY, "soak", json!({}))["params"].take();
        let (answer, session) = self.exchange(None, "initialize", params).await?;
        ensure!(
            answer["result"]["protocolVersion"] == LEGACY,
            "initialize: {answer}"
        );
        Stats::add(&self.stats.sessions);
        session.ok_or_else(|| anyhow!("initialize answered without Mcp-Session-Id"))
    }

    async fn request(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value> {
        Ok(self.exchange(session, method, params).await?.0)
    }

    /// One request answered with JSON: tried again on a 503 or on a killed instance (with a
    /// new id); the answer must carry the request's id.
    async fn exchange(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<(Value, Option<String>)> {
        loop {
            let (id, ticket, response) = self
                .post_taken(session, |id| jsonrpc::request(id, method, params.clone()))
                .await?;
            let status = response.status();
            let session_id = response
                .headers()
                .get("mcp-session-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let text = match response.text().await {
                Ok(text) => text,
                Err(_) if self.cluster.went_away(&ticket) => {
                    Stats::add(&self.stats.lost_to_kill);
                    continue;
                }
                Err(e) => bail!("{method}: reading the answer: {e}"),
            };
            ensure!(status == 200, "{method}: {status}: {text}");
            let answer: Value = serde_json::from_str(&text)
                .map_err(|e| anyhow!("{method}: not a JSON answer ({e}): {text}"))?;
            ensure!(
                answer["id"] == id,
                "{method} {id} answered with id {}: {answer}",
                answer["id"]
            );
            ensure!(answer.get("result").is_some(), "{method}: {answer}");
            Stats::add(&self.stats.requests);
            Stats::add(&self.stats.answers);
            return Ok((answer, session_id));
        }
    }

    /// A notification: 202, tried again on a 503 or on a killed instance.
    async fn notify(&mut self, session: &str, body: Value) -> Result<()> {
        let (_, _, response) = self.post_taken(Some(session), |_| body.clone()).await?;
        ensure!(response.status() == 202, "{body}: {}", response.status());
        Ok(())
    }

    /// DELETE, then a ping on either instance must find the session gone.
    async fn delete(&mut self, session: &str) -> Result<()> {
        let mut tried = false;
        loop {
            let instance = self.pick();
            let ticket = self.cluster.ticket(instance);
            let request = self
                .http
                .delete(self.cluster.url(instance))
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", LEGACY);
            let Some(response) = self.send(&ticket, request).await? else {
                tried = true;
                continue;
            };
            match response.status().as_u16() {
                200 => break,
                // An earlier try may have ended the session before its answer was lost.
                404 if tried => break,
                other => bail!("DELETE: {other}"),
            }
        }
        Stats::add(&self.stats.deletes);
        let ping = |id| jsonrpc::request(id, "ping", Value::Null);
        let (_, _, response) = self.post_taken(Some(session), ping).await?;
        ensure!(
            response.status() == 404,
            "a ping after DELETE: {}",
            response.status()
        );
        Ok(())
    }

    fn plan(&mut self, steps: usize) -> Plan {
        match self.rng.random_range(0..10) {
            0..4 => Plan::Plain,
            4..7 => Plan::Cut(self.rng.random_range(1..steps)),
            _ => Plan::Cancel(self.rng.random_range(1..steps)),
        }
    }

    /// A `test_long_operation` call with progress, in a session.
    async fn call(&mut self, session: &str) -> Result<()> {
        let steps = self.rng.random_range(3..=10);
        let interval_ms = self.rng.random_range(50..=250);
        let plan = self.plan(steps);
        let index = self.index;
        let token = move |id| format!("soak-{index}-{id}");
        loop {
            let (id, writer, response) = self
                .post_taken(Some(session), |id| {
                    let arguments = json!({ "steps": steps, "interval_ms": interval_ms });
                    jsonrpc::call(id, "test_long_operation", arguments, Some(&token(id)))
                })
                .await?;
            let token = token(id);
            ensure!(
                response.status() == 200,
                "tools/call: {}",
                response.status()
            );
            let mut call = CallStream::new(json!(id), token, true);
            let bound = Duration::from_millis(steps as u64 * interval_ms) + CALL_BOUND;
            let end = self
                .follow(
                    session,
                    &mut call,
                    Connection::new(response),
                    writer,
                    plan,
                    bound,
                )
                .await?;
            if matches!(end, End::Lost) {
                Stats::add(&self.stats.lost_to_kill);
                continue;
            }
            return self.conclude(&call, end, steps, &writer);
        }
    }

    /// Reads a call's stream to its end, acting on the plan, resuming wherever a connection
    /// ends before the answer.
    async fn follow(
        &mut self,
        session: &str,
        call: &mut CallStream,
        mut connection: Connection,
        writer: Ticket,
        plan: Plan,
        bound: Duration,
    ) -> Result<End> {
        let started = Instant::now();
        let mut reading = writer;
        let mut acted = false;
        let mut cancelled = false;
        let mut orphaned_at: Option<Instant> = None;
        loop {
            if !acted {
                match plan {
                    Plan::Cut(after) if call.progress.len() >= after => {
                        acted = true;
                        drop(connection);
                        Stats::add(&self.stats.cuts);
                        (connection, reading) =
                            self.resume(session, call, 1 - reading.instance).await?;
                        continue;
                    }
                    Plan::Cancel(after) if call.progress.len() >= after => {
                        acted = true;
                        cancelled = true;
                        let cancel = jsonrpc::notification(
                            "notifications/cancelled",
                            json!({ "requestId": call.id.clone(), "reason": "soak" }),
                        );
                        self.notify(session, cancel).await?;
                        Stats::add(&self.stats.cancels);
                    }
                    _ => {}
                }
            }
            let resume_at = match connection.next(Duration::from_secs(5)).await {
                Read::Event(event) => {
                    call.observe(&event)?;
                    if !event.data.is_empty() {
                        Stats::add(&self.stats.events);
                    }
                    if call.answer.is_some() {
                        return Ok(End::Answered {
                            cancelled,
                            orphan: orphaned_at.is_some(),
                        });
                    }
                    None
                }
                Read::End if connection.ends_with_retry => Some(reading.instance),
                Read::End | Read::Broken(_) if self.cluster.went_away(&reading) => {
                    Stats::add(&self.stats.connection_errors);
                    Some(1 - reading.instance)
                }
                Read::End if cancelled => return Ok(End::Cancelled),
                Read::End => bail!("request {}: its stream ended without an answer", call.id),
                Read::Broken(e) => bail!(
                    "request {}: its stream on instance {}, which nobody killed, broke: {e}",
                    call.id,
                    reading.instance
                ),
                Read::Silent => None,
            };
            if let Some(instance) = resume_at {
                if call.last_event_id.is_none() {
                    // Cut before its priming event: the client never learnt the stream.
                    return Ok(End::Lost);
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
                (connection, reading) = self.resume(session, call, instance).await?;
            }
            if self.cluster.went_away(&writer) {
                let since = *orphaned_at.get_or_insert_with(Instant::now);
                if since.elapsed() > ORPHAN_WAIT {
                    return Ok(End::Orphaned);
                }
            } else if started.elapsed() > bound {
                bail!(
                    "request {} is stuck: no answer after {:?} ({} progress, cancelled: {cancelled})",
                    call.id,
                    started.elapsed(),
                    call.progress.len()
                );
            }
        }
    }

    /// `GET` with `Last-Event-ID`, on `instance` or, if it is down, the other one.
    async fn resume(
        &mut self,
        session: &str,
        call: &CallStream,
        mut instance: usize,
    ) -> Result<(Connection, Ticket)> {
        let last = call
            .last_event_id
            .clone()
            .ok_or_else(|| anyhow!("request {}: nothing to resume from", call.id))?;
        loop {
            let ticket = self.cluster.ticket(instance);
            let request = self
                .http
                .get(self.cluster.url(instance))
                .header("accept", "text/event-stream")
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", LEGACY)
                .header("last-event-id", &last);
            let Some(response) = self.send(&ticket, request).await? else {
                instance = 1 - instance;
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            };
            let status = response.status();
            if status != 200 {
                let body = response.text().await.unwrap_or_default();
                bail!(
                    "request {}: resuming after {last}: {status}: {body}",
                    call.id
                );
            }
            Stats::add(&self.stats.resumptions);
            return Ok((Connection::new(response), ticket));
        }
    }

    /// Checks how a call ended and counts it.
    fn conclude(&self, call: &CallStream, end: End, steps: usize, writer: &Ticket) -> Result<()> {
        Stats::add(&self.stats.requests);
        let id = &call.id;
        match end {
            End::Answered { cancelled, orphan } => {
                Stats::add(&self.stats.answers);
                let answer = call.answer.as_ref().expect("answered");
                if answer.get("error").is_some() {
                    Stats::add(&self.stats.error_answers);
                    if orphan {
                        Stats::add(&self.stats.orphans_ended);
                        ensure!(
                            answer["error"]["code"] == -32603,
                            "request {id}: its writer died; the stream ended with {answer}"
                        );
                    }
                    ensure!(
                        cancelled || self.cluster.fault_overlapped(writer),
                        "request {id}: an error with no fault to explain it: {answer}"
                    );
                } else {
                    check_completed(call, steps)?;
                }
            }
            End::Cancelled => Stats::add(&self.stats.cancelled_unanswered),
            End::Orphaned => {
                Stats::add(&self.stats.orphaned);
                ensure!(
                    !ORPHANS_END_WITH_ERROR,
                    "request {id}: its instance was killed mid-call and its stream gave no \
                     answer within {ORPHAN_WAIT:?} ({} progress)",
                    call.progress.len()
                );
            }
            End::Lost => unreachable!("tried again"),
        }
        Ok(())
    }

    /// A 2026-07-28 call: no session, progress on an SSE answer without event ids.
    async fn stateless_call(&mut self) -> Result<()> {
        let steps = self.rng.random_range(2..=6);
        let interval_ms = self.rng.random_range(50..=150);
        loop {
            let id = self.id();
            let token = format!("soak-{}-{id}", self.index);
            let mut meta = modern_meta(json!({}));
            meta["progressToken"] = json!(token);
            let params = json!({
                "name": "test_long_operation",
                "arguments": { "steps": steps, "interval_ms": interval_ms },
                "_meta": meta,
            });
            let body = jsonrpc::request(id, "tools/call", params);
            let instance = self.pick();
            let ticket = self.cluster.ticket(instance);
            let request = self
                .http
                .post(self.cluster.url(instance))
                .header("content-type", "application/json")
                .header("accept", "application/json, text/event-stream")
                .header("mcp-protocol-version", STATELESS)
                .header("mcp-method", "tools/call")
                .header("mcp-name", "test_long_operation")
                .body(body.to_string());
            let Some(response) = self.send(&ticket, request).await? else {
                continue;
            };
            ensure!(
                response.status() == 200,
                "stateless call: {}",
                response.status()
            );
            let mut call = CallStream::new(json!(id), token, false);
            let mut connection = Connection::new(response);
            let deadline =
                Instant::now() + Duration::from_millis(steps as u64 * interval_ms) + CALL_BOUND;
            let lost = loop {
                match connection.next(Duration::from_secs(5)).await {
                    Read::Event(event) => {
                        call.observe(&event)?;
                        if !event.data.is_empty() {
                            Stats::add(&self.stats.events);
                        }
                        if call.answer.is_some() {
                            break false;
                        }
                    }
                    Read::End | Read::Broken(_) if self.cluster.went_away(&ticket) => break true,
                    Read::End => {
                        bail!("stateless request {id}: the stream ended without an answer")
                    }
                    Read::Broken(e) => bail!("stateless request {id}: the stream broke: {e}"),
                    Read::Silent => {}
                }
                ensure!(Instant::now() < deadline, "stateless request {id} is stuck");
            };
            if lost {
                Stats::add(&self.stats.connection_errors);
                Stats::add(&self.stats.lost_to_kill);
                continue;
            }
            Stats::add(&self.stats.stateless_calls);
            Stats::add(&self.stats.requests);
            Stats::add(&self.stats.answers);
            let answer = call.answer.as_ref().expect("answered");
            ensure!(
                answer["result"]["resultType"] == "complete",
                "stateless request {id}: {answer}"
            );
            return check_completed(&call, steps);
        }
    }
}

/// How following a call's stream ended.
enum End {
    Answered {
        cancelled: bool,
        orphan: bool,
    },
    /// Cancelled, and its stream ended without an answer.
    Cancelled,
    /// Its writer was killed and no answer came within [`ORPHAN_WAIT`].
    Orphaned,
    /// Its instance died before the client learnt its stream.
    Lost,
}

/// A call answered with a result: every step's progress, once each, in order, and the tool's
/// own account of how many steps it completed.
fn check_completed(call: &CallStream, steps: usize) -> Result<()> {
    let answer = call.answer.as_ref().expect("answered");
    let id = &call.id;
    ensure!(
        answer["result"]["content"][0]["text"] == format!("completed {steps} steps"),
        "request {id}: {answer}"
    );
    ensure!(
        call.progress == (1..=steps as u64).collect::<Vec<_>>(),
        "request {id}: progress {:?} for {steps} steps",
        call.progress
    );
    Ok(())
}
