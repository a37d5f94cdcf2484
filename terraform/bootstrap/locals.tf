data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.id
  app        = var.app_name

  # CI roles are named "gha-<app>-...", outside the "<app>-*" names the apply role may manage,
  # so that it cannot rewrite its own permissions.
  ci_prefix = "gha-${local.app}"

  # S3 bucket names have at most 63 characters; app_name may have 40, the region 14. When the
  # default is too long, app_name is cut and 8 hex digits of the full name's SHA-256 keep it
  # unique (the account and region stay readable).
  state_bucket_suffix  = "-tfstate-${local.account_id}-${local.region}"
  state_bucket_default = "${local.app}${local.state_bucket_suffix}"
  state_bucket_short   = "${trimsuffix(substr(local.app, 0, 63 - 9 - length(local.state_bucket_suffix)), "-")}-${substr(sha256(local.state_bucket_default), 0, 8)}${local.state_bucket_suffix}"
  state_bucket = coalesce(
    var.state_bucket_name,
    length(local.state_bucket_default) <= 63 ? local.state_bucket_default : local.state_bucket_short,
  )
  lock_table = "${local.ci_prefix}-tflock"

  oidc_host         = "token.actions.githubusercontent.com"
  oidc_provider_arn = var.create_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : data.aws_iam_openid_connect_provider.github[0].arn

  # ARN prefixes of what the root creates (see ../*.tf).
  arn_role_prefix = "arn:${local.partition}:iam::${local.account_id}:role/${local.app}-*"
  arn_function    = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${local.app}"
  arn_tables      = "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/${local.app}-*"
  arn_log_group   = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group"
  arn_apigw       = "arn:${local.partition}:apigateway:${local.region}::"
  # ../monitoring.tf: alarms "<name>-<what>", one dashboard "<name>" (dashboards are global: no
  # region in the ARN).
  arn_alarms    = "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${local.app}-*"
  arn_dashboard = "arn:${local.partition}:cloudwatch::${local.account_id}:dashboard/${local.app}"
  arn_ci_repo   = aws_ecr_repository.ci.arn
  arn_boundary  = aws_iam_policy.boundary.arn
  app_log_groups = concat(
    [
      "${local.arn_log_group}:/aws/lambda/${local.app}",
      "${local.arn_log_group}:/aws/lambda/${local.app}:*",
      "${local.arn_log_group}:/aws/apigateway/${local.app}/*",
      "${local.arn_log_group}:API-Gateway-Execution-Logs_*",
    ],
    var.allow_bedrock_logging_management ? [
      "${local.arn_log_group}:${var.bedrock_log_group_name}",
      "${local.arn_log_group}:${var.bedrock_log_group_name}:*",
    ] : [],
  )
  apigw_resources = concat(
    [for p in ["/restapis", "/restapis/*", "/usageplans", "/usageplans/*", "/apikeys", "/apikeys/*", "/tags/*", "/domainnames", "/domainnames/*"] : "${local.arn_apigw}${p}"],
    var.allow_api_gateway_account_management ? ["${local.arn_apigw}/account"] : [],
  )

  state_objects = ["${aws_s3_bucket.state.arn}/${var.state_key}", "${aws_s3_bucket.state.arn}/${var.state_key}.tflock"]

  # Saved plans of the main branch (terraform plan -out), applied by the apply job after review.
  # They hold what the state holds, so they stay in this bucket rather than in workflow
  # artifacts; the apply job also checks the plan's SHA-256 from the plan job's outputs.
  plans_prefix = "plans/${var.state_key}/"
  plan_objects = "${aws_s3_bucket.state.arn}/${local.plans_prefix}*"
}
