# The root applied against moto_server (scripts/infra-test.sh starts it and points the root's own
# provider block at it through AWS_ENDPOINT_URL, with dummy keys and AWS_REGION): a fresh account
# with the default variables and only image_uri set (issue 11's done-when), then the same
# deployment managing the account-wide settings, then switched to auth_mode = "oauth" with a
# Cognito pool, each read back from the APIs by ./probe. The
# last run allows the account-wide destroy, so the test's own teardown is the allowed destroy;
# nothing_left.tftest.hcl then checks that it left nothing. The guarded destroy is a CLI check in
# scripts/infra-test.sh (terraform test cannot expect a provisioner's failure).
#
# Variables from scripts/infra-test.sh (as HCL strings, "...": the root does not declare them):
# python (a Python with boto3), work (a scratch folder).

run "seed" {
  module {
    source = "./tests/moto/seed"
  }
}

# --- A. A fresh account, the default variables, only image_uri set ------------------------------

run "fresh" {
  variables {
    image_uri = run.seed.image_uri
  }

  # The plan warns that the Bedrock log group does not exist, and the apply does not need it.
  expect_failures = [check.bedrock_log_group_exists]

  assert {
    condition     = startswith(output.mcp_url, "https://") && endswith(output.mcp_url, "/prod/mcp")
    error_message = "mcp_url must be https and end in /prod/mcp: ${output.mcp_url}"
  }

  assert {
    condition     = output.api_key != null && output.api_key != ""
    error_message = "The api_key output must be set."
  }
}

