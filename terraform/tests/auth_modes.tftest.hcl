# auth_mode wiring: api_key (default), iam, none (acknowledged only), oauth (a Cognito pool
# created here, or an existing issuer) and the validations of inconsistent oauth settings.

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

run "oauth_with_cognito" {
  command = apply

  variables {
    auth_mode = "oauth"
    oauth = {
      create_cognito = true
      callback_urls  = ["https://claude.ai/api/mcp/auth_callback", "http://localhost:33418/callback"]
    }
    mcp = { allowed_origins = ["https://app.example.com"] }
  }

  override_resource {
    target = aws_cognito_user_pool_client.host[0]
    values = { id = "hostclient0123456789" }
  }
  override_resource {
    target = aws_cognito_user_pool_client.pipeline[0]
    values = { id = "pipelineclient012345", client_secret = "mockPipelineSecret" }
  }

  assert {
    condition     = aws_api_gateway_rest_api.this.body == null && aws_api_gateway_rest_api_put.oauth[0].rest_api_id == "a1b2c3d4e5" && aws_api_gateway_rest_api_put.oauth[0].fail_on_warnings
    error_message = "In oauth mode the body names the API's own URL: it must be put once the API exists (aws_api_gateway_rest_api_put), not given at creation."
  }

  assert {
    condition     = aws_api_gateway_deployment.this.triggers.redeployment == sha256(aws_api_gateway_rest_api_put.oauth[0].body)
    error_message = "The deployment must follow the body that was put."
  }

  assert {
    condition = alltrue([
      for m in ["post", "get", "delete"] :
      jsondecode(aws_api_gateway_rest_api_put.oauth[0].body).paths["/mcp"][m].security == [{ cognito = ["https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod/mcp/mcp"] }]
    ])
    error_message = "POST, GET and DELETE /mcp must need the Cognito authorizer with the resource server's scope (a scope makes it take access tokens)."
  }

  assert {
    condition = jsondecode(aws_api_gateway_rest_api_put.oauth[0].body).components.securitySchemes == {
      cognito = {
        type                           = "apiKey"
        name                           = "Authorization"
        in                             = "header"
        "x-amazon-apigateway-authtype" = "cognito_user_pools"
        "x-amazon-apigateway-authorizer" = {
          type           = "cognito_user_pools"
          providerARNs   = ["arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_Mock12345"]
          identitySource = "method.request.header.Authorization"
        }
      }
    }
    error_message = "The only security scheme must be a COGNITO_USER_POOLS authorizer on the pool created here, reading the Authorization header."
  }

  assert {
    condition = (
      !contains(keys(jsondecode(aws_api_gateway_rest_api_put.oauth[0].body).paths["/mcp"].options), "security") &&
      alltrue([for p in ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"] : !contains(keys(jsondecode(aws_api_gateway_rest_api_put.oauth[0].body).paths[p].get), "security")])
    )
    error_message = "The CORS preflight and the Protected Resource Metadata routes must stay without authorization."
  }

  assert {
    condition = jsondecode(aws_api_gateway_rest_api_put.oauth[0].body)["x-amazon-apigateway-gateway-responses"].UNAUTHORIZED == {
      statusCode = "401"
      responseParameters = {
        "gatewayresponse.header.WWW-Authenticate"              = "'Bearer resource_metadata=\"https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod/.well-known/oauth-protected-resource/mcp\", scope=\"https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod/mcp/mcp\"'"
        "gatewayresponse.header.Cache-Control"                 = "'no-store'"
        "gatewayresponse.header.Access-Control-Allow-Origin"   = "'*'"
        "gatewayresponse.header.Access-Control-Expose-Headers" = "'WWW-Authenticate'"
      }
      responseTemplates = {
        "application/json" = "{\"error\":\"unauthorized\",\"error_description\":$context.error.messageString}"
      }
    }
    error_message = "The authorizer's 401 must carry the challenge with the metadata URL and the scope (API Gateway would otherwise rename the function's), readable by browsers on the allowed origins."
  }

  assert {
    condition = (
      jsondecode(aws_api_gateway_rest_api_put.oauth[0].body)["x-amazon-apigateway-gateway-responses"].ACCESS_DENIED.statusCode == "403" &&
      jsondecode(aws_api_gateway_rest_api_put.oauth[0].body)["x-amazon-apigateway-gateway-responses"].ACCESS_DENIED.responseParameters["gatewayresponse.header.WWW-Authenticate"] == "'Bearer resource_metadata=\"https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod/.well-known/oauth-protected-resource/mcp\", scope=\"https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod/mcp/mcp\", error=\"insufficient_scope\"'" &&
      keys(jsondecode(aws_api_gateway_rest_api_put.oauth[0].body)["x-amazon-apigateway-gateway-responses"]) == ["ACCESS_DENIED", "UNAUTHORIZED"]
    )
    error_message = "An authorizer's 403 must say insufficient_scope with the scope; no other gateway response is changed."
  }

  assert {
    condition     = !contains(keys(jsondecode(aws_api_gateway_rest_api_put.oauth[0].body)), "x-amazon-apigateway-request-validators") && !contains(keys(jsondecode(aws_api_gateway_rest_api_put.oauth[0].body).paths["/mcp"].post), "x-amazon-apigateway-request-validator")
    error_message = "With the authorizer no request validator is needed."
  }

  assert {
    condition = alltrue([
      for p in ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"] :
      keys(jsondecode(aws_api_gateway_rest_api_put.oauth[0].body).paths[p]) == ["get"] &&
      endswith(jsondecode(aws_api_gateway_rest_api_put.oauth[0].body).paths[p].get["x-amazon-apigateway-integration"].uri, "/functions/arn:aws:lambda:eu-west-1:123456789012:function:bedrock-usage-mcp/response-streaming-invocations")
    ])
    error_message = "Both Protected Resource Metadata paths (plain and /mcp-suffixed) must send GET to the function."
  }

  assert {
    condition     = aws_lambda_permission.api_gateway_prm[0].source_arn == "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/*/GET/.well-known/oauth-protected-resource*"
    error_message = "API Gateway must be allowed to invoke the function for the metadata paths."
  }

  assert {
    condition     = length(aws_api_gateway_api_key.this) == 0 && length(aws_api_gateway_usage_plan.this) == 0 && output.api_key == null
    error_message = "oauth mode must not create an API key or usage plan."
  }

  assert {
    condition     = aws_cognito_user_pool.this[0].admin_create_user_config[0].allow_admin_create_user_only
    error_message = "The user pool must not allow self sign-up."
  }

  assert {
    condition     = aws_cognito_user_pool_domain.this[0].domain == "bedrock-usage-mcp-123456789012"
    error_message = "The hosted domain prefix must default to <name>-<account id>."
  }

  assert {
    condition     = aws_cognito_resource_server.mcp[0].identifier == "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod/mcp" && [for s in aws_cognito_resource_server.mcp[0].scope : s.scope_name] == ["mcp"]
    error_message = "The resource server must be identified by the MCP URL and define the mcp scope."
  }

  assert {
    condition = (
      !aws_cognito_user_pool_client.host[0].generate_secret &&
      aws_cognito_user_pool_client.host[0].allowed_oauth_flows == toset(["code"]) &&
      contains(aws_cognito_user_pool_client.host[0].allowed_oauth_scopes, "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod/mcp/mcp") &&
      aws_cognito_user_pool_client.host[0].callback_urls == toset(["https://claude.ai/api/mcp/auth_callback", "http://localhost:33418/callback"])
    )
    error_message = "The host client must be public (no secret), use the authorization code flow, be allowed the MCP scope and redirect to oauth.callback_urls."
  }

  assert {
    condition = (
      aws_cognito_user_pool_client.pipeline[0].generate_secret &&
      aws_cognito_user_pool_client.pipeline[0].allowed_oauth_flows == toset(["client_credentials"]) &&
      aws_cognito_user_pool_client.pipeline[0].allowed_oauth_scopes == toset(["https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod/mcp/mcp"])
    )
    error_message = "The pipeline client must be confidential with the client credentials grant and only the MCP scope."
  }

  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables.MCP_OAUTH_ISSUER == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Mock12345" &&
      aws_lambda_function.this.environment[0].variables.MCP_OAUTH_CLIENT_IDS == "hostclient0123456789,pipelineclient012345" &&
      aws_lambda_function.this.environment[0].variables.MCP_OAUTH_SCOPE == "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod/mcp/mcp" &&
      aws_lambda_function.this.environment[0].variables.MCP_PUBLIC_URL == "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod/mcp" &&
      !contains(keys(aws_lambda_function.this.environment[0].variables), "MCP_OAUTH_AUDIENCE")
    )
    error_message = "The function must get the pool's issuer, the two client ids (Cognito access tokens carry no aud), the scope and the public URL."
  }

  assert {
    condition = (
      output.oauth.issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Mock12345" &&
      output.oauth.host_client_id == "hostclient0123456789" &&
      output.oauth.authorization_endpoint == "https://bedrock-usage-mcp-123456789012.auth.eu-west-1.amazoncognito.com/oauth2/authorize" &&
      output.oauth.token_endpoint == "https://bedrock-usage-mcp-123456789012.auth.eu-west-1.amazoncognito.com/oauth2/token" &&
      output.oauth.protected_resource_metadata == "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod/.well-known/oauth-protected-resource/mcp" &&
      output.oauth.pipeline_client_id == "pipelineclient012345"
    )
    error_message = "The oauth output must name the issuer, the host client id, Cognito's endpoints, the metadata URL and the pipeline client."
  }

  assert {
    condition     = output.oauth_pipeline_client_secret == "mockPipelineSecret"
    error_message = "The pipeline client's secret must be an output (sensitive)."
  }
}

