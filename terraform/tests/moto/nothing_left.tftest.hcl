# Runs after apply.tftest.hcl and build.tftest.hcl (test files run in name order): their
# teardowns, the allowed destroy of the account-wide settings included, left nothing behind
# (the Cognito user pool of the oauth run too).

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
      [for p in jsondecode(file(var.out)).user_pools.UserPools : p.Name],
    )) == 0
    error_message = "Left after destroy: ${jsonencode([data.aws_lambda_functions.all.function_names, data.aws_dynamodb_tables.all.names, data.aws_cloudwatch_log_groups.all.log_group_names, data.aws_iam_roles.app.names])} and ${jsonencode(jsondecode(file(var.out)))}"
  }

  # The Cognito user pool went with apply.tftest.hcl's teardown, through the stand-in for moto's
  # missing DeleteResourceServer (without it the teardown retries until the provider gives up).
  assert {
    condition     = jsondecode(file(var.out)).oauth_proxy.delete_resource_server == 1
    error_message = "The teardown must have deleted the resource server once: ${jsonencode(jsondecode(file(var.out)).oauth_proxy)}"
  }
}
