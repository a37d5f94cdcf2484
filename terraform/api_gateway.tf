# A REST API (v1: HTTP APIs cannot stream) defined by its OpenAPI body, because provider 5.100's
# aws_api_gateway_integration has no response_transfer_mode and stops timeouts at 300 s. The
# body carries the streaming integration, which 5.100 and 6.x both pass through unchanged.

locals {
  # The function's ARN, built rather than read from the resource, so that the API (and its id,
  # part of MCP_PUBLIC_URL in the function's environment) does not wait for the function.
  function_arn = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${var.name}"

  # Lambda's response-streaming invocation path (not the usual .../2015-03-31/.../invocations).
  streaming_invocation_uri = "arn:${local.partition}:apigateway:${local.region}:lambda:path/2021-11-15/functions/${local.function_arn}/response-streaming-invocations"

  streaming_integration = {
    type                 = "aws_proxy"
    httpMethod           = "POST"
    uri                  = local.streaming_invocation_uri
    responseTransferMode = "STREAM"
    timeoutInMillis      = 900000
    passthroughBehavior  = "when_no_match"
  }

  security_schemes = {
    api_key = {
      api_key = { type = "apiKey", name = "x-api-key", in = "header" }
    }
    iam = {
      sigv4 = {
        type                           = "apiKey"
        name                           = "Authorization"
        in                             = "header"
        "x-amazon-apigateway-authtype" = "awsSigv4"
      }
    }
    none = {}
    # oauth: the authorizer (with the Cognito pool created here) is added by oauth_gateway.tf.
    oauth = {}
  }

  # The OpenAPI `security` requirement of each MCP method (absent means authorizationType NONE).
  method_security = {
    api_key = { security = [{ api_key = [] }] }
    iam     = { security = [{ sigv4 = [] }] }
    none    = {}
    oauth   = {}
  }

  mcp_methods = {
    post = {
      operationId = "mcpPost"
      summary     = "JSON-RPC messages to the MCP server (answers are JSON or an SSE stream)"
    }
    get = {
      operationId = "mcpGet"
      summary     = "SSE stream: server-initiated messages and resumption (Last-Event-ID)"
    }
    delete = {
      operationId = "mcpDelete"
      summary     = "End a legacy MCP session"
    }
  }

  mcp_path_item = merge(
    {
      for method, doc in local.mcp_methods : method => merge(
        doc,
        lookup(local.method_security, var.auth_mode, {}),
        {
          responses                         = { "200" = { description = "Streamed from the function" } }
          "x-amazon-apigateway-integration" = local.streaming_integration
        },
      )
    },
    # Browser CORS preflight goes to the server unauthenticated (browsers send no credentials
    # on preflight); the server answers it from MCP_ALLOWED_ORIGINS.
    length(var.mcp.allowed_origins) > 0 ? {
      options = {
        operationId                       = "mcpOptions"
        summary                           = "CORS preflight, answered by the server"
        responses                         = { "204" = { description = "Preflight answer" } }
        "x-amazon-apigateway-integration" = local.streaming_integration
      }
    } : {},
  )

  openapi = {
    openapi = "3.0.1"
    info = {
      title       = var.name
      description = "MCP server (Streamable HTTP) reporting Amazon Bedrock usage"
      version     = "1.0"
    }
    paths = merge({
      (local.mcp_path) = local.mcp_path_item
      }, {
      # auth_mode = "oauth": the Protected Resource Metadata, open to anyone (RFC 9728).
      for path in local.prm_paths : path => {
        get = {
          operationId                       = path == local.prm_paths[0] ? "oauthProtectedResource" : "oauthProtectedResourceMcp"
          summary                           = "OAuth Protected Resource Metadata, answered by the server without a token"
          responses                         = { "200" = { description = "The metadata document" } }
          "x-amazon-apigateway-integration" = local.streaming_integration
        }
      }
    })
    components = {
      securitySchemes = local.security_schemes[var.auth_mode]
    }
    "x-amazon-apigateway-api-key-source" = "HEADER"
  }

  # oauth mode: the body with the gateway's refusals (oauth_gateway.tf), put once the API exists.
  openapi_body = local.oauth ? jsonencode(local.oauth_openapi) : jsonencode(local.openapi)

  api_execution_log_group = "API-Gateway-Execution-Logs_${aws_api_gateway_rest_api.this.id}/${var.api.stage_name}"

  # API Gateway refuses a stage with access or execution logging until the region's account
  # settings name a CloudWatch Logs role. That role is account-wide: it is either set here
  # (manage_api_gateway_account) or declared present (api_gateway_cloudwatch_role_configured).
  # Without either, the defaults log nothing, so that a fresh account applies.
  api_logging_possible = var.manage_api_gateway_account || var.api_gateway_cloudwatch_role_configured
  api_access_logs      = coalesce(var.api.access_logs, local.api_logging_possible)
  api_logging_level    = coalesce(var.api.logging_level, local.api_logging_possible ? "ERROR" : "OFF")
}

