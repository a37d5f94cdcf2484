# Values the mocked AWS provider returns for computed attributes: ARN-shaped, so that the
# provider's own validation of references (role ARNs, function names, ...) accepts them.

mock_data "aws_caller_identity" {
  defaults = {
    account_id = "123456789012"
    arn        = "arn:aws:iam::123456789012:user/terraform-test"
    user_id    = "AIDAEXAMPLEEXAMPLE"
  }
}

mock_data "aws_partition" {
  defaults = {
    partition          = "aws"
    dns_suffix         = "amazonaws.com"
    reverse_dns_prefix = "com.amazonaws"
  }
}

mock_data "aws_region" {
  defaults = {
    id          = "eu-west-1"
    name        = "eu-west-1"
    description = "Europe (Ireland)"
    endpoint    = "ec2.eu-west-1.amazonaws.com"
  }
}

mock_data "aws_ecr_image" {
  defaults = {
    image_digest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
  }
}

mock_resource "aws_lambda_function" {
  defaults = {
    arn           = "arn:aws:lambda:eu-west-1:123456789012:function:bedrock-usage-mcp"
    invoke_arn    = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:bedrock-usage-mcp/invocations"
    qualified_arn = "arn:aws:lambda:eu-west-1:123456789012:function:bedrock-usage-mcp:$LATEST"
    version       = "$LATEST"
  }
}

mock_resource "aws_iam_role" {
  defaults = {
    arn       = "arn:aws:iam::123456789012:role/mocked-role"
    unique_id = "AROAEXAMPLEEXAMPLE"
  }
}

mock_resource "aws_dynamodb_table" {
  defaults = {
    arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/bedrock-usage-mcp-sessions"
  }
}

mock_resource "aws_cloudwatch_log_group" {
  defaults = {
    arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/bedrock-usage-mcp"
  }
}

mock_resource "aws_ecr_repository" {
  defaults = {
    arn            = "arn:aws:ecr:eu-west-1:123456789012:repository/bedrock-usage-mcp"
    registry_id    = "123456789012"
    repository_url = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/bedrock-usage-mcp"
  }
}

mock_resource "aws_api_gateway_rest_api" {
  defaults = {
    id               = "a1b2c3d4e5"
    arn              = "arn:aws:apigateway:eu-west-1::/restapis/a1b2c3d4e5"
    execution_arn    = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5"
    root_resource_id = "r00tr00t00"
  }
}

mock_resource "aws_api_gateway_deployment" {
  defaults = {
    id = "dep123"
  }
}

mock_resource "aws_api_gateway_stage" {
  defaults = {
    arn           = "arn:aws:apigateway:eu-west-1::/restapis/a1b2c3d4e5/stages/prod"
    execution_arn = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod"
    invoke_url    = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod"
  }
}

mock_resource "aws_api_gateway_api_key" {
  defaults = {
    id    = "key1234567"
    arn   = "arn:aws:apigateway:eu-west-1::/apikeys/key1234567"
    value = "mockApiKey0123456789abcdefghijklmnopqrst"
  }
}

mock_resource "aws_api_gateway_usage_plan" {
  defaults = {
    id  = "plan123456"
    arn = "arn:aws:apigateway:eu-west-1::/usageplans/plan123456"
  }
}

mock_resource "aws_api_gateway_domain_name" {
  defaults = {
    arn                  = "arn:aws:apigateway:eu-west-1::/domainnames/mcp.example.com"
    regional_domain_name = "d-abc123.execute-api.eu-west-1.amazonaws.com"
    regional_zone_id     = "ZLY8HYME6SFDD"
  }
}

# The Bedrock invocation log groups the tests name exist (check.bedrock_log_group_exists);
# tests/fresh_account.tftest.hcl overrides this with an account that has none.
mock_data "aws_cloudwatch_log_groups" {
  defaults = {
    log_group_names = ["/aws/bedrock/modelinvocations", "/org/bedrock/invocations", "/org/bedrock/model-invocations"]
  }
}

mock_resource "aws_cognito_user_pool" {
  defaults = {
    id       = "eu-west-1_Mock12345"
    arn      = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_Mock12345"
    endpoint = "cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Mock12345"
  }
}
