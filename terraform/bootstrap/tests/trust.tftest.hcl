# The CI roles: who may assume them, and what the apply role may create.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
      arn        = "arn:aws:iam::123456789012:user/terraform-test"
    }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }
  mock_data "aws_region" {
    defaults = { id = "eu-west-1", name = "eu-west-1" }
  }
  mock_resource "aws_iam_openid_connect_provider" {
    defaults = { arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/gha-mocked" }
  }
  mock_resource "aws_iam_policy" {
    defaults = { arn = "arn:aws:iam::123456789012:policy/bedrock-usage-mcp-boundary" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::bedrock-usage-mcp-tfstate-123456789012-eu-west-1" }
  }
  mock_resource "aws_ecr_repository" {
    defaults = {
      arn            = "arn:aws:ecr:eu-west-1:123456789012:repository/gha-bedrock-usage-mcp"
      repository_url = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/gha-bedrock-usage-mcp"
    }
  }
  mock_resource "aws_dynamodb_table" {
    defaults = { arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/gha-bedrock-usage-mcp-tflock" }
  }
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
    condition     = jsondecode(aws_iam_role.plan.assume_role_policy).Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:sub"] == ["repo:acme/bedrock-usage-mcp:pull_request"]
    error_message = "The plan role is for this repository's pull requests."
  }

  assert {
    condition = toset(jsondecode(aws_iam_role.image.assume_role_policy).Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:sub"]) == toset([
      "repo:acme/bedrock-usage-mcp:pull_request",
      "repo:acme/bedrock-usage-mcp:ref:refs/heads/main",
    ])
    error_message = "The image role is for pull requests and the main branch."
  }

  assert {
    condition     = alltrue([for s in jsondecode(aws_iam_role_policy.plan.policy).Statement : alltrue([for a in flatten([s.Action]) : can(regex("^(s3:(ListBucket|GetObject|PutObject|DeleteObject)|iam:(Get|List).*|lambda:(Get|List).*|dynamodb:(Describe|List).*|logs:(Describe|List).*|apigateway:GET|ecr:(Describe|Get|List).*|bedrock:Get.*)$", a))])])
    error_message = "The plan role must be read-only (apart from the state lock object)."
  }

  assert {
    condition     = [for s in jsondecode(aws_iam_role_policy.plan.policy).Statement : s.Resource if s.Sid == "StateLock"] == ["arn:aws:s3:::bedrock-usage-mcp-tfstate-123456789012-eu-west-1/bedrock-usage-mcp/production.tfstate.tflock"]
    error_message = "The plan role may write the lock object only."
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
