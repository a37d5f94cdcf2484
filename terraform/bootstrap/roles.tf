# Three roles for .github/workflows/deploy.yml, each trusted by one kind of job only (the
# subjects are in oidc.tf; scripts/pipeline-test.sh and tests/ pin who can do what):
#   image: pushes images to the CI repository: the main branch only. Pull requests build their
#          image without pushing it, so nothing a pull request builds can reach production;
#   plan:  reads what the root manages and the state, which holds the API key: pull requests in
#          the reviewed "plan" environment, and the main branch, which also saves its plan in
#          the state bucket for the apply job;
#   apply: applies that saved plan, in the protected "production" environment only.

# --- Permissions boundary for the roles the root creates -----------------------------------------
# The apply role may create roles only with this boundary attached, so a role it creates can
# never do more than the server, Bedrock's log delivery and API Gateway's logging need.
resource "aws_iam_policy" "boundary" {
  name        = "${local.app}-boundary"
  description = "Upper bound of every role the ${local.app} root creates"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # The function's own logs, Bedrock's delivery, API Gateway's account-wide logging role
        # (its AWS-managed policy names "*"), and the server's queries.
        Sid    = "Logs"
        Effect = "Allow"
        Action = [
          "logs:CreateLogGroup",
          "logs:CreateLogStream",
          "logs:DescribeLogGroups",
          "logs:DescribeLogStreams",
          "logs:PutLogEvents",
          "logs:GetLogEvents",
          "logs:FilterLogEvents",
          "logs:StartQuery",
          "logs:GetQueryResults",
          "logs:StopQuery",
        ]
        Resource = "*"
      },
      {
        Sid    = "SessionTable"
        Effect = "Allow"
        Action = [
          "dynamodb:GetItem",
          "dynamodb:PutItem",
          "dynamodb:UpdateItem",
          "dynamodb:DeleteItem",
          "dynamodb:Query",
          "dynamodb:ConditionCheckItem",
        ]
        Resource = local.arn_tables
      },
      {
        Sid      = "XRay"
        Effect   = "Allow"
        Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
        Resource = "*"
      },
      {
        Sid      = "DecryptEnvironment"
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = var.kms_key_arn == null ? "arn:${local.partition}:kms:${local.region}:${local.account_id}:key/*" : var.kms_key_arn
      },
    ]
  })
}

# --- image ----------------------------------------------------------------------------------

resource "aws_iam_role" "image" {
  name                 = "${local.ci_prefix}-image"
  description          = "GitHub Actions (${var.github_repository}, branch ${var.github_main_branch}): push images to ${aws_ecr_repository.ci.name}"
  assume_role_policy   = local.github_trust.image
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "image" {
  name = "push-images"
  role = aws_iam_role.image.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # Registry-wide: GetAuthorizationToken supports no resource-level permissions.
        Sid      = "Login"
        Effect   = "Allow"
        Action   = ["ecr:GetAuthorizationToken"]
        Resource = "*"
      },
      {
        Sid    = "Push"
        Effect = "Allow"
        Action = [
          "ecr:BatchCheckLayerAvailability",
          "ecr:BatchGetImage",
          "ecr:CompleteLayerUpload",
          "ecr:DescribeImages",
          "ecr:GetDownloadUrlForLayer",
          "ecr:InitiateLayerUpload",
          "ecr:PutImage",
          "ecr:UploadLayerPart",
        ]
        Resource = local.arn_ci_repo
      },
    ]
  })
}

# --- plan (read-only) -----------------------------------------------------------------------

resource "aws_iam_role" "plan" {
  name                 = "${local.ci_prefix}-plan"
  description          = "GitHub Actions (${var.github_repository}, environment ${var.github_plan_environment} and branch ${var.github_main_branch}): terraform plan (read-only)"
  assume_role_policy   = local.github_trust.plan
  max_session_duration = 3600
}

