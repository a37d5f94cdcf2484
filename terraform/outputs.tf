locals {
  base_url = local.custom_domain_name == null ? aws_api_gateway_stage.this.invoke_url : "https://${local.custom_domain_name}"
  mcp_url  = "${trimsuffix(local.base_url, "/")}${local.mcp_path}"

  host_server_name = "bedrock-usage"
  api_key_value    = var.auth_mode == "api_key" ? aws_api_gateway_api_key.this[0].value : null

  # auth_mode = "oauth" with the created pool: the public client hosts name (Cognito has no
  # dynamic client registration), the pipeline's client, and the port of a
  # http://localhost:PORT/callback redirect URI for Claude Code's --callback-port.
  oauth_host_client_id     = local.oauth ? one(aws_cognito_user_pool_client.host[*].id) : null
  oauth_pipeline_client_id = local.oauth ? one(aws_cognito_user_pool_client.pipeline[*].id) : null
  oauth_callback_port = !local.create_cognito ? null : try(
    [for u in var.oauth.callback_urls : regex("^http://localhost:([0-9]+)/callback$", u)[0] if can(regex("^http://localhost:([0-9]+)/callback$", u))][0],
    null
  )
}

output "mcp_url" {
  description = "The MCP endpoint (Streamable HTTP): https://<api>.execute-api.<region>.amazonaws.com/<stage>/mcp, or https://<custom domain>/mcp."
  value       = local.mcp_url
}

output "auth_mode" {
  description = "How callers authenticate: api_key (x-api-key header), iam (SigV4), oauth (bearer token) or none."
  value       = var.auth_mode
}

output "api_key" {
  description = "The API key MCP hosts send as x-api-key (auth_mode = \"api_key\"; null otherwise). Read it with `terraform output -raw api_key`."
  value       = local.api_key_value
  sensitive   = true
}

output "oauth" {
  description = "auth_mode = \"oauth\" (null otherwise): the issuer, the scopes the server requires, the Protected Resource Metadata URL hosts discover it from, and with the created Cognito pool the host client id (public, authorization code + PKCE: give it to Claude.ai's custom connector, Claude Code, VS Code or the MCP Inspector; Cognito has no dynamic client registration), its authorization and token endpoints, and the pipeline's client-credentials client id (its secret: oauth_pipeline_client_secret)."
  value = !local.oauth ? null : {
    issuer                      = local.oauth_issuer
    scopes                      = local.oauth_scopes
    resource                    = local.mcp_public_url
    protected_resource_metadata = "${trimsuffix(local.mcp_public_url, local.mcp_path)}/.well-known/oauth-protected-resource${local.mcp_path}"
    host_client_id              = one(aws_cognito_user_pool_client.host[*].id)
    pipeline_client_id          = one(aws_cognito_user_pool_client.pipeline[*].id)
    authorization_endpoint      = local.create_cognito ? "${local.cognito_base_url}/oauth2/authorize" : null
    token_endpoint              = local.create_cognito ? "${local.cognito_base_url}/oauth2/token" : null
    callback_urls               = local.create_cognito ? var.oauth.callback_urls : null
  }
}

output "oauth_pipeline_client_secret" {
  description = "The secret of the Cognito pipeline client (client credentials grant, for the smoke test); null unless oauth.create_cognito. Read it with `terraform output -raw oauth_pipeline_client_secret`."
  value       = one(aws_cognito_user_pool_client.pipeline[*].client_secret)
  sensitive   = true
}

output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "session_table_name" {
  description = "Name of the DynamoDB session table."
  value       = aws_dynamodb_table.this.name
}

output "bedrock_log_group_name" {
  description = "Log group of the Bedrock model-invocation logs the server reads."
  value       = local.bedrock_log_group_name
}

output "lambda_log_group_name" {
  description = "Log group of the function (JSON)."
  value       = aws_cloudwatch_log_group.lambda.name
}

output "api_access_log_group_name" {
  description = "Log group of the API Gateway access logs (JSON); null when the stage writes none (no CloudWatch role managed or declared, see api_gateway_cloudwatch_role_configured)."
  value       = one(aws_cloudwatch_log_group.api_access[*].name)
}

output "rest_api_id" {
  description = "ID of the REST API."
  value       = aws_api_gateway_rest_api.this.id
}

output "stage_name" {
  description = "Stage of the REST API (part of the execute-api URL)."
  value       = aws_api_gateway_stage.this.stage_name
}

output "execute_api_arn" {
  description = "Resource ARN to grant execute-api:Invoke on (auth_mode = \"iam\"): every method of the MCP path on this stage."
  value       = "${aws_api_gateway_rest_api.this.execution_arn}/${aws_api_gateway_stage.this.stage_name}/*${local.mcp_path}"
}

