//! Tasks at their limits, in process: a finished result larger than a task record keeps
//! (2026-07-28 answers with the result itself; 2025-11-25 gets a failed task whose tool error
//! says why and how to get the result), the per-owner bound on live tasks, `params.task` on a
//! tool that forbids tasks (-32601), and `tasks/result` keeping the tool's own `_meta`.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use bedrock_usage_mcp::server::{
    HandlerError, McpServer, RequestContext, TaskSupport, ToolHandler,
};
use bedrock_usage_mcp::store::{MAX_TASKS_PER_OWNER, MemoryStore};
use bedrock_usage_mcp::transport::TransportConfig;
use mcp_testkit::app::{App, response_message};
use mcp_testkit::jsonrpc::request;
use rmcp::model::{CallToolResult, JsonObject, Tool};
use serde_json::{Value, json};

const TASKS: &str = "io.modelcontextprotocol/tasks";
const RELATED: &str = "io.modelcontextprotocol/related-task";
/// Over the ~399 KB a task record keeps (DynamoDB's item limit, which the memory store
/// keeps too), well under the 4 MiB request body limit.
const BIG: usize = 500_000;

/// `echo_size`: a result of `bytes` characters (task-optional; its one step is the whole
/// call), with its own `_meta`; counts its runs.
struct EchoSize(Arc<AtomicUsize>);

#[async_trait]
impl ToolHandler for EchoSize {
    fn definition(&self) -> Tool {
        let schema = json!({ "type": "object", "properties": { "bytes": { "type": "integer" } } });
        let Value::Object(schema) = schema else {
            unreachable!()
        };
        Tool::new(
            "echo_size",
            "A result of `bytes` characters",
            Arc::new(schema),
        )
    }

    fn task_support(&self) -> TaskSupport {
        TaskSupport::Optional
    }

    async fn call(
        &self,
        _: &RequestContext,
        args: JsonObject,
    ) -> Result<CallToolResult, HandlerError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        let bytes = args.get("bytes").and_then(Value::as_u64).unwrap_or(1) as usize;
        Ok(serde_json::from_value(json!({
            "content": [{ "type": "text", "text": "x".repeat(bytes) }],
            "_meta": { "example.com/own": "kept" },
        }))
        .unwrap())
    }
}

fn app() -> App {
    counting_app().0
}

/// The app, and how often `echo_size` ran in it.
fn counting_app() -> (App, Arc<AtomicUsize>) {
    let runs = Arc::new(AtomicUsize::new(0));
    let server = McpServer::builder("limits", "1")
        .tool(EchoSize(runs.clone()))
        .build();
    let app = App::serving(
        server,
        Arc::new(MemoryStore::new()),
        TransportConfig::default(),
    );
    (app, runs)
}

async fn legacy(app: &App, session: &str, method: &str, params: Value) -> Value {
    response_message(app.post(Some(session), request(1, method, params)).await).await
}

async fn modern(app: &App, method: &str, params: Value) -> Value {
    let meta = json!({ "io.modelcontextprotocol/clientCapabilities": {
        "extensions": { TASKS: {} },
    } });
    response_message(app.modern(1, method, params, meta).await).await
}

