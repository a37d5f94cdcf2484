# auth_mode = "oauth": the function is an OAuth 2.1 resource server (issue 15). Tokens come from
# a Cognito user pool created here (oauth.create_cognito) or from an existing issuer
# (oauth.issuer). API Gateway authorizes nothing in this mode: the function validates every
# token against the issuer's keys, and serves the Protected Resource Metadata.
#
# Cognito access tokens carry no `aud`: the server binds them to this deployment by their
# `client_id` (MCP_OAUTH_CLIENT_IDS: the two clients below) and by the resource server's scope
# (`<identifier>/mcp`, MCP_OAUTH_SCOPE), which only clients allowed that scope can obtain.

locals {
  oauth          = var.auth_mode == "oauth"
  create_cognito = local.oauth && var.oauth.create_cognito

  # The canonical URL of the MCP endpoint (MCP_PUBLIC_URL, the RFC 8707 resource), built from
  # the API's id rather than the stage's invoke_url: the stage waits for the deployment, which
  # waits for the body. (The body names the function by a built ARN, so the function can read
  # the API's id without a cycle.)
  execute_api_host = "${aws_api_gateway_rest_api.this.id}.execute-api.${local.region}.${data.aws_partition.current.dns_suffix}"
  mcp_public_url   = local.custom_domain_name == null ? "https://${local.execute_api_host}/${var.api.stage_name}${local.mcp_path}" : "https://${local.custom_domain_name}${local.mcp_path}"

  cognito_domain_prefix      = coalesce(var.oauth.cognito_domain_prefix, "${var.name}-${local.account_id}")
  resource_server_identifier = coalesce(var.oauth.resource_server_identifier, local.mcp_public_url)
  cognito_scope_names        = coalesce(var.oauth.scopes, ["mcp"])
  cognito_scopes             = [for s in local.cognito_scope_names : "${local.resource_server_identifier}/${s}"]
  cognito_base_url           = "https://${local.cognito_domain_prefix}.auth.${local.region}.amazoncognito.com"

  oauth_issuer = !local.oauth ? null : (
    local.create_cognito
    ? "https://cognito-idp.${local.region}.amazonaws.com/${aws_cognito_user_pool.this[0].id}"
    : var.oauth.issuer
  )
  oauth_scopes = !local.oauth ? [] : (local.create_cognito ? local.cognito_scopes : coalesce(var.oauth.scopes, []))
  oauth_client_ids = !local.oauth ? [] : (
    local.create_cognito
    ? [aws_cognito_user_pool_client.host[0].id, aws_cognito_user_pool_client.pipeline[0].id]
    : var.oauth.client_ids
  )

  # What the server reads (src/config/oauth.rs); empty values are left out of the environment.
  oauth_environment = {
    MCP_OAUTH_ISSUER     = local.oauth ? local.oauth_issuer : ""
    MCP_OAUTH_AUDIENCE   = local.oauth && var.oauth.audience != null ? var.oauth.audience : ""
    MCP_OAUTH_CLIENT_IDS = join(",", local.oauth_client_ids)
    MCP_OAUTH_SCOPE      = join(" ", local.oauth_scopes)
    MCP_PUBLIC_URL       = local.oauth ? local.mcp_public_url : ""
  }

  # The Protected Resource Metadata routes (RFC 9728): the plain well-known path and the one
  # suffixed with the endpoint, which the server names in its 401 challenge. Below the stage,
  # as the function sees them once the stage is stripped.
  prm_paths = local.oauth ? ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource${local.mcp_path}"] : []
}

resource "aws_cognito_user_pool" "this" {
  count = local.create_cognito ? 1 : 0

  name                = var.name
  deletion_protection = "INACTIVE"
  # Only an administrator creates users (hosts sign in with them); no self sign-up.
  admin_create_user_config {
    allow_admin_create_user_only = true
  }

  mfa_configuration = "OPTIONAL"
  software_token_mfa_configuration {
    enabled = true
  }

  password_policy {
    minimum_length                   = 14
    require_lowercase                = true
    require_uppercase                = true
    require_numbers                  = true
    require_symbols                  = true
    temporary_password_validity_days = 3
  }

  auto_verified_attributes = ["email"]
  username_attributes      = ["email"]
}

resource "aws_cognito_user_pool_domain" "this" {
  count = local.create_cognito ? 1 : 0

  domain       = local.cognito_domain_prefix
  user_pool_id = aws_cognito_user_pool.this[0].id
}

resource "aws_cognito_resource_server" "mcp" {
  count = local.create_cognito ? 1 : 0

  identifier   = local.resource_server_identifier
  name         = var.name
  user_pool_id = aws_cognito_user_pool.this[0].id

  dynamic "scope" {
    for_each = toset(local.cognito_scope_names)
    content {
      scope_name        = scope.value
      scope_description = "Call the ${var.name} MCP server"
    }
  }
}

# Hosts (Claude.ai, Claude Code, VS Code, the MCP Inspector): a public client (no secret) with
# the authorization code grant, which hosts use with PKCE. Cognito offers no dynamic client
# registration: hosts are given this client id.
resource "aws_cognito_user_pool_client" "host" {
  count = local.create_cognito ? 1 : 0

  name                                 = "${var.name}-hosts"
  user_pool_id                         = aws_cognito_user_pool.this[0].id
  generate_secret                      = false
  allowed_oauth_flows_user_pool_client = true
  allowed_oauth_flows                  = ["code"]
  allowed_oauth_scopes                 = concat(["openid", "email"], local.cognito_scopes)
  callback_urls                        = var.oauth.callback_urls
  logout_urls                          = var.oauth.logout_urls
  supported_identity_providers         = ["COGNITO"]
  explicit_auth_flows                  = ["ALLOW_REFRESH_TOKEN_AUTH"]
  prevent_user_existence_errors        = "ENABLED"
  enable_token_revocation              = true
  access_token_validity                = 60
  id_token_validity                    = 60
  refresh_token_validity               = 30
  token_validity_units {
    access_token  = "minutes"
    id_token      = "minutes"
    refresh_token = "days"
  }

  # The scopes exist once the resource server does.
  depends_on = [aws_cognito_resource_server.mcp]
}

# The pipeline's smoke test: a confidential client with the client credentials grant.
resource "aws_cognito_user_pool_client" "pipeline" {
  count = local.create_cognito ? 1 : 0

  name                                 = "${var.name}-pipeline"
  user_pool_id                         = aws_cognito_user_pool.this[0].id
  generate_secret                      = true
  allowed_oauth_flows_user_pool_client = true
  allowed_oauth_flows                  = ["client_credentials"]
  allowed_oauth_scopes                 = local.cognito_scopes
  supported_identity_providers         = ["COGNITO"]
  explicit_auth_flows                  = ["ALLOW_REFRESH_TOKEN_AUTH"]
  prevent_user_existence_errors        = "ENABLED"
  access_token_validity                = 60
  token_validity_units {
    access_token = "minutes"
  }

  depends_on = [aws_cognito_resource_server.mcp]
}
