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

# Account-wide settings (one per account and region) are left alone, so that this file applies
# in a fresh account: the stage then writes no access or execution logs, because API Gateway
# refuses a logging stage until the region's account settings name a CloudWatch Logs role.
# Once that role is set (by terraform/bootstrap, another stack or `aws apigateway update-account`;
# check with `aws apigateway get-account`), declare it and the stage logs:
#   api_gateway_cloudwatch_role_configured = true
manage_api_gateway_account             = false
api_gateway_cloudwatch_role_configured = false

# Alarms are on by default; add alarm_topic_arn to be notified. The dashboard is free within
# three per account (USD 3 per month beyond).
monitoring = {
  dashboard = true
}

# 256 MB: the function's work is CPU-bound and costs the same GB-seconds at any size up to
# 1,769 MB, while waiting (Logs Insights, DynamoDB) costs in proportion to memory; peak RSS is
# about 13 MiB (README, "What it costs to run").
lambda = {
  memory_mb       = 256
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
