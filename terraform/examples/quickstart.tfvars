# Fresh account, first deployment from a laptop:
#   terraform apply -var-file=examples/quickstart.tfvars
# Terraform builds the image with docker buildx and pushes it to an ECR repository it creates,
# and, ACCOUNT-WIDE (one setting per account and region, shared with every other stack):
#   - turns on Bedrock model-invocation logging (a fresh account has none), metadata and token
#     counts only (no prompts or completions: bedrock_logging.text_data_delivery = false);
#   - sets API Gateway's CloudWatch Logs role, so that the stage writes access logs.
# Both are guarded: `terraform destroy` refuses to delete them until
# `terraform apply -var-file=examples/quickstart.tfvars -var allow_account_wide_destroy=true`.
# Callers use the generated API key.

region = "us-east-1"

manage_bedrock_invocation_logging = true
manage_api_gateway_account        = true

auth_mode = "api_key"

# A fresh account has no dashboard yet: this one is within the free three.
monitoring = {
  dashboard = true
}

tags = {
  Environment = "sandbox"
}
