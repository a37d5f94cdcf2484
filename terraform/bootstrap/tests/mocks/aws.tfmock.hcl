# Values the mocked AWS provider returns to the bootstrap's tests (mock_provider "aws" { source
# = "./tests/mocks" } in each *.tftest.hcl): ARN-shaped, so that the provider's own validation
# of references accepts them, and named as the default deployment names them, so that the
# tests' expected policies read like a real account's. names.tftest.hcl overrides the region.

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
