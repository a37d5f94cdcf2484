#!/usr/bin/env bash
# Image build rehearsal: replays every stage of docker/Dockerfile here, without Docker or a
# registry (scripts/image_rehearsal.py does the work; its docstring says what is real and what
# the host stands in for).
#
#   scripts/image-rehearsal.sh               build context from .dockerignore, each COPY as
#                                            written, the real `cargo chef prepare`, `cargo chef
#                                            cook` and `cargo zigbuild --locked`, then checks that
#                                            the binary is at /var/runtime/bootstrap, links
#                                            against glibc <= 2.34 and runs
#   scripts/image-rehearsal.sh --self-test   the rehearsal must FAIL (before compiling anything)
#                                            when vendor/ is left out of the build context, when
#                                            the Dockerfile does not copy vendor/ before `cargo
#                                            chef cook` (issue 11, defect 1), and when the
#                                            toolchain stage stops installing a tool the host
#                                            stands in for
#   scripts/image-rehearsal.sh [options]     --dockerfile F, --drop PATH, --build-arg K=V,
#                                            --profile fast|dockerfile, --keep (see --help)
#
# Environment: REHEARSAL_PROFILE (fast: the release profile without optimisation, LTO or few
# codegen units; dockerfile: the crate's release profile as the image builds it),
# REHEARSAL_TARGET_DIR (cargo's target directory, default .tools/rehearsal-target, kept between
# runs as a cache; separate from target/ so that it never waits on another cargo's lock).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
py="$root/scripts/image_rehearsal.py"

# expect_failure NAME REGEX ARGS...: the rehearsal must fail, and its output must match REGEX.
expect_failure() {
  local name=$1 regex=$2 out rc
  shift 2
  echo "--- self-test: $name"
  set +e
  out=$(python3 "$py" "$@" 2>&1)
  rc=$?
  set -e
  if [[ $rc -eq 0 ]]; then
    echo "$out" | tail -20
    echo "self-test FAILED: the rehearsal passed, but $name must fail"
    return 1
  fi
  if ! grep -Eq "$regex" <<<"$out"; then
    echo "$out" | tail -30
    echo "self-test FAILED: the rehearsal failed, but not with /$regex/"
    return 1
  fi
  grep -E "image rehearsal FAILED|$regex" <<<"$out" | head -4 | sed 's/^/    /'
  echo "ok    $name: fails as it must"
}

if [[ "${1:-}" == "--self-test" ]]; then
  shift
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/rehearsal-self-test.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  t0=$SECONDS
  # 1. vendor/ left out of the context (e.g. by .dockerignore): cargo cannot read the [patch].
  expect_failure "vendor/ left out of the build context" 'vendor(/lambda_runtime_api_client| not found)' \
    --drop vendor --workdir "$tmp" "$@"
  # 2. Today's defect: the builder stage cooks the recipe without vendor/.
  grep -Ev '^COPY +vendor/? +vendor/?$' "$root/docker/Dockerfile" >"$tmp/Dockerfile.no-vendor" || true
  removed=$(($(wc -l <"$root/docker/Dockerfile") - $(wc -l <"$tmp/Dockerfile.no-vendor")))
  if [[ $removed -ne 1 ]]; then
    echo "self-test FAILED: expected exactly one 'COPY vendor vendor' line in docker/Dockerfile to remove, found $removed (update this self-test)"
    exit 1
  fi
  expect_failure "builder stage cooks without vendor/ (issue 11 defect 1)" 'vendor/lambda_runtime_api_client' \
    --dockerfile "$tmp/Dockerfile.no-vendor" --workdir "$tmp" "$@"
  # 3. The host stands in for the toolchain stage only for what that stage installs.
  sed 's/ && cargo install cargo-chef --locked --version "${CARGO_CHEF_VERSION}"//' \
    "$root/docker/Dockerfile" >"$tmp/Dockerfile.no-chef"
  if cmp -s "$root/docker/Dockerfile" "$tmp/Dockerfile.no-chef"; then
    echo "self-test FAILED: found no 'cargo install cargo-chef' to remove from docker/Dockerfile (update this self-test)"
    exit 1
  fi
  expect_failure "toolchain stage without cargo-chef" 'ARG CARGO_CHEF_VERSION is used by no RUN' \
    --dockerfile "$tmp/Dockerfile.no-chef" --workdir "$tmp" "$@"
  echo "image rehearsal self-test passed in $((SECONDS - t0)) s"
  exit 0
fi

exec python3 "$py" "$@"
