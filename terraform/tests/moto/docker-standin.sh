#!/usr/bin/env bash
# A stand-in for the docker CLI (no Docker engine here), for terraform/image.tf's build: answers
# `login`, and turns `buildx build --tag REPO:TAG --push` into a manifest pushed to ECR under
# TAG (a new digest per build) with $MOTO_PYTHON's boto3. Logs every call to $DOCKER_STANDIN_LOG.
set -euo pipefail
echo "docker $*" >>"$DOCKER_STANDIN_LOG"
case "$1" in
  login) cat >/dev/null; echo "Login Succeeded" ;;
  buildx)
    tag="" prev=""
    for a in "$@"; do [[ "$prev" == "--tag" ]] && tag=$a; prev=$a; done
    "$MOTO_PYTHON" - "$tag" <<'PY'
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
  *) echo "docker stand-in: unexpected $*" >&2; exit 2 ;;
esac
