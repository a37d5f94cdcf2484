//! Protocol versions and the two eras that share one endpoint.

/// The stateless revision: no `initialize`, every request carries its version.
pub const MODERN: &str = "2026-07-28";

/// The session-based revisions, newest first; `initialize` negotiates one of them.
pub const LEGACY: [&str; 3] = ["2025-11-25", "2025-06-18", "2025-03-26"];

/// Which family of the protocol a request belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// 2026-07-28: stateless, per-request `_meta`.
    Modern,
    /// 2025-03-26 to 2025-11-25: `initialize`, sessions, server-to-client requests.
    Legacy,
}

/// Every version this server speaks, newest first.
pub fn supported() -> Vec<&'static str> {
    std::iter::once(MODERN).chain(LEGACY).collect()
}

/// Whether `version` is one this server speaks.
pub(crate) fn is_supported(version: &str) -> bool {
    version == MODERN || LEGACY.contains(&version)
}

/// The version to answer an `initialize` with: the client's own if it is a legacy version we
/// speak, else our newest legacy version (`initialize` can never select the stateless revision).
pub(crate) fn negotiate(requested: &str) -> &'static str {
    LEGACY
        .into_iter()
        .find(|v| *v == requested)
        .unwrap_or(LEGACY[0])
}

/// Whether a legacy session at `version` may receive JSON-RPC batches (only 2025-03-26).
pub(crate) fn allows_batches(version: &str) -> bool {
    version == "2025-03-26"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_echoes_known_legacy_versions_only() {
        assert_eq!(negotiate("2025-06-18"), "2025-06-18");
        assert_eq!(negotiate("2026-07-28"), "2025-11-25");
        assert_eq!(negotiate("1999-01-01"), "2025-11-25");
        assert!(is_supported("2026-07-28") && !is_supported("2024-11-05"));
    }
}
