# Account-wide settings are shared with every other stack in the account and region: API
# Gateway's CloudWatch Logs role (every REST API's logging depends on it) and Bedrock's
# model-invocation logging configuration with its log group (every team's usage history).
# Destroying this deployment must not take them away by accident.
#
# `lifecycle.prevent_destroy` cannot follow a variable, so each setting this root manages gets
# a guard: a terraform_data that depends on the setting (so a destroy reaches the guard first)
# and whose destroy-time provisioner fails unless allow_account_wide_destroy was true at the
# last apply. A failed guard stops the destroy of everything it depends on: the setting, its
# role and its log group stay, the rest of the deployment is destroyed. To remove them on
# purpose: `terraform apply -var allow_account_wide_destroy=true`, then destroy (or turn the
# manage_* variable off). To keep them and hand them over: `terraform state rm` them (README).

locals {
  account_wide_guards = merge(
    var.manage_api_gateway_account ? {
      api_gateway_account = "the API Gateway CloudWatch Logs role and account setting of this region, set by manage_api_gateway_account"
    } : {},
    var.manage_bedrock_invocation_logging ? {
      bedrock_invocation_logging = "the Bedrock model-invocation logging configuration of this region, its role and the log group ${local.bedrock_log_group_name} with its history, set by manage_bedrock_invocation_logging"
    } : {},
  )
}

resource "terraform_data" "account_wide_guard" {
  for_each = local.account_wide_guards

  input = {
    setting       = each.value
    allow_destroy = var.allow_account_wide_destroy
  }

  # The same command runs under /bin/sh and cmd.exe: plain words, no quotes, parentheses or
  # redirections (a validation on bedrock_log_group_name keeps those out of the group name).
  provisioner "local-exec" {
    when    = destroy
    command = self.input.allow_destroy ? "echo Deleting ${self.input.setting}: allowed by allow_account_wide_destroy" : "echo Refusing to delete ${self.input.setting}: other stacks in this account may rely on it. To delete it run terraform apply -var allow_account_wide_destroy=true and then destroy again. To keep it see terraform/README.md, Account-wide settings. && exit 1"
  }

  depends_on = [
    aws_api_gateway_account.this,
    aws_iam_role_policy_attachment.api_gateway_cloudwatch,
    aws_bedrock_model_invocation_logging_configuration.this,
    aws_iam_role_policy.bedrock_logging,
    aws_cloudwatch_log_group.bedrock,
  ]
}
