# SigV4 instead of an API key: callers need execute-api:Invoke on the execute_api_arn output and
# a client (or a local signing proxy) that signs requests with their AWS credentials.

region = "us-west-2"

auth_mode = "iam"
