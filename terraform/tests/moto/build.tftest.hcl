# Nothing set but the build: Terraform builds the image (docker-standin.sh stands in for the
# docker CLI and pushes a manifest to moto; the AWS CLI calls of ../../image.tf go to moto for
# real), deploys it by digest and tags it deployed-* in its own repository, whose lifecycle then
# keeps it. Applied again with the same sources, it builds nothing and replaces nothing.
#
# Variables from scripts/infra-test.sh: python, work, source_dir (a copy of the build context,
# so that edits in the work tree during the run cannot change the hash), docker_standin and
# docker_log (the stand-in's log, which it reads from $DOCKER_STANDIN_LOG).

run "build" {
  variables {
    image_build = { source_dir = var.source_dir, docker = var.docker_standin }
  }

  # A fresh account: the plan warns that the Bedrock log group does not exist.
  expect_failures = [check.bedrock_log_group_exists]
}

run "build_read_back" {
  module {
    source = "./tests/moto/probe"
  }

  variables {
    out            = "${var.work}/build.json"
    function_name  = run.build.function_name
    ecr_repository = element(split("/", run.build.ecr_repository_url), 1)
    image_digest   = element(split("@", run.build.image_uri), 1)
  }

  assert {
    condition     = length(regexall("(?m)^docker buildx", file(var.docker_log))) == 1
    error_message = "One build: ${file(var.docker_log)}"
  }

  assert {
    condition     = data.aws_lambda_function.this[0].image_uri == run.build.image_uri && startswith(run.build.image_uri, "${run.build.ecr_repository_url}@sha256:")
    error_message = "The function must run the built image by digest: ${data.aws_lambda_function.this[0].image_uri}"
  }

  assert {
    condition = length([for t in data.aws_ecr_image.built[0].image_tags : t if startswith(t, "src-")]) == 1 && toset(data.aws_ecr_image.built[0].image_tags) == toset(flatten([
      for t in data.aws_ecr_image.built[0].image_tags : [t, "deployed-${t}"] if startswith(t, "src-")
    ]))
    error_message = "The deployed image must be tagged src-* and deployed-src-*: ${jsonencode(data.aws_ecr_image.built[0].image_tags)}"
  }

  assert {
    condition = [
      for r in jsondecode(jsondecode(file(var.out)).lifecycle.lifecyclePolicyText).rules : try(r.selection.tagPrefixList, null)
      if r.rulePriority == min([for x in jsondecode(jsondecode(file(var.out)).lifecycle.lifecyclePolicyText).rules : x.rulePriority]...)
    ] == [["deployed-"]] && alltrue([for r in jsondecode(jsondecode(file(var.out)).lifecycle.lifecyclePolicyText).rules : r.selection.tagStatus != "any"])
    error_message = "The lifecycle must keep deployed-* first and select no rule by any tag."
  }
}

# The same sources again: a plan that replaces nothing (a resource to be replaced has an id
# unknown until apply, and a condition on it cannot be evaluated: the run fails) ...
run "same_sources_plan_replaces_nothing" {
  command = plan

  variables {
    image_build = { source_dir = var.source_dir, docker = var.docker_standin }
  }

  # A fresh account: the plan warns that the Bedrock log group does not exist.
  expect_failures = [check.bedrock_log_group_exists]

  assert {
    condition = alltrue([
      terraform_data.image[0].id != "",
      terraform_data.deployed_tag[0].id != "",
      aws_lambda_function.this.arn != "",
      aws_ecr_repository.this[0].arn != "",
      aws_api_gateway_rest_api.this.id != "",
      aws_api_gateway_deployment.this.id != "",
      aws_api_gateway_stage.this.id != "",
      aws_dynamodb_table.this.arn != "",
    ])
    error_message = "A second plan of the same sources must replace nothing."
  }
}

# ... and whose apply builds nothing and pushes no new image.
run "same_sources_again" {
  variables {
    image_build = { source_dir = var.source_dir, docker = var.docker_standin }
  }

  # A fresh account: the plan warns that the Bedrock log group does not exist.
  expect_failures = [check.bedrock_log_group_exists]

  assert {
    condition     = output.image_uri == run.build.image_uri && output.rest_api_id == run.build.rest_api_id
    error_message = "The same sources again must deploy the same image on the same API."
  }

  assert {
    condition     = length(regexall("(?m)^docker buildx", file(var.docker_log))) == 1
    error_message = "The same sources again must not build: ${file(var.docker_log)}"
  }
}

# The probe again with nothing to look up, so that its state holds no data source that fails to
# read once the teardown has destroyed the deployment.
run "probe_reset" {
  module {
    source = "./tests/moto/probe"
  }

  variables {
    out = "${var.work}/reset.json"
  }
}
