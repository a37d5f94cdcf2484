# Stricter settings: customer-managed KMS key, reserved concurrency, X-Ray, a WAF web ACL,
# longer log retention and table deletion protection. The key policy must allow CloudWatch Logs
# (logs.<region>.amazonaws.com) to use the key.

region = "us-east-1"

kms_key_arn     = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
waf_web_acl_arn = "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/mcp/22222222-3333-4444-5555-666666666666"

lambda = {
  memory_mb            = 1024
  reserved_concurrency = 20
  tracing              = true
  log_retention_days   = 365
}

# Access and execution logs: the region's API Gateway CloudWatch Logs role must already be set
# (`aws apigateway get-account` shows cloudwatchRoleArn); otherwise set
# manage_api_gateway_account = true instead, which sets it account-wide.
api_gateway_cloudwatch_role_configured = true

api = {
  log_retention_days = 365
  xray_tracing       = true
  logging_level      = "ERROR"
  access_logs        = true
}

# Alarms notify the on-call topic; the dashboard costs USD 3/month beyond three per account.
monitoring = {
  alarm_topic_arn = "arn:aws:sns:us-east-1:123456789012:oncall"
  dashboard       = true
}

session_table = {
  deletion_protection = true
}
