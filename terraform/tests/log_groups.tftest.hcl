# Several log groups in one report (bedrock_extra_log_groups): names here, ARNs in other regions
# and in linked source accounts; the role may read exactly those, and bad entries are refused.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  image_uri              = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ci-images@sha256:2222222222222222222222222222222222222222222222222222222222222222"
  bedrock_log_group_name = "/org/bedrock/invocations"
  bedrock_extra_log_groups = [
    "/org/bedrock/batch",
    "arn:aws:logs:us-east-1:123456789012:log-group:/aws/bedrock/modelinvocations",
    "arn:aws:logs:eu-west-1:444455556666:log-group:/aws/bedrock/modelinvocations:*",
  ]
  mcp = { max_scan_gb = 2.5 }
}

run "each_log_group_is_read_and_granted" {
  command = apply

  assert {
    condition     = aws_lambda_function.this.environment[0].variables.BEDROCK_LOG_GROUP == "/org/bedrock/invocations,/org/bedrock/batch,arn:aws:logs:us-east-1:123456789012:log-group:/aws/bedrock/modelinvocations,arn:aws:logs:eu-west-1:444455556666:log-group:/aws/bedrock/modelinvocations"
    error_message = "The function reads every log group, ARNs without the :* (the form StartQuery takes)."
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.lambda.policy).Statement : s.Resource if s.Sid == "ReadBedrockInvocationLogs"] == [[
      "arn:aws:logs:eu-west-1:123456789012:log-group:/org/bedrock/invocations",
      "arn:aws:logs:eu-west-1:123456789012:log-group:/org/bedrock/invocations:*",
      "arn:aws:logs:eu-west-1:123456789012:log-group:/org/bedrock/batch",
      "arn:aws:logs:eu-west-1:123456789012:log-group:/org/bedrock/batch:*",
      "arn:aws:logs:us-east-1:123456789012:log-group:/aws/bedrock/modelinvocations",
      "arn:aws:logs:us-east-1:123456789012:log-group:/aws/bedrock/modelinvocations:*",
      "arn:aws:logs:eu-west-1:444455556666:log-group:/aws/bedrock/modelinvocations",
      "arn:aws:logs:eu-west-1:444455556666:log-group:/aws/bedrock/modelinvocations:*",
    ]]
    error_message = "The role reads exactly the listed log groups (both ARN forms each), a name in this region and account."
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.lambda.policy).Statement : s.Resource if s.Sid == "EstimateInsightsScan"] == [[
      "arn:aws:logs:eu-west-1:123456789012:log-group:*",
      "arn:aws:logs:us-east-1:123456789012:log-group:*",
      "arn:aws:logs:eu-west-1:444455556666:log-group:*",
    ]]
    error_message = "The scan cap's estimate may describe log groups in each region and account read, and nowhere else."
  }
}

run "a_log_stream_arn_is_refused" {
  command = plan

  variables {
    bedrock_extra_log_groups = ["arn:aws:logs:eu-west-1:444455556666:log-group:/g:log-stream:s"]
  }

  expect_failures = [var.bedrock_extra_log_groups]
}

run "another_service_or_a_short_account_is_refused" {
  command = plan

  variables {
    bedrock_extra_log_groups = ["arn:aws:s3:eu-west-1:444455556666:log-group:/g", "arn:aws:logs:eu-west-1:4444:log-group:/g"]
  }

  expect_failures = [var.bedrock_extra_log_groups]
}

run "a_group_listed_twice_is_refused" {
  command = plan

  variables {
    bedrock_extra_log_groups = ["arn:aws:logs:eu-west-1:444455556666:log-group:/g", "arn:aws:logs:eu-west-1:444455556666:log-group:/g:*"]
  }

  expect_failures = [var.bedrock_extra_log_groups]
}
