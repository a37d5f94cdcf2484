//! The 2026-07-28 (stateless) path: validate, dispatch, answer as JSON or SSE.

mod exchange;
mod handle;
mod listen;
mod param_headers;
mod validate;

pub use handle::handle;
