//! An MCP server for Amazon Bedrock usage analytics, built to run on AWS Lambda behind API
//! Gateway with sessions that survive scale-out.
//!
//! One endpoint serves both protocol eras: the stateless 2026-07-28 revision and the
//! session-based 2025-11-25 / 2025-06-18 / 2025-03-26 revisions. Everything a legacy session
//! needs between two HTTP requests lives behind [`store::SessionStore`], so any instance can
//! serve any request of any session.
//!
//! # Layout
//!
//! Layers, bottom first. A module imports only from layers below its own, never from a
//! sibling in its layer; `tests/layering.rs` enforces this.
//!
//! 1. Bottom utilities, importing nothing of the crate:
//!    - [`limited_log`]: warnings logged at most once per interval, for limits a flood can hit.
//!    - [`clock`]: the wall clock in Unix seconds or milliseconds, read one way by every
//!      layer that compares times written by different instances.
//!    - [`aws`]: what every AWS client shares (HTTPS client, region chain, SDK configuration,
//!      retry policy, timeouts), used by the DynamoDB store, the CloudWatch sources, the cost
//!      clients, the Bedrock profile resolver and the SigV4 client.
//!    - [`protocol`]: versions and eras, JSON-RPC envelopes, metadata headers, the per-era
//!      shape of results and errors. Message types come from `rmcp::model`.
//! 2. Built on the utilities alone, none knowing another:
//!    - [`store`]: the [`store::SessionStore`] trait, its in-memory implementation (local runs)
//!      and its DynamoDB implementation (Lambda), with the flags that choose one.
//!    - [`usage`]: Bedrock invocation-log records, aggregation, the report contract, sources,
//!      costs, and application inference profiles resolved behind a trait.
//!    - [`client`]: an MCP client for both eras (the engine of `mcp-client`: its smoke check,
//!      SigV4 signing for IAM-protected endpoints, bearer tokens and OAuth client credentials
//!      for OAuth-protected ones, and the stdio proxy).
//!    - [`auth`]: OAuth 2.1 resource server (MCP authorization): the issuer's metadata and
//!      keys, bearer JWT validation, Protected Resource Metadata and the 401/403 challenges.
//!    - [`server`]: what a server offers (tool, resource, prompt and completion handlers), the
//!      [`server::RequestContext`] handlers talk through, dispatch by method, and tasks
//!      ([`server::tasks`]). It sits beside `store`, not above it: handlers reach the client
//!      through [`server::Outbox`], the legacy session through [`server::Session`] and task
//!      records through [`server::TaskBook`], traits the transport implements.
//! 3. Offers written against [`server`]:
//!    - [`tools`]: the product's MCP offer (report tool, resource template, review prompt,
//!      completion) as thin glue over [`usage`].
//! 4. [`transport`]: Streamable HTTP on axum: guards, POST/GET/DELETE, SSE, JSON-or-SSE
//!    answers, resumable streams read from the store.
//! 5. [`lambda`]: the Lambda door (streaming runner, stage-free paths, the gateway host).
//! 6. [`config`]: flags and environment shared by the binaries, and the connection limits
//!    they set.
//! 7. [`serve`]: binding a listener and serving the app until shutdown, within connection
//!    limits, or handing it to the Lambda door.
//!
//! Above every layer, `bin/` holds thin binaries (`bedrock-usage-mcp`, `mcp-client`). The
//! conformance suite's fixtures and `conformance-server` are not product code: they live in
//! the workspace member `crates/conformance`, written against this library like any user.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod auth;
pub mod aws;
pub mod client;
pub mod clock;
pub mod config;
pub mod lambda;
pub mod limited_log;
pub mod protocol;
pub mod serve;
pub mod server;
pub mod store;
pub mod tools;
pub mod transport;
pub mod usage;