moved {
  from = aws_cloudwatch_log_group.api_access
  to   = aws_cloudwatch_log_group.api_access[0]
}

moved {
  from = aws_cloudwatch_log_group.api_execution
  to   = aws_cloudwatch_log_group.api_execution[0]
}

resource "aws_api_gateway_rest_api" "this" {
  name        = var.name
  description = "MCP server reporting Amazon Bedrock usage (Streamable HTTP, streamed from Lambda)"
  # In oauth mode the body names the API's own URL: aws_api_gateway_rest_api_put.oauth puts it.
  body = local.oauth ? null : jsonencode(local.openapi)

  endpoint_configuration {
    # Edge-optimized endpoints close idle connections after 30 s; REGIONAL after 5 minutes.
    types = ["REGIONAL"]
  }

  lifecycle {
    create_before_destroy = true

    precondition {
      condition     = var.auth_mode != "none" || var.allow_unauthenticated_access
      error_message = "auth_mode = \"none\" leaves the endpoint open to anyone who knows the URL. Set allow_unauthenticated_access = true to confirm."
    }
    precondition {
      condition     = var.auth_mode != "oauth" || var.oauth.create_cognito || var.oauth.issuer != null
      error_message = "auth_mode = \"oauth\" needs a token issuer: set oauth.create_cognito = true (a Cognito user pool created here) or oauth.issuer (an existing issuer's URL)."
    }
    precondition {
      condition     = var.auth_mode == "oauth" || (!var.oauth.create_cognito && var.oauth.issuer == null)
      error_message = "oauth.create_cognito / oauth.issuer are set but auth_mode = \"${var.auth_mode}\": set auth_mode = \"oauth\" (bearer tokens, no API key), or remove the oauth settings."
    }
  }
}

resource "aws_api_gateway_deployment" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  description = "Deployment of body ${substr(sha256(local.openapi_body), 0, 12)}"

  triggers = {
    redeployment = sha256(local.openapi_body)
  }

  lifecycle {
    create_before_destroy = true
  }

  depends_on = [aws_api_gateway_rest_api_put.oauth]
}

resource "aws_cloudwatch_log_group" "api_access" {
  # checkov:skip=CKV_AWS_338:Operational logs; retention is var.api.log_retention_days (30 days by default), raise it where policy asks for a year.
  count = local.api_access_logs ? 1 : 0

  name              = "/aws/apigateway/${var.name}/access"
  retention_in_days = var.api.log_retention_days
  kms_key_id        = var.kms_key_arn
}

