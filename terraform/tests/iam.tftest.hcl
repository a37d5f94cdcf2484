# The function's role: exactly the actions it needs, on its own resources.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  image_uri              = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ci-images@sha256:2222222222222222222222222222222222222222222222222222222222222222"
  bedrock_log_group_name = "/org/bedrock/invocations"
}

run "lambda_role_is_least_privilege" {
  command = apply

  assert {
    condition     = jsondecode(aws_iam_role.lambda.assume_role_policy).Statement[0].Principal.Service == "lambda.amazonaws.com"
    error_message = "Only Lambda may assume the execution role."
  }

  assert {
    condition = {
      for s in jsondecode(aws_iam_role_policy.lambda.policy).Statement : s.Sid => s.Action
      } == {
      WriteOwnLogs                     = ["logs:CreateLogStream", "logs:PutLogEvents"]
      ReadBedrockInvocationLogs        = ["logs:StartQuery", "logs:FilterLogEvents"]
      FollowInsightsQueries            = ["logs:GetQueryResults", "logs:StopQuery"]
      ReadPriceList                    = ["pricing:GetProducts"]
      ReadBedrockMetrics               = ["cloudwatch:ListMetrics", "cloudwatch:GetMetricData"]
      ReadApplicationInferenceProfiles = ["bedrock:GetInferenceProfile", "bedrock:ListTagsForResource"]
      SessionTable = [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:Query",
        "dynamodb:ConditionCheckItem",
      ]
    }
    error_message = "The role must allow exactly the log, query, price list, metrics, inference profile and table actions the server uses (Cost Explorer is off by default)."
  }

  assert {
    condition = {
      for s in jsondecode(aws_iam_role_policy.lambda.policy).Statement : s.Sid => s.Resource
      } == {
      WriteOwnLogs = ["arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/bedrock-usage-mcp:*"]
      ReadBedrockInvocationLogs = [
        "arn:aws:logs:eu-west-1:123456789012:log-group:/org/bedrock/invocations",
        "arn:aws:logs:eu-west-1:123456789012:log-group:/org/bedrock/invocations:*",
      ]
      FollowInsightsQueries = ["*"]
      ReadPriceList         = ["*"]
      ReadBedrockMetrics    = ["*"]
      # Application inference profiles only (no foundation models, no system profiles), of
      # this account, in any region.
      ReadApplicationInferenceProfiles = ["arn:aws:bedrock:*:123456789012:application-inference-profile/*"]
      SessionTable                     = ["arn:aws:dynamodb:eu-west-1:123456789012:table/bedrock-usage-mcp-sessions"]
    }
    error_message = "Every statement must be scoped to its resource; only the actions without resource-level permissions (GetQueryResults/StopQuery, GetProducts, ListMetrics/GetMetricData) may use *."
  }

  assert {
    condition     = alltrue([for s in jsondecode(aws_iam_role_policy.lambda.policy).Statement : s.Effect == "Allow" && !anytrue([for a in s.Action : strcontains(a, "*")])])
    error_message = "No wildcard actions."
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables.BEDROCK_LOG_GROUP == "/org/bedrock/invocations"
    error_message = "The function must read the log group it is allowed to read."
  }
}

run "customer_managed_key" {
  command = apply

  variables {
    kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  assert {
    condition     = [for s in jsondecode(aws_iam_role_policy.lambda.policy).Statement : s.Resource if s.Sid == "DecryptEnvironment"] == [["arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"]]
    error_message = "With a customer-managed key the role may decrypt with that key only."
  }

  assert {
    condition     = aws_dynamodb_table.this.server_side_encryption[0].kms_key_arn == var.kms_key_arn && aws_lambda_function.this.kms_key_arn == var.kms_key_arn && aws_cloudwatch_log_group.lambda.kms_key_id == var.kms_key_arn
    error_message = "The key must encrypt the table, the function's environment and the log groups."
  }
}

run "cost_explorer_is_opt_in" {
  command = apply

  variables {
    cost_data = { price_list = false, billed_cost = true }
  }

  assert {
    condition     = [for s in jsondecode(aws_iam_role_policy.lambda.policy).Statement : s.Action if contains(["ReadPriceList", "ReadBilledCost"], s.Sid)] == [["ce:GetCostAndUsage"]]
    error_message = "billed_cost adds ce:GetCostAndUsage; price_list = false drops pricing:GetProducts."
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables.BEDROCK_BILLED_COST == "true" && aws_lambda_function.this.environment[0].variables.BEDROCK_PRICE_LIST == "off"
    error_message = "The function must be told what its role allows."
  }
}

run "scan_cap_adds_describe_log_groups" {
  command = apply

  variables {
    mcp = { max_scan_gb = 2.5 }
  }

  assert {
    condition     = [for s in jsondecode(aws_iam_role_policy.lambda.policy).Statement : s.Action if s.Sid == "EstimateInsightsScan"] == [["logs:DescribeLogGroups"]]
    error_message = "A scan cap lets the role read the log group's stored size for the preflight estimate."
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables.BEDROCK_MAX_SCAN_GB == "2.5"
    error_message = "The function must be given the cap."
  }
}

run "no_scan_cap_no_describe_log_groups" {
  command = apply

  assert {
    condition     = length([for s in jsondecode(aws_iam_role_policy.lambda.policy).Statement : s if s.Sid == "EstimateInsightsScan"]) == 0 && !contains(keys(aws_lambda_function.this.environment[0].variables), "BEDROCK_MAX_SCAN_GB")
    error_message = "Without a cap the role lists no log groups and the function gets no cap."
  }
}
