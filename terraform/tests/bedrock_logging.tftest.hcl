# Bedrock model-invocation logging is created only when asked.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  image_uri = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ci-images@sha256:2222222222222222222222222222222222222222222222222222222222222222"
}

run "not_managed_by_default" {
  command = plan

  assert {
    condition = (
      length(aws_bedrock_model_invocation_logging_configuration.this) == 0 &&
      length(aws_cloudwatch_log_group.bedrock) == 0 &&
      length(aws_iam_role.bedrock_logging) == 0 &&
      length(aws_iam_role_policy.bedrock_logging) == 0
    )
    error_message = "Bedrock logging must not be touched unless manage_bedrock_invocation_logging = true."
  }

  assert {
    condition     = output.bedrock_log_group_name == "/aws/bedrock/modelinvocations"
    error_message = "The existing log group name must be used."
  }
}

run "guarded_and_metadata_only_by_default" {
  command = plan

  variables {
    manage_bedrock_invocation_logging = true
  }

  assert {
    condition     = aws_bedrock_model_invocation_logging_configuration.this[0].logging_config.text_data_delivery_enabled == false
    error_message = "Prompts and completions must not be logged unless asked (token counts are in the metadata)."
  }

  assert {
    condition     = terraform_data.account_wide_guard["bedrock_invocation_logging"].input.allow_destroy == false && keys(terraform_data.account_wide_guard) == ["bedrock_invocation_logging"]
    error_message = "The account-wide logging configuration must be guarded against destroy by default."
  }
}

run "managed_when_asked" {
  command = apply

  variables {
    manage_bedrock_invocation_logging = true
    bedrock_log_group_name            = "/custom/bedrock"
    # The run's state is destroyed after the test: let the guard allow it.
    allow_account_wide_destroy = true
    bedrock_logging = {
      text_data_delivery = true
    }
  }

  assert {
    condition     = length(aws_bedrock_model_invocation_logging_configuration.this) == 1
    error_message = "The logging configuration must be created when asked."
  }

  assert {
    condition     = aws_cloudwatch_log_group.bedrock[0].name == "/custom/bedrock" && aws_cloudwatch_log_group.bedrock[0].retention_in_days == 365
    error_message = "The invocation log group must be created with a retention."
  }

  assert {
    condition     = aws_bedrock_model_invocation_logging_configuration.this[0].logging_config.cloudwatch_config.log_group_name == "/custom/bedrock"
    error_message = "Bedrock must deliver to the group the server reads."
  }

  assert {
    condition     = aws_bedrock_model_invocation_logging_configuration.this[0].logging_config.cloudwatch_config.role_arn == aws_iam_role.bedrock_logging[0].arn
    error_message = "Bedrock must deliver with the role created for it."
  }

  assert {
    condition = (
      aws_bedrock_model_invocation_logging_configuration.this[0].logging_config.text_data_delivery_enabled == true &&
      aws_bedrock_model_invocation_logging_configuration.this[0].logging_config.image_data_delivery_enabled == false &&
      aws_bedrock_model_invocation_logging_configuration.this[0].logging_config.embedding_data_delivery_enabled == false &&
      aws_bedrock_model_invocation_logging_configuration.this[0].logging_config.video_data_delivery_enabled == false
    )
    error_message = "Every data delivery flag must be set explicitly."
  }

  assert {
    condition = jsondecode(aws_iam_role.bedrock_logging[0].assume_role_policy).Statement[0] == {
      Effect    = "Allow"
      Principal = { Service = "bedrock.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = {
        StringEquals = { "aws:SourceAccount" = "123456789012" }
        ArnLike      = { "aws:SourceArn" = "arn:aws:bedrock:eu-west-1:123456789012:*" }
      }
    }
    error_message = "Only Bedrock, for this account and region, may assume the logging role."
  }

  assert {
    condition = jsondecode(aws_iam_role_policy.bedrock_logging[0].policy).Statement == [{
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource = ["arn:aws:logs:eu-west-1:123456789012:log-group:/custom/bedrock:log-stream:aws/bedrock/modelinvocations"]
    }]
    error_message = "The logging role may only write Bedrock's stream of the group."
  }
}

# A fresh account: logging managed elsewhere (or not yet), no group. Nothing fails; the plan
# warns through check.bedrock_log_group_exists.
run "missing_log_group_only_warns" {
  command = plan

  override_data {
    target = data.aws_cloudwatch_log_groups.bedrock
    values = { log_group_names = [] }
  }

  expect_failures = [check.bedrock_log_group_exists]

  assert {
    condition     = length(aws_cloudwatch_log_group.bedrock) == 0 && aws_lambda_function.this.environment[0].variables.BEDROCK_LOG_GROUP == "/aws/bedrock/modelinvocations"
    error_message = "A missing group must be neither created nor required."
  }
}