# API Gateway creates this group on first use with no retention; creating it first sets one.
resource "aws_cloudwatch_log_group" "api_execution" {
  # checkov:skip=CKV_AWS_338:Operational logs; retention is var.api.log_retention_days (30 days by default), raise it where policy asks for a year.
  count = local.api_logging_level == "OFF" ? 0 : 1

  name              = local.api_execution_log_group
  retention_in_days = var.api.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_api_gateway_stage" "this" {
  # checkov:skip=CKV_AWS_120:Caching is not available with responseTransferMode STREAM, and MCP answers are per request.
  # checkov:skip=CKV_AWS_73:X-Ray tracing on the stage is optional (var.api.xray_tracing).
  # checkov:skip=CKV2_AWS_51:MCP hosts (Claude Code, VS Code, Cursor) cannot present client certificates; callers authenticate with an API key or SigV4.
  # checkov:skip=CKV2_AWS_29:A WAF web ACL is optional (var.waf_web_acl_arn); the API key usage plan and stage throttling bound abuse.
  # checkov:skip=CKV2_AWS_77:A WAF web ACL is optional and its rules are the operator's; the server is Rust (no Log4j).
  # checkov:skip=CKV2_AWS_4:Logging level and metrics are set in aws_api_gateway_method_settings.all (ERROR when the account-wide CloudWatch role is managed or declared, OFF otherwise so that a fresh account applies); checkov cannot resolve optional() object attributes.
  rest_api_id          = aws_api_gateway_rest_api.this.id
  deployment_id        = aws_api_gateway_deployment.this.id
  stage_name           = var.api.stage_name
  description          = "MCP endpoint at ${local.mcp_path}"
  xray_tracing_enabled = var.api.xray_tracing

  dynamic "access_log_settings" {
    for_each = aws_cloudwatch_log_group.api_access
    content {
      destination_arn = access_log_settings.value.arn
      format = jsonencode({
        requestId          = "$context.requestId"
        extendedRequestId  = "$context.extendedRequestId"
        requestTime        = "$context.requestTime"
        ip                 = "$context.identity.sourceIp"
        userAgent          = "$context.identity.userAgent"
        caller             = "$context.identity.caller"
        userArn            = "$context.identity.userArn"
        apiKeyId           = "$context.identity.apiKeyId"
        httpMethod         = "$context.httpMethod"
        path               = "$context.path"
        protocol           = "$context.protocol"
        status             = "$context.status"
        responseLength     = "$context.responseLength"
        responseLatency    = "$context.responseLatency"
        integrationStatus  = "$context.integration.status"
        integrationLatency = "$context.integration.latency"
        integrationError   = "$context.integration.error"
        errorMessage       = "$context.error.message"
        errorType          = "$context.error.responseType"
      })
    }
  }

  lifecycle {
    precondition {
      condition     = local.api_logging_possible || (local.api_logging_level == "OFF" && !local.api_access_logs)
      error_message = "api.logging_level = ${local.api_logging_level} / api.access_logs = ${local.api_access_logs} need the region's API Gateway CloudWatch Logs role (account-wide), or API Gateway refuses the stage (\"CloudWatch Logs role ARN must be set in account settings to enable logging\"). Set manage_api_gateway_account = true to set it here, or api_gateway_cloudwatch_role_configured = true if it is already set (aws apigateway get-account), or leave api.logging_level and api.access_logs unset."
    }
  }

  depends_on = [
    aws_cloudwatch_log_group.api_execution,
    aws_api_gateway_account.this,
  ]
}

resource "aws_api_gateway_method_settings" "all" {
  # checkov:skip=CKV_AWS_225:Caching is not available with responseTransferMode STREAM, and MCP answers are per request.
  rest_api_id = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  method_path = "*/*"

  settings {
    metrics_enabled        = var.api.metrics_enabled
    logging_level          = local.api_logging_level
    data_trace_enabled     = false
    throttling_rate_limit  = var.api.throttle_rate_limit
    throttling_burst_limit = var.api.throttle_burst_limit
    caching_enabled        = false
  }
}

# --- auth_mode = "api_key" ----------------------------------------------------------------------

