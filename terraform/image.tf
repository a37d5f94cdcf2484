# Builds and pushes the image when no prebuilt image_uri is given, and deploys it by digest.
#
# The build re-runs when any file the Docker build reads changes (the hash below); the tag is
# derived from that hash, so the immutable repository never sees the same tag twice, and an
# image already pushed for these sources is reused instead of being rebuilt.

locals {
  build_image = var.image_uri == null

  source_dir = abspath(coalesce(var.image_build.source_dir, "${path.module}/.."))

  # The image's sources: the build context that .dockerignore lets through, plus the Dockerfile
  # and .dockerignore. .dockerignore is an allowlist ("*", then "!path" lines), the one place
  # that names them; scripts/source-hash.sh reads it the same way and computes the same hash
  # (the pipeline's image tag), and scripts/pipeline-test.sh checks that both agree. The
  # hashicorp/external provider could call the script instead, but it would add a provider to
  # download (and lock) for every user, and the script needs bash.
  dockerignore_lines = local.build_image ? [
    for l in split("\n", file("${local.source_dir}/.dockerignore")) : trimspace(l)
    if trimspace(l) != "" && !startswith(trimspace(l), "#")
  ] : []
  context_paths = [for l in local.dockerignore_lines : trimsuffix(trimprefix(trimprefix(l, "!"), "./"), "/") if startswith(l, "!")]
  dockerignore_is_allowlist = !local.build_image || (
    try(local.dockerignore_lines[0], "") == "*" &&
    alltrue([for l in slice(local.dockerignore_lines, min(1, length(local.dockerignore_lines)), length(local.dockerignore_lines)) : startswith(l, "!")]) &&
    alltrue([for p in local.context_paths : can(regex("^[^/*?\\[\\]\\\\][^*?\\[\\]\\\\]*$", p)) && !strcontains(p, "..")])
  )

  source_files = local.build_image ? sort(distinct(concat(
    flatten([for p in local.context_paths : concat(tolist(fileset(local.source_dir, p)), tolist(fileset(local.source_dir, "${p}/**")))]),
    ["docker/Dockerfile", ".dockerignore"],
  ))) : []
  # sha256 of "<sha256>  <path>" lines joined by "\n" (sha256sum's format, as the script does).
  source_hash = local.build_image ? sha256(join("\n", [
    for f in local.source_files : "${filesha256("${local.source_dir}/${f}")}  ${f}"
  ])) : null

  image_tag = local.build_image ? "src-${substr(local.source_hash, 0, 20)}-${var.architecture}" : null
  # Added to the image once the function runs it; ecr.tf's lifecycle keeps deployed-* images.
  # One per image (the source hash), so deploying the same image again adds nothing.
  deployed_tag_prefix = "deployed-"
  deployed_tag        = local.build_image ? "${local.deployed_tag_prefix}${local.image_tag}" : null
  image_platform      = var.architecture == "arm64" ? "linux/arm64" : "linux/amd64"

  image_uri = local.build_image ? "${aws_ecr_repository.this[0].repository_url}@${data.aws_ecr_image.this[0].image_digest}" : var.image_uri
}

resource "terraform_data" "image" {
  count = local.build_image ? 1 : 0

  lifecycle {
    precondition {
      condition     = local.dockerignore_is_allowlist
      error_message = ".dockerignore must be an allowlist: a \"*\" line, then only \"!path\" lines with plain relative paths (no wildcards). terraform/image.tf and scripts/source-hash.sh hash exactly those paths."
    }
  }

  triggers_replace = {
    source_hash  = local.source_hash
    repository   = aws_ecr_repository.this[0].repository_url
    architecture = var.architecture
  }

  provisioner "local-exec" {
    interpreter = ["/bin/bash", "-c"]
    environment = {
      AWS_REGION      = local.region
      DOCKER          = var.image_build.docker
      SOURCE_DIR      = local.source_dir
      REPOSITORY_NAME = aws_ecr_repository.this[0].name
      REPOSITORY_URL  = aws_ecr_repository.this[0].repository_url
      IMAGE_TAG       = local.image_tag
      PLATFORM        = local.image_platform
      LAMBDA_ARCH     = var.architecture
    }
    # Needs the AWS CLI and docker with buildx. The Dockerfile cross-compiles (cargo-zigbuild), so
    # an arm64 image builds on an x86_64 machine without QEMU.
    command = <<-EOT
      set -euo pipefail
      if aws ecr describe-images --region "$AWS_REGION" --repository-name "$REPOSITORY_NAME" \
          --image-ids imageTag="$IMAGE_TAG" >/dev/null 2>&1; then
        echo "image $REPOSITORY_URL:$IMAGE_TAG is already pushed"
        exit 0
      fi
      aws ecr get-login-password --region "$AWS_REGION" \
        | "$DOCKER" login --username AWS --password-stdin "$${REPOSITORY_URL%%/*}"
      "$DOCKER" buildx build \
        --platform "$PLATFORM" \
        --provenance=false --sbom=false \
        --build-arg LAMBDA_ARCH="$LAMBDA_ARCH" \
        --file "$SOURCE_DIR/docker/Dockerfile" \
        --tag "$REPOSITORY_URL:$IMAGE_TAG" \
        --push \
        "$SOURCE_DIR"
    EOT
  }
}

data "aws_ecr_image" "this" {
  count = local.build_image ? 1 : 0

  repository_name = aws_ecr_repository.this[0].name
  image_tag       = local.image_tag

  depends_on = [terraform_data.image]
}

# Once the function runs the image (this depends on the function's image_uri, so a failed update
# of the function tags nothing), tag it deployed-src-<hash>-<arch>: ecr.tf's lifecycle never
# expires it for newer builds that were not deployed. Same AWS CLI as the build.
resource "terraform_data" "deployed_tag" {
  count = local.build_image ? 1 : 0

  triggers_replace = {
    image_uri = aws_lambda_function.this.image_uri
    tag       = local.deployed_tag
  }

  provisioner "local-exec" {
    interpreter = ["/bin/bash", "-c"]
    environment = {
      AWS_REGION      = local.region
      REPOSITORY_NAME = aws_ecr_repository.this[0].name
      DIGEST          = data.aws_ecr_image.this[0].image_digest
      TAG             = local.deployed_tag
    }
    command = <<-EOT
      set -euo pipefail
      if aws ecr describe-images --region "$AWS_REGION" --repository-name "$REPOSITORY_NAME" \
          --image-ids imageTag="$TAG" >/dev/null 2>&1; then
        echo "the deployed image is already tagged $TAG"
        exit 0
      fi
      manifest=$(aws ecr batch-get-image --region "$AWS_REGION" --repository-name "$REPOSITORY_NAME" \
        --image-ids imageDigest="$DIGEST" --query 'images[0].imageManifest' --output text)
      aws ecr put-image --region "$AWS_REGION" --repository-name "$REPOSITORY_NAME" \
        --image-tag "$TAG" --image-manifest "$manifest" --query 'image.imageId' --output text
    EOT
  }
}
