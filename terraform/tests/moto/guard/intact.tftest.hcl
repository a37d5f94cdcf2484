# After a destroy the account-wide guard refused (scripts/infra-test.sh runs it with the CLI:
# terraform test cannot expect a provisioner's failure), the settings it guards are intact.

run "account_wide_settings_intact" {
  module {
    source = "./tests/moto/probe"
  }

  variables {
    out = "${var.work}/guarded.json"
  }

  assert {
    condition     = length(try(jsondecode(file(var.out)).logging.loggingConfig, {})) > 0
    error_message = "Bedrock's logging configuration must survive the refused destroy."
  }

  assert {
    condition     = contains(data.aws_cloudwatch_log_groups.all.log_group_names, "/aws/bedrock/modelinvocations")
    error_message = "Bedrock's log group must survive the refused destroy."
  }

  assert {
    condition     = contains(data.aws_iam_roles.app.names, element(reverse(split("/", try(jsondecode(file(var.out)).account.cloudwatchRoleArn, "/"))), 0))
    error_message = "API Gateway's CloudWatch role must survive the refused destroy: ${try(jsondecode(file(var.out)).account.cloudwatchRoleArn, "none")}"
  }
}
