# Runs after apply.tftest.hcl and build.tftest.hcl (test files run in name order): their
# teardowns, the allowed destroy of the account-wide settings included, left nothing behind.

run "nothing_left" {
  module {
    source = "./tests/moto/probe"
  }

  variables {
    out = "${var.work}/nothing-left.json"
  }

  assert {
    condition = length(concat(
      data.aws_lambda_functions.all.function_names == null ? [] : tolist(data.aws_lambda_functions.all.function_names),
      data.aws_dynamodb_tables.all.names == null ? [] : tolist(data.aws_dynamodb_tables.all.names),
      data.aws_cloudwatch_log_groups.all.log_group_names == null ? [] : tolist(data.aws_cloudwatch_log_groups.all.log_group_names),
      data.aws_iam_roles.app.names == null ? [] : tolist(data.aws_iam_roles.app.names),
      [for a in jsondecode(file(var.out)).rest_apis.items : a.name],
      [for a in jsondecode(file(var.out)).alarms.MetricAlarms : a.AlarmName],
      [for d in jsondecode(file(var.out)).dashboards.DashboardEntries : d.DashboardName],
      length(try(jsondecode(file(var.out)).logging.loggingConfig, {})) > 0 ? ["Bedrock logging configuration"] : [],
    )) == 0
    error_message = "Left after destroy: ${jsonencode([data.aws_lambda_functions.all.function_names, data.aws_dynamodb_tables.all.names, data.aws_cloudwatch_log_groups.all.log_group_names, data.aws_iam_roles.app.names])} and ${jsonencode(jsondecode(file(var.out)))}"
  }
}