run "fresh_read_back" {
  module {
    source = "./tests/moto/probe"
  }

  variables {
    out                = "${var.work}/fresh.json"
    function_name      = run.fresh.function_name
    rest_api_id        = run.fresh.rest_api_id
    stage_name         = run.fresh.stage_name
    session_table_name = run.fresh.session_table_name
  }

  assert {
    condition     = jsondecode(file(var.out)).function.PackageType == "Image" && tolist(data.aws_lambda_function.this[0].architectures) == tolist(["arm64"])
    error_message = "The function must be an arm64 image."
  }

  assert {
    condition     = data.aws_lambda_function.this[0].environment[0].variables["MCP_SESSION_TABLE"] == run.fresh.session_table_name && data.aws_lambda_function.this[0].environment[0].variables["MCP_SESSION_STORE"] == "dynamodb"
    error_message = "The function must use the session table."
  }

  assert {
    condition     = data.aws_lambda_function.this[0].environment[0].variables["BEDROCK_LOG_GROUP"] == run.fresh.bedrock_log_group_name && run.fresh.bedrock_log_group_name == "/aws/bedrock/modelinvocations"
    error_message = "The function must read the default Bedrock log group."
  }

  assert {
    condition     = length([for k in keys(data.aws_lambda_function.this[0].environment[0].variables) : k if can(regex("KEY|SECRET|TOKEN|PASSWORD", upper(k)))]) == 0
    error_message = "No secret in the function's environment (GetFunctionConfiguration shows it): ${jsonencode(keys(data.aws_lambda_function.this[0].environment[0].variables))}"
  }

  assert {
    condition     = !contains(data.aws_cloudwatch_log_groups.all.log_group_names, "/aws/bedrock/modelinvocations")
    error_message = "Fresh account: the Bedrock log group must not exist (the apply must not need it)."
  }

  assert {
    condition     = output.log_group_retention[run.fresh.lambda_log_group_name] == 30
    error_message = "The function's log group must be retained 30 days."
  }

  assert {
    condition     = run.fresh.api_access_log_group_name == null && length([for g in data.aws_cloudwatch_log_groups.all.log_group_names : g if startswith(g, "/aws/apigateway/") || startswith(g, "API-Gateway-Execution-Logs_")]) == 0
    error_message = "No API Gateway log groups without the account's CloudWatch role."
  }

  assert {
    condition     = length(try(jsondecode(file(var.out)).stage.accessLogSettings, {})) == 0
    error_message = "Fresh account: the stage must have no access log settings (API Gateway would refuse them)."
  }

  assert {
    condition     = try(jsondecode(file(var.out)).stage.methodSettings["*/*"].loggingLevel, "OFF") == "OFF"
    error_message = "Fresh account: execution logging must be OFF."
  }

  assert {
    condition     = try(jsondecode(file(var.out)).account.cloudwatchRoleArn, "") == ""
    error_message = "The account-wide API Gateway setting must be untouched."
  }

  assert {
    condition     = length(try(jsondecode(file(var.out)).logging.loggingConfig, {})) == 0
    error_message = "The account-wide Bedrock logging configuration must be untouched."
  }

  assert {
    condition     = toset([for a in jsondecode(file(var.out)).alarms.MetricAlarms : a.AlarmName if startswith(a.AlarmName, "${run.fresh.function_name}-")]) == toset(run.fresh.alarm_names) && length(run.fresh.alarm_names) == 5
    error_message = "Five alarms by default, the ones alarm_names lists."
  }

  assert {
    condition = [for a in jsondecode(file(var.out)).alarms.MetricAlarms : { for d in a.Dimensions : d.Name => d.Value } if a.AlarmName == "${run.fresh.function_name}-lambda-errors"] == [{
      FunctionName = run.fresh.function_name
    }]
    error_message = "The errors alarm must watch the function."
  }

  assert {
    condition = [for a in jsondecode(file(var.out)).alarms.MetricAlarms : { for d in a.Dimensions : d.Name => d.Value } if a.AlarmName == "${run.fresh.function_name}-api-latency"] == [{
      ApiName  = run.fresh.function_name
      Stage    = "prod"
      Method   = "POST"
      Resource = "/mcp"
    }]
    error_message = "The latency alarm must watch POST /mcp."
  }

  assert {
    condition     = alltrue([for a in jsondecode(file(var.out)).alarms.MetricAlarms : length(try(a.AlarmActions, [])) == 0])
    error_message = "No alarm actions without a topic."
  }

  assert {
    condition     = length(jsondecode(file(var.out)).dashboards.DashboardEntries) == 0 && run.fresh.dashboard_url == null
    error_message = "No dashboard by default."
  }

  assert {
    condition     = data.aws_dynamodb_table.sessions[0].hash_key == "pk" && data.aws_dynamodb_table.sessions[0].range_key == "sk"
    error_message = "The session table must be keyed by pk/sk."
  }

  assert {
    condition     = data.aws_dynamodb_table.sessions[0].billing_mode == "PAY_PER_REQUEST"
    error_message = "The session table must be on-demand."
  }

  assert {
    condition     = one(data.aws_dynamodb_table.sessions[0].ttl).attribute_name == "expires_at" && one(data.aws_dynamodb_table.sessions[0].ttl).enabled
    error_message = "TTL must be on expires_at."
  }

  assert {
    condition     = one(data.aws_dynamodb_table.sessions[0].point_in_time_recovery).enabled
    error_message = "The session table must have point-in-time recovery."
  }

  assert {
    condition     = [for r in jsondecode(file(var.out)).resources.items : toset(keys(r.resourceMethods)) if r.path == "/mcp"] == [toset(["POST", "GET", "DELETE"])]
    error_message = "/mcp must have POST, GET and DELETE."
  }

  assert {
    condition     = endswith(jsondecode(file(var.out)).integration.uri, ":function:${run.fresh.function_name}/response-streaming-invocations") && strcontains(jsondecode(file(var.out)).integration.uri, "/2021-11-15/")
    error_message = "POST must integrate with the streaming invocation URI: ${jsondecode(file(var.out)).integration.uri}"
  }

  assert {
    condition     = upper(jsondecode(file(var.out)).integration.type) == "AWS_PROXY"
    error_message = "The integration must be AWS_PROXY."
  }

  assert {
    condition     = tonumber(jsondecode(file(var.out)).integration.timeoutInMillis) == 900000
    error_message = "The integration timeout must be 900000 ms."
  }

  assert {
    condition     = length([for p in jsondecode(file(var.out)).usage_plans.items : p if p.name == run.fresh.function_name && length(try(p.quota, {})) > 0 && length(try(p.throttle, {})) > 0]) == 1
    error_message = "A usage plan with quota and throttling."
  }

  assert {
    condition     = [for s in jsondecode(file(var.out)).lambda_policy.PolicyDocument.Statement : s.Sid if contains(flatten([s.Resource]), "*")] == ["FollowInsightsQueries", "ReadBedrockMetrics", "ReadPriceList"]
    error_message = "Only GetQueryResults/StopQuery (FollowInsightsQueries), cloudwatch:ListMetrics/GetMetricData (ReadBedrockMetrics) and pricing:GetProducts (ReadPriceList), which support no resource-level permissions, may use Resource '*'."
  }
}