run "oauth_with_an_existing_issuer" {
  command = apply

  variables {
    auth_mode = "oauth"
    oauth = {
      issuer = "https://login.example.com/realms/platform"
      scopes = ["mcp:tools"]
    }
    custom_domain = {
      domain_name     = "mcp.example.com"
      certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
    }
  }

  assert {
    condition     = length(aws_cognito_user_pool.this) == 0 && length(aws_cognito_user_pool_client.host) == 0 && length(aws_cognito_user_pool_client.pipeline) == 0 && length(aws_cognito_resource_server.mcp) == 0 && length(aws_cognito_user_pool_domain.this) == 0
    error_message = "An existing issuer must not create any Cognito resource."
  }

  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables.MCP_OAUTH_ISSUER == "https://login.example.com/realms/platform" &&
      aws_lambda_function.this.environment[0].variables.MCP_OAUTH_SCOPE == "mcp:tools" &&
      aws_lambda_function.this.environment[0].variables.MCP_PUBLIC_URL == "https://mcp.example.com/mcp" &&
      !contains(keys(aws_lambda_function.this.environment[0].variables), "MCP_OAUTH_CLIENT_IDS") &&
      !contains(keys(aws_lambda_function.this.environment[0].variables), "MCP_OAUTH_AUDIENCE")
    )
    error_message = "The function must get the issuer, the scope as given, and the custom domain's URL as the resource (the audience defaults to it)."
  }

  assert {
    condition     = output.oauth.issuer == "https://login.example.com/realms/platform" && output.oauth.host_client_id == null && output.oauth.token_endpoint == null && output.oauth.protected_resource_metadata == "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
    error_message = "With an existing issuer the outputs name the issuer and the metadata URL; the client and endpoints are the issuer's."
  }

  assert {
    condition     = contains(keys(jsondecode(aws_api_gateway_rest_api_put.oauth[0].body).paths), "/.well-known/oauth-protected-resource/mcp") && !contains(keys(jsondecode(aws_api_gateway_rest_api_put.oauth[0].body).paths["/.well-known/oauth-protected-resource/mcp"].get), "x-amazon-apigateway-request-validator")
    error_message = "The metadata path must be routed with an existing issuer too, without the header requirement."
  }

  assert {
    condition = alltrue([
      for m in ["post", "get", "delete"] :
      !contains(keys(jsondecode(aws_api_gateway_rest_api_put.oauth[0].body).paths["/mcp"][m]), "security") &&
      jsondecode(aws_api_gateway_rest_api_put.oauth[0].body).paths["/mcp"][m]["x-amazon-apigateway-request-validator"] == "authorization_header" &&
      jsondecode(aws_api_gateway_rest_api_put.oauth[0].body).paths["/mcp"][m].parameters == [{ name = "Authorization", in = "header", required = true, schema = { type = "string" } }]
    ]) && jsondecode(aws_api_gateway_rest_api_put.oauth[0].body).components.securitySchemes == {}
    error_message = "With an existing issuer there is no authorizer (REST APIs have no JWT authorizer): the MCP methods require the Authorization header through a request validator."
  }

  assert {
    condition     = jsondecode(aws_api_gateway_rest_api_put.oauth[0].body)["x-amazon-apigateway-request-validators"] == { authorization_header = { validateRequestParameters = true, validateRequestBody = false } }
    error_message = "The validator checks parameters (the header) only, never the body."
  }

  assert {
    condition = jsondecode(aws_api_gateway_rest_api_put.oauth[0].body)["x-amazon-apigateway-gateway-responses"] == {
      BAD_REQUEST_PARAMETERS = {
        statusCode = "401"
        responseParameters = {
          "gatewayresponse.header.WWW-Authenticate" = "'Bearer resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\", scope=\"mcp:tools\"'"
          "gatewayresponse.header.Cache-Control"    = "'no-store'"
        }
        responseTemplates = {
          "application/json" = "{\"error\":\"unauthorized\",\"error_description\":$context.error.messageString}"
        }
      }
    }
    error_message = "A request without the header must get 401 with the challenge (metadata URL on the custom domain, the scope), and no CORS headers without allowed origins."
  }
}

