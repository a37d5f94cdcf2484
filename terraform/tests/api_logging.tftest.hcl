# Stage logging needs the region's API Gateway CloudWatch Logs role, an account-wide setting:
# off by default (a fresh account applies), on when the role is managed here or declared.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  image_uri = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ci-images@sha256:2222222222222222222222222222222222222222222222222222222222222222"
}

run "fresh_account_default_logs_nothing" {
  command = plan

  assert {
    condition     = length(aws_api_gateway_stage.this.access_log_settings) == 0 && aws_api_gateway_method_settings.all.settings[0].logging_level == "OFF"
    error_message = "Without the account's CloudWatch role the stage must not log (API Gateway would refuse it)."
  }

  assert {
    condition     = length(aws_cloudwatch_log_group.api_access) == 0 && length(aws_cloudwatch_log_group.api_execution) == 0 && length(aws_api_gateway_account.this) == 0
    error_message = "No log groups for a stage that does not log, and no account-wide setting by default."
  }

  assert {
    condition     = aws_api_gateway_method_settings.all.settings[0].metrics_enabled
    error_message = "Metrics need no role and stay on."
  }
}

run "declared_role_turns_logging_on" {
  command = apply

  variables {
    api_gateway_cloudwatch_role_configured = true
  }

  assert {
    condition     = can(jsondecode(aws_api_gateway_stage.this.access_log_settings[0].format).requestId) && aws_api_gateway_stage.this.access_log_settings[0].destination_arn == aws_cloudwatch_log_group.api_access[0].arn
    error_message = "With the role declared present, the stage must write JSON access logs to its group."
  }

  assert {
    condition     = aws_api_gateway_method_settings.all.settings[0].logging_level == "ERROR" && length(aws_cloudwatch_log_group.api_execution) == 1
    error_message = "With the role declared present, execution logging is ERROR into a retained group."
  }

  assert {
    condition     = length(aws_api_gateway_account.this) == 0 && length(terraform_data.account_wide_guard) == 0
    error_message = "A declared role must not be managed (or guarded) here."
  }
}

run "managed_role_turns_logging_on" {
  command = apply

  variables {
    manage_api_gateway_account = true
    allow_account_wide_destroy = true
  }

  assert {
    condition     = length(aws_api_gateway_stage.this.access_log_settings) == 1 && aws_api_gateway_method_settings.all.settings[0].logging_level == "ERROR"
    error_message = "With the role managed here, the stage logs."
  }

  assert {
    condition     = aws_api_gateway_account.this[0].cloudwatch_role_arn == aws_iam_role.api_gateway_cloudwatch[0].arn && keys(terraform_data.account_wide_guard) == ["api_gateway_account"]
    error_message = "The account setting must name the role created for it, and be guarded."
  }
}

run "managed_role_is_guarded_by_default" {
  command = plan

  variables {
    manage_api_gateway_account = true
  }

  assert {
    condition     = terraform_data.account_wide_guard["api_gateway_account"].input.allow_destroy == false
    error_message = "Destroying the account-wide API Gateway setting must be refused unless allowed."
  }
}

run "logging_level_without_role_fails_the_plan" {
  command = plan

  variables {
    api = { logging_level = "INFO" }
  }

  expect_failures = [aws_api_gateway_stage.this]
}

run "access_logs_without_role_fail_the_plan" {
  command = plan

  variables {
    api = { access_logs = true }
  }

  expect_failures = [aws_api_gateway_stage.this]
}

run "logging_can_be_turned_off_with_the_role" {
  command = plan

  variables {
    api_gateway_cloudwatch_role_configured = true
    api                                    = { logging_level = "OFF", access_logs = false }
  }

  assert {
    condition     = length(aws_api_gateway_stage.this.access_log_settings) == 0 && aws_api_gateway_method_settings.all.settings[0].logging_level == "OFF"
    error_message = "Explicit OFF/false must win over the default."
  }
}
