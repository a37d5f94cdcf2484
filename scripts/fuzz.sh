#!/usr/bin/env bash
# The long fuzz run: the property-based fuzz targets (tests/fuzz_*) with many random cases.
#
#   scripts/fuzz.sh [CASES] [SEED]
#
# CASES: random cases per target after the checked-in corpus (default 20000; the test suite
# runs a few hundred). SEED: the run's seed (default: from the clock). Each target prints its
# seed first; a failure names the case (FUZZ_SEED=… FUZZ_CASE=…) and saves its input under
# target/fuzz-failures/<target>/, ready to be added to tests/data/fuzz/<target>/ with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."

cases=${1:-20000}
seed=${2:-$(date +%s)}
[[ $cases =~ ^[0-9]+$ && $seed =~ ^[0-9]+$ ]] || { echo "usage: scripts/fuzz.sh [CASES] [SEED]" >&2; exit 2; }

export FUZZ_CASES=$cases FUZZ_SEED=$seed
status=0
for target in fuzz_request_path fuzz_usage_records; do
  echo "--- $target: FUZZ_CASES=$cases FUZZ_SEED=$seed"
  started=$SECONDS
  cargo test --test "$target" -- --nocapture || status=1
  echo "--- $target: $((SECONDS - started)) s"
done
exit $status
