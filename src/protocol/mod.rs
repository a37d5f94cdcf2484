//! The MCP protocol independent of HTTP: versions and eras, JSON-RPC envelopes, request
//! metadata headers, and the per-era shape of results and errors. Message types themselves
//! come from `rmcp::model`.

pub mod headers;
pub mod message;
pub mod shape;
pub mod version;
