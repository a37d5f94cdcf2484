data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

# `id` is the region name on provider 5.x and 6.x (6.x deprecates `name`).
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.id

  tags = merge(
    {
      Application = "bedrock-usage-mcp"
      Deployment  = var.name
      ManagedBy   = "terraform"
    },
    var.tags,
  )

  # An empty string (an unset pipeline variable) means no boundary.
  permissions_boundary = var.permissions_boundary_arn == "" ? null : var.permissions_boundary_arn

  # The MCP endpoint's path below the stage. The server is told the same path (MCP_ENDPOINT).
  mcp_path = "/mcp"

  # --- Bedrock invocation logs -----------------------------------------------------------------
  bedrock_log_group_name = var.bedrock_log_group_name
  # Built from the name, so an existing group needs no lookup (and plans need no read access).
  bedrock_log_group_arn = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.bedrock_log_group_name}"
  # More groups merged into each report (names here, or ARNs in other regions and linked source
  # accounts), as ARNs without ":*" for the role, and as given (":*" dropped) for the server.
  bedrock_extra_log_groups = [for g in var.bedrock_extra_log_groups : trimsuffix(g, ":*")]
  bedrock_extra_log_group_arns = [
    for g in local.bedrock_extra_log_groups :
    startswith(g, "arn:") ? g : "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${g}"
  ]
  bedrock_log_group_arns = concat([local.bedrock_log_group_arn], local.bedrock_extra_log_group_arns)
  # Where DescribeLogGroups (the scan cap's estimate) is asked: every region and account read.
  bedrock_log_group_scopes = distinct([
    for arn in local.bedrock_log_group_arns : "${join(":", slice(split(":", arn), 0, 5))}:log-group:*"
  ])

  # --- Hosts and URLs ---------------------------------------------------------------------------
  custom_domain_name = try(var.custom_domain.domain_name, null)
  # The execute-api host is not listed: it is known only once the API exists, which would tie
  # the function to the API in a cycle. The server accepts the host API Gateway reports in the
  # request context (requestContext.domainName) by itself.
  allowed_hosts = distinct(compact(concat(var.mcp.allowed_hosts, [local.custom_domain_name])))

  # --- The function's environment ------------------------------------------------------------
  lambda_environment_all = {
    BEDROCK_LOG_GROUP             = join(",", concat([local.bedrock_log_group_name], local.bedrock_extra_log_groups))
    BEDROCK_USAGE_CLOUDWATCH_MODE = var.mcp.cloudwatch_mode
    MCP_SESSION_STORE             = "dynamodb"
    MCP_SESSION_TABLE             = aws_dynamodb_table.this.name
    MCP_SESSION_TTL               = tostring(var.mcp.session_ttl_seconds)
    MCP_ENDPOINT                  = local.mcp_path
    MCP_ALLOWED_HOSTS             = join(",", local.allowed_hosts)
    MCP_ALLOWED_ORIGINS           = join(",", var.mcp.allowed_origins)
    MCP_MAX_STREAM_SECS           = tostring(var.mcp.max_stream_seconds)
    MCP_KEEP_ALIVE_SECS           = tostring(var.mcp.keep_alive_seconds)
    BEDROCK_MAX_SCAN_GB           = var.mcp.max_scan_gb == null ? "" : tostring(var.mcp.max_scan_gb)
    BEDROCK_PRICING_JSON          = var.bedrock_pricing_json == null ? "" : var.bedrock_pricing_json
    BEDROCK_PRICE_LIST            = var.cost_data.price_list ? "on" : "off"
    BEDROCK_BILLED_COST           = var.cost_data.billed_cost ? "true" : "false"
    MCP_LOG_FORMAT                = "json"
    RUST_LOG                      = var.lambda.rust_log
    # REST APIs put the stage in the path (/prod/mcp); lambda_http drops it with this set, so
    # the router sees /mcp whatever the stage is called or whether a custom domain is used.
    AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH = "true"
  }
  # Empty lists are left out rather than passed as "" (the server's defaults apply).
  lambda_environment = { for k, v in merge(local.lambda_environment_all, local.oauth_environment) : k => v if v != "" }
  # Lambda limits the environment to 4 KB, keys and values counted together. An upper bound on
  # its UTF-8 bytes (Terraform's length() counts characters): base64 makes 4 characters of
  # every 3 bytes or fewer, so 3/4 of its length overestimates by at most 2 bytes.
  lambda_environment_bytes = floor(length(base64encode(join("", [for k, v in local.lambda_environment : "${k}${v}"]))) * 3 / 4)

  # No secret is passed in the environment (readable with lambda:GetFunctionConfiguration).
  # The requestState key is created once by the server itself in the session table, with a
  # conditional write, and read from there by every instance.
}