# --- B. The same deployment now manages the account-wide settings (as quickstart.tfvars) --------
# Bedrock's endpoint is scripts/infra-test.sh's proxy, which refuses the logging configuration
# twice as Bedrock does before a new role has propagated: the apply must wait and succeed.

run "managed" {
  variables {
    image_uri                         = run.seed.image_uri
    manage_bedrock_invocation_logging = true
    manage_api_gateway_account        = true
    mcp                               = { allowed_origins = ["https://app.example.com"] }
    monitoring                        = { dashboard = true, alarm_topic_arn = run.seed.topic_arn }
  }
}

run "managed_read_back" {
  module {
    source = "./tests/moto/probe"
  }

  variables {
    out           = "${var.work}/managed.json"
    function_name = run.managed.function_name
    rest_api_id   = run.managed.rest_api_id
    stage_name    = run.managed.stage_name
  }

  assert {
    condition     = jsondecode(file(var.out)).bedrock_proxy.refused == 2 && jsondecode(file(var.out)).bedrock_proxy.put >= 3
    error_message = "The apply must have gone through two refused PutModelInvocationLoggingConfiguration calls and retried: ${jsonencode(jsondecode(file(var.out)).bedrock_proxy)}"
  }

  assert {
    condition     = endswith(try(jsondecode(file(var.out)).account.cloudwatchRoleArn, ""), ":role/${run.managed.function_name}-apigw-cloudwatch")
    error_message = "The API Gateway account must name the CloudWatch role created here."
  }

  assert {
    condition     = try(jsondecode(jsondecode(file(var.out)).stage.accessLogSettings.format).requestId, "") == "$context.requestId"
    error_message = "With the role, the stage must write JSON access logs."
  }

  assert {
    condition     = [for r in jsondecode(file(var.out)).resources.items : toset(keys(r.resourceMethods)) if r.path == "/mcp"] == [toset(["POST", "GET", "DELETE", "OPTIONS"])]
    error_message = "OPTIONS /mcp with allowed origins."
  }

  assert {
    condition     = try(output.log_group_retention[run.managed.bedrock_log_group_name], 0) == 365
    error_message = "The Bedrock invocation log group must be created, retained 365 days."
  }

  assert {
    condition     = contains(data.aws_cloudwatch_log_groups.all.log_group_names, run.managed.api_access_log_group_name)
    error_message = "The access log group must be created."
  }

  assert {
    condition     = try(jsondecode(file(var.out)).logging.loggingConfig.cloudWatchConfig.logGroupName, "") == run.managed.bedrock_log_group_name
    error_message = "Bedrock must log to that group."
  }

  assert {
    condition     = try(jsondecode(file(var.out)).logging.loggingConfig.textDataDeliveryEnabled, null) == false
    error_message = "Metadata only: no prompts or completions (textDataDeliveryEnabled false)."
  }

  assert {
    condition     = length([for a in jsondecode(file(var.out)).alarms.MetricAlarms : a if contains(run.managed.alarm_names, a.AlarmName) && try(a.AlarmActions, []) == [run.seed.topic_arn] && try(a.OKActions, []) == [run.seed.topic_arn]]) == 5
    error_message = "Every alarm must notify the topic on ALARM and OK."
  }

  assert {
    condition     = length(jsondecode(jsondecode(file(var.out)).dashboard.DashboardBody).widgets) == 8 && endswith(run.managed.dashboard_url, "#dashboards/dashboard/${run.managed.function_name}")
    error_message = "A dashboard with 8 widgets, and its URL as an output."
  }
}

