# The CI roles: who may assume them, what each may do, and what the pipeline's ECR lifecycle may
# expire (issue 11, points 5-7). scripts/pipeline-test.sh pins the workflow side of the same
# model (which job asks for which role, which jobs push which tags).

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  github_repository = "acme/bedrock-usage-mcp"
}

run "roles_are_pinned_to_the_repository" {
  command = apply

  assert {
    condition = jsondecode(aws_iam_role.apply.assume_role_policy).Statement[0].Condition.StringEquals == {
      "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com"
      "token.actions.githubusercontent.com:sub" = ["repo:acme/bedrock-usage-mcp:environment:production"]
    }
    error_message = "Only jobs of the production environment of this repository may assume the apply role."
  }

  assert {
    condition = toset(jsondecode(aws_iam_role.plan.assume_role_policy).Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:sub"]) == toset([
      "repo:acme/bedrock-usage-mcp:environment:plan",
      "repo:acme/bedrock-usage-mcp:ref:refs/heads/main",
    ])
    error_message = "The plan role is for the reviewed plan environment (pull requests) and the main branch."
  }

  # Point 5: a pull request runs its own copy of the workflow; no role may trust that subject.
  assert {
    condition     = jsondecode(aws_iam_role.image.assume_role_policy).Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:sub"] == ["repo:acme/bedrock-usage-mcp:ref:refs/heads/main"]
    error_message = "The image role (the only one that pushes images) is for the main branch only."
  }

  assert {
    condition = alltrue([for p in [aws_iam_role.image, aws_iam_role.plan, aws_iam_role.apply] : alltrue([
      for sub in flatten([jsondecode(p.assume_role_policy).Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:sub"]]) :
      !endswith(sub, ":pull_request") && !strcontains(sub, "*") && startswith(sub, "repo:acme/bedrock-usage-mcp:")
    ])])
    error_message = "No role may trust pull_request tokens or a wildcard subject, or another repository."
  }

  assert {
    condition     = alltrue([for p in [aws_iam_role.image, aws_iam_role.plan, aws_iam_role.apply] : length(jsondecode(p.assume_role_policy).Statement) == 1 && jsondecode(p.assume_role_policy).Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com" && !can(jsondecode(p.assume_role_policy).Statement[0].Condition.StringLike)])
    error_message = "Each trust policy is one statement with exact (StringEquals) audience and subjects."
  }

  # Only the image role can push, and only to the pipeline's repository.
  assert {
    condition     = alltrue([for s in jsondecode(aws_iam_role_policy.image.policy).Statement : s.Resource == "*" ? s.Action == ["ecr:GetAuthorizationToken"] : s.Resource == aws_ecr_repository.ci.arn])
    error_message = "The image role pushes to the pipeline's repository only."
  }

  assert {
    condition = length([for a in flatten(concat(
      [for s in jsondecode(aws_iam_role_policy.plan.policy).Statement : s.Action],
      [for s in jsondecode(aws_iam_role_policy.apply.policy).Statement : s.Action],
      [for s in jsondecode(aws_iam_role_policy.apply_read.policy).Statement : s.Action],
    )) : a if contains(["ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:BatchDeleteImage"], a)]) == 0
    error_message = "Neither the plan nor the apply role may push or delete images."
  }

  # Point 6: which roles can read the production state (it holds the API key).
  assert {
    condition     = length([for s in jsondecode(aws_iam_role_policy.image.policy).Statement : s if anytrue([for a in flatten([s.Action]) : startswith(a, "s3:") || startswith(a, "lambda:") || startswith(a, "apigateway:")])]) == 0
    error_message = "The image role can read no state, function configuration or API key."
  }

  assert {
    condition     = [for s in jsondecode(aws_iam_role_policy.plan.policy).Statement : s.Resource if s.Sid == "StateRead"] == [["arn:aws:s3:::bedrock-usage-mcp-tfstate-123456789012-eu-west-1/bedrock-usage-mcp/production.tfstate", "arn:aws:s3:::bedrock-usage-mcp-tfstate-123456789012-eu-west-1/bedrock-usage-mcp/production.tfstate.tflock"]]
    error_message = "The plan role reads the production state (so it is reviewer-gated: see the plan environment)."
  }

  # The requestState key lives in the session table (the server creates it there), out of
  # every CI role's reach: none may read items of the app's tables.
  assert {
    condition = length(flatten([
      for p in [aws_iam_role_policy.image, aws_iam_role_policy.plan, aws_iam_role_policy.apply, aws_iam_role_policy.apply_read] : [
        for s in jsondecode(p.policy).Statement : s.Sid if anytrue([for a in flatten([s.Action]) : contains(["dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:BatchGetItem", "dynamodb:*"], a)]) && anytrue([for r in flatten([s.Resource]) : r == "*" || strcontains(r, ":table/bedrock-usage-mcp")])
      ]
    ])) == 0
    error_message = "No CI role may read the session table's items (the requestState key is one of them)."
  }

  assert {
    condition     = alltrue([for s in jsondecode(aws_iam_role_policy.plan.policy).Statement : alltrue([for a in flatten([s.Action]) : can(regex("^(s3:(ListBucket|GetObject|PutObject|DeleteObject)|iam:(Get|List).*|lambda:(Get|List).*|dynamodb:(Describe|List).*|logs:(Describe|List).*|apigateway:GET|ecr:(Describe|Get|List).*|cloudwatch:(Describe|Get|List).*|bedrock:Get.*)$", a))])])
    error_message = "The plan role must be read-only (apart from the state lock object and saved plans)."
  }

  assert {
    condition = {
      for s in jsondecode(aws_iam_role_policy.plan.policy).Statement : s.Sid => s.Resource if contains(flatten([s.Action]), "s3:PutObject")
      } == {
      StateLock = "arn:aws:s3:::bedrock-usage-mcp-tfstate-123456789012-eu-west-1/bedrock-usage-mcp/production.tfstate.tflock"
      SavePlans = "arn:aws:s3:::bedrock-usage-mcp-tfstate-123456789012-eu-west-1/plans/bedrock-usage-mcp/production.tfstate/*"
    }
    error_message = "The plan role may write the lock object and saved plans only, never the state."
  }

  assert {
    condition     = [for s in jsondecode(aws_iam_role_policy.apply.policy).Statement : s.Resource if s.Sid == "ReadPlans"] == ["arn:aws:s3:::bedrock-usage-mcp-tfstate-123456789012-eu-west-1/plans/bedrock-usage-mcp/production.tfstate/*"]
    error_message = "The apply role reads the saved plans."
  }

  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.apply.policy).Statement : s.Condition.StringEquals["iam:PermissionsBoundary"] if s.Sid == "CreateBoundedRoles"]) == aws_iam_policy.boundary.arn
    error_message = "The apply role may create roles only with the permissions boundary."
  }

  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.apply.policy).Statement : s.Resource if s.Sid == "CreateBoundedRoles"]) == "arn:aws:iam::123456789012:role/bedrock-usage-mcp-*" && startswith(aws_iam_role.apply.name, "gha-")
    error_message = "The apply role manages <app>-* roles, and its own name is outside that pattern."
  }

  assert {
    condition     = !contains([for s in jsondecode(aws_iam_role_policy.apply.policy).Statement : s.Sid], "BedrockLogging")
    error_message = "Bedrock logging management is off unless allowed."
  }
}

