# Bedrock model-invocation logging to CloudWatch Logs, managed here only when asked: there is
# one configuration per account and region, and another stack may own it.

locals {
  manage_bedrock_logging = var.manage_bedrock_invocation_logging
  # Bedrock writes every record to this one stream of the group.
  bedrock_log_stream_arn = "${local.bedrock_log_group_arn}:log-stream:aws/bedrock/modelinvocations"
}

resource "aws_cloudwatch_log_group" "bedrock" {
  count = local.manage_bedrock_logging ? 1 : 0

  name              = local.bedrock_log_group_name
  retention_in_days = var.bedrock_logging.retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_iam_role" "bedrock_logging" {
  count = local.manage_bedrock_logging ? 1 : 0

  name                 = "${var.name}-bedrock-logging"
  permissions_boundary = local.permissions_boundary
  description          = "Assumed by Amazon Bedrock to deliver model-invocation logs to ${local.bedrock_log_group_name}"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect    = "Allow"
        Principal = { Service = "bedrock.amazonaws.com" }
        Action    = "sts:AssumeRole"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
          ArnLike      = { "aws:SourceArn" = "arn:${local.partition}:bedrock:${local.region}:${local.account_id}:*" }
        }
      },
    ]
  })
}

resource "aws_iam_role_policy" "bedrock_logging" {
  count = local.manage_bedrock_logging ? 1 : 0

  name = "deliver-invocation-logs"
  role = aws_iam_role.bedrock_logging[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = [local.bedrock_log_stream_arn]
      },
    ]
  })
}

resource "aws_bedrock_model_invocation_logging_configuration" "this" {
  count = local.manage_bedrock_logging ? 1 : 0

  logging_config {
    text_data_delivery_enabled      = var.bedrock_logging.text_data_delivery
    image_data_delivery_enabled     = var.bedrock_logging.image_data_delivery
    embedding_data_delivery_enabled = var.bedrock_logging.embedding_data_delivery
    video_data_delivery_enabled     = var.bedrock_logging.video_data_delivery

    cloudwatch_config {
      log_group_name = aws_cloudwatch_log_group.bedrock[0].name
      role_arn       = aws_iam_role.bedrock_logging[0].arn

      dynamic "large_data_delivery_s3_config" {
        for_each = var.bedrock_logging.large_data_s3_bucket == null ? [] : [1]
        content {
          bucket_name = var.bedrock_logging.large_data_s3_bucket
          key_prefix  = var.bedrock_logging.large_data_s3_key_prefix
        }
      }
    }
  }

  # Bedrock checks that it can assume the role and write to the group when the configuration
  # is put: the policy must exist first. A role created seconds ago may not have propagated
  # yet; hashicorp/aws retries the create on that ValidationException ("Failed to validate
  # permissions for log group", present in 5.100.0) for its IAM propagation timeout, so no
  # wait of our own (time_sleep would need the hashicorp/time provider) is added.
  depends_on = [aws_iam_role_policy.bedrock_logging]
}

# With manage_bedrock_invocation_logging = false the group belongs to someone else and may not
# exist yet (a fresh account). Nothing here needs it: the IAM policy is built from its name and
# the server answers zero usage with a warning. This check only warns at plan time.
check "bedrock_log_group_exists" {
  data "aws_cloudwatch_log_groups" "bedrock" {
    log_group_name_prefix = local.bedrock_log_group_name
  }

  assert {
    condition     = local.manage_bedrock_logging || contains(data.aws_cloudwatch_log_groups.bedrock.log_group_names, local.bedrock_log_group_name)
    error_message = "The Bedrock invocation log group ${local.bedrock_log_group_name} does not exist in ${local.region}: the usage report will answer zero usage with a warning until Bedrock model-invocation logging delivers there. Turn it on with manage_bedrock_invocation_logging = true, or point bedrock_log_group_name at the group another stack configured."
  }
}
