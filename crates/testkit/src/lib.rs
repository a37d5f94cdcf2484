//! The test kit of `bedrock-usage-mcp`: what its integration tests and its Rust benchmarks
//! (`bench/lambda/`, `bench/cross_instance_latency.rs`) share. Dev-only (`publish = false`), a
//! member of the workspace; they use it through the root package's dev-dependency.
//!
//! - [`process`]: a server binary as a child process; [`paths`]: the repository, the package's
//!   binaries, the installed test tools.
//! - [`app`]: the conformance app in process (tower `oneshot`), [`http`]: raw HTTP/1 exchanges,
//!   [`sse`]: reading SSE bodies frame by frame.
//! - [`instances`] and [`proxy`]: several server processes on one store behind a round-robin
//!   proxy; [`moto`]: the AWS emulator (serialised), and DynamoDB clients for it or any local
//!   endpoint; [`counting_aws`]: a counting AWS endpoint; [`logs_stub`]: a scripted CloudWatch
//!   Logs API.
//! - [`lambda`]: the Lambda Runtime API and API Gateway REST emulator.
//! - [`jsonrpc`]: the JSON-RPC messages the tests send.
//! - [`oauth`]: a local OAuth authorization server and the fixtures served with authorization
//!   on against it.
//! - [`suite`]: the MCP conformance suite runner; [`task_suite`]: its `tasks-*` scenarios.

pub mod app;
pub mod counting_aws;
pub mod http;
pub mod instances;
pub mod jsonrpc;
pub mod lambda;
pub mod logs_stub;
pub mod moto;
pub mod oauth;
pub mod paths;
pub mod process;
pub mod proxy;
pub mod sse;
pub mod suite;
pub mod task_suite;

pub use paths::{cargo_bin, node22, repo_root, test_tool};
pub use process::ServerProcess;
