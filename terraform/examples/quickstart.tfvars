# Fresh account, first deployment from a laptop:
#   terraform apply -var-file=examples/quickstart.tfvars
# Terraform builds the image with docker buildx and pushes it to an ECR repository it creates,
# turns on Bedrock model-invocation logging (there is no configuration yet in a fresh account)
# and sets API Gateway's account-wide CloudWatch role (needed once per account and region
# before access logs work). Callers use the generated API key.

region = "us-east-1"

manage_bedrock_invocation_logging = true
manage_api_gateway_account        = true

auth_mode = "api_key"

tags = {
  Environment = "sandbox"
}
