# The repository the pipeline pushes images to; the root deploys them by digest (image_uri).

resource "aws_ecr_repository" "ci" {
  name                 = local.ci_prefix
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = var.kms_key_arn == null ? "AES256" : "KMS"
    kms_key         = var.kms_key_arn
  }
}

# Only the main branch pushes here (pull requests build without pushing). Tags:
#   src-<source hash>-<arch>   every image the main branch builds (scripts/source-hash.sh);
#   deployed-<run>-<attempt>   added to the image's digest after a successful apply.
# ECR never lets a rule expire an image that a higher-priority rule's tag selection matches, so
# rule 1 protects every deployed image from rule 3: the live image is always deployed-tagged,
# and rule 1 only expires deployed images when more than ecr_keep_deployed_images newer ones
# exist (by push date), which a live image never meets unless a rollback deploys an image
# older than that many deployments.
resource "aws_ecr_lifecycle_policy" "ci" {
  repository = aws_ecr_repository.ci.name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Keep the ${var.ecr_keep_deployed_images} newest deployed images"
        selection = {
          tagStatus     = "tagged"
          tagPrefixList = ["deployed-"]
          countType     = "imageCountMoreThan"
          countNumber   = var.ecr_keep_deployed_images
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
        description  = "Keep the ${var.ecr_keep_images} newest images that were never deployed"
        selection = {
          tagStatus     = "tagged"
          tagPrefixList = ["src-"]
          countType     = "imageCountMoreThan"
          countNumber   = var.ecr_keep_images
        }
        action = { type = "expire" }
      },
    ]
  })
}

resource "aws_ecr_repository_policy" "ci" {
  repository = aws_ecr_repository.ci.name
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