fn text(result: &Value) -> &str {
    result["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("a text result: {result}"))
}

#[tokio::test]
async fn a_2026_07_28_result_too_large_for_a_task_is_answered_directly() {
    let app = app();
    // A small one is a task (the server chose to make one for this client) ...
    let small = modern(
        &app,
        "tools/call",
        json!({ "name": "echo_size", "arguments": { "bytes": 10 } }),
    )
    .await;
    assert_eq!(small["result"]["resultType"], "task", "{small}");
    // ... a big one is the result itself: the work is done, and no task could keep it.
    let big = modern(
        &app,
        "tools/call",
        json!({ "name": "echo_size", "arguments": { "bytes": BIG } }),
    )
    .await;
    let result = &big["result"];
    assert_ne!(
        result["resultType"], "task",
        "a task id instead of the result"
    );
    assert_eq!(text(result).len(), BIG);
    assert_ne!(result["isError"], true);
}

#[tokio::test]
async fn a_2025_11_25_result_too_large_fails_its_task_with_a_tool_error_that_says_why() {
    let app = app();
    let session = app.initialize("2025-11-25").await;
    let params = json!({ "name": "echo_size", "arguments": { "bytes": BIG }, "task": {} });
    let created = legacy(&app, &session, "tools/call", params).await;
    let id = created["result"]["task"]["taskId"]
        .as_str()
        .unwrap_or_else(|| panic!("a task: {created}"))
        .to_owned();
    assert_eq!(created["result"]["task"]["status"], "failed", "{created}");

    let got = legacy(&app, &session, "tasks/get", json!({ "taskId": id })).await;
    assert_eq!(got["result"]["status"], "failed", "{got}");
    let status = got["result"]["statusMessage"].as_str().unwrap();
    assert!(status.contains("too large"), "{status}");

    // tasks/result answers what the call would have: a tool error, tied to the task.
    let result = legacy(&app, &session, "tasks/result", json!({ "taskId": id })).await;
    let result = &result["result"];
    assert_eq!(result["isError"], true, "{result}");
    let says = text(result);
    for part in ["too large", "bytes", "without params.task", "top_n"] {
        assert!(says.contains(part), "{part:?} missing from {says:?}");
    }
    assert!(
        says.contains(&format!(
            "over the {} bytes",
            bedrock_usage_mcp::store::dynamodb::MAX_ITEM_BYTES - 1_000
        )),
        "{says}"
    );
    assert_eq!(result["_meta"][RELATED]["taskId"], id.as_str());

    // The same call without a task gets the result.
    let direct = legacy(
        &app,
        &session,
        "tools/call",
        json!({ "name": "echo_size", "arguments": { "bytes": BIG } }),
    )
    .await;
    assert_eq!(text(&direct["result"]).len(), BIG);
}

#[tokio::test]
async fn tasks_result_keeps_the_tools_own_meta() {
    let app = app();
    let session = app.initialize("2025-11-25").await;
    let params = json!({ "name": "echo_size", "arguments": { "bytes": 3 }, "task": {} });
    let created = legacy(&app, &session, "tools/call", params).await;
    let id = created["result"]["task"]["taskId"]
        .as_str()
        .unwrap()
        .to_owned();
    let result = legacy(&app, &session, "tasks/result", json!({ "taskId": id })).await;
    let meta = &result["result"]["_meta"];
    assert_eq!(meta["example.com/own"], "kept", "{result}");
    assert_eq!(meta[RELATED]["taskId"], id.as_str(), "{result}");
}

#[tokio::test]
async fn an_owner_holds_a_bounded_number_of_tasks_and_others_are_unaffected() {
    let (app, runs) = counting_app();
    let greedy = app.initialize("2025-11-25").await;
    let call =
        json!({ "name": "echo_size", "arguments": { "bytes": 1 }, "task": { "ttl": 86_400_000 } });
    for _ in 0..MAX_TASKS_PER_OWNER {
        let created = legacy(&app, &greedy, "tools/call", call.clone()).await;
        assert!(created["result"]["task"]["taskId"].is_string(), "{created}");
    }
    assert_eq!(runs.load(Ordering::SeqCst), MAX_TASKS_PER_OWNER);
    let refused = legacy(&app, &greedy, "tools/call", call.clone()).await;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    // Refused before the tool ran: no work is done for a task that cannot be kept.
    assert_eq!(runs.load(Ordering::SeqCst), MAX_TASKS_PER_OWNER);
    let says = refused["error"]["message"].as_str().unwrap();
    assert!(
        says.contains("Too many tasks") && says.contains("100"),
        "{says}"
    );
    // A call without a task still runs for that session.
    let direct = legacy(
        &app,
        &greedy,
        "tools/call",
        json!({ "name": "echo_size", "arguments": { "bytes": 1 } }),
    )
    .await;
    assert_eq!(text(&direct["result"]), "x", "{direct}");

    // Another session still gets its tasks.
    let modest = app.initialize("2025-11-25").await;
    let created = legacy(&app, &modest, "tools/call", call).await;
    assert!(created["result"]["task"]["taskId"].is_string(), "{created}");
}

#[tokio::test]
async fn a_2026_07_28_owner_with_no_room_gets_the_result_directly() {
    let app = app();
    let call = json!({ "name": "echo_size", "arguments": { "bytes": 1 } });
    for _ in 0..MAX_TASKS_PER_OWNER {
        let created = modern(&app, "tools/call", call.clone()).await;
        assert_eq!(created["result"]["resultType"], "task", "{created}");
    }
    let direct = modern(&app, "tools/call", call).await;
    assert_ne!(direct["result"]["resultType"], "task", "{direct}");
    assert_eq!(text(&direct["result"]), "x", "{direct}");
}

#[tokio::test]
async fn a_2025_11_25_task_on_a_tool_that_forbids_tasks_is_method_not_found() {
    let app = App::new(TransportConfig::default());
    let session = app.initialize("2025-11-25").await;
    let params = json!({ "name": "greet", "arguments": { "name": "A" }, "task": {} });
    let refused = legacy(&app, &session, "tools/call", params).await;
    assert_eq!(refused["error"]["code"], -32601, "{refused}");
    // Without params.task it runs.
    let params = json!({ "name": "greet", "arguments": { "name": "A" } });
    let greeted = legacy(&app, &session, "tools/call", params).await;
    assert_eq!(text(&greeted["result"]), "Hello, A!", "{greeted}");
}
