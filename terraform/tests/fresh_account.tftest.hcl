# Fresh-account plan check: whatever the variables (the defaults here; scripts/infra-test.sh
# runs this file again with -var-file for every examples/ and environments/ file), every
# account-wide prerequisite a resource needs is either created by this root or declared
# present by a variable, account-wide settings are touched only when a variable says so, and
# each one that is touched is guarded against destroy.

mock_provider "aws" {
  source = "./tests/mocks"
}

run "account_wide_prerequisites" {
  command = plan

  # Stage logging needs the region's API Gateway CloudWatch Logs role (account settings).
  assert {
    condition = (
      (length(aws_api_gateway_stage.this.access_log_settings) == 0 && aws_api_gateway_method_settings.all.settings[0].logging_level == "OFF") ||
      length(aws_api_gateway_account.this) == 1 ||
      var.api_gateway_cloudwatch_role_configured
    )
    error_message = "The stage logs (access log settings or a logging level) although the API Gateway CloudWatch role is neither managed here (manage_api_gateway_account) nor declared present (api_gateway_cloudwatch_role_configured): API Gateway refuses such a stage in a fresh account."
  }

  assert {
    condition     = length(aws_api_gateway_account.this) == (var.manage_api_gateway_account ? 1 : 0) && length(aws_iam_role.api_gateway_cloudwatch) == (var.manage_api_gateway_account ? 1 : 0)
    error_message = "The account-wide API Gateway setting must be touched exactly when manage_api_gateway_account is true."
  }

  assert {
    condition = (
      length(aws_bedrock_model_invocation_logging_configuration.this) == (var.manage_bedrock_invocation_logging ? 1 : 0) &&
      length(aws_cloudwatch_log_group.bedrock) == (var.manage_bedrock_invocation_logging ? 1 : 0)
    )
    error_message = "The account-wide Bedrock logging configuration and its group must be created exactly when manage_bedrock_invocation_logging is true."
  }

  # The log group the function reads is created here, or only named: the function's policy is
  # built from the name (no lookup that fails when it is missing) and the server reports zero
  # usage with a warning until it exists.
  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables.BEDROCK_LOG_GROUP == var.bedrock_log_group_name &&
      local.bedrock_log_group_arn == "arn:aws:logs:eu-west-1:123456789012:log-group:${var.bedrock_log_group_name}" &&
      [for s in local.lambda_policy_statements : s.Resource if s.Sid == "ReadBedrockInvocationLogs"] == [[local.bedrock_log_group_arn, "${local.bedrock_log_group_arn}:*"]]
    )
    error_message = "The function must read the Bedrock log group by name, with a policy that does not need the group to exist."
  }

  assert {
    condition = join(",", sort(keys(terraform_data.account_wide_guard))) == join(",", compact([
      var.manage_api_gateway_account ? "api_gateway_account" : "",
      var.manage_bedrock_invocation_logging ? "bedrock_invocation_logging" : "",
    ])) && alltrue([for g in terraform_data.account_wide_guard : g.input.allow_destroy == var.allow_account_wide_destroy])
    error_message = "Every account-wide setting this root manages must be guarded against destroy."
  }

  # Alarms notify only a topic that was given; nothing else is needed from the account.
  assert {
    condition     = alltrue([for a in aws_cloudwatch_metric_alarm.this : a.alarm_actions == toset(compact([var.monitoring.alarm_topic_arn]))])
    error_message = "Alarms must notify the given topic only."
  }

  # No secret in the function's environment (readable with lambda:GetFunctionConfiguration).
  assert {
    condition     = !anytrue([for k in keys(aws_lambda_function.this.environment[0].variables) : can(regex("(?i)(KEY|SECRET|TOKEN|PASSWORD)", k))])
    error_message = "The function's environment must hold no secret."
  }
}
