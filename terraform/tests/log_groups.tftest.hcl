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

run "an_extra_naming_the_main_group_by_name_is_refused" {
  command = plan

  variables {
    bedrock_extra_log_groups = ["/org/bedrock/invocations"]
  }

  expect_failures = [aws_lambda_function.this]
}

run "an_extra_naming_the_main_group_by_arn_is_refused" {
  command = plan

  variables {
    bedrock_extra_log_groups = ["arn:aws:logs:eu-west-1:123456789012:log-group:/org/bedrock/invocations:*"]
  }

  expect_failures = [aws_lambda_function.this]
}

run "a_name_and_the_arn_of_one_extra_are_refused" {
  command = plan

  variables {
    bedrock_extra_log_groups = ["/org/bedrock/batch", "arn:aws:logs:eu-west-1:123456789012:log-group:/org/bedrock/batch"]
  }

  expect_failures = [aws_lambda_function.this]
}

run "the_same_name_in_another_region_or_account_is_read" {
  command = plan

  variables {
    bedrock_extra_log_groups = [
      "arn:aws:logs:us-east-1:123456789012:log-group:/org/bedrock/invocations",
      "arn:aws:logs:eu-west-1:444455556666:log-group:/org/bedrock/invocations",
    ]
  }

  assert {
    condition     = length(split(",", aws_lambda_function.this.environment[0].variables.BEDROCK_LOG_GROUP)) == 3
    error_message = "One name in another region or another account is another log group."
  }
}

run "a_region_the_server_refuses_is_refused" {
  command = plan

  variables {
    # The server's rule: no leading or trailing dash.
    bedrock_extra_log_groups = ["arn:aws:logs:-x:444455556666:log-group:/g", "arn:aws:logs:eu-west-1-:444455556666:log-group:/g2"]
  }

  expect_failures = [var.bedrock_extra_log_groups]
}

run "an_environment_over_4_kb_is_refused" {
  command = plan

  variables {
    # Each within its own bound (1,500 and 3,072 characters), together over Lambda's 4 KB.
    bedrock_extra_log_groups = [for i in range(15) : format("/org/bedrock/group-%02d/%s", i, replace(format("%70s", ""), " ", "x"))]
    bedrock_pricing_json     = jsonencode({ note = replace(format("%3000s", ""), " ", "p") })
  }

  expect_failures = [aws_lambda_function.this]
}

run "an_environment_near_4_kb_passes" {
  command = plan

  variables {
    bedrock_extra_log_groups = [for i in range(15) : format("/org/bedrock/group-%02d/%s", i, replace(format("%70s", ""), " ", "x"))]
    bedrock_pricing_json     = jsonencode({ note = replace(format("%1500s", ""), " ", "p") })
  }

  assert {
    condition     = local.lambda_environment_bytes > 3000 && local.lambda_environment_bytes <= 4096
    error_message = "An environment within 4 KB passes."
  }
}
