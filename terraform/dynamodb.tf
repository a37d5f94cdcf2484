# Legacy-era MCP sessions, shared by every instance of the function. Items expire through the
# TTL attribute; the server also checks expires_at itself, since TTL deletion lags.
resource "aws_dynamodb_table" "this" {
  # checkov:skip=CKV_AWS_119:Server-side encryption uses the AWS-managed key (aws/dynamodb) by default; set var.kms_key_arn for a customer-managed key.
  name                        = "${var.name}-sessions"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = "sk"
  deletion_protection_enabled = var.session_table.deletion_protection

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }
}
