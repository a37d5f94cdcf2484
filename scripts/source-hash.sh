#!/usr/bin/env bash
# The source hash of the Lambda image: one SHA-256 over every file the Docker build reads.
#
#   scripts/source-hash.sh [--root DIR]             the hash (64 hex digits)
#   scripts/source-hash.sh [--root DIR] --tag ARCH  the image tag: src-<first 20 digits>-ARCH
#   scripts/source-hash.sh [--root DIR] --list      the files, one per line
#
# The files are the build context that .dockerignore lets through, plus docker/Dockerfile and
# .dockerignore. .dockerignore must be an allowlist: a "*" line, then "!path" lines naming files
# or folders (a folder brings everything under it); comments and blank lines are allowed, nothing
# else is (the script fails), so that this list is exactly what Docker sends.
#
# The hash is sha256 of the lines "<sha256 of the file>  <path>" (sha256sum's format), sorted by
# path in byte order and joined by "\n" without a final newline. terraform/image.tf computes the
# same value with fileset()/filesha256() (no extra provider); scripts/pipeline-test.sh checks
# that both agree, and that a change under every listed path changes the hash.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
mode=hash
arch=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --root) root=$(cd "$2" && pwd); shift 2 ;;
    --list) mode=list; shift ;;
    --tag) mode=tag; arch=${2:?--tag needs an architecture (arm64 or x86_64)}; shift 2 ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "source-hash.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done

ignore="$root/.dockerignore"
[[ -f "$ignore" ]] || { echo "source-hash.sh: $ignore not found" >&2; exit 1; }

# context_paths: the "!path" entries of the allowlist, after checking its grammar.
context_paths() {
  local line n=0 seen_star=0
  while IFS= read -r line || [[ -n "$line" ]]; do
    n=$((n + 1))
    line=${line%$'\r'}
    line="${line#"${line%%[![:space:]]*}"}"
    line="${line%"${line##*[![:space:]]}"}"
    [[ -z "$line" || "$line" == \#* ]] && continue
    if [[ "$line" == "*" && $seen_star -eq 0 ]]; then
      seen_star=1
      continue
    fi
    if [[ $seen_star -eq 0 || "$line" != !* ]]; then
      echo "source-hash.sh: .dockerignore line $n ($line): expected \"*\" first, then only \"!path\" lines" >&2
      return 1
    fi
    line=${line#!}
    line=${line#./}
    line=${line%/}
    if [[ -z "$line" || "$line" == /* || "$line" == *[\*\?\[\]\\]* || "$line" == *..* ]]; then
      echo "source-hash.sh: .dockerignore line $n (!$line): only plain relative paths, no wildcards" >&2
      return 1
    fi
    echo "$line"
  done <"$ignore"
  [[ $seen_star -eq 1 ]] || { echo "source-hash.sh: .dockerignore must start with \"*\" (an allowlist)" >&2; return 1; }
}

paths=$(context_paths)
files=$(
  cd "$root"
  {
    while IFS= read -r p; do
      [[ -e "$p" ]] || continue
      find "$p" -type f
    done <<<"$paths"
    echo "docker/Dockerfile"
    echo ".dockerignore"
  } | LC_ALL=C sort -u
)
if grep -q '[\\[:cntrl:]]' <<<"$files"; then
  echo "source-hash.sh: a file name holds a backslash or a control character" >&2
  exit 1
fi

case "$mode" in
  list) echo "$files" ;;
  hash | tag)
    lines=$(cd "$root" && while IFS= read -r f; do sha256sum -- "$f"; done <<<"$files")
    hash=$(printf '%s' "$lines" | sha256sum | cut -c1-64)
    if [[ $mode == tag ]]; then
      echo "src-${hash:0:20}-${arch}"
    else
      echo "$hash"
    fi
    ;;
esac
