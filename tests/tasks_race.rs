//! Two polls of one task racing on two instances (two store objects on one DynamoDB table, on
//! moto) store one step: each poll runs the tool's next step, only one is stored (the
//! conditional write on the record's version), and the loser answers with the winner's.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bedrock_usage_mcp::server::{
    HandlerError, McpServer, RequestContext, TaskStep, TaskSupport, ToolHandler,
};
use bedrock_usage_mcp::store::dynamodb::create_table;
use bedrock_usage_mcp::store::{DynamoStore, SessionStore};
use bedrock_usage_mcp::transport::TransportConfig;
use mcp_testkit::app::{App, body_json};
use mcp_testkit::moto::{Moto, unique_table};
use rmcp::model::{CallToolResult, JsonObject, Tool};
use serde_json::{Map, Value, json};

const TASKS: &str = "io.modelcontextprotocol/tasks";

/// A task that counts its steps in its state, forever, and counts every step run. Its first
/// two steps wait for each other (`Barrier`), so two polls started together both run one
/// before either stores it, however busy the machine.
struct Counter(Arc<AtomicU64>, Arc<tokio::sync::Barrier>, &'static str);

#[async_trait]
impl ToolHandler for Counter {
    fn definition(&self) -> Tool {
        Tool::new("counter", "counts its steps", Arc::new(JsonObject::new()))
    }

    fn task_support(&self) -> TaskSupport {
        TaskSupport::Optional
    }

    async fn call(
        &self,
        _: &RequestContext,
        _: JsonObject,
    ) -> Result<CallToolResult, HandlerError> {
        Err(HandlerError::internal("tasks only"))
    }

    async fn start_task(
        &self,
        _: &RequestContext,
        _: JsonObject,
    ) -> Result<TaskStep, HandlerError> {
        Ok(TaskStep::Working {
            state: json!(0),
            message: Some("step 0".into()),
        })
    }

    async fn advance_task(
        &self,
        state: Value,
        _: Map<String, Value>,
    ) -> Result<TaskStep, HandlerError> {
        if self.0.fetch_add(1, Ordering::SeqCst) < 2 {
            self.1.wait().await;
        }
        let n = state.as_u64().unwrap() + 1;
        Ok(TaskStep::Working {
            state: json!(n),
            message: Some(format!("step {n} by {}", self.2)),
        })
    }
}

fn instance(
    store: Arc<dyn SessionStore>,
    steps: &Arc<AtomicU64>,
    barrier: &Arc<tokio::sync::Barrier>,
    name: &'static str,
) -> App {
    let counter = Counter(steps.clone(), barrier.clone(), name);
    let server = McpServer::builder("race", "1").tool(counter).build();
    App::serving(server, store, TransportConfig::default())
}

async fn send(app: &App, id: u64, method: &str, params: Value) -> Value {
    let meta =
        json!({ "io.modelcontextprotocol/clientCapabilities": { "extensions": { TASKS: {} } } });
    body_json(app.modern(id, method, params, meta).await).await
}

#[tokio::test]
async fn racing_polls_on_two_instances_store_one_step() {
    let moto = Moto::shared();
    let client = moto.dynamodb();
    let table = unique_table("taskrace");
    assert!(create_table(&client, &table).await.unwrap());
    let steps = Arc::new(AtomicU64::new(0));
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let a = instance(
        Arc::new(DynamoStore::new(client.clone(), &table)),
        &steps,
        &barrier,
        "a",
    );
    let b = instance(
        Arc::new(DynamoStore::new(client, &table)),
        &steps,
        &barrier,
        "b",
    );

    let created = send(&a, 1, "tools/call", json!({ "name": "counter" })).await;
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();
    let get = json!({ "taskId": id });
    let (on_a, on_b) = tokio::join!(
        send(&a, 2, "tasks/get", get.clone()),
        send(&b, 3, "tasks/get", get.clone())
    );
    assert_eq!(steps.load(Ordering::SeqCst), 2, "both polls ran a step");
    // One step is stored, and both polls answer with it.
    let first = on_a["result"]["statusMessage"].as_str().unwrap().to_owned();
    assert!(first == "step 1 by a" || first == "step 1 by b", "{on_a}");
    assert_eq!(on_b["result"]["statusMessage"], first.as_str(), "{on_b}");
    // The next poll, on either instance, starts from that one stored step.
    let next = send(&b, 4, "tasks/get", get).await;
    assert_eq!(next["result"]["statusMessage"], "step 2 by b", "{next}");
}
