# The host snippets of auth_mode = "oauth": with the Cognito pool created here, hosts are given
# the public host client id (Cognito has no dynamic client registration) and the pipeline's
# smoke command uses client credentials with the secret in the environment; with an existing
# issuer, hosts get the URL alone.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  image_uri = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ci-images@sha256:2222222222222222222222222222222222222222222222222222222222222222"
}

run "hosts_with_the_created_pool" {
  command = apply

  variables {
    auth_mode = "oauth"
    oauth = {
      create_cognito = true
      callback_urls  = ["https://claude.ai/api/mcp/auth_callback", "http://localhost:33418/callback"]
    }
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
    condition     = output.claude_code_command == "claude mcp add --transport http --client-id hostclient0123456789 --callback-port 33418 bedrock-usage '${output.mcp_url}'"
    error_message = "Claude Code needs the host client id and the port of the http://localhost:PORT/callback redirect URI."
  }

  assert {
    condition = (
      keys(jsondecode(output.cursor_mcp_json).mcpServers["bedrock-usage"]) == ["auth", "url"] &&
      jsondecode(output.cursor_mcp_json).mcpServers["bedrock-usage"].url == output.mcp_url &&
      jsondecode(output.cursor_mcp_json).mcpServers["bedrock-usage"].auth.CLIENT_ID == "hostclient0123456789" &&
      jsondecode(output.cursor_mcp_json).mcpServers["bedrock-usage"].auth.scopes == ["https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod/mcp/mcp"]
    )
    error_message = "Cursor's snippet must name the host client id and the scopes, and no header."
  }

  assert {
    condition     = jsondecode(output.vscode_mcp_json).servers["bedrock-usage"] == { type = "http", url = output.mcp_url }
    error_message = "VS Code needs the URL alone (it asks for the client id)."
  }

  assert {
    condition     = output.smoke_command == "MCP_OAUTH_CLIENT_SECRET=\"$(terraform output -raw oauth_pipeline_client_secret)\" mcp-client --url \"$(terraform output -raw mcp_url)\" --oauth-client-id pipelineclient012345 smoke"
    error_message = "The smoke command must use the pipeline client's credentials, the secret through the environment."
  }

  assert {
    condition     = !strcontains(output.smoke_command, "mockPipelineSecret") && !strcontains(output.cursor_mcp_json, "mockPipelineSecret")
    error_message = "No snippet may contain the pipeline's secret."
  }
}

run "hosts_with_an_existing_issuer" {
  command = apply

  variables {
    auth_mode = "oauth"
    oauth = {
      issuer = "https://login.example.com/realms/platform"
      scopes = ["mcp:tools"]
    }
  }

  assert {
    condition     = output.claude_code_command == "claude mcp add --transport http bedrock-usage '${output.mcp_url}'"
    error_message = "With an existing issuer, Claude Code gets the URL alone."
  }

  assert {
    condition     = jsondecode(output.cursor_mcp_json).mcpServers["bedrock-usage"] == { url = output.mcp_url }
    error_message = "With an existing issuer, Cursor gets the URL alone."
  }

  assert {
    condition     = output.smoke_command == "mcp-client --url \"$(terraform output -raw mcp_url)\" smoke"
    error_message = "With an existing issuer the smoke command names no client (give MCP_OAUTH_CLIENT_ID and MCP_OAUTH_CLIENT_SECRET)."
  }
}
