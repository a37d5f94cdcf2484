# What a fresh account gets from outside this root before the tests apply it: a "prebuilt"
# image pushed to another ECR repository (deployed by digest, as the pipeline does) and an SNS
# topic for the alarms. Created with boto3 (seed.py), so nothing here is a resource to scan.

terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
  }
}

variable "python" {
  type = string
}

resource "terraform_data" "seed" {
  provisioner "local-exec" {
    command = "\"${var.python}\" \"${path.module}/seed.py\""
  }
}

data "aws_ecr_repository" "prebuilt" {
  name       = "gha-bedrock-usage-mcp"
  depends_on = [terraform_data.seed]
}

data "aws_ecr_image" "prebuilt" {
  repository_name = "gha-bedrock-usage-mcp"
  image_tag       = "test"
  depends_on      = [terraform_data.seed]
}

data "aws_sns_topic" "oncall" {
  name       = "oncall"
  depends_on = [terraform_data.seed]
}

output "image_uri" {
  value = "${data.aws_ecr_repository.prebuilt.repository_url}@${data.aws_ecr_image.prebuilt.image_digest}"
}

output "topic_arn" {
  value = data.aws_sns_topic.oncall.arn
}