resource "aws_api_gateway_api_key" "this" {
  count = var.auth_mode == "api_key" ? 1 : 0

  name        = var.name
  description = "MCP hosts send it as the x-api-key header"
  enabled     = true
}

resource "aws_api_gateway_usage_plan" "this" {
  count = var.auth_mode == "api_key" ? 1 : 0

  name        = var.name
  description = "Throttling and quota for the ${var.name} API key"

  api_stages {
    api_id = aws_api_gateway_rest_api.this.id
    stage  = aws_api_gateway_stage.this.stage_name
  }

  throttle_settings {
    rate_limit  = var.usage_plan.throttle_rate_limit
    burst_limit = var.usage_plan.throttle_burst_limit
  }

  dynamic "quota_settings" {
    for_each = var.usage_plan.quota_limit > 0 ? [1] : []
    content {
      limit  = var.usage_plan.quota_limit
      period = var.usage_plan.quota_period
    }
  }
}

resource "aws_api_gateway_usage_plan_key" "this" {
  count = var.auth_mode == "api_key" ? 1 : 0

  key_id        = aws_api_gateway_api_key.this[0].id
  key_type      = "API_KEY"
  usage_plan_id = aws_api_gateway_usage_plan.this[0].id
}

# --- Custom domain (optional) -------------------------------------------------------------------

resource "aws_api_gateway_domain_name" "this" {
  count = var.custom_domain == null ? 0 : 1

  domain_name              = var.custom_domain.domain_name
  regional_certificate_arn = var.custom_domain.certificate_arn
  security_policy          = "TLS_1_2"

  endpoint_configuration {
    types = ["REGIONAL"]
  }
}

# Mapped at the root (no base path): the function sees /mcp under the custom domain too.
resource "aws_api_gateway_base_path_mapping" "this" {
  count = var.custom_domain == null ? 0 : 1

  api_id      = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  domain_name = aws_api_gateway_domain_name.this[0].domain_name
}

resource "aws_route53_record" "custom_domain" {
  count = try(var.custom_domain.route53_zone_id, null) == null ? 0 : 1

  zone_id = var.custom_domain.route53_zone_id
  name    = aws_api_gateway_domain_name.this[0].domain_name
  type    = "A"

  alias {
    name                   = aws_api_gateway_domain_name.this[0].regional_domain_name
    zone_id                = aws_api_gateway_domain_name.this[0].regional_zone_id
    evaluate_target_health = false
  }
}

# --- WAF (optional) ------------------------------------------------------------------------------

resource "aws_wafv2_web_acl_association" "this" {
  count = var.waf_web_acl_arn == null ? 0 : 1

  resource_arn = aws_api_gateway_stage.this.arn
  web_acl_arn  = var.waf_web_acl_arn
}

# --- Account-wide logging role (optional) ------------------------------------------------------

resource "aws_iam_role" "api_gateway_cloudwatch" {
  count = var.manage_api_gateway_account ? 1 : 0

  name                 = "${var.name}-apigw-cloudwatch"
  permissions_boundary = local.permissions_boundary
  description          = "Lets API Gateway write access and execution logs in this account and region"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect    = "Allow"
        Principal = { Service = "apigateway.amazonaws.com" }
        Action    = "sts:AssumeRole"
      },
    ]
  })
}

# The AWS-managed policy made for this role: the role serves every REST API in the region, so
# it cannot be scoped to this deployment's groups.
resource "aws_iam_role_policy_attachment" "api_gateway_cloudwatch" {
  count = var.manage_api_gateway_account ? 1 : 0

  role       = aws_iam_role.api_gateway_cloudwatch[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
}

resource "aws_api_gateway_account" "this" {
  count = var.manage_api_gateway_account ? 1 : 0

  cloudwatch_role_arn = aws_iam_role.api_gateway_cloudwatch[0].arn

  depends_on = [aws_iam_role_policy_attachment.api_gateway_cloudwatch]
}