# The guard lets the test's teardown destroy the account-wide settings.
run "allow_account_wide_destroy" {
  variables {
    image_uri                         = run.seed.image_uri
    manage_bedrock_invocation_logging = true
    manage_api_gateway_account        = true
    mcp                               = { allowed_origins = ["https://app.example.com"] }
    monitoring                        = { dashboard = true, alarm_topic_arn = run.seed.topic_arn }
    allow_account_wide_destroy        = true
  }
}

# --- C. The same deployment switched to auth_mode = "oauth" with a Cognito pool -----------------
# API Gateway and Cognito are reached through tests/moto/oauth_proxy.py (scripts/infra-test.sh):
# moto drops the OpenAPI body's authorizer and gateway responses, which the proxy applies as
# AWS's import does, and has no DeleteResourceServer, which the proxy answers for the teardown.

run "oauth" {
  variables {
    image_uri                         = run.seed.image_uri
    manage_bedrock_invocation_logging = true
    manage_api_gateway_account        = true
    mcp                               = { allowed_origins = ["https://app.example.com"] }
    monitoring                        = { dashboard = true, alarm_topic_arn = run.seed.topic_arn }
    allow_account_wide_destroy        = true
    auth_mode                         = "oauth"
    oauth = {
      create_cognito = true
      callback_urls  = ["https://claude.ai/api/mcp/auth_callback", "http://localhost:33418/callback"]
    }
  }
}

