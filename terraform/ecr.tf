# The repository Terraform pushes its own builds to. Not created when image_uri is given: the
# pipeline pushes to the repository that terraform/bootstrap creates.
resource "aws_ecr_repository" "this" {
  count = local.build_image ? 1 : 0

  name                 = var.name
  image_tag_mutability = "IMMUTABLE"
  force_delete         = var.ecr.force_delete

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = var.kms_key_arn == null ? "AES256" : "KMS"
    kms_key         = var.kms_key_arn
  }
}

# Tags: src-<source hash>-<arch> on every image Terraform builds (image.tf); deployed-src-...
# added to it once the function runs it (terraform_data.deployed_tag). As in the pipeline's
# repository (bootstrap/ecr.tf): ECR never lets a rule expire an image that a higher-priority
# rule's tag selection matches, so rule 1 protects every deployed image from rule 3, however many
# builds fail to deploy after it; it expires deployed images only past keep_deployed_images newer
# ones (by push date), which the live image never is unless an apply goes back to an image older
# than that many deployments.
resource "aws_ecr_lifecycle_policy" "this" {
  count = local.build_image ? 1 : 0

  repository = aws_ecr_repository.this[0].name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Keep the ${var.ecr.keep_deployed_images} newest deployed images"
        selection = {
          tagStatus     = "tagged"
          tagPrefixList = [local.deployed_tag_prefix]
          countType     = "imageCountMoreThan"
          countNumber   = var.ecr.keep_deployed_images
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Drop untagged images (layers of interrupted pushes) after a day"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = 1
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 3
        description  = "Keep the ${var.ecr.keep_images} newest images that were never deployed"
        selection = {
          tagStatus     = "tagged"
          tagPrefixList = ["src-"]
          countType     = "imageCountMoreThan"
          countNumber   = var.ecr.keep_images
        }
        action = { type = "expire" }
      },
    ]
  })
}

# Lambda pulls the image with its service principal; this is the policy Lambda would otherwise
# add itself on the first CreateFunction, scoped to this account's functions.
resource "aws_ecr_repository_policy" "this" {
  count = local.build_image ? 1 : 0

  repository = aws_ecr_repository.this[0].name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "LambdaECRImageRetrievalPolicy"
        Effect    = "Allow"
        Principal = { Service = "lambda.amazonaws.com" }
        Action    = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
        Condition = {
          StringLike = {
            "aws:sourceArn" = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:*"
          }
        }
      },
    ]
  })
}
