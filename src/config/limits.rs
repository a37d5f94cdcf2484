//! What the local listener allows a connection. The flags set it ([`super::HttpArgs`]);
//! `serve` enforces it.

use std::time::Duration;

/// Upper bound of `max_connections` (a semaphore counts in `u32` where it is enforced).
pub(crate) const MAX_CONNECTIONS: usize = 1 << 20;

/// Bounds on the connections of the local listener. A slow or silent client can hold a
/// connection (a file descriptor and a task) only this long, and only this many at once.
///
/// The Lambda door does not use them: API Gateway holds the connections there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Most connections served at once. Further clients wait in the listen backlog and are
    /// accepted as connections close. Keep it below the process's file-descriptor limit.
    pub max_connections: usize,
    /// How long a client has to send a complete request head (request line and headers),
    /// counted from when the server starts waiting for it: from the connection's start, and
    /// after each answer on a kept-alive connection. The connection is closed after it.
    pub header_timeout: Duration,
    /// A connection on which no byte moves in either direction for this long is closed (a
    /// stalled body, a client that stopped reading). SSE streams send keep-alives, so an open
    /// stream is never idle.
    pub idle_timeout: Duration,
    /// Largest request head (request line and headers together) in bytes; a larger one is
    /// answered 431 and the connection closed.
    pub max_header_bytes: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 512,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
            max_header_bytes: 16 * 1024,
        }
    }
}
