# Builds and pushes the image when no prebuilt image_uri is given, and deploys it by digest.
#
# The build re-runs when any file the Docker build reads changes (the hash below); the tag is
# derived from that hash, so the immutable repository never sees the same tag twice, and an
# image already pushed for these sources is reused instead of being rebuilt.

locals {
  build_image = var.image_uri == null

  source_dir = abspath(coalesce(var.image_build.source_dir, "${path.module}/.."))

  # What docker/Dockerfile copies into the build (see .dockerignore).
  source_files = local.build_image ? sort(concat(
    tolist(fileset(local.source_dir, "src/**")),
    [for f in ["Cargo.toml", "Cargo.lock", "build.rs", ".dockerignore", "docker/Dockerfile"] : f if fileexists("${local.source_dir}/${f}")],
  )) : []
  source_hash = local.build_image ? sha256(join("\n", [
    for f in local.source_files : "${f} ${filesha256("${local.source_dir}/${f}")}"
  ])) : null

  image_tag      = local.build_image ? "src-${substr(local.source_hash, 0, 20)}-${var.architecture}" : null
  image_platform = var.architecture == "arm64" ? "linux/arm64" : "linux/amd64"

  image_uri = local.build_image ? "${aws_ecr_repository.this[0].repository_url}@${data.aws_ecr_image.this[0].image_digest}" : var.image_uri
}

resource "terraform_data" "image" {
  count = local.build_image ? 1 : 0

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
    # Needs the AWS CLI and docker with buildx (plus QEMU binfmt when building arm64 on x86).
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