run "oauth_read_back" {
  module {
    source = "./tests/moto/probe"
  }

  variables {
    out           = "${var.work}/oauth.json"
    function_name = run.oauth.function_name
    rest_api_id   = run.oauth.rest_api_id
    stage_name    = run.oauth.stage_name
    user_pool_id  = element(split("/", run.oauth.oauth.issuer), 3)
  }

  assert {
    condition     = jsondecode(file(var.out)).oauth_proxy.imports >= 1 && length(jsondecode(file(var.out)).authorizers.items) == 1
    error_message = "The body must have been put (and its extensions applied) with one authorizer: ${jsonencode(jsondecode(file(var.out)).oauth_proxy)}"
  }

  assert {
    condition     = one(jsondecode(file(var.out)).authorizers.items).type == "COGNITO_USER_POOLS" && one(jsondecode(file(var.out)).authorizers.items).providerARNs == [jsondecode(file(var.out)).user_pool.UserPool.Arn] && one(jsondecode(file(var.out)).authorizers.items).identitySource == "method.request.header.Authorization"
    error_message = "The authorizer must be the created pool's, on the Authorization header: ${jsonencode(jsondecode(file(var.out)).authorizers)}"
  }

  assert {
    condition = {
      for m, a in jsondecode(file(var.out)).methods["/mcp"] : m => [a.authorizationType, a.authorizerId, jsonencode(a.authorizationScopes), a.apiKeyRequired]
      } == {
      POST    = ["COGNITO_USER_POOLS", one(jsondecode(file(var.out)).authorizers.items).id, jsonencode(run.oauth.oauth.scopes), false]
      GET     = ["COGNITO_USER_POOLS", one(jsondecode(file(var.out)).authorizers.items).id, jsonencode(run.oauth.oauth.scopes), false]
      DELETE  = ["COGNITO_USER_POOLS", one(jsondecode(file(var.out)).authorizers.items).id, jsonencode(run.oauth.oauth.scopes), false]
      OPTIONS = ["NONE", null, "null", false]
    }
    error_message = "POST, GET and DELETE /mcp must need the authorizer with the MCP scope; OPTIONS must stay open; no API key: ${jsonencode(jsondecode(file(var.out)).methods)}"
  }

  assert {
    condition = alltrue([
      for p in ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"] :
      jsondecode(file(var.out)).methods[p] == { GET = { authorizationType = "NONE", authorizerId = null, authorizationScopes = null, apiKeyRequired = false, requestValidatorId = null, requestParameters = null } }
    ])
    error_message = "The Protected Resource Metadata routes must be GET without authorization: ${jsonencode(jsondecode(file(var.out)).methods)}"
  }

  assert {
    condition = {
      for r in jsondecode(file(var.out)).gateway_responses.items : r.responseType => [r.statusCode, r.responseParameters["gatewayresponse.header.WWW-Authenticate"], r.responseParameters["gatewayresponse.header.Access-Control-Expose-Headers"]]
      } == {
      UNAUTHORIZED  = ["401", "'Bearer resource_metadata=\"${run.oauth.oauth.protected_resource_metadata}\", scope=\"${join(" ", run.oauth.oauth.scopes)}\"'", "'WWW-Authenticate'"]
      ACCESS_DENIED = ["403", "'Bearer resource_metadata=\"${run.oauth.oauth.protected_resource_metadata}\", scope=\"${join(" ", run.oauth.oauth.scopes)}\", error=\"insufficient_scope\"'", "'WWW-Authenticate'"]
    }
    error_message = "The gateway's 401 and 403 must carry the challenge (metadata URL, scope), readable by browsers: ${jsonencode(jsondecode(file(var.out)).gateway_responses)}"
  }

  assert {
    condition     = length([for p in jsondecode(file(var.out)).usage_plans.items : p if p.name == run.oauth.function_name]) == 0 && run.oauth.api_key == null
    error_message = "Switching to oauth must remove the API key's usage plan."
  }

  assert {
    condition     = [for s in jsondecode(file(var.out)).resource_servers.ResourceServers : [s.Identifier, [for x in s.Scopes : x.ScopeName]]] == [[run.oauth.oauth.resource, ["mcp"]]]
    error_message = "One resource server, identified by the MCP URL, with the mcp scope: ${jsonencode(jsondecode(file(var.out)).resource_servers)}"
  }

  assert {
    condition     = jsondecode(file(var.out)).domain.DomainDescription.UserPoolId == element(split("/", run.oauth.oauth.issuer), 3) && startswith(run.oauth.oauth.token_endpoint, "https://${jsondecode(file(var.out)).domain.DomainDescription.Domain}.auth.")
    error_message = "The hosted domain must belong to the pool and be the token endpoint's host: ${jsonencode(jsondecode(file(var.out)).domain)}"
  }

  assert {
    condition = (
      !jsondecode(file(var.out)).clients["${run.oauth.function_name}-hosts"].HasSecret &&
      jsondecode(file(var.out)).clients["${run.oauth.function_name}-hosts"].AllowedOAuthFlows == ["code"] &&
      contains(jsondecode(file(var.out)).clients["${run.oauth.function_name}-hosts"].AllowedOAuthScopes, one(run.oauth.oauth.scopes)) &&
      toset(jsondecode(file(var.out)).clients["${run.oauth.function_name}-hosts"].CallbackURLs) == toset(["https://claude.ai/api/mcp/auth_callback", "http://localhost:33418/callback"]) &&
      jsondecode(file(var.out)).clients["${run.oauth.function_name}-hosts"].ClientId == run.oauth.oauth.host_client_id
    )
    error_message = "The host client: public, authorization code, the MCP scope, the callback URLs: ${jsonencode(jsondecode(file(var.out)).clients)}"
  }

  assert {
    condition = (
      jsondecode(file(var.out)).clients["${run.oauth.function_name}-pipeline"].HasSecret &&
      jsondecode(file(var.out)).clients["${run.oauth.function_name}-pipeline"].AllowedOAuthFlows == ["client_credentials"] &&
      jsonencode(jsondecode(file(var.out)).clients["${run.oauth.function_name}-pipeline"].AllowedOAuthScopes) == jsonencode(run.oauth.oauth.scopes) &&
      jsondecode(file(var.out)).clients["${run.oauth.function_name}-pipeline"].ClientId == run.oauth.oauth.pipeline_client_id
    )
    error_message = "The pipeline client: confidential, client credentials, only the MCP scope: ${jsonencode(jsondecode(file(var.out)).clients)}"
  }

  assert {
    condition = (
      data.aws_lambda_function.this[0].environment[0].variables["MCP_OAUTH_ISSUER"] == run.oauth.oauth.issuer &&
      data.aws_lambda_function.this[0].environment[0].variables["MCP_OAUTH_SCOPE"] == one(run.oauth.oauth.scopes) &&
      data.aws_lambda_function.this[0].environment[0].variables["MCP_OAUTH_CLIENT_IDS"] == "${run.oauth.oauth.host_client_id},${run.oauth.oauth.pipeline_client_id}" &&
      data.aws_lambda_function.this[0].environment[0].variables["MCP_PUBLIC_URL"] == run.oauth.oauth.resource
    )
    error_message = "The function must still validate tokens itself: the pool's issuer, the scope, both clients, the public URL."
  }
}

