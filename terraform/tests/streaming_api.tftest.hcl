# The REST API streams from Lambda: facts that must hold whatever the other settings are.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  image_uri = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ci-images@sha256:2222222222222222222222222222222222222222222222222222222222222222"
}

run "openapi_body_streams_every_mcp_method" {
  command = apply

  assert {
    condition     = toset(keys(jsondecode(aws_api_gateway_rest_api.this.body).paths)) == toset(["/mcp"])
    error_message = "The API must expose /mcp only (no OAuth discovery routes yet)."
  }

  assert {
    condition     = toset(keys(jsondecode(aws_api_gateway_rest_api.this.body).paths["/mcp"])) == toset(["post", "get", "delete"])
    error_message = "/mcp must have POST, GET and DELETE (and OPTIONS only when browser origins are allowed)."
  }

  assert {
    condition = alltrue([
      for m in values(jsondecode(aws_api_gateway_rest_api.this.body).paths["/mcp"]) :
      m["x-amazon-apigateway-integration"].uri == "arn:aws:apigateway:eu-west-1:lambda:path/2021-11-15/functions/arn:aws:lambda:eu-west-1:123456789012:function:bedrock-usage-mcp/response-streaming-invocations"
    ])
    error_message = "Every method must integrate with Lambda's response-streaming invocation URI."
  }

  assert {
    condition = alltrue([
      for m in values(jsondecode(aws_api_gateway_rest_api.this.body).paths["/mcp"]) :
      m["x-amazon-apigateway-integration"].responseTransferMode == "STREAM"
    ])
    error_message = "Every integration must set responseTransferMode: STREAM."
  }

  assert {
    condition = alltrue([
      for m in values(jsondecode(aws_api_gateway_rest_api.this.body).paths["/mcp"]) :
      m["x-amazon-apigateway-integration"].timeoutInMillis == 900000
    ])
    error_message = "Every integration must allow 900000 ms (15 minutes)."
  }

  assert {
    condition = alltrue([
      for m in values(jsondecode(aws_api_gateway_rest_api.this.body).paths["/mcp"]) :
      m["x-amazon-apigateway-integration"].type == "aws_proxy" && m["x-amazon-apigateway-integration"].httpMethod == "POST"
    ])
    error_message = "Every integration must be an AWS_PROXY integration invoked with POST."
  }

  assert {
    condition     = aws_api_gateway_rest_api.this.endpoint_configuration[0].types == tolist(["REGIONAL"])
    error_message = "The API must be REGIONAL (edge-optimized closes idle streams after 30 s)."
  }

  assert {
    condition     = aws_api_gateway_deployment.this.triggers.redeployment == sha256(aws_api_gateway_rest_api.this.body)
    error_message = "The deployment must be replaced whenever the OpenAPI body changes."
  }

  assert {
    condition     = output.mcp_url == "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod/mcp"
    error_message = "mcp_url must be the stage URL followed by /mcp."
  }

  assert {
    condition     = aws_lambda_permission.api_gateway.source_arn == "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/*/*/mcp" && aws_lambda_permission.api_gateway.principal == "apigateway.amazonaws.com"
    error_message = "API Gateway must be allowed to invoke the function for /mcp only."
  }

  assert {
    condition     = aws_api_gateway_method_settings.all.settings[0].throttling_rate_limit == 50 && aws_api_gateway_method_settings.all.settings[0].throttling_burst_limit == 100
    error_message = "The stage must be throttled (defaults 50 rps, burst 100)."
  }
}

run "options_route_only_with_browser_origins" {
  command = apply

  variables {
    mcp = { allowed_origins = ["https://app.example.com"] }
  }

  assert {
    condition     = jsondecode(aws_api_gateway_rest_api.this.body).paths["/mcp"].options["x-amazon-apigateway-integration"].responseTransferMode == "STREAM"
    error_message = "With allowed origins, OPTIONS must reach the server (streaming integration)."
  }

  assert {
    condition     = !contains(keys(jsondecode(aws_api_gateway_rest_api.this.body).paths["/mcp"].options), "security")
    error_message = "CORS preflight carries no credentials: OPTIONS must not require the API key."
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables.MCP_ALLOWED_ORIGINS == "https://app.example.com"
    error_message = "Allowed origins must reach the function as MCP_ALLOWED_ORIGINS."
  }
}

run "custom_domain_changes_the_url_and_allowed_hosts" {
  command = apply

  variables {
    custom_domain = {
      domain_name     = "mcp.example.com"
      certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
    }
  }

  assert {
    condition     = output.mcp_url == "https://mcp.example.com/mcp"
    error_message = "With a custom domain, mcp_url must be https://<domain>/mcp."
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables.MCP_ALLOWED_HOSTS == "mcp.example.com"
    error_message = "The custom domain must be added to MCP_ALLOWED_HOSTS."
  }

  assert {
    condition     = aws_api_gateway_base_path_mapping.this[0].base_path == null || aws_api_gateway_base_path_mapping.this[0].base_path == ""
    error_message = "The custom domain must map the stage at the root, so the function sees /mcp."
  }
}
