terraform {
  # 1.6 for the root itself; `terraform test` with mock providers needs 1.7 or newer.
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.100 lacks response_transfer_mode on aws_api_gateway_integration, so the REST API
      # is defined by its OpenAPI body (see api_gateway.tf), which works on 5.100 and 6.x.
      version = ">= 5.100, < 7"
    }
  }
}