run "oauth_existing_issuer_with_audience_and_client_ids" {
  command = plan

  variables {
    auth_mode = "oauth"
    oauth = {
      issuer     = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other1234"
      audience   = "api://bedrock-usage"
      client_ids = ["abc", "def"]
    }
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables.MCP_OAUTH_AUDIENCE == "api://bedrock-usage" && aws_lambda_function.this.environment[0].variables.MCP_OAUTH_CLIENT_IDS == "abc,def" && !contains(keys(aws_lambda_function.this.environment[0].variables), "MCP_OAUTH_SCOPE")
    error_message = "audience and client_ids must reach the function; no scope is required unless given."
  }

  assert {
    condition     = jsondecode(aws_api_gateway_rest_api_put.oauth[0].body)["x-amazon-apigateway-gateway-responses"].BAD_REQUEST_PARAMETERS.responseParameters["gatewayresponse.header.WWW-Authenticate"] == "'Bearer resource_metadata=\"https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod/.well-known/oauth-protected-resource/mcp\"'"
    error_message = "Without required scopes the challenge names only the metadata URL (with the stage)."
  }
}

run "other_modes_have_no_metadata_routes" {
  command = plan

  assert {
    condition     = keys(jsondecode(aws_api_gateway_rest_api.this.body).paths) == ["/mcp"] && length(aws_lambda_permission.api_gateway_prm) == 0
    error_message = "Only oauth mode routes the well-known paths to the function."
  }

  assert {
    condition = (
      length(aws_api_gateway_rest_api_put.oauth) == 0 &&
      length([for k in keys(jsondecode(aws_api_gateway_rest_api.this.body)) : k if k == "x-amazon-apigateway-gateway-responses" || k == "x-amazon-apigateway-request-validators"]) == 0 &&
      alltrue([for m in values(jsondecode(aws_api_gateway_rest_api.this.body).paths["/mcp"]) : !contains(keys(m), "parameters")])
    )
    error_message = "Other modes keep their body on the API, with API Gateway's own gateway responses and no header requirement."
  }

  assert {
    condition     = length([for k in keys(aws_lambda_function.this.environment[0].variables) : k if startswith(k, "MCP_OAUTH") || k == "MCP_PUBLIC_URL"]) == 0
    error_message = "Without oauth the function must not be configured for OAuth (the server would turn it on)."
  }
}

