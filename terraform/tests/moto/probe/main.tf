# Reads a deployment back from the AWS APIs (moto in scripts/infra-test.sh): the provider's data
# sources where it has them, and probe.py for the rest, whose answers the tests read with
# jsondecode(file(var.out)) once this module is applied. Applied again, it reads again.

terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
  }
}

variable "python" {
  description = "A Python with boto3 (the one that runs moto_server)."
  type        = string
}

variable "out" {
  description = "Where probe.py writes the API answers (JSON)."
  type        = string
}

variable "function_name" {
  type    = string
  default = ""
}

variable "rest_api_id" {
  type    = string
  default = ""
}

variable "stage_name" {
  type    = string
  default = ""
}

variable "ecr_repository" {
  type    = string
  default = ""
}

variable "user_pool_id" {
  type    = string
  default = ""
}

variable "session_table_name" {
  type    = string
  default = ""
}

resource "terraform_data" "probe" {
  triggers_replace = timestamp()

  provisioner "local-exec" {
    command = "\"${var.python}\" \"${path.module}/probe.py\" \"${var.out}\" \"${var.function_name}\" \"${var.rest_api_id}\" \"${var.stage_name}\" \"${var.ecr_repository}\" \"${var.user_pool_id}\""
  }
}

data "aws_lambda_function" "this" {
  count         = var.function_name == "" ? 0 : 1
  function_name = var.function_name
}

data "aws_dynamodb_table" "sessions" {
  count = var.session_table_name == "" ? 0 : 1
  name  = var.session_table_name
}

data "aws_cloudwatch_log_groups" "all" {}

data "aws_cloudwatch_log_group" "each" {
  for_each = toset(data.aws_cloudwatch_log_groups.all.log_group_names)
  name     = each.key
}

data "aws_lambda_functions" "all" {}

data "aws_dynamodb_tables" "all" {}

data "aws_iam_roles" "app" {
  name_regex = "^bedrock-usage-mcp"
}

output "log_group_retention" {
  description = "Retention in days of every log group, by name."
  value       = { for name, g in data.aws_cloudwatch_log_group.each : name => g.retention_in_days }
}

variable "image_digest" {
  type    = string
  default = ""
}

data "aws_ecr_image" "built" {
  count           = var.image_digest == "" ? 0 : 1
  repository_name = var.ecr_repository
  image_digest    = var.image_digest
}
