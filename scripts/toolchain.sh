#!/usr/bin/env bash
# CI's toolchain step: the toolchain rust-toolchain.toml pins is installed, and docker/Dockerfile
# (RUST_VERSION) and Cargo.toml (rust-version) name the same version. Without this check a
# missing toolchain shows up as rustup's "toolchain ... is not installed" in the first cargo
# command (CI installs nothing: RUSTUP_AUTO_INSTALL=0, no access to rustup's servers).
set -euo pipefail
cd "$(dirname "$0")/.."

pin=$(sed -n 's/^channel *= *"\([^"]*\)".*/\1/p' rust-toolchain.toml)
[[ -n $pin ]] || { echo "rust-toolchain.toml: no channel = \"...\" line" >&2; exit 1; }

if ! rustup toolchain list | grep -q "^$pin-"; then
  echo "rust-toolchain.toml pins Rust $pin, which is not installed on this machine" \
    "(installed: $(rustup toolchain list | cut -d' ' -f1 | tr '\n' ' '))." >&2
  echo "Install it (rustup toolchain install $pin --component clippy,rustfmt) or change the" \
    "pin in rust-toolchain.toml, docker/Dockerfile and Cargo.toml together." >&2
  exit 1
fi
docker=$(sed -n 's/^ARG RUST_VERSION=//p' docker/Dockerfile)
[[ $docker == "$pin" ]] || {
  echo "docker/Dockerfile builds with Rust '$docker', rust-toolchain.toml pins $pin" >&2
  exit 1
}
msrv=$(sed -n 's/^rust-version *= *"\([^"]*\)".*/\1/p' Cargo.toml)
[[ $msrv == "$pin" ]] || {
  echo "Cargo.toml says rust-version '$msrv', rust-toolchain.toml pins $pin (the only" \
    "version CI builds with)" >&2
  exit 1
}
cargo --version
rustc --version
cargo clippy --version
cargo fmt --version
