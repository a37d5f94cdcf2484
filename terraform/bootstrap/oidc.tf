# GitHub Actions' OpenID Connect provider: workflows get short-lived role credentials instead of
# stored access keys. One per account.
resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 1 : 0

  url            = "https://${local.oidc_host}"
  client_id_list = ["sts.amazonaws.com"]
}

data "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 0 : 1

  url = "https://${local.oidc_host}"
}

locals {
  # Trust for GitHub's OIDC tokens of this repository, narrowed to the given subjects.
  github_trust = {
    for role, subjects in {
      image = [
        "repo:${var.github_repository}:pull_request",
        "repo:${var.github_repository}:ref:refs/heads/${var.github_main_branch}",
      ]
      plan  = ["repo:${var.github_repository}:pull_request"]
      apply = ["repo:${var.github_repository}:environment:${var.github_environment}"]
      } : role => jsonencode({
        Version = "2012-10-17"
        Statement = [
          {
            Effect    = "Allow"
            Principal = { Federated = local.oidc_provider_arn }
            Action    = "sts:AssumeRoleWithWebIdentity"
            Condition = {
              StringEquals = {
                "${local.oidc_host}:aud" = "sts.amazonaws.com"
                "${local.oidc_host}:sub" = subjects
              }
            }
          },
        ]
    })
  }
}
