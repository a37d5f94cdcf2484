# The function's execution role: least privilege, every resource scoped where AWS allows it.

resource "aws_iam_role" "lambda" {
  name                 = "${var.name}-lambda"
  permissions_boundary = local.permissions_boundary
  description          = "Execution role of the ${var.name} MCP server"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect    = "Allow"
        Principal = { Service = "lambda.amazonaws.com" }
        Action    = "sts:AssumeRole"
      },
    ]
  })
}

locals {
  lambda_policy_statements = concat(
    [
      {
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["${aws_cloudwatch_log_group.lambda.arn}:*"]
      },
      {
        # Both forms of each group's ARN: IAM matches StartQuery and FilterLogEvents against
        # the bare ARN or the ":*" form depending on the API version of the call. With
        # bedrock_extra_log_groups, each of those too (other regions; source accounts' groups,
        # which this account reads as their cross-account observability monitoring account).
        Sid      = "ReadBedrockInvocationLogs"
        Effect   = "Allow"
        Action   = ["logs:StartQuery", "logs:FilterLogEvents"]
        Resource = flatten([for arn in local.bedrock_log_group_arns : [arn, "${arn}:*"]])
      },
      {
        # GetQueryResults and StopQuery take a query id and support no resource-level
        # permissions: "*" is the only resource IAM accepts. A query can only have been
        # started on the group above.
        Sid      = "FollowInsightsQueries"
        Effect   = "Allow"
        Action   = ["logs:GetQueryResults", "logs:StopQuery"]
        Resource = ["*"]
      },
      {
        # The cloudwatch-metrics source and the fallback when the log group does not exist:
        # AWS/Bedrock's metrics. ListMetrics and GetMetricData support no resource-level
        # permissions: "*" is the only resource IAM accepts (and they read metrics only).
        Sid      = "ReadBedrockMetrics"
        Effect   = "Allow"
        Action   = ["cloudwatch:ListMetrics", "cloudwatch:GetMetricData"]
        Resource = ["*"]
      },
      {
        # Names, tags and models of the application inference profiles the logs name
        # (by_inference_profile; the estimate prices a profile as its model): this account's
        # profiles only, in whichever region a profile lives (its ARN says which).
        Sid      = "ReadApplicationInferenceProfiles"
        Effect   = "Allow"
        Action   = ["bedrock:GetInferenceProfile", "bedrock:ListTagsForResource"]
        Resource = ["arn:${local.partition}:bedrock:*:${local.account_id}:application-inference-profile/*"]
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
        Resource = [aws_dynamodb_table.this.arn]
      },
    ],
    var.lambda.tracing ? [
      {
        # X-Ray's write APIs support no resource-level permissions.
        Sid      = "XRay"
        Effect   = "Allow"
        Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
        Resource = ["*"]
      },
    ] : [],
    var.mcp.max_scan_gb != null ? [
      {
        # The scan cap's preflight estimate reads the log group's stored bytes. IAM matches
        # DescribeLogGroups against the region's log-group:* (it lists), so it can name and
        # size every group in the region: granted only when a cap asks for it.
        Sid      = "EstimateInsightsScan"
        Effect   = "Allow"
        Action   = ["logs:DescribeLogGroups"]
        Resource = local.bedrock_log_group_scopes
      },
    ] : [],
    var.cost_data.price_list ? [
      {
        # The Price List API supports no resource-level permissions.
        Sid      = "ReadPriceList"
        Effect   = "Allow"
        Action   = ["pricing:GetProducts"]
        Resource = ["*"]
      },
    ] : [],
    var.cost_data.billed_cost ? [
      {
        # Cost Explorer supports no resource-level permissions for GetCostAndUsage.
        Sid      = "ReadBilledCost"
        Effect   = "Allow"
        Action   = ["ce:GetCostAndUsage"]
        Resource = ["*"]
      },
    ] : [],
    var.kms_key_arn != null ? [
      {
        # Decrypting the environment variables with a customer-managed key.
        Sid      = "DecryptEnvironment"
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = [var.kms_key_arn]
      },
    ] : [],
  )
}

resource "aws_iam_role_policy" "lambda" {
  name = "least-privilege"
  role = aws_iam_role.lambda.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = local.lambda_policy_statements
  })
}
