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
  # The OIDC subjects each role trusts. GitHub sets `sub` from the event and the job:
  #   repo:<repo>:ref:refs/heads/main    jobs without an environment, on pushes to main (and
  #                                      workflow_dispatch on main): only reviewed, merged code;
  #   repo:<repo>:environment:<name>     any job that names the environment, from any event,
  #                                      including a pull request that edits the workflow, so
  #                                      these subjects are only as strong as the environment's
  #                                      protection rules (required reviewers; for production,
  #                                      deployment branches limited to main);
  #   repo:<repo>:pull_request           any pull request from this repository, running its own
  #                                      copy of the workflow: trusted by no role.
  github_subjects = {
    image = ["repo:${var.github_repository}:ref:refs/heads/${var.github_main_branch}"]
    plan = [
      "repo:${var.github_repository}:environment:${var.github_plan_environment}",
      "repo:${var.github_repository}:ref:refs/heads/${var.github_main_branch}",
    ]
    apply = ["repo:${var.github_repository}:environment:${var.github_environment}"]
  }

  # Trust for GitHub's OIDC tokens of this repository, narrowed to those subjects.
  github_trust = {
    for role, subjects in local.github_subjects : role => jsonencode({
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
