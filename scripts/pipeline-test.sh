#!/usr/bin/env bash
# Pipeline checks, all offline (PyPI for the linters only):
#   1. workflows: the threat model of .github/workflows/deploy.yml (scripts/pipeline_checks.py:
#      which job, in which situation, assumes which role, pushes which tag; the saved plan; path
#      filters), and its self-test (each known-bad change to the workflow must be caught);
#   2. source hash: scripts/source-hash.sh and terraform/image.tf give the same hash, a change
#      under vendor/ (and every other context path) changes it, a file outside the build context
#      does not, and a .dockerignore that is not a plain allowlist is refused;
#   3. checkov over .github/workflows: zero failures AND every workflow file scanned (checkov
#      silently drops a file it cannot parse, which once left it scanning nothing);
#   4. zizmor (PyPI) over .github/workflows, offline audits.
# The trust policies themselves are pinned by terraform/bootstrap/tests (run by
# scripts/infra-test.sh). Prints PASS/FAIL per step; exits non-zero if any failed.
#
# Environment: TF_PLUGIN_MIRROR (as scripts/infra-test.sh), PIPELINE_SKIP (steps to skip:
# workflows hash checkov zizmor).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.tools/infra-venv"
work=$(mktemp -d "${TMPDIR:-/tmp}/pipeline-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
skip_var=PIPELINE_SKIP
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

# The linters share scripts/infra-test.sh's venv; zizmor joins checkov there.
ensure_tools() {
  ensure_venv "$venv" "checkov==$CHECKOV_VERSION" "zizmor==$ZIZMOR_VERSION"
}

# --- 1. workflows -------------------------------------------------------------------------------

step_workflows() {
  ensure_tools || return 1
  "$venv/bin/python" "$root/scripts/pipeline_checks.py" || return 1
  echo "--- self-test: known-bad workflows are caught"
  "$venv/bin/python" "$root/scripts/pipeline_checks.py" --self-test
}

# --- 2. source hash -----------------------------------------------------------------------------

tf_setup() {
  tf_cli_config >/dev/null
  export TF_DATA_DIR="$work/tfdata"
  tf_init "$root/terraform" "$TF_DATA_DIR"
}

# tf_hash [SOURCE_DIR]: local.source_hash as terraform/image.tf computes it.
tf_hash() {
  local args=()
  [[ -n "${1:-}" ]] && args=(-var "image_build={\"source_dir\":\"$1\"}")
  echo 'local.source_hash' | terraform -chdir="$root/terraform" console -no-color "${args[@]}" 2>"$work/console.err" \
    | grep -Eo '"[0-9a-f]{64}"' | tail -1 | tr -d '"'
}

step_hash() {
  local rc=0 script_hash tf copy h0 h1 p f
  tf_setup || return 1

  script_hash=$("$root/scripts/source-hash.sh") || return 1
  tf=$(tf_hash)
  if [[ -n "$tf" && "$tf" == "$script_hash" ]]; then
    echo "ok    scripts/source-hash.sh and terraform/image.tf agree: $script_hash"
  else
    echo "FAIL  scripts/source-hash.sh ($script_hash) and terraform/image.tf (${tf:-no value}) differ"
    cat "$work/console.err"
    rc=1
  fi

  # The script's reading of the allowlist is Docker's: the same files as .dockerignore's rules
  # (implemented as Docker does in scripts/image_rehearsal.py) let into the build context.
  if diff <("$root/scripts/source-hash.sh" --list | grep -vxE 'docker/Dockerfile|\.dockerignore') \
      <(python3 "$root/scripts/image_rehearsal.py" --list-context | LC_ALL=C sort) >"$work/context.diff"; then
    echo "ok    scripts/source-hash.sh hashes exactly Docker's build context ($(wc -l <"$work/context.diff" | tr -d ' ') differences)"
  else
    echo "FAIL  scripts/source-hash.sh and Docker's .dockerignore rules disagree:"
    cat "$work/context.diff"
    rc=1
  fi

  # A copy of exactly the listed files: same hash, so nothing else feeds it.
  copy="$work/context"
  mkdir -p "$copy"
  copy_build_context "$copy"
  h0=$("$root/scripts/source-hash.sh" --root "$copy")
  [[ "$h0" == "$script_hash" ]] && echo "ok    the listed files alone give the same hash" \
    || { echo "FAIL  the listed files alone give $h0"; rc=1; }

  # A file outside the build context changes nothing.
  echo "not in the image" >"$copy/README.md"
  mkdir -p "$copy/terraform" && echo "# not in the image" >"$copy/terraform/x.tf"
  [[ "$("$root/scripts/source-hash.sh" --root "$copy")" == "$h0" ]] && echo "ok    files outside the build context do not change the hash" \
    || { echo "FAIL  a file outside the build context changed the hash"; rc=1; }

  # Every path the context lets in changes it, vendor/ included (issue 11, defect 4).
  while IFS= read -r p; do
    f=$(cd "$copy" && find "$p" -type f | LC_ALL=C sort | head -1)
    [[ -n "$f" ]] || continue
    cp -p "$copy/$f" "$work/saved"
    echo "// changed" >>"$copy/$f"
    h1=$("$root/scripts/source-hash.sh" --root "$copy")
    if [[ "$h1" != "$h0" ]]; then
      echo "ok    a change in $f changes the hash"
    else
      echo "FAIL  a change in $f does not change the hash"
      rc=1
    fi
    if [[ "$p" == vendor ]]; then
      tf=$(tf_hash "$copy")
      [[ "$tf" == "$h1" ]] && echo "ok    terraform/image.tf sees the vendor/ change too ($h1)" \
        || { echo "FAIL  terraform/image.tf gives ${tf:-no value} for the vendor/ change, the script $h1"; cat "$work/console.err"; rc=1; }
    fi
    cp -p "$work/saved" "$copy/$f"
  done < <(sed -nE 's/^[[:space:]]*!([^[:space:]]+)[[:space:]]*$/\1/p' "$root/.dockerignore" | sed 's:/$::')
  grep -q '^!vendor' "$root/.dockerignore" || { echo "FAIL  .dockerignore does not let vendor/ into the build context"; rc=1; }

  # Anything but "*" and plain "!path" lines is refused (the script could not match Docker).
  for bad in '**/*.rs' '!src/*.rs' 'target'; do
    printf '*\n!Cargo.toml\n%s\n' "$bad" >"$copy/.dockerignore"
    if "$root/scripts/source-hash.sh" --root "$copy" >/dev/null 2>&1; then
      echo "FAIL  a .dockerignore line '$bad' is accepted by scripts/source-hash.sh"
      rc=1
    else
      echo "ok    a .dockerignore line '$bad' is refused by scripts/source-hash.sh"
    fi
  done
  # ... and by terraform/image.tf's precondition (a test run in a copy of the root, so that
  # terraform/tests stays as it is).
  printf '*\n!Cargo.toml\n**/*.rs\n' >"$copy/.dockerignore"
  local tfcopy="$work/root-copy"
  mkdir -p "$tfcopy/tests"
  cp "$root"/terraform/*.tf "$root/terraform/.terraform.lock.hcl" "$tfcopy/"
  cp -r "$root/terraform/tests/mocks" "$tfcopy/tests/"
  cat >"$tfcopy/tests/dockerignore.tftest.hcl" <<EOF
mock_provider "aws" {
  source = "./tests/mocks"
}

run "a_dockerignore_that_is_not_an_allowlist_is_refused" {
  command = plan
  variables {
    image_build = { source_dir = "$copy" }
  }
  expect_failures = [terraform_data.image]
}
EOF
  if TF_DATA_DIR="$work/tfdata-copy" terraform -chdir="$tfcopy" init -backend=false -lockfile=readonly -input=false -no-color >"$work/init-copy.log" 2>&1 \
    && TF_DATA_DIR="$work/tfdata-copy" terraform -chdir="$tfcopy" test -no-color >"$work/test-copy.log" 2>&1; then
    echo "ok    a .dockerignore line '**/*.rs' is refused by terraform/image.tf (precondition)"
  else
    cat "$work/init-copy.log" "$work/test-copy.log"
    echo "FAIL  terraform/image.tf accepts a .dockerignore that is not an allowlist"
    rc=1
  fi
  return $rc
}

# --- 3. checkov ---------------------------------------------------------------------------------

step_checkov() {
  ensure_tools || return 1
  "$venv/bin/checkov" --skip-download --output json -d "$root/.github" --framework github_actions \
    >"$work/checkov.json" 2>"$work/checkov.err"
  "$venv/bin/python" - "$work/checkov.json" "$root/.github/workflows" <<'EOF'
import json, os, sys
reports = json.load(open(sys.argv[1]))
reports = reports if isinstance(reports, list) else [reports]
workflows = sorted(f for f in os.listdir(sys.argv[2]) if f.endswith((".yml", ".yaml")))
scanned, failed, skipped = {}, [], []
for r in reports:
    res = r.get("results", {})
    for kind in ("passed_checks", "failed_checks", "skipped_checks"):
        for c in res.get(kind, []):
            name = os.path.basename(c["file_path"])
            scanned[name] = scanned.get(name, 0) + 1
            if kind == "failed_checks":
                failed.append(f"{c['check_id']} {name}: {c['check_name']}")
rc = 0
for w in workflows:
    n = scanned.get(w, 0)
    print(f"{'ok   ' if n else 'FAIL '} checkov checked .github/workflows/{w}: {n} results")
    rc |= n == 0
for f in failed:
    print(f"FAIL  {f}")
print(f"checkov github_actions: {len(workflows)} workflows, {sum(scanned.values())} results, {len(failed)} failed")
sys.exit(1 if rc or failed or not workflows else 0)
EOF
}

# --- 4. zizmor ----------------------------------------------------------------------------------

step_zizmor() {
  ensure_tools || return 1
  "$venv/bin/zizmor" --offline --no-progress --format plain "$root/.github/workflows"
}

step "workflows: deploy.yml threat model and its self-test" step_workflows
step "hash: scripts/source-hash.sh = terraform/image.tf, covers vendor/" step_hash
step "checkov: every workflow scanned, zero failures" step_checkov
step "zizmor: .github/workflows (offline audits)" step_zizmor

summary pipeline
