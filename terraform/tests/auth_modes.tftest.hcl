# auth_mode wiring: api_key (default), iam, none (acknowledged only), oauth (reserved).

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  image_uri = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ci-images@sha256:2222222222222222222222222222222222222222222222222222222222222222"
}

run "api_key_is_the_default" {
  command = apply

  assert {
    condition = alltrue([
      for m in values(jsondecode(aws_api_gateway_rest_api.this.body).paths["/mcp"]) :
      m.security == [{ api_key = [] }]
    ])
    error_message = "In api_key mode every MCP method must require the API key."
  }

  assert {
    condition     = jsondecode(aws_api_gateway_rest_api.this.body).components.securitySchemes.api_key == { type = "apiKey", name = "x-api-key", in = "header" }
    error_message = "The api_key scheme must read the x-api-key header."
  }

  assert {
    condition     = jsondecode(aws_api_gateway_rest_api.this.body)["x-amazon-apigateway-api-key-source"] == "HEADER"
    error_message = "API keys must come from the header."
  }

  assert {
    condition     = length(aws_api_gateway_api_key.this) == 1 && length(aws_api_gateway_usage_plan.this) == 1 && length(aws_api_gateway_usage_plan_key.this) == 1
    error_message = "api_key mode must create the key, a usage plan and bind them."
  }

  assert {
    condition     = aws_api_gateway_usage_plan.this[0].throttle_settings[0].rate_limit == 10 && aws_api_gateway_usage_plan.this[0].quota_settings[0].limit == 20000 && aws_api_gateway_usage_plan.this[0].quota_settings[0].period == "DAY"
    error_message = "The usage plan must throttle and set a quota."
  }

  assert {
    condition     = one(aws_api_gateway_usage_plan.this[0].api_stages).stage == "prod"
    error_message = "The usage plan must cover the stage."
  }

  assert {
    condition     = output.api_key == "mockApiKey0123456789abcdefghijklmnopqrst"
    error_message = "The api_key output must carry the key's value."
  }

  assert {
    condition     = strcontains(output.claude_code_command, "claude mcp add --transport http bedrock-usage 'https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod/mcp' --header 'x-api-key: mockApiKey0123456789abcdefghijklmnopqrst'")
    error_message = "The Claude Code command must add the URL with the API key header."
  }

  assert {
    condition     = jsondecode(output.vscode_mcp_json).servers["bedrock-usage"].headers["x-api-key"] == "$${input:bedrock-usage-api-key}" && jsondecode(output.vscode_mcp_json).inputs[0].password
    error_message = "The VS Code snippet must prompt for the key (password input), not embed it."
  }
}

run "iam_mode_uses_sigv4" {
  command = apply

  variables {
    auth_mode = "iam"
  }

  assert {
    condition = alltrue([
      for m in values(jsondecode(aws_api_gateway_rest_api.this.body).paths["/mcp"]) :
      m.security == [{ sigv4 = [] }]
    ])
    error_message = "In iam mode every MCP method must require SigV4."
  }

  assert {
    condition     = jsondecode(aws_api_gateway_rest_api.this.body).components.securitySchemes.sigv4["x-amazon-apigateway-authtype"] == "awsSigv4"
    error_message = "The sigv4 scheme must be API Gateway's awsSigv4 (authorizationType AWS_IAM)."
  }

  assert {
    condition     = length(aws_api_gateway_api_key.this) == 0 && length(aws_api_gateway_usage_plan.this) == 0
    error_message = "iam mode must not create an API key or usage plan."
  }

  assert {
    condition     = output.api_key == null && !strcontains(output.claude_code_command, "x-api-key")
    error_message = "iam mode has no API key to output."
  }

  assert {
    condition     = output.execute_api_arn == "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/*/mcp"
    error_message = "execute_api_arn must name the MCP path on the stage, for callers' execute-api:Invoke policies."
  }
}

run "none_mode_needs_an_acknowledgement" {
  command = plan

  variables {
    auth_mode = "none"
  }

  expect_failures = [aws_api_gateway_rest_api.this]
}

run "none_mode_when_acknowledged" {
  command = apply

  variables {
    auth_mode                    = "none"
    allow_unauthenticated_access = true
  }

  assert {
    condition = alltrue([
      for m in values(jsondecode(aws_api_gateway_rest_api.this.body).paths["/mcp"]) :
      !contains(keys(m), "security")
    ])
    error_message = "none mode must leave the methods without a security requirement."
  }

  assert {
    condition     = length(aws_api_gateway_api_key.this) == 0 && length(aws_api_gateway_usage_plan.this) == 0
    error_message = "none mode must not create an API key or usage plan."
  }
}

run "oauth_is_reserved" {
  command = plan

  variables {
    auth_mode = "oauth"
  }

  expect_failures = [var.auth_mode]
}

run "unknown_mode_is_rejected" {
  command = plan

  variables {
    auth_mode = "cognito"
  }

  expect_failures = [var.auth_mode]
}
