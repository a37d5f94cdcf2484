#!/usr/bin/env bash
# CI's toolchain step: the toolchain rust-toolchain.toml pins is installed, and docker/Dockerfile
# (RUST_VERSION) and Cargo.toml (rust-version) name the same version. Without this check a
# missing toolchain shows up as rustup's "toolchain ... is not installed" in the first cargo
# command (CI installs nothing: RUSTUP_AUTO_INSTALL=0, no access to rustup's servers).
set -euo pipefail
cd "$(dirname "$0")/.."

pin=$(sed -n 's/^channel *= *"\([^"]*\)".*/\1/p' rust-toolchain.toml)
[[ -n $pin ]] || { echo "rust-toolchain.toml: no channel = \"...\" line" >&2; exit 1; }

# A machine whose stable toolchain is exactly the pinned release but not installed under that
# name (rustup names a channel install "stable-<host>", not "1.95.0-<host>") gets the name as a
# symlink to it in rustup's toolchains folder, as this machine kind's provisioning does, so the
# pin works offline without downloading anything (`rustup toolchain link` refuses official
# release names). Any other version is left alone and fails below.
if ! rustup toolchain list | grep -q "^$pin-"; then
  toolchains="${RUSTUP_HOME:-$HOME/.rustup}/toolchains"
  for installed in $(rustup toolchain list | cut -d' ' -f1); do
    version=$(rustup run "$installed" rustc --version 2>/dev/null | cut -d' ' -f2)
    host=$(rustup run "$installed" rustc -vV 2>/dev/null | sed -n 's/^host: //p')
    if [[ $version == "$pin" && -d "$toolchains/$installed" && -n $host ]]; then
      echo "toolchain $pin: linking $toolchains/$pin-$host to the installed $installed"
      ln -s "$toolchains/$installed" "$toolchains/$pin-$host"
      break
    fi
  done
fi
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
