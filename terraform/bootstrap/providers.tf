provider "aws" {
  region = var.region

  default_tags {
    tags = merge(
      {
        Application = "bedrock-usage-mcp"
        Component   = "ci-bootstrap"
        ManagedBy   = "terraform"
      },
      var.tags,
    )
  }
}
