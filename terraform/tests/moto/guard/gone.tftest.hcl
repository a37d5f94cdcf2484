# After the allowed destroy (scripts/infra-test.sh), the account-wide settings are gone.

run "account_wide_settings_gone" {
  module {
    source = "./tests/moto/probe"
  }

  variables {
    out = "${var.work}/allowed.json"
  }

  assert {
    condition     = length(try(jsondecode(file(var.out)).logging.loggingConfig, {})) == 0 && !contains(data.aws_cloudwatch_log_groups.all.log_group_names, "/aws/bedrock/modelinvocations") && length(data.aws_iam_roles.app.names) == 0
    error_message = "The allowed destroy must remove Bedrock's logging configuration, its group and the roles: ${jsonencode(data.aws_iam_roles.app.names)}"
  }
}
