# The DynamoDB session table and the environment the function gets.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  image_uri = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ci-images@sha256:2222222222222222222222222222222222222222222222222222222222222222"
}

run "table_shape" {
  command = plan

  assert {
    condition     = aws_dynamodb_table.this.hash_key == "pk" && aws_dynamodb_table.this.range_key == "sk"
    error_message = "The table must be keyed by pk (partition) and sk (sort)."
  }

  assert {
    condition     = toset([for a in aws_dynamodb_table.this.attribute : "${a.name}:${a.type}"]) == toset(["pk:S", "sk:S"])
    error_message = "pk and sk must be strings."
  }

  assert {
    condition     = aws_dynamodb_table.this.ttl[0].attribute_name == "expires_at" && aws_dynamodb_table.this.ttl[0].enabled
    error_message = "TTL must be enabled on expires_at."
  }

  assert {
    condition     = aws_dynamodb_table.this.billing_mode == "PAY_PER_REQUEST"
    error_message = "The table must be on-demand."
  }

  assert {
    condition     = aws_dynamodb_table.this.point_in_time_recovery[0].enabled
    error_message = "Point-in-time recovery must be on."
  }

  assert {
    condition     = aws_dynamodb_table.this.server_side_encryption[0].enabled
    error_message = "Server-side encryption must be on."
  }
}

run "function_environment" {
  command = apply

  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables.MCP_SESSION_STORE == "dynamodb" &&
      aws_lambda_function.this.environment[0].variables.MCP_SESSION_TABLE == "bedrock-usage-mcp-sessions" &&
      aws_lambda_function.this.environment[0].variables.MCP_SESSION_TTL == "3600" &&
      aws_lambda_function.this.environment[0].variables.MCP_ENDPOINT == "/mcp" &&
      aws_lambda_function.this.environment[0].variables.MCP_MAX_STREAM_SECS == "240" &&
      aws_lambda_function.this.environment[0].variables.MCP_KEEP_ALIVE_SECS == "15" &&
      aws_lambda_function.this.environment[0].variables.MCP_LOG_FORMAT == "json" &&
      aws_lambda_function.this.environment[0].variables.RUST_LOG == "info" &&
      aws_lambda_function.this.environment[0].variables.BEDROCK_LOG_GROUP == "/aws/bedrock/modelinvocations" &&
      aws_lambda_function.this.environment[0].variables.BEDROCK_USAGE_CLOUDWATCH_MODE == "insights" &&
      aws_lambda_function.this.environment[0].variables.AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH == "true"
    )
    error_message = "The function's environment does not match the server's contract."
  }

  assert {
    condition     = !contains(keys(aws_lambda_function.this.environment[0].variables), "MCP_REQUEST_STATE_KEY") && !anytrue([for k in keys(aws_lambda_function.this.environment[0].variables) : can(regex("(?i)(KEY|SECRET|TOKEN|PASSWORD)", k))])
    error_message = "No secret may be passed in the function's environment (readable with lambda:GetFunctionConfiguration): the server keeps the requestState key in the session table."
  }

  assert {
    condition     = length(setintersection(keys(aws_lambda_function.this.environment[0].variables), ["MCP_ALLOWED_HOSTS", "MCP_ALLOWED_ORIGINS", "BEDROCK_PRICING_JSON"])) == 0
    error_message = "Empty host and origin lists (and no pricing table) must be left out, not passed as empty strings."
  }

  assert {
    condition     = aws_lambda_function.this.architectures == tolist(["arm64"]) && aws_lambda_function.this.timeout == 900 && aws_lambda_function.this.package_type == "Image"
    error_message = "The function must be an arm64 image with a 900 s timeout by default."
  }

  assert {
    condition     = aws_lambda_function.this.logging_config[0].log_format == "JSON" && aws_lambda_function.this.logging_config[0].log_group == "/aws/lambda/bedrock-usage-mcp"
    error_message = "The function must log JSON to its own retained log group."
  }

  assert {
    condition     = aws_cloudwatch_log_group.lambda.retention_in_days == 30
    error_message = "The function's log group must have a retention."
  }

  assert {
    condition     = aws_lambda_function.this.reserved_concurrent_executions == -1 && aws_lambda_function.this.tracing_config[0].mode == "PassThrough"
    error_message = "Reserved concurrency and X-Ray are off by default."
  }
}

run "options_reach_the_function" {
  command = apply

  variables {
    lambda = {
      reserved_concurrency = 5
      tracing              = true
      timeout_seconds      = 600
    }
    mcp = {
      max_stream_seconds = 300
      allowed_hosts      = ["mcp.internal.example.com"]
      cloudwatch_mode    = "scan"
    }
    bedrock_pricing_json = "{\"models\":[]}"
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables.BEDROCK_PRICING_JSON == "{\"models\":[]}"
    error_message = "A pricing table must reach the function as BEDROCK_PRICING_JSON."
  }

  assert {
    condition     = aws_lambda_function.this.reserved_concurrent_executions == 5 && aws_lambda_function.this.tracing_config[0].mode == "Active"
    error_message = "Reserved concurrency and X-Ray must follow var.lambda."
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables.MCP_ALLOWED_HOSTS == "mcp.internal.example.com" && aws_lambda_function.this.environment[0].variables.BEDROCK_USAGE_CLOUDWATCH_MODE == "scan"
    error_message = "mcp settings must reach the function's environment."
  }

  assert {
    condition     = contains([for s in jsondecode(aws_iam_role_policy.lambda.policy).Statement : s.Sid], "XRay")
    error_message = "With tracing on, the role must be allowed to write to X-Ray."
  }
}

run "stream_limit_must_be_below_the_timeout" {
  command = plan

  variables {
    lambda = { timeout_seconds = 120 }
    mcp    = { max_stream_seconds = 240 }
  }

  expect_failures = [aws_lambda_function.this]
}

run "stream_limit_must_be_below_the_gateway_timeout" {
  command = plan

  variables {
    mcp = { max_stream_seconds = 900 }
  }

  expect_failures = [var.mcp]
}
