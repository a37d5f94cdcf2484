# Issue 11, point 15: the default state bucket name fits S3's 63 characters for every app_name
# the root accepts (up to 40 characters) in every region.

mock_provider "aws" {
  source = "./tests/mocks"

  # A region with a long name, for the bucket name's length.
  mock_data "aws_region" {
    defaults = { id = "ap-southeast-4", name = "ap-southeast-4" }
  }
}

variables {
  github_repository = "acme/bedrock-usage-mcp"
}

run "short_app_name_keeps_the_readable_default" {
  command = plan

  assert {
    condition     = aws_s3_bucket.state.bucket == "bedrock-usage-mcp-tfstate-123456789012-ap-southeast-4"
    error_message = "A name that fits stays <app_name>-tfstate-<account>-<region>."
  }
}

run "longest_app_name_is_cut_and_hashed" {
  command = plan

  variables {
    app_name = "a-forty-character-application-name-abcde"
  }

  assert {
    condition     = length(var.app_name) == 40 && length("${var.app_name}-tfstate-123456789012-ap-southeast-4") > 63
    error_message = "This run must exercise a default name over 63 characters."
  }

  assert {
    condition     = length(aws_s3_bucket.state.bucket) <= 63 && can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", aws_s3_bucket.state.bucket)) && !strcontains(aws_s3_bucket.state.bucket, "--")
    error_message = "The bucket name must be a valid S3 name of at most 63 characters."
  }

  assert {
    condition     = endswith(aws_s3_bucket.state.bucket, "-tfstate-123456789012-ap-southeast-4") && startswith(aws_s3_bucket.state.bucket, "a-forty-character-")
    error_message = "The cut name keeps the start of app_name, the account and the region."
  }

  assert {
    condition     = aws_s3_bucket.state.bucket == "a-forty-character-${substr(sha256("a-forty-character-application-name-abcde-tfstate-123456789012-ap-southeast-4"), 0, 8)}-tfstate-123456789012-ap-southeast-4"
    error_message = "The cut name ends its app_name part with 8 hex digits of the full name's SHA-256, so two long names stay distinct."
  }
}

run "a_given_name_must_be_valid" {
  command = plan

  variables {
    state_bucket_name = "This_Is_Not_A_Bucket_Name"
  }

  expect_failures = [var.state_bucket_name]
}
