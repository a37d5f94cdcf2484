# Shared by scripts/infra-test.sh and scripts/pipeline-test.sh (sourced, not run): the step
# runner and its summary, the pinned linters' venv, and an offline Terraform CLI configuration.
# The sourcing script sets root, work (a temporary directory it removes) and skip_var (the name
# of its environment variable listing steps to skip).

CHECKOV_VERSION=3.3.30
HADOLINT_VERSION=2.15.1
ZIZMOR_VERSION=1.32.0
PYTHON_HCL2_VERSION=8.1.4

results=()
failed=0
start_all=$SECONDS

# step NAME COMMAND...: runs one step, records PASS/FAIL and its duration. A step whose first
# word (before any colon) is listed in the variable named by skip_var is recorded as SKIP.
step() {
  local name=$1
  shift
  if [[ " ${!skip_var:-} " == *" ${name%%:*} "* ]]; then
    results+=("SKIP  $name ($skip_var)")
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

# summary LABEL: prints every step's result and "N passed, N failed"; returns non-zero if any
# step failed.
summary() {
  local r passed=0
  echo
  echo "=== $1 summary ($((SECONDS - start_all)) s)"
  printf '%s\n' "${results[@]}"
  for r in "${results[@]}"; do [[ $r == PASS* ]] && passed=$((passed + 1)); done
  echo "$1: $passed passed, $failed failed"
  [[ $failed -eq 0 ]]
}

# ensure_venv DIR [PACKAGE==VERSION...]: a venv at DIR (git-ignored under .tools/) holding each
# package at exactly its pinned version; installs only what is missing or differs.
ensure_venv() {
  local dir=$1
  shift
  if [[ ! -x "$dir/bin/python" ]]; then
    python3 -m venv "$dir" >&2 || return 1
  fi
  [[ $# -eq 0 ]] && return 0
  if ! "$dir/bin/python" - "$@" 2>/dev/null <<'EOF'
import sys, importlib.metadata as m
for pin in sys.argv[1:]:
    name, version = pin.split("==")
    assert m.version(name) == version, pin
EOF
  then
    echo "installing $* into ${dir#"$root"/}" >&2
    "$dir/bin/pip" install --quiet --disable-pip-version-check "$@" >&2 || return 1
  fi
}

# tf_cli_config: an offline Terraform CLI configuration in $work (providers from a filesystem
# mirror: TF_PLUGIN_MIRROR or the first usual place that holds hashicorp/aws; without one,
# `terraform init` downloads from the registry, as on GitHub runners), exported with
# TF_CLI_CONFIG_FILE and the automation settings. Never lets a developer's AWS settings in.
tf_cli_config() {
  local mirror=${TF_PLUGIN_MIRROR:-} d
  if [[ -z "$mirror" ]]; then
    for d in /opt/tf-plugins "$HOME/.terraform.d/plugins" /usr/local/share/terraform/plugins /usr/share/terraform/plugins; do
      [[ -d "$d/registry.terraform.io/hashicorp/aws" ]] && mirror=$d && break
    done
  fi
  export TF_CLI_CONFIG_FILE="$work/terraform.rc" TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
  if [[ -n "$mirror" ]]; then
    printf 'provider_installation {\n  filesystem_mirror {\n    path    = "%s"\n    include = ["registry.terraform.io/hashicorp/*"]\n  }\n}\n' "$mirror" >"$TF_CLI_CONFIG_FILE"
    echo "terraform: providers from the filesystem mirror $mirror"
  else
    mkdir -p "$work/plugin-cache"
    printf 'plugin_cache_dir = "%s"\n' "$work/plugin-cache" >"$TF_CLI_CONFIG_FILE"
    echo "terraform: no filesystem mirror found; providers come from the registry"
  fi
  unset AWS_PROFILE AWS_ENDPOINT_URL AWS_SESSION_TOKEN
}

# tf_init DIR DATA_DIR [ARGS...]: offline init against the committed lock file (its log in $work).
tf_init() {
  local dir=$1 data=$2
  shift 2
  TF_DATA_DIR="$data" terraform -chdir="$dir" init -backend=false -lockfile=readonly -no-color -input=false "$@" >"$work/init.log" 2>&1 \
    || { cat "$work/init.log"; return 1; }
}

# copy_build_context DEST: a copy of exactly the files scripts/source-hash.sh hashes (the
# paths .dockerignore lets into the image's build context), with their modes and times.
copy_build_context() {
  local dest=$1 f
  (cd "$root" && "$root/scripts/source-hash.sh" --list | while IFS= read -r f; do
    mkdir -p "$dest/$(dirname "$f")" && cp -p "$f" "$dest/$f"
  done)
}