locals {
  state_read_statements = concat(
    [
      {
        Sid      = "StateList"
        Effect   = "Allow"
        Action   = ["s3:ListBucket"]
        Resource = aws_s3_bucket.state.arn
      },
      {
        Sid      = "StateRead"
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = local.state_objects
      },
      {
        # The lock: plan takes it too, so it never reads a state an apply is writing.
        Sid      = "StateLock"
        Effect   = "Allow"
        Action   = ["s3:PutObject", "s3:DeleteObject"]
        Resource = "${aws_s3_bucket.state.arn}/${var.state_key}.tflock"
      },
    ],
    var.create_lock_table ? [
      {
        Sid      = "LockTable"
        Effect   = "Allow"
        Action   = ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"]
        Resource = aws_dynamodb_table.lock[0].arn
      },
    ] : [],
    var.kms_key_arn == null ? [] : [
      {
        Sid      = "StateKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
        Resource = var.kms_key_arn
      },
    ],
  )

  read_statements = [
    {
      Sid      = "ReadRoles"
      Effect   = "Allow"
      Action   = ["iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListRoleTags", "iam:ListInstanceProfilesForRole"]
      Resource = local.arn_role_prefix
    },
    {
      Sid      = "ReadFunction"
      Effect   = "Allow"
      Action   = ["lambda:Get*", "lambda:List*"]
      Resource = [local.arn_function, "${local.arn_function}:*"]
    },
    {
      Sid      = "ReadTables"
      Effect   = "Allow"
      Action   = ["dynamodb:DescribeTable", "dynamodb:DescribeContinuousBackups", "dynamodb:DescribeTimeToLive", "dynamodb:ListTagsOfResource"]
      Resource = local.arn_tables
    },
    {
      Sid      = "ReadLogGroups"
      Effect   = "Allow"
      Action   = ["logs:DescribeLogGroups", "logs:ListTagsForResource", "logs:ListTagsLogGroup"]
      Resource = "${local.arn_log_group}:*"
    },
    {
      Sid      = "ReadApi"
      Effect   = "Allow"
      Action   = ["apigateway:GET"]
      Resource = concat(local.apigw_resources, ["${local.arn_apigw}/account"])
    },
    {
      Sid      = "ReadImages"
      Effect   = "Allow"
      Action   = ["ecr:DescribeImages", "ecr:DescribeRepositories", "ecr:GetRepositoryPolicy", "ecr:GetLifecyclePolicy", "ecr:ListTagsForResource"]
      Resource = [local.arn_ci_repo, "arn:${local.partition}:ecr:${local.region}:${local.account_id}:repository/${local.app}"]
    },
    {
      # DescribeAlarms is authorized against alarm:* whatever names it asks for (AccessDenied
      # "on resource ...:alarm:*" otherwise): the region's alarm definitions, no secrets.
      Sid      = "ReadAlarms"
      Effect   = "Allow"
      Action   = ["cloudwatch:DescribeAlarms"]
      Resource = "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:*"
    },
    {
      Sid      = "ReadAlarmTags"
      Effect   = "Allow"
      Action   = ["cloudwatch:ListTagsForResource"]
      Resource = local.arn_alarms
    },
    {
      Sid      = "ReadDashboard"
      Effect   = "Allow"
      Action   = ["cloudwatch:GetDashboard"]
      Resource = local.arn_dashboard
    },
    {
      # Bedrock's logging configuration is an account/region setting with no resource ARN.
      Sid      = "ReadBedrockLogging"
      Effect   = "Allow"
      Action   = ["bedrock:GetModelInvocationLoggingConfiguration"]
      Resource = "*"
    },
  ]
}

resource "aws_iam_role_policy" "plan" {
  name = "read-only"
  role = aws_iam_role.plan.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(local.state_read_statements, local.read_statements, [
      {
        # The main branch's saved plan (terraform plan -out) for the apply job. A pull request's
        # plan job could write here too; the apply job accepts only the plan whose SHA-256 the
        # main branch's plan job output, and Terraform refuses a plan made from another state.
        Sid      = "SavePlans"
        Effect   = "Allow"
        Action   = ["s3:PutObject"]
        Resource = local.plan_objects
      },
    ])
  })
}

# --- apply (scoped) -------------------------------------------------------------------------

resource "aws_iam_role" "apply" {
  name                 = "${local.ci_prefix}-apply"
  description          = "GitHub Actions (${var.github_repository}, environment ${var.github_environment}): terraform apply"
  assume_role_policy   = local.github_trust.apply
  max_session_duration = 3600
}