output "image_uri" {
  description = "The image the function runs, by digest."
  value       = local.image_uri
}

output "ecr_repository_url" {
  description = "The ECR repository Terraform builds into (null when image_uri is given)."
  value       = one(aws_ecr_repository.this[*].repository_url)
}

output "custom_domain_target" {
  description = "With custom_domain and no route53_zone_id: the regional domain name and hosted zone to point an alias (or CNAME) record at."
  value = var.custom_domain == null ? null : {
    regional_domain_name = aws_api_gateway_domain_name.this[0].regional_domain_name
    regional_zone_id     = aws_api_gateway_domain_name.this[0].regional_zone_id
  }
}

output "claude_code_command" {
  description = "Adds the server to Claude Code. Contains the API key: print it with `terraform output -raw claude_code_command`. With auth_mode = \"oauth\" and the created pool it names the host client id (and --callback-port when oauth.callback_urls has http://localhost:PORT/callback); Claude Code then runs the authorization code flow in the browser."
  sensitive   = true
  value = join(" ", compact([
    "claude mcp add --transport http",
    local.oauth_host_client_id == null ? "" : "--client-id ${local.oauth_host_client_id}",
    local.oauth_callback_port == null ? "" : "--callback-port ${local.oauth_callback_port}",
    local.host_server_name,
    "'${local.mcp_url}'",
    local.api_key_value == null ? "" : "--header 'x-api-key: ${local.api_key_value}'",
  ]))
}

output "vscode_mcp_json" {
  description = "A .vscode/mcp.json for VS Code. The API key is prompted for once and kept in VS Code's secret storage, not in the file. With auth_mode = \"oauth\" the URL is all it needs: VS Code discovers the issuer and, as Cognito has no dynamic client registration, asks once for the client id (oauth.host_client_id; register https://vscode.dev/redirect among oauth.callback_urls)."
  value = var.auth_mode != "api_key" ? jsonencode({
    servers = { (local.host_server_name) = { type = "http", url = local.mcp_url } }
    }) : jsonencode({
    inputs = [{
      type        = "promptString"
      id          = "bedrock-usage-api-key"
      description = "API key of ${var.name} (terraform output -raw api_key)"
      password    = true
    }]
    servers = {
      (local.host_server_name) = {
        type    = "http"
        url     = local.mcp_url
        headers = { "x-api-key" = "$${input:bedrock-usage-api-key}" }
      }
    }
  })
}

output "cursor_mcp_json" {
  description = "A ~/.cursor/mcp.json (or .cursor/mcp.json) for Cursor. The API key is read from the environment variable BEDROCK_USAGE_MCP_API_KEY. With auth_mode = \"oauth\" and the created pool, auth names the host client id and the scopes (Cursor's redirect URI is cursor://anysphere.cursor-mcp/oauth/callback)."
  value = jsonencode({
    mcpServers = {
      (local.host_server_name) = merge(
        { url = local.mcp_url },
        var.auth_mode == "api_key" ? { headers = { "x-api-key" = "$${env:BEDROCK_USAGE_MCP_API_KEY}" } } : {},
        local.oauth_host_client_id == null ? {} : { auth = { CLIENT_ID = local.oauth_host_client_id, scopes = local.oauth_scopes } },
      )
    }
  })
}

output "smoke_command" {
  description = "Checks the deployment end to end with the project's mcp-client (run from terraform/). With auth_mode = \"oauth\" and the created pool it uses the pipeline client's credentials (the secret through MCP_OAUTH_CLIENT_SECRET, never on the command line); mcp-client discovers the token endpoint from the server's metadata."
  value = join(" ", compact([
    local.oauth_pipeline_client_id == null ? "" : "MCP_OAUTH_CLIENT_SECRET=\"$(terraform output -raw oauth_pipeline_client_secret)\"",
    "mcp-client --url \"$(terraform output -raw mcp_url)\"",
    var.auth_mode == "api_key" ? "--header \"x-api-key: $(terraform output -raw api_key)\"" : "",
    local.oauth_pipeline_client_id == null ? "" : "--oauth-client-id ${local.oauth_pipeline_client_id}",
    "smoke",
  ]))
}

output "alarm_names" {
  description = "Names of the CloudWatch alarms (monitoring.alarms); empty when off."
  value       = concat([for a in aws_cloudwatch_metric_alarm.this : a.alarm_name], aws_cloudwatch_metric_alarm.dynamodb_throttles[*].alarm_name)
}

output "dashboard_url" {
  description = "Console URL of the CloudWatch dashboard (monitoring.dashboard); null when off."
  value       = var.monitoring.dashboard ? "https://${local.region}.console.aws.amazon.com/cloudwatch/home?region=${local.region}#dashboards/dashboard/${aws_cloudwatch_dashboard.this[0].dashboard_name}" : null
}