# The same deployment with an existing issuer instead: the Cognito resources go (through the
# stand-in's DeleteResourceServer), and the body put over the old one has no authorizer but the
# request validator that makes the Authorization header required.
run "oauth_existing_issuer" {
  variables {
    image_uri                         = run.seed.image_uri
    manage_bedrock_invocation_logging = true
    manage_api_gateway_account        = true
    mcp                               = { allowed_origins = ["https://app.example.com"] }
    monitoring                        = { dashboard = true, alarm_topic_arn = run.seed.topic_arn }
    allow_account_wide_destroy        = true
    auth_mode                         = "oauth"
    oauth = {
      issuer = "https://login.example.com/realms/platform"
      scopes = ["mcp:tools"]
    }
  }
}

run "oauth_existing_issuer_read_back" {
  module {
    source = "./tests/moto/probe"
  }

  variables {
    out           = "${var.work}/oauth-issuer.json"
    function_name = run.oauth_existing_issuer.function_name
    rest_api_id   = run.oauth_existing_issuer.rest_api_id
    stage_name    = run.oauth_existing_issuer.stage_name
  }

  assert {
    condition     = length(jsondecode(file(var.out)).authorizers.items) == 0 && length([for p in jsondecode(file(var.out)).user_pools.UserPools : p if p.Name == run.oauth_existing_issuer.function_name]) == 0 && jsondecode(file(var.out)).oauth_proxy.delete_resource_server == 1
    error_message = "The Cognito authorizer and pool must be gone, the resource server deleted once: ${jsonencode(jsondecode(file(var.out)).oauth_proxy)}"
  }

  assert {
    condition     = [for v in jsondecode(file(var.out)).request_validators.items : [v.name, v.validateRequestParameters, v.validateRequestBody]] == [["authorization_header", true, false]]
    error_message = "One request validator, for parameters only: ${jsonencode(jsondecode(file(var.out)).request_validators)}"
  }

  assert {
    condition = {
      for m, a in jsondecode(file(var.out)).methods["/mcp"] : m => [a.authorizationType, a.requestValidatorId, jsonencode(a.requestParameters)]
      } == {
      POST    = ["NONE", one(jsondecode(file(var.out)).request_validators.items).id, jsonencode({ "method.request.header.Authorization" = true })]
      GET     = ["NONE", one(jsondecode(file(var.out)).request_validators.items).id, jsonencode({ "method.request.header.Authorization" = true })]
      DELETE  = ["NONE", one(jsondecode(file(var.out)).request_validators.items).id, jsonencode({ "method.request.header.Authorization" = true })]
      OPTIONS = ["NONE", null, "null"]
    }
    error_message = "POST, GET and DELETE /mcp must require the Authorization header (no authorizer); OPTIONS must not: ${jsonencode(jsondecode(file(var.out)).methods)}"
  }

  assert {
    condition = {
      for r in jsondecode(file(var.out)).gateway_responses.items : r.responseType => [r.statusCode, r.responseParameters["gatewayresponse.header.WWW-Authenticate"]]
      } == {
      BAD_REQUEST_PARAMETERS = ["401", "'Bearer resource_metadata=\"${run.oauth_existing_issuer.oauth.protected_resource_metadata}\", scope=\"mcp:tools\"'"]
    }
    error_message = "A request without the header must get 401 with the challenge, and the authorizer's responses must be gone: ${jsonencode(jsondecode(file(var.out)).gateway_responses)}"
  }
}

# The probe again with nothing to look up, so that its state holds no data source that fails to
# read once the teardown has destroyed the deployment.
run "probe_reset" {
  module {
    source = "./tests/moto/probe"
  }

  variables {
    out = "${var.work}/reset.json"
  }
}
