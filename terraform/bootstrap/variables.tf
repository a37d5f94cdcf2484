variable "region" {
  description = "Region of the deployment (the root's region). null takes it from the environment."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "github_repository" {
  description = "The GitHub repository allowed to assume the roles, as owner/name."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$", var.github_repository))
    error_message = "github_repository must be owner/name."
  }
}

variable "github_environment" {
  description = "The protected GitHub environment whose jobs may assume the apply role (configure required reviewers on it)."
  type        = string
  default     = "production"
}

variable "github_plan_environment" {
  description = "The GitHub environment pull-request plans run in. The plan role can read the state (which holds the API key), so give this environment required reviewers: a reviewer approves each pull request's plan after reading its diff (workflows included)."
  type        = string
  default     = "plan"

  validation {
    condition     = var.github_plan_environment != var.github_environment
    error_message = "github_plan_environment must differ from github_environment: pull requests must never get the apply role."
  }
}

variable "github_main_branch" {
  description = "The branch whose pushes build images for production and make the plans the apply job applies."
  type        = string
  default     = "main"
}

variable "create_oidc_provider" {
  description = "Create the account's GitHub Actions OIDC provider (token.actions.githubusercontent.com). Set false if the account has one already; it is then looked up."
  type        = bool
  default     = true
}

variable "app_name" {
  description = "The root module's `name` variable: the apply role may manage resources named after it only."
  type        = string
  default     = "bedrock-usage-mcp"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,38}[a-z0-9]$", var.app_name))
    error_message = "app_name must match the root's name rules (3-40 lower-case letters, digits, hyphens)."
  }
}

variable "state_bucket_name" {
  description = "Name of the S3 bucket for Terraform state. null: <app_name>-tfstate-<account>-<region>, with app_name cut short and a hash added when that exceeds S3's 63 characters."
  type        = string
  default     = null

  validation {
    condition     = var.state_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket_name))
    error_message = "state_bucket_name must be a valid S3 bucket name: 3-63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit."
  }
}

variable "state_key" {
  description = "Key of the production state object in the bucket (the pipeline's -backend-config key)."
  type        = string
  default     = "bedrock-usage-mcp/production.tfstate"
}

variable "create_lock_table" {
  description = "Create a DynamoDB lock table, for Terraform older than 1.10 (newer versions lock with use_lockfile = true in S3)."
  type        = bool
  default     = false
}

variable "allow_bedrock_logging_management" {
  description = "Let the apply role manage the region's Bedrock invocation-logging configuration (the root's manage_bedrock_invocation_logging = true)."
  type        = bool
  default     = false
}

variable "bedrock_log_group_name" {
  description = "The root's bedrock_log_group_name: the apply role may create it when allow_bedrock_logging_management is true."
  type        = string
  default     = "/aws/bedrock/modelinvocations"
}

variable "allow_api_gateway_account_management" {
  description = "Let the apply role set the region's API Gateway CloudWatch role (the root's manage_api_gateway_account = true)."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "The root's kms_key_arn, if any: the apply role may use it to encrypt the function's environment, table and logs."
  type        = string
  default     = null
}

variable "extra_apply_policy_json" {
  description = "Extra IAM policy for the apply role, for options the default scope leaves out (custom_domain: acm:DescribeCertificate, route53:ChangeResourceRecordSets on the zone; waf_web_acl_arn: wafv2:AssociateWebACL, ...)."
  type        = string
  default     = null
}

variable "ecr_keep_images" {
  description = "How many images built on the main branch but never deployed (tags src-*) the pipeline's ECR repository keeps. Deployed images are kept by their own rule (ecr_keep_deployed_images)."
  type        = number
  default     = 30

  validation {
    condition     = var.ecr_keep_images >= 1
    error_message = "ecr_keep_images must be at least 1."
  }
}

variable "ecr_keep_deployed_images" {
  description = "How many deployed images (tags deployed-*, added by the pipeline after each successful apply) the pipeline's ECR repository keeps, by push date. The live image is one of them, and a lower-priority rule can never expire an image this rule selects."
  type        = number
  default     = 100

  validation {
    condition     = var.ecr_keep_deployed_images >= 10
    error_message = "ecr_keep_deployed_images must be at least 10, so that rollbacks find their images."
  }
}
