#!/usr/bin/env bash
# The soak test (tests/soak/) for longer than the suite's 30 s: mixed MCP traffic against two
# instances on one moto DynamoDB table, an instance killed and restarted and the store paused
# every 14 s, then the counts and the surviving instance's memory before and after.
#
#   scripts/soak.sh [SECONDS]     (default 300)
#
# Needs what the suite needs for it: moto (`python3 -m pip install 'moto[server]'`).
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-300}
[[ $secs =~ ^[0-9]+$ && $secs -ge 1 ]] || { echo "usage: scripts/soak.sh [SECONDS]" >&2; exit 2; }

export SOAK_SECS=$secs
if command -v cargo-nextest >/dev/null 2>&1; then
  cargo nextest run --test soak --no-capture
else
  cargo test --test soak -- --nocapture
fi