# Point 7: the live image is never expired.
run "the_lifecycle_never_expires_a_deployed_image" {
  command = apply

  assert {
    condition = [for r in jsondecode(aws_ecr_lifecycle_policy.ci.policy).rules : r.rulePriority if try(r.selection.tagPrefixList, []) == ["deployed-"]] == [
      min([for r in jsondecode(aws_ecr_lifecycle_policy.ci.policy).rules : r.rulePriority]...)
    ]
    error_message = "The deployed-* rule must have the highest priority, so no other rule can expire a deployed image."
  }

  assert {
    condition     = one([for r in jsondecode(aws_ecr_lifecycle_policy.ci.policy).rules : r.selection.countNumber if try(r.selection.tagPrefixList, []) == ["deployed-"]]) == 100
    error_message = "Deployed images are expired only past the 100 newest deployed ones."
  }

  assert {
    condition     = alltrue([for r in jsondecode(aws_ecr_lifecycle_policy.ci.policy).rules : r.selection.tagStatus != "any"])
    error_message = "No rule may select any tag: it would count deployed images with the others."
  }

  assert {
    condition     = one([for r in jsondecode(aws_ecr_lifecycle_policy.ci.policy).rules : r.selection.countNumber if try(r.selection.tagPrefixList, []) == ["src-"]]) == 30
    error_message = "Images never deployed (src-*) are kept 30 deep."
  }

  assert {
    condition     = aws_ecr_repository.ci.image_tag_mutability == "IMMUTABLE"
    error_message = "Tags are immutable: nobody can move a deployed- or src- tag onto another image."
  }
}

run "plan_and_production_environments_differ" {
  command = plan

  variables {
    github_plan_environment = "production"
  }

  expect_failures = [var.github_plan_environment]
}
