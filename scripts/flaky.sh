#!/usr/bin/env bash
# Measures flakiness: runs the whole test suite (scripts/test.sh) N times in a row and prints,
# for every test that failed at least once, how many runs it failed in; then one line per run.
#
#   scripts/flaky.sh N [--busy] [-- ARGS FOR scripts/test.sh]
#
#   --busy   keeps a `cargo build --release` of this crate running beside every run (in its
#            own target directory, cleaned and started again whenever it finishes), so the
#            suite runs on a machine whose cores are taken, as CI's often are.
#
# Logs of each run are kept in target/flaky/run-K.log (earlier ones are moved to
# target/flaky/previous/). Exits non-zero if any run failed.
set -uo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: scripts/flaky.sh N [--busy] [-- ARGS]" >&2; exit 2; }
[[ $# -ge 1 && $1 =~ ^[0-9]+$ && $1 -ge 1 ]] || usage
runs=$1
shift
busy=false
if [[ ${1:-} == --busy ]]; then busy=true; shift; fi
if [[ ${1:-} == -- ]]; then shift; elif [[ $# -gt 0 ]]; then usage; fi

logs=target/flaky
mkdir -p "$logs/previous"
for old in "$logs"/run-*.log; do [[ -e $old ]] && mv "$old" "$logs/previous/$(date +%s)-${old##*/}"; done

busy_pid=""
stop_busy() {
  [[ -n "$busy_pid" ]] || return 0
  kill -- -"$busy_pid" 2>/dev/null
  wait "$busy_pid" 2>/dev/null
  busy_pid=""
}
trap stop_busy EXIT
if $busy; then
  busy_dir=$(mktemp -d "${TMPDIR:-/tmp}/flaky-busy.XXXXXX")
  # A process group of its own, so that stopping it stops cargo and every rustc under it.
  set -m
  (
    while true; do
      rm -rf "$busy_dir/target"
      CARGO_TARGET_DIR="$busy_dir/target" cargo build --release --quiet --bin bedrock-usage-mcp \
        >/dev/null 2>&1
    done
  ) &
  busy_pid=$!
  set +m
  echo "busy: cargo build --release looping beside the suite (pid $busy_pid)"
fi

# Test outcomes from cargo test ("test NAME ... ok|FAILED" under "Running BINARY") and from
# nextest ("PASS|FAIL [ time] CRATE::BINARY NAME"), as "BINARY::NAME STATUS" lines.
outcomes() {
  awk '
    /^ *Running / { bin = $2; sub(/^.*\//, "", bin); sub(/\.rs$/, "", bin); next }
    /^test .* \.\.\. (ok|FAILED)$/ { print bin "::" $2, ($NF == "ok" ? "pass" : "fail"); next }
    /^ *(PASS|FAIL|SIGSEGV|SIGABRT|TIMEOUT) \[/ {
      status = ($1 == "PASS") ? "pass" : "fail"
      sub(/^[^]]*\] +/, ""); sub(/^\( *[0-9]+\/[0-9]+\) +/, "")
      split($0, f, " "); name = f[1]; sub(/^[^:]*::/, "", name)
      print name "::" f[2], status
    }
  ' "$1"
}

failed_runs=0
summary=()
for k in $(seq 1 "$runs"); do
  log="$logs/run-$k.log"
  started=$SECONDS
  scripts/test.sh "$@" >"$log" 2>&1
  status=$?
  took=$((SECONDS - started))
  # The runner's own count: nextest's closing "Summary" line, or cargo test's result lines
  # summed (a status line can be cut by another process's output, so these are not counted
  # from the per-test lines).
  counts=$(grep -m1 -oE '[0-9]+ tests run: .*' "$log" \
    || awk '/^test result:/ { p += $4; f += $6 } END { printf "%d passed; %d failed", p, f }' "$log")
  line="run $k: exit $status, ${took} s: $counts"
  echo "$line"
  summary+=("$line")
  if [[ $status -ne 0 ]]; then
    failed_runs=$((failed_runs + 1))
    outcomes "$log" | grep -q ' fail$' || echo "  (no test failed: the run itself failed; see $log)"
  fi
done
stop_busy

echo
echo "failures per test over $runs runs:"
for log in "$logs"/run-*.log; do outcomes "$log" | sort -u; done | awk '$2 == "fail" { n[$1]++ } END { for (t in n) printf "  %3d  %s\n", n[t], t }' | sort -rn
echo "$failed_runs of $runs runs failed"
[[ $failed_runs -eq 0 ]]
