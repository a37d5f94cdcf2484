//! The session-based path (2025-03-26 to 2025-11-25): `initialize`, in-session messages and
//! 2025-03-26 batches. Every message reaches the session only through the store.

mod exchange;
mod handle;
mod initialize;
mod session;
mod stored_session;

pub use handle::handle;
pub use session::load as load_session;
pub(crate) use session::{belongs_to_caller, check_version_header, log_tag};
