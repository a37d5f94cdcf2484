# The account already logs Bedrock invocations (configured in the console or by another stack):
# read that log group, leave the logging configuration alone.

region = "eu-central-1"

manage_bedrock_invocation_logging = false
bedrock_log_group_name            = "/org/bedrock/model-invocations"

# Large accounts: FilterLogEvents scanning instead of Logs Insights (see the server's docs).
mcp = {
  cloudwatch_mode = "insights"
}

usage_plan = {
  throttle_rate_limit = 5
  quota_limit         = 5000
  quota_period        = "DAY"
}
