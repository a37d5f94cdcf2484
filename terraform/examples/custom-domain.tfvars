# A custom domain (https://mcp.example.com/mcp) with a Route 53 alias, and a browser-based MCP
# host allowed by origin. The certificate must be an ACM certificate in the same region.

region = "us-east-1"

custom_domain = {
  domain_name     = "mcp.example.com"
  certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
  route53_zone_id = "Z0123456789EXAMPLE"
}

mcp = {
  allowed_origins = ["https://inspector.example.com"]
}
