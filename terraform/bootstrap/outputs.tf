output "state_bucket" {
  description = "S3 bucket for the root's state (backend-config bucket)."
  value       = aws_s3_bucket.state.bucket
}

output "state_key" {
  description = "Key of the production state object (backend-config key)."
  value       = var.state_key
}

output "lock_table" {
  description = "DynamoDB lock table (Terraform < 1.10 only; null unless create_lock_table)."
  value       = one(aws_dynamodb_table.lock[*].name)
}

output "ecr_repository_url" {
  description = "Repository the pipeline pushes images to."
  value       = aws_ecr_repository.ci.repository_url
}

output "permissions_boundary_arn" {
  description = "Pass to the root as permissions_boundary_arn: the apply role creates roles only with it."
  value       = aws_iam_policy.boundary.arn
}

output "image_role_arn" {
  description = "Role of the image job (the main branch only; pull requests build without pushing)."
  value       = aws_iam_role.image.arn
}

output "plan_role_arn" {
  description = "Role of the plan jobs (pull requests in the reviewed plan environment, and the main branch; read-only but for the lock and saved plans)."
  value       = aws_iam_role.plan.arn
}

output "apply_role_arn" {
  description = "Role of the apply job (the protected environment only)."
  value       = aws_iam_role.apply.arn
}

output "github_variables_commands" {
  description = "gh commands that set the repository variables .github/workflows/deploy.yml reads."
  value = join("\n", [
    "gh variable set AWS_REGION --repo ${var.github_repository} --body '${local.region}'",
    "gh variable set AWS_ACCOUNT_ID --repo ${var.github_repository} --body '${local.account_id}'",
    "gh variable set AWS_IMAGE_ROLE_ARN --repo ${var.github_repository} --body '${aws_iam_role.image.arn}'",
    "gh variable set AWS_PLAN_ROLE_ARN --repo ${var.github_repository} --body '${aws_iam_role.plan.arn}'",
    "gh variable set AWS_APPLY_ROLE_ARN --repo ${var.github_repository} --body '${aws_iam_role.apply.arn}'",
    "gh variable set ECR_REPOSITORY --repo ${var.github_repository} --body '${aws_ecr_repository.ci.name}'",
    "gh variable set TF_STATE_BUCKET --repo ${var.github_repository} --body '${aws_s3_bucket.state.bucket}'",
    "gh variable set TF_STATE_KEY --repo ${var.github_repository} --body '${var.state_key}'",
    "gh variable set TF_PERMISSIONS_BOUNDARY_ARN --repo ${var.github_repository} --body '${aws_iam_policy.boundary.arn}'",
  ])
}