run "oauth_needs_an_issuer" {
  command = plan

  variables {
    auth_mode = "oauth"
  }

  expect_failures = [aws_api_gateway_rest_api.this]
}

run "oauth_settings_need_oauth_mode" {
  command = plan

  variables {
    auth_mode = "api_key"
    oauth     = { issuer = "https://login.example.com" }
  }

  expect_failures = [aws_api_gateway_rest_api.this]
}

run "cognito_and_an_issuer_exclude_each_other" {
  command = plan

  variables {
    auth_mode = "oauth"
    oauth = {
      create_cognito = true
      issuer         = "https://login.example.com"
      callback_urls  = ["https://claude.ai/api/mcp/auth_callback"]
    }
  }

  expect_failures = [var.oauth]
}

run "cognito_needs_callback_urls" {
  command = plan

  variables {
    auth_mode = "oauth"
    oauth     = { create_cognito = true }
  }

  expect_failures = [var.oauth]
}

run "cognito_takes_no_audience" {
  command = plan

  variables {
    auth_mode = "oauth"
    oauth = {
      create_cognito = true
      callback_urls  = ["https://claude.ai/api/mcp/auth_callback"]
      client_ids     = ["abc"]
    }
  }

  expect_failures = [var.oauth]
}

run "issuer_must_be_https" {
  command = plan

  variables {
    auth_mode = "oauth"
    oauth     = { issuer = "http://login.example.com" }
  }

  expect_failures = [var.oauth]
}

