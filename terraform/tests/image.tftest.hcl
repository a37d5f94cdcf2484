# Where the image comes from: built by Terraform, or given by digest (the pipeline).

mock_provider "aws" {
  source = "./tests/mocks"
}

run "image_uri_bypasses_the_build" {
  command = apply

  variables {
    image_uri = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ci-images@sha256:2222222222222222222222222222222222222222222222222222222222222222"
  }

  assert {
    condition     = length(terraform_data.image) == 0 && length(aws_ecr_repository.this) == 0 && length(data.aws_ecr_image.this) == 0
    error_message = "With image_uri there must be no build, no repository and no image lookup."
  }

  assert {
    condition     = aws_lambda_function.this.image_uri == var.image_uri && output.image_uri == var.image_uri
    error_message = "The function must run the given image."
  }

  assert {
    condition     = output.ecr_repository_url == null && length(terraform_data.deployed_tag) == 0
    error_message = "No repository URL and no deployed tag without a repository."
  }
}

# Plan only: an apply would run the docker build.
run "terraform_builds_the_image_when_none_is_given" {
  command = plan

  assert {
    condition     = length(terraform_data.image) == 1 && length(data.aws_ecr_image.this) == 1
    error_message = "Without image_uri Terraform must build the image and look up its digest."
  }

  assert {
    condition     = aws_ecr_repository.this[0].image_tag_mutability == "IMMUTABLE" && aws_ecr_repository.this[0].image_scanning_configuration[0].scan_on_push
    error_message = "The repository must have immutable tags and scan on push."
  }

  # The live image survives any number of builds that never deploy (failed applies): the
  # deployed-* rule comes first, so no other rule can expire a deployed image.
  assert {
    condition = length(aws_ecr_lifecycle_policy.this) == 1 && [
      for r in jsondecode(aws_ecr_lifecycle_policy.this[0].policy).rules : r.rulePriority if try(r.selection.tagPrefixList, []) == ["deployed-"]
    ] == [min([for r in jsondecode(aws_ecr_lifecycle_policy.this[0].policy).rules : r.rulePriority]...)]
    error_message = "The deployed-* rule must have the highest priority, so no other rule can expire a deployed image."
  }

  assert {
    condition     = alltrue([for r in jsondecode(aws_ecr_lifecycle_policy.this[0].policy).rules : r.selection.tagStatus != "any"])
    error_message = "No rule may select any tag: it would count the live image with the builds that were never deployed."
  }

  assert {
    condition = {
      for r in jsondecode(aws_ecr_lifecycle_policy.this[0].policy).rules : r.selection.tagPrefixList[0] => r.selection.countNumber if r.selection.tagStatus == "tagged"
    } == { "deployed-" = 10, "src-" = 10 }
    error_message = "The repository keeps the 10 newest deployed images and the 10 newest never deployed."
  }

  assert {
    condition     = length(terraform_data.deployed_tag) == 1 && terraform_data.deployed_tag[0].triggers_replace.tag == "deployed-${local.image_tag}" && startswith(local.image_tag, "src-")
    error_message = "Once the function runs the image, Terraform tags it deployed-<image tag>, the prefix the lifecycle keeps."
  }

  assert {
    condition     = can(regex("^src-[0-9a-f]{20}-arm64$", local.image_tag)) && local.image_platform == "linux/arm64"
    error_message = "The tag must derive from the sources and the build must target linux/arm64 by default."
  }

  assert {
    condition     = terraform_data.image[0].triggers_replace.source_hash == local.source_hash && contains(local.source_files, "Cargo.lock") && contains(local.source_files, "docker/Dockerfile") && contains(local.source_files, "src/lib.rs")
    error_message = "The build must re-run when the crate, its lock file or the Dockerfile change."
  }

  # Cargo.toml patches lambda_runtime_api_client from vendor/ (issue 11, defect 4).
  assert {
    condition     = contains(local.source_files, "vendor/lambda_runtime_api_client/Cargo.toml") && length([for f in local.source_files : f if startswith(f, "vendor/lambda_runtime_api_client/src/")]) > 0
    error_message = "The vendored crate (vendor/) is part of the image's sources: a change there must rebuild the image."
  }
}

run "x86_64_builds_for_amd64" {
  command = plan

  variables {
    architecture = "x86_64"
  }

  assert {
    condition     = local.image_platform == "linux/amd64" && endswith(local.image_tag, "-x86_64") && terraform_data.image[0].triggers_replace.architecture == "x86_64"
    error_message = "x86_64 must build for linux/amd64 with its own tag."
  }
}

run "image_uri_must_be_a_digest" {
  command = plan

  variables {
    image_uri = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ci-images:latest"
  }

  expect_failures = [var.image_uri]
}
