//! The wall clock as the crate stores it: whole seconds or milliseconds since the Unix epoch.
//! Session expiry, stream leases, cancellation marks and sealed `requestState` all compare
//! times written by different instances, so they read the clock the same way. A clock set
//! before 1970 reads as 0 (everything it judges then looks expired).

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Milliseconds since the Unix epoch.
pub fn unix_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