locals {
  apply_statements = concat(
    [
      {
        Sid      = "ReadPlans"
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = local.plan_objects
      },
      {
        Sid      = "StateWrite"
        Effect   = "Allow"
        Action   = ["s3:PutObject", "s3:DeleteObject"]
        Resource = local.state_objects
      },
      {
        # Roles named <app>-*, created only with the boundary attached.
        Sid      = "CreateBoundedRoles"
        Effect   = "Allow"
        Action   = ["iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy"]
        Resource = local.arn_role_prefix
        Condition = {
          StringEquals = { "iam:PermissionsBoundary" = local.arn_boundary }
        }
      },
      {
        Sid      = "ManageRoles"
        Effect   = "Allow"
        Action   = ["iam:DeleteRole", "iam:UpdateRole", "iam:UpdateRoleDescription", "iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:UntagRole"]
        Resource = local.arn_role_prefix
      },
      {
        Sid      = "PassRoles"
        Effect   = "Allow"
        Action   = ["iam:PassRole"]
        Resource = local.arn_role_prefix
        Condition = {
          StringEquals = { "iam:PassedToService" = ["lambda.amazonaws.com", "bedrock.amazonaws.com", "apigateway.amazonaws.com"] }
        }
      },
      {
        # Adding the boundary to a role created before it existed.
        Sid      = "SetTheBoundary"
        Effect   = "Allow"
        Action   = ["iam:PutRolePermissionsBoundary"]
        Resource = local.arn_role_prefix
        Condition = {
          StringEquals = { "iam:PermissionsBoundary" = local.arn_boundary }
        }
      },
      {
        Sid      = "KeepTheBoundary"
        Effect   = "Deny"
        Action   = ["iam:DeleteRolePermissionsBoundary"]
        Resource = "*"
      },
      {
        Sid      = "NoOtherBoundary"
        Effect   = "Deny"
        Action   = ["iam:PutRolePermissionsBoundary"]
        Resource = "*"
        Condition = {
          StringNotEquals = { "iam:PermissionsBoundary" = local.arn_boundary }
        }
      },
      {
        Sid      = "KeepTheBoundaryPolicy"
        Effect   = "Deny"
        Action   = ["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion"]
        Resource = local.arn_boundary
      },
      {
        Sid    = "Function"
        Effect = "Allow"
        Action = [
          "lambda:CreateFunction",
          "lambda:DeleteFunction",
          "lambda:UpdateFunctionCode",
          "lambda:UpdateFunctionConfiguration",
          "lambda:PutFunctionConcurrency",
          "lambda:DeleteFunctionConcurrency",
          "lambda:AddPermission",
          "lambda:RemovePermission",
          "lambda:TagResource",
          "lambda:UntagResource",
        ]
        Resource = [local.arn_function, "${local.arn_function}:*"]
      },
      {
        # Lambda checks that the caller can read the image it is given. The repository policy
        # that lets Lambda pull is set by this stack (ecr.tf), so no SetRepositoryPolicy here.
        Sid      = "PullImages"
        Effect   = "Allow"
        Action   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
        Resource = local.arn_ci_repo
      },
      {
        Sid    = "Tables"
        Effect = "Allow"
        Action = [
          "dynamodb:CreateTable",
          "dynamodb:DeleteTable",
          "dynamodb:UpdateTable",
          "dynamodb:UpdateTimeToLive",
          "dynamodb:UpdateContinuousBackups",
          "dynamodb:TagResource",
          "dynamodb:UntagResource",
        ]
        Resource = local.arn_tables
      },
      {
        Sid    = "LogGroups"
        Effect = "Allow"
        Action = [
          "logs:CreateLogGroup",
          "logs:DeleteLogGroup",
          "logs:PutRetentionPolicy",
          "logs:DeleteRetentionPolicy",
          "logs:AssociateKmsKey",
          "logs:DisassociateKmsKey",
          "logs:TagResource",
          "logs:UntagResource",
          "logs:TagLogGroup",
          "logs:UntagLogGroup",
        ]
        Resource = local.app_log_groups
      },
      {
        # The REST API, its deployments, stages, usage plans, keys and domain. API Gateway
        # ids are generated, so the scope is this region's API Gateway paths.
        Sid      = "Api"
        Effect   = "Allow"
        Action   = ["apigateway:POST", "apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE"]
        Resource = local.apigw_resources
      },
      {
        # ../monitoring.tf, on by default (monitoring.alarms). PutMetricAlarm with tags (the
        # provider's default_tags) also needs TagResource. Reads are in read_statements.
        Sid      = "Alarms"
        Effect   = "Allow"
        Action   = ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource", "cloudwatch:UntagResource"]
        Resource = local.arn_alarms
      },
      {
        # monitoring.dashboard (on in the pipeline's production.tfvars). Dashboards take no tags.
        Sid      = "Dashboard"
        Effect   = "Allow"
        Action   = ["cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards"]
        Resource = local.arn_dashboard
      },
    ],
    var.allow_bedrock_logging_management ? [
      {
        # Account/region setting with no resource ARN.
        Sid      = "BedrockLogging"
        Effect   = "Allow"
        Action   = ["bedrock:PutModelInvocationLoggingConfiguration", "bedrock:DeleteModelInvocationLoggingConfiguration"]
        Resource = "*"
      },
    ] : [],
    var.kms_key_arn == null ? [] : [
      {
        Sid      = "UseKey"
        Effect   = "Allow"
        Action   = ["kms:DescribeKey", "kms:CreateGrant", "kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"]
        Resource = var.kms_key_arn
      },
    ],
  )
}

resource "aws_iam_role_policy" "apply_read" {
  name = "read"
  role = aws_iam_role.apply.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = concat(local.state_read_statements, local.read_statements)
  })
}

resource "aws_iam_role_policy" "apply" {
  name = "scoped-write"
  role = aws_iam_role.apply.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = local.apply_statements
  })
}

resource "aws_iam_role_policy" "apply_extra" {
  count = var.extra_apply_policy_json == null ? 0 : 1

  name   = "extra"
  role   = aws_iam_role.apply.id
  policy = var.extra_apply_policy_json
}