run "callback_urls_must_be_https_or_loopback" {
  command = plan

  variables {
    auth_mode = "oauth"
    oauth = {
      create_cognito = true
      callback_urls  = ["http://evil.example.com/callback"]
    }
  }

  expect_failures = [var.oauth]
}

run "callback_urls_refuse_http_on_127_0_0_1" {
  command = plan

  variables {
    auth_mode = "oauth"
    oauth = {
      create_cognito = true
      callback_urls  = ["http://127.0.0.1:33418/callback"]
    }
  }

  expect_failures = [var.oauth]
}

run "callback_urls_refuse_a_fragment" {
  command = plan

  variables {
    auth_mode = "oauth"
    oauth = {
      create_cognito = true
      callback_urls  = ["https://claude.ai/api/mcp/auth_callback#x"]
    }
  }

  expect_failures = [var.oauth]
}

run "callback_urls_refuse_script_schemes" {
  command = plan

  variables {
    auth_mode = "oauth"
    oauth = {
      create_cognito = true
      callback_urls  = ["javascript://claude.ai/%0aalert(1)"]
    }
  }

  expect_failures = [var.oauth]
}

run "callback_urls_take_app_schemes" {
  command = plan

  variables {
    auth_mode = "oauth"
    oauth = {
      create_cognito = true
      callback_urls  = ["cursor://anysphere.cursor-mcp/oauth/callback", "http://localhost/callback"]
    }
  }

  assert {
    condition     = aws_cognito_user_pool_client.host[0].callback_urls == toset(["cursor://anysphere.cursor-mcp/oauth/callback", "http://localhost/callback"])
    error_message = "Cursor's app-scheme redirect URI and http://localhost without a port are valid Cognito callback URLs."
  }
}

run "scopes_are_plain_names" {
  command = plan

  variables {
    auth_mode = "oauth"
    oauth = {
      issuer = "https://login.example.com"
      scopes = ["mcp tools"]
    }
  }

  expect_failures = [var.oauth]
}

run "unknown_mode_is_rejected" {
  command = plan

  variables {
    auth_mode = "cognito"
  }

  expect_failures = [var.auth_mode]
}
