# The production deployment applied by .github/workflows/deploy.yml. The pipeline adds:
#   image_uri                 the digest its image job pushed,
#   permissions_boundary_arn  from terraform/bootstrap (repository variable),
#   allowed_account_ids       [AWS_ACCOUNT_ID] (repository variable);
# the region comes from AWS_REGION. Review changes here like code: they are planned on the pull
# request and applied on merge.

name      = "bedrock-usage-mcp"
auth_mode = "api_key"

# Another stack (or the console) owns Bedrock invocation logging in most accounts; set true to
# let this root manage it (and allow_bedrock_logging_management in terraform/bootstrap).
manage_bedrock_invocation_logging = false
bedrock_log_group_name            = "/aws/bedrock/modelinvocations"

lambda = {
  memory_mb       = 512
  timeout_seconds = 900
}

mcp = {
  max_stream_seconds  = 240
  keep_alive_seconds  = 15
  session_ttl_seconds = 3600
}

tags = {
  Environment = "production"
}
