resource "aws_cloudwatch_log_group" "lambda" {
  # checkov:skip=CKV_AWS_338:Operational logs; retention is var.lambda.log_retention_days (30 days by default), raise it where policy asks for a year.
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.lambda.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_lambda_function" "this" {
  # checkov:skip=CKV_AWS_116:Invoked synchronously by API Gateway only; a dead-letter queue receives asynchronous invocations, which never happen.
  # checkov:skip=CKV_AWS_117:The function calls only AWS APIs (CloudWatch Logs, DynamoDB); a VPC would add NAT or endpoints and no isolation.
  # checkov:skip=CKV_AWS_272:Code signing is not supported for container-image functions; the image is pinned by digest instead.
  # checkov:skip=CKV_AWS_173:Environment variables are encrypted at rest with the AWS-managed key; set var.kms_key_arn for a customer-managed key.
  # checkov:skip=CKV_AWS_115:Reserved concurrency is optional (var.lambda.reserved_concurrency); reserving takes capacity from the account pool, and API Gateway throttling bounds the load.
  # checkov:skip=CKV_AWS_50:X-Ray tracing is optional (var.lambda.tracing).
  function_name = var.name
  description   = "MCP server reporting Amazon Bedrock usage (Streamable HTTP behind API Gateway)"
  role          = aws_iam_role.lambda.arn
  package_type  = "Image"
  image_uri     = local.image_uri
  architectures = [var.architecture]
  memory_size   = var.lambda.memory_mb
  timeout       = var.lambda.timeout_seconds
  kms_key_arn   = var.kms_key_arn

  reserved_concurrent_executions = coalesce(var.lambda.reserved_concurrency, -1)

  environment {
    variables = local.lambda_environment
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.lambda.name
  }

  tracing_config {
    mode = var.lambda.tracing ? "Active" : "PassThrough"
  }

  lifecycle {
    precondition {
      condition     = var.mcp.max_stream_seconds < var.lambda.timeout_seconds
      error_message = "mcp.max_stream_seconds (${var.mcp.max_stream_seconds}) must be below lambda.timeout_seconds (${var.lambda.timeout_seconds}), or streams are cut by the timeout instead of closed for resumption."
    }
    # A variable's validation cannot see the region and account: here a name and an ARN of the
    # same group (or bedrock_log_group_name listed again) are caught. The server would read
    # such a group twice and count its usage twice, or refuse the list at start.
    precondition {
      condition     = length(distinct(local.bedrock_log_group_arns)) == length(local.bedrock_log_group_arns)
      error_message = "bedrock_log_group_name and bedrock_extra_log_groups name one log group twice (as names or ARNs of ${local.region} and account ${local.account_id}): ${join(", ", [for a in local.bedrock_log_group_arns : a if length([for b in local.bedrock_log_group_arns : b if b == a]) > 1])}."
    }
    precondition {
      condition     = local.lambda_environment_bytes <= 4096
      error_message = "The function's environment is about ${local.lambda_environment_bytes} bytes (keys and values); Lambda allows 4096. Shorten bedrock_pricing_json, bedrock_extra_log_groups or the mcp host and origin lists."
    }
  }

  depends_on = [
    aws_iam_role_policy.lambda,
    aws_cloudwatch_log_group.lambda,
  ]
}

# API Gateway may invoke the function for the MCP path only (any stage, any method). This
# permission covers the response-streaming invocations too.
resource "aws_lambda_permission" "api_gateway" {
  statement_id  = "AllowApiGatewayInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.this.execution_arn}/*/*${local.mcp_path}"
}

# auth_mode = "oauth": the Protected Resource Metadata routes (GET only) reach the function too.
resource "aws_lambda_permission" "api_gateway_prm" {
  count = local.oauth ? 1 : 0

  statement_id  = "AllowApiGatewayInvokeProtectedResourceMetadata"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.this.execution_arn}/*/GET/.well-known/oauth-protected-resource*"
}
