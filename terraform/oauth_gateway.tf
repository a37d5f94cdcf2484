# auth_mode = "oauth": what API Gateway itself does with a request before the function runs.
#
# REST API proxy integrations rename a function's WWW-Authenticate response header to
# x-amzn-remapped-www-authenticate, so the server's own 401 challenge never reaches a host under
# its name; MCP hosts of the 2025-06-18 revision find the Protected Resource Metadata only
# through that challenge. A gateway response is not an integration response: its headers go out
# as written. So the gateway refuses a request that cannot pass, and its responses carry the
# challenge (RFC 6750 section 3, as src/auth/challenge.rs words it):
#
# - Cognito pool created here (oauth.create_cognito): a COGNITO_USER_POOLS authorizer on the MCP
#   methods, with the resource server's scopes (scopes make it accept access tokens, not ID
#   tokens). A missing, malformed, expired or foreign token is refused with 401 (UNAUTHORIZED)
#   without invoking the function; one without the scope with 401 or 403 (ACCESS_DENIED).
# - An existing issuer (oauth.issuer): API Gateway has no JWT authorizer for REST APIs, and a
#   Lambda authorizer would cost an invocation of its own on every uncached token. A request
#   validator makes the Authorization header required, so a request without one (the host's
#   first, unauthenticated request) is refused at the gateway: BAD_REQUEST_PARAMETERS, turned
#   into 401 with the challenge. A token that is present goes to the function, which validates
#   it; its own refusals keep the remapped header (hosts already know the metadata by then).
#
# The Protected Resource Metadata routes and the CORS preflight (OPTIONS) have no authorizer
# and no validator.

locals {
  gateway_authorizer      = local.create_cognito
  gateway_requires_header = local.oauth && !local.create_cognito

  # The metadata URL the server names in its own challenge (src/auth: the stage path is kept).
  prm_url = "${trimsuffix(local.mcp_public_url, local.mcp_path)}/.well-known/oauth-protected-resource${local.mcp_path}"

  oauth_scope_challenge = length(local.oauth_scopes) > 0 ? ", scope=\"${join(" ", local.oauth_scopes)}\"" : ""

  # Gateway response header values are static strings in single quotes.
  challenges = {
    unauthenticated    = "'Bearer resource_metadata=\"${local.prm_url}\"${local.oauth_scope_challenge}'"
    insufficient_scope = "'Bearer resource_metadata=\"${local.prm_url}\"${local.oauth_scope_challenge}, error=\"insufficient_scope\"'"
  }

  # The challenge is no secret (the metadata routes serve any origin), and a gateway response
  # cannot pick one of several allowed origins: with allowed origins, any origin may read it.
  gateway_response_cors = length(var.mcp.allowed_origins) > 0 ? {
    "gatewayresponse.header.Access-Control-Allow-Origin"   = "'*'"
    "gatewayresponse.header.Access-Control-Expose-Headers" = "'WWW-Authenticate'"
  } : {}

  # The body repeats the error as JSON, as the server's own refusals do.
  gateway_refusal = {
    unauthenticated = {
      statusCode = "401"
      responseParameters = merge(local.gateway_response_cors, {
        "gatewayresponse.header.WWW-Authenticate" = local.challenges.unauthenticated
        "gatewayresponse.header.Cache-Control"    = "'no-store'"
      })
      responseTemplates = {
        "application/json" = "{\"error\":\"unauthorized\",\"error_description\":$context.error.messageString}"
      }
    }
    insufficient_scope = {
      statusCode = "403"
      responseParameters = merge(local.gateway_response_cors, {
        "gatewayresponse.header.WWW-Authenticate" = local.challenges.insufficient_scope
        "gatewayresponse.header.Cache-Control"    = "'no-store'"
      })
      responseTemplates = {
        "application/json" = "{\"error\":\"insufficient_scope\",\"error_description\":$context.error.messageString}"
      }
    }
  }

  # UNAUTHORIZED: the authorizer refused the token (or found none). ACCESS_DENIED: the gateway
  # response type for an authorizer's 403. BAD_REQUEST_PARAMETERS: the validator found no
  # Authorization header (the only parameter it checks), answered as 401.
  gateway_responses = merge(
    local.gateway_authorizer ? {
      UNAUTHORIZED  = local.gateway_refusal.unauthenticated
      ACCESS_DENIED = local.gateway_refusal.insufficient_scope
    } : {},
    local.gateway_requires_header ? {
      BAD_REQUEST_PARAMETERS = local.gateway_refusal.unauthenticated
    } : {},
  )

  oauth_security_schemes = local.gateway_authorizer ? {
    cognito = {
      type                           = "apiKey"
      name                           = "Authorization"
      in                             = "header"
      "x-amazon-apigateway-authtype" = "cognito_user_pools"
      "x-amazon-apigateway-authorizer" = {
        type           = "cognito_user_pools"
        providerARNs   = [aws_cognito_user_pool.this[0].arn]
        identitySource = "method.request.header.Authorization"
      }
    }
  } : {}

  # What each MCP method (POST, GET, DELETE; not OPTIONS) gets in oauth mode.
  oauth_method_auth = {
    authorizer = { security = [{ cognito = local.cognito_scopes }] }
    header = {
      parameters                              = [{ name = "Authorization", in = "header", required = true, schema = { type = "string" } }]
      "x-amazon-apigateway-request-validator" = "authorization_header"
    }
    none = {}
  }[local.gateway_authorizer ? "authorizer" : (local.gateway_requires_header ? "header" : "none")]

  oauth_api_extensions = merge(
    length(local.gateway_responses) > 0 ? { "x-amazon-apigateway-gateway-responses" = local.gateway_responses } : {},
    local.gateway_requires_header ? {
      "x-amazon-apigateway-request-validators" = {
        authorization_header = { validateRequestParameters = true, validateRequestBody = false }
      }
    } : {},
  )

  # The whole body in oauth mode: the other modes' body plus the above. It names the API's own
  # URL (the scopes' resource server identifier, the metadata URL), known only once the API
  # exists, so it is put by aws_api_gateway_rest_api_put.oauth rather than given at creation.
  oauth_openapi = merge(local.openapi, {
    paths = merge(local.openapi.paths, {
      (local.mcp_path) = {
        for method, doc in local.mcp_path_item : method => merge(doc, { for k, v in local.oauth_method_auth : k => v if method != "options" })
      }
    })
    components = { securitySchemes = local.oauth_security_schemes }
  }, local.oauth_api_extensions)
}

resource "aws_api_gateway_rest_api_put" "oauth" {
  count = local.oauth ? 1 : 0

  rest_api_id      = aws_api_gateway_rest_api.this.id
  body             = local.openapi_body
  fail_on_warnings = true

  triggers = {
    redeployment = sha256(local.openapi_body)
  }
}
