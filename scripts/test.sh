#!/usr/bin/env bash
# The whole test suite: installs the test peers (conformance suite, official SDK clients),
# then runs every Rust test (unit, integration, conformance, interop, AWS APIs on moto_server)
# of every workspace member (the product crate and crates/*).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/toolchain.sh >/dev/null   # the pinned Rust (rust-toolchain.toml) is there, or fail clearly
scripts/install-test-tools.sh

if command -v cargo-nextest >/dev/null 2>&1; then
  cargo nextest run --workspace --all-targets --no-fail-fast "$@"
else
  cargo test --workspace --all-targets --no-fail-fast "$@"
fi
