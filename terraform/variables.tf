# ---------------------------------------------------------------------------------------------
# Where and what
# ---------------------------------------------------------------------------------------------

variable "name" {
  description = "Name of the deployment: the Lambda function, the REST API and the ECR repository take it; the session table, roles and log groups use it as a prefix."
  type        = string
  default     = "bedrock-usage-mcp"

  validation {
    # Role names get suffixes such as "-bedrock-logging" and stay within IAM's 64 characters.
    condition     = can(regex("^[a-z][a-z0-9-]{1,38}[a-z0-9]$", var.name))
    error_message = "name must be 3-40 characters of lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "region" {
  description = "AWS region to deploy to (the region of the Bedrock invocation logs). null takes the region from the environment (AWS_REGION or the profile)."
  type        = string
  default     = null

  validation {
    condition     = var.region == null || can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must look like us-east-1."
  }
}

variable "allowed_account_ids" {
  description = "If set, the AWS provider refuses to run against any other account: a guard for pipelines."
  type        = list(string)
  default     = null
}

variable "tags" {
  description = "Tags added to every resource (through the provider's default_tags)."
  type        = map(string)
  default     = {}
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for the log groups, the session table, the ECR repository and the Lambda environment. null uses AWS-owned/managed keys. The key policy must allow CloudWatch Logs (logs.<region>.amazonaws.com) to use it."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary attached to every IAM role this root creates (null or \"\" for none). terraform/bootstrap creates one and lets the pipeline's apply role create roles only with it."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary_arn == null || var.permissions_boundary_arn == "" || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:policy/.+$", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be an IAM policy ARN (or null/empty for none)."
  }
}

# ---------------------------------------------------------------------------------------------
# The container image
# ---------------------------------------------------------------------------------------------

variable "image_uri" {
  description = "A prebuilt image, by digest (<account>.dkr.ecr.<region>.amazonaws.com/<repo>@sha256:<digest>), as the pipeline passes it. null makes Terraform build the image from the sources with docker buildx and push it to an ECR repository it creates."
  type        = string
  default     = null

  validation {
    condition     = var.image_uri == null || can(regex("^[0-9]{12}\\.dkr\\.ecr\\.[a-z0-9-]+\\.amazonaws\\.com(\\.cn)?/[a-z0-9][a-z0-9._/-]*@sha256:[a-f0-9]{64}$", var.image_uri))
    error_message = "image_uri must be an ECR image by digest: <account>.dkr.ecr.<region>.amazonaws.com/<repository>@sha256:<64 hex digits>. Tags are mutable; deploy digests."
  }
}

variable "architecture" {
  description = "Lambda architecture, and the platform the image is built for: arm64 (Graviton, cheaper) or x86_64."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "image_build" {
  description = "How Terraform builds the image when image_uri is null. source_dir: the repository root (Cargo.toml, src/, docker/Dockerfile); default: the folder above this one. docker: the docker CLI to call."
  type = object({
    source_dir = optional(string)
    docker     = optional(string, "docker")
  })
  default  = {}
  nullable = false
}

variable "ecr" {
  description = "The ECR repository Terraform creates when it builds the image: keep_images, how many images built but never deployed to keep (src-*); keep_deployed_images, how many deployed images (tagged deployed-* once the function runs them) to keep, by push date: the live image is one of them, so no number of failed applies expires it; force_delete, whether destroy may delete a repository that still holds images."
  type = object({
    keep_images          = optional(number, 10)
    keep_deployed_images = optional(number, 10)
    force_delete         = optional(bool, true)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.ecr.keep_images >= 1 && var.ecr.keep_images <= 1000 && var.ecr.keep_deployed_images >= 1 && var.ecr.keep_deployed_images <= 1000
    error_message = "ecr.keep_images and ecr.keep_deployed_images must be between 1 and 1000."
  }
}

# ---------------------------------------------------------------------------------------------
# The function
# ---------------------------------------------------------------------------------------------

variable "lambda" {
  description = "The function: memory (MB), timeout (seconds, up to 900; streams are closed before it by mcp.max_stream_seconds), optional reserved concurrency, X-Ray tracing, log retention (days) and RUST_LOG."
  type = object({
    memory_mb            = optional(number, 256)
    timeout_seconds      = optional(number, 900)
    reserved_concurrency = optional(number)
    tracing              = optional(bool, false)
    log_retention_days   = optional(number, 30)
    rust_log             = optional(string, "info")
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.lambda.memory_mb >= 128 && var.lambda.memory_mb <= 10240
    error_message = "lambda.memory_mb must be between 128 and 10240."
  }
  validation {
    condition     = var.lambda.timeout_seconds >= 30 && var.lambda.timeout_seconds <= 900
    error_message = "lambda.timeout_seconds must be between 30 and 900."
  }
  validation {
    condition     = var.lambda.reserved_concurrency == null || try(var.lambda.reserved_concurrency >= 1, false)
    error_message = "lambda.reserved_concurrency must be null (unreserved) or at least 1."
  }
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.lambda.log_retention_days)
    error_message = "lambda.log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "mcp" {
  description = <<-EOT
    Server settings passed to the function as environment variables:
    allowed_hosts (MCP_ALLOWED_HOSTS; the execute-api host is accepted by the server itself, custom_domain is added here automatically),
    allowed_origins (MCP_ALLOWED_ORIGINS; browser origins, empty = loopback only),
    max_stream_seconds (MCP_MAX_STREAM_SECS; SSE streams are closed after this and clients resume; below the Lambda timeout and the 900 s gateway timeout),
    keep_alive_seconds (MCP_KEEP_ALIVE_SECS; well inside API Gateway's 300 s idle timeout),
    session_ttl_seconds (MCP_SESSION_TTL),
    cloudwatch_mode (BEDROCK_USAGE_CLOUDWATCH_MODE: insights, scan, or metrics for the AWS/Bedrock metrics when invocation logging is off),
    max_scan_gb (BEDROCK_MAX_SCAN_GB; null = no cap: the most a report may have Logs Insights scan, billed per GB; setting it also lets the role call logs:DescribeLogGroups so a report that would pass the cap is refused before any query).
  EOT
  type = object({
    allowed_hosts       = optional(list(string), [])
    allowed_origins     = optional(list(string), [])
    max_stream_seconds  = optional(number, 240)
    keep_alive_seconds  = optional(number, 15)
    session_ttl_seconds = optional(number, 3600)
    cloudwatch_mode     = optional(string, "insights")
    max_scan_gb         = optional(number)
  })
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for h in var.mcp.allowed_hosts : h == "*" || can(regex("^[A-Za-z0-9.-]+(:[0-9]+)?$", h))])
    error_message = "mcp.allowed_hosts must be host names (optionally with :port), without scheme or path, or \"*\" (any host)."
  }
  validation {
    condition     = alltrue([for o in var.mcp.allowed_origins : o == "*" || can(regex("^https?://[A-Za-z0-9.-]+(:[0-9]+)?$", o))])
    error_message = "mcp.allowed_origins must be origins such as https://app.example.com (scheme, host, optional port; no path), or \"*\" (any origin)."
  }
  validation {
    condition     = var.mcp.max_stream_seconds >= 10 && var.mcp.max_stream_seconds < 900
    error_message = "mcp.max_stream_seconds must be at least 10 and below 900 (the API Gateway integration timeout)."
  }
  validation {
    condition     = var.mcp.keep_alive_seconds >= 1 && var.mcp.keep_alive_seconds < 300
    error_message = "mcp.keep_alive_seconds must be between 1 and 299 (API Gateway closes idle streams after 300 s)."
  }
  validation {
    condition     = var.mcp.session_ttl_seconds >= 60 && var.mcp.session_ttl_seconds <= 604800
    error_message = "mcp.session_ttl_seconds must be between 60 and 604800 (7 days)."
  }
  validation {
    condition     = contains(["insights", "scan", "metrics"], var.mcp.cloudwatch_mode)
    error_message = "mcp.cloudwatch_mode must be insights (CloudWatch Logs Insights), scan (FilterLogEvents) or metrics (the AWS/Bedrock CloudWatch metrics)."
  }
  validation {
    condition     = var.mcp.max_scan_gb == null || coalesce(var.mcp.max_scan_gb, 1) > 0
    error_message = "mcp.max_scan_gb must be a positive number of GB (or null for no cap)."
  }
}

# ---------------------------------------------------------------------------------------------
# Access
# ---------------------------------------------------------------------------------------------

variable "auth_mode" {
  description = "How callers authenticate: api_key (default; x-api-key header, usage plan with throttling and quota), iam (SigV4-signed requests, authorizationType AWS_IAM), oauth (OAuth 2.1 bearer tokens validated by the function, from a Cognito user pool this root creates or an existing issuer: see var.oauth) or none (open endpoint; needs allow_unauthenticated_access = true)."
  type        = string
  default     = "api_key"

  validation {
    condition     = contains(["api_key", "iam", "none", "oauth"], var.auth_mode)
    error_message = "auth_mode must be api_key, iam, oauth or none."
  }
}

variable "oauth" {
  description = "With auth_mode = \"oauth\": where tokens come from. Either create_cognito = true (a user pool with a hosted domain cognito_domain_prefix, default <name>-<account id>; a resource server whose identifier, default the MCP URL, prefixes the scopes; a public host client with authorization code + PKCE redirecting to callback_urls; a confidential pipeline client with client credentials) or issuer (an existing OIDC / OAuth issuer URL, exactly its iss) with audience (the aud its tokens carry; null = the MCP URL) and client_ids (for issuers whose access tokens carry no aud, such as another Cognito pool: the accepted client_id values). scopes: the scopes every request needs (null = [\"mcp\"] with Cognito, where the resource server identifier prefixes them, and none beyond a valid token with an existing issuer)."
  type = object({
    create_cognito             = optional(bool, false)
    issuer                     = optional(string)
    audience                   = optional(string)
    client_ids                 = optional(list(string), [])
    scopes                     = optional(list(string))
    callback_urls              = optional(list(string), [])
    logout_urls                = optional(list(string), [])
    cognito_domain_prefix      = optional(string)
    resource_server_identifier = optional(string)
  })
  default  = {}
  nullable = false

  validation {
    condition     = !(var.oauth.create_cognito && var.oauth.issuer != null)
    error_message = "oauth.create_cognito and oauth.issuer exclude each other: either this root creates a Cognito user pool (its issuer is derived) or you name an existing issuer."
  }
  validation {
    condition     = var.oauth.issuer == null || can(regex("^https://[^/?#]+(/[^?#]*)?$", coalesce(var.oauth.issuer, "x")))
    error_message = "oauth.issuer must be an https URL without query or fragment (exactly the iss of its tokens)."
  }
  validation {
    condition     = !var.oauth.create_cognito || (var.oauth.audience == null && length(var.oauth.client_ids) == 0)
    error_message = "oauth.audience and oauth.client_ids belong to an existing issuer; with create_cognito the root binds tokens to its own app clients (Cognito access tokens carry no aud)."
  }
  validation {
    condition     = alltrue([for s in coalesce(var.oauth.scopes, []) : can(regex("^[A-Za-z0-9._:/-]+$", s))])
    error_message = "oauth.scopes must be scope names of letters, digits, '.', '_', ':', '/' or '-' (no spaces, commas or quotes; with create_cognito give the bare names, the root prefixes them with the resource server identifier)."
  }
  validation {
    condition     = !var.oauth.create_cognito || length(var.oauth.callback_urls) > 0
    error_message = "oauth.create_cognito needs oauth.callback_urls, the redirect URIs of the hosts' authorization code flow (for example https://claude.ai/api/mcp/auth_callback for Claude.ai, http://localhost:PORT/callback for a local host)."
  }
  validation {
    # Cognito's rule (CreateUserPoolClient, CallbackURLs): an absolute URI without a fragment,
    # HTTPS except http://localhost, and app URLs such as myapp://example (Cursor's
    # cursor://anysphere.cursor-mcp/oauth/callback). Schemes a browser runs or reads are refused.
    condition = alltrue([for u in concat(var.oauth.callback_urls, var.oauth.logout_urls) :
      !strcontains(u, "#") && (
        can(regex("^https://[^/?#]+", u)) ||
        can(regex("^http://localhost(:[0-9]+)?(/|$)", u)) ||
        (can(regex("^[a-z][a-z0-9+.-]*://[^/?#]+", u)) && !contains(["http", "https", "javascript", "data", "file", "ftp", "vbscript"], split(":", u)[0]))
      )
    ])
    error_message = "oauth.callback_urls and oauth.logout_urls must be absolute URIs without a fragment, as Cognito requires: https, http only on localhost (not 127.0.0.1: AWS documents the exception for localhost alone), or an app scheme such as cursor://anysphere.cursor-mcp/oauth/callback."
  }
  validation {
    condition     = var.oauth.cognito_domain_prefix == null || can(regex("^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", coalesce(var.oauth.cognito_domain_prefix, "x")))
    error_message = "oauth.cognito_domain_prefix must be 1-63 lower-case letters, digits or hyphens, not starting or ending with a hyphen."
  }
}

variable "allow_unauthenticated_access" {
  description = "Acknowledgement required by auth_mode = \"none\": anyone who knows the URL can query your Bedrock usage."
  type        = bool
  default     = false
}

variable "api" {
  description = "The REST API stage: its name (part of the URL: .../<stage_name>/mcp), stage-wide throttling (requests per second and burst), execution logging level (OFF, ERROR or INFO; null = ERROR when stage logging is possible, otherwise OFF), JSON access logs (null = on when stage logging is possible), detailed metrics, log retention (days) and X-Ray tracing on the stage. Stage logging is possible only with manage_api_gateway_account or api_gateway_cloudwatch_role_configured."
  type = object({
    stage_name           = optional(string, "prod")
    throttle_rate_limit  = optional(number, 50)
    throttle_burst_limit = optional(number, 100)
    logging_level        = optional(string)
    access_logs          = optional(bool)
    metrics_enabled      = optional(bool, true)
    log_retention_days   = optional(number, 30)
    xray_tracing         = optional(bool, false)
  })
  default  = {}
  nullable = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,128}$", var.api.stage_name))
    error_message = "api.stage_name must be 1-128 letters, digits, hyphens or underscores."
  }
  validation {
    condition     = var.api.throttle_rate_limit > 0 && var.api.throttle_burst_limit >= 1
    error_message = "api.throttle_rate_limit must be positive and api.throttle_burst_limit at least 1."
  }
  validation {
    condition     = var.api.logging_level == null || contains(["OFF", "ERROR", "INFO"], coalesce(var.api.logging_level, "OFF"))
    error_message = "api.logging_level must be OFF, ERROR or INFO (or null for the default)."
  }
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.api.log_retention_days)
    error_message = "api.log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ..., 3653)."
  }
}

variable "usage_plan" {
  description = "With auth_mode = \"api_key\": the usage plan of the generated API key (requests per second, burst, and a quota of requests per DAY, WEEK or MONTH; quota_limit = 0 means no quota)."
  type = object({
    throttle_rate_limit  = optional(number, 10)
    throttle_burst_limit = optional(number, 20)
    quota_limit          = optional(number, 20000)
    quota_period         = optional(string, "DAY")
  })
  default  = {}
  nullable = false

  validation {
    condition     = contains(["DAY", "WEEK", "MONTH"], var.usage_plan.quota_period)
    error_message = "usage_plan.quota_period must be DAY, WEEK or MONTH."
  }
  validation {
    condition     = var.usage_plan.throttle_rate_limit > 0 && var.usage_plan.throttle_burst_limit >= 1 && var.usage_plan.quota_limit >= 0
    error_message = "usage_plan limits must be positive (quota_limit may be 0 for no quota)."
  }
}

variable "custom_domain" {
  description = "Optional custom domain (REGIONAL) mapped to the stage at the root path, so the URL is https://<domain_name>/mcp. certificate_arn: an ACM certificate in this region. route53_zone_id: if set, an alias record is created there; otherwise point DNS at the custom_domain_target output."
  type = object({
    domain_name     = string
    certificate_arn = string
    route53_zone_id = optional(string)
  })
  default = null

  validation {
    condition     = var.custom_domain == null || can(regex("^([a-z0-9-]+\\.)+[a-z]{2,}$", var.custom_domain.domain_name))
    error_message = "custom_domain.domain_name must be a lower-case DNS name."
  }
}

variable "waf_web_acl_arn" {
  description = "Optional AWS WAF (v2, REGIONAL) web ACL to associate with the stage."
  type        = string
  default     = null
}

variable "manage_api_gateway_account" {
  description = "ACCOUNT-WIDE: create a role for API Gateway to write CloudWatch Logs and set it in the region's API Gateway account settings (one setting per account and region, shared by every REST API there). Turns on stage logging. Leave false where another stack or the console already sets it, and set api_gateway_cloudwatch_role_configured = true instead. Destroying it is guarded (allow_account_wide_destroy)."
  type        = bool
  default     = false
}

variable "api_gateway_cloudwatch_role_configured" {
  description = "Declares that the region's API Gateway account settings already name a CloudWatch Logs role (set by another stack, the console or once by hand), so the stage may write access and execution logs. API Gateway refuses a logging stage without that role (\"CloudWatch Logs role ARN must be set in account settings to enable logging\"); with this and manage_api_gateway_account both false, the stage writes no logs. Check with `aws apigateway get-account`."
  type        = bool
  default     = false
}

variable "allow_account_wide_destroy" {
  description = "Lets destroy (or turning manage_api_gateway_account / manage_bedrock_invocation_logging off) delete the account-wide settings this root manages: the API Gateway CloudWatch role and account setting, and Bedrock's logging configuration, role and log group (with its history). Other stacks may rely on them, so a guard refuses until an apply has recorded true here: `terraform apply -var allow_account_wide_destroy=true`, then destroy."
  type        = bool
  default     = false
}

# ---------------------------------------------------------------------------------------------
# Sessions
# ---------------------------------------------------------------------------------------------

variable "session_table" {
  description = "The DynamoDB session table: deletion protection (sessions are short-lived, so off by default)."
  type = object({
    deletion_protection = optional(bool, false)
  })
  default  = {}
  nullable = false
}

# ---------------------------------------------------------------------------------------------
# Bedrock model-invocation logs
# ---------------------------------------------------------------------------------------------

variable "bedrock_log_group_name" {
  description = "Log group of the Bedrock model-invocation logs the server reports on. With manage_bedrock_invocation_logging = false this root only reads it (another stack or the console owns the logging configuration); it need not exist yet: the plan warns, and the report answers zero usage with a warning until it does."
  type        = string
  default     = "/aws/bedrock/modelinvocations"

  validation {
    condition     = can(regex("^[A-Za-z0-9_./#-]{1,512}$", var.bedrock_log_group_name))
    error_message = "bedrock_log_group_name must be a valid CloudWatch Logs group name."
  }
}

variable "bedrock_extra_log_groups" {
  description = "More log groups of Bedrock model-invocation logs merged into each report, beside bedrock_log_group_name: names (in this region and account) or ARNs arn:aws:logs:REGION:ACCOUNT:log-group:NAME (with or without :*), for other regions and for source accounts linked to this one through CloudWatch cross-account observability (this account must be their monitoring account in that region). Each is queried where it lives; the report lists each with its status, and one that cannot be read is named with its error while the others still count. The role is granted logs:StartQuery and logs:FilterLogEvents on exactly these groups."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition = alltrue([
      for g in var.bedrock_extra_log_groups :
      can(regex("^(arn:aws[a-z-]{0,13}:logs:[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?:[0-9]{12}:log-group:[A-Za-z0-9_./#-]{1,512}(:\\*)?|[A-Za-z0-9_./#-]{1,512})$", g))
    ])
    error_message = "Each of bedrock_extra_log_groups must be a log group name (A-Z a-z 0-9 _ . / # -) or a log group ARN arn:aws:logs:REGION:ACCOUNT:log-group:NAME (12-digit account, optionally ending in :*); not a log stream or another resource."
  }

  validation {
    # The server reads at most 50 log groups per report; Lambda's 4 KB of environment bounds
    # the list sooner: BEDROCK_LOG_GROUP holds them all (the function's precondition checks
    # the whole environment).
    condition     = length(var.bedrock_extra_log_groups) <= 49 && length(join(",", var.bedrock_extra_log_groups)) <= 1500
    error_message = "bedrock_extra_log_groups holds at most 49 groups and 1,500 characters in all (they travel in the function's environment, which Lambda limits to 4 KB)."
  }

  validation {
    # Only the spelling is compared here; the function's precondition compares them as ARNs,
    # with bedrock_log_group_name, once the region and account are known.
    condition     = length(distinct([for g in var.bedrock_extra_log_groups : trimsuffix(g, ":*")])) == length(var.bedrock_extra_log_groups)
    error_message = "bedrock_extra_log_groups lists a log group twice."
  }
}

variable "bedrock_pricing_json" {
  description = "Optional pricing table (JSON, the server's BEDROCK_PRICING_JSON) for cost estimates; without one, reports carry token counts only. Lambda allows 4 KB of environment in total, so keep it under 3 KB."
  type        = string
  default     = null

  validation {
    condition     = var.bedrock_pricing_json == null || try(can(jsondecode(var.bedrock_pricing_json)) && length(var.bedrock_pricing_json) <= 3072, false)
    error_message = "bedrock_pricing_json must be valid JSON of at most 3072 characters (Lambda's environment is limited to 4 KB)."
  }
}

variable "cost_data" {
  description = "Where reports' cost figures come from, each with its IAM action. price_list (default true): prices from the AWS Price List API (pricing:GetProducts; free) for models bedrock_pricing_json does not price. billed_cost (default false): the bill from Cost Explorer (ce:GetCostAndUsage; AWS charges $0.01 per request, so it is opt-in, and the server caches each day)."
  type = object({
    price_list  = optional(bool, true)
    billed_cost = optional(bool, false)
  })
  default = {}
}

variable "manage_bedrock_invocation_logging" {
  description = "ACCOUNT-WIDE: create the log group, the role Bedrock assumes and the region's model-invocation logging configuration (one per account and region). Leave false if another stack owns it. Destroying it is guarded (allow_account_wide_destroy)."
  type        = bool
  default     = false
}

variable "bedrock_logging" {
  description = "With manage_bedrock_invocation_logging = true: log retention (days), which data Bedrock delivers, and an optional S3 bucket for bodies over 100 KB. Every record carries the metadata the report needs (model, identity, token counts) whatever the flags; text_data_delivery (default false) adds every prompt and completion to the group."
  type = object({
    retention_days           = optional(number, 365)
    text_data_delivery       = optional(bool, false)
    image_data_delivery      = optional(bool, false)
    embedding_data_delivery  = optional(bool, false)
    video_data_delivery      = optional(bool, false)
    large_data_s3_bucket     = optional(string)
    large_data_s3_key_prefix = optional(string, "bedrock-invocation-logs")
  })
  default  = {}
  nullable = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.bedrock_logging.retention_days)
    error_message = "bedrock_logging.retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ..., 3653)."
  }
}

# ---------------------------------------------------------------------------------------------
# Monitoring
# ---------------------------------------------------------------------------------------------

variable "monitoring" {
  description = <<-EOT
    CloudWatch alarms and dashboard.
    alarms (default true): five alarms (function errors, function throttles, API Gateway 5XX, POST /mcp latency p90, DynamoDB read/write throttle events), six alarm metrics in all: free within CloudWatch's 10 free alarm metrics, otherwise USD 0.10 each per month, idle or not.
    alarm_topic_arn: an SNS topic notified on ALARM and OK (null: state changes show in the console only).
    lambda_errors_threshold / api_5xx_threshold: errors (sum over 5 minutes) that raise the alarm.
    api_latency_p90_ms: POST /mcp p90 latency (3 periods of 5 minutes); streamed GET responses are left out, they last up to mcp.max_stream_seconds by design.
    dashboard (default false): one dashboard; free within 3 per account, otherwise USD 3 per month.
  EOT
  type = object({
    alarms                  = optional(bool, true)
    alarm_topic_arn         = optional(string)
    lambda_errors_threshold = optional(number, 1)
    api_5xx_threshold       = optional(number, 1)
    api_latency_p90_ms      = optional(number, 30000)
    dashboard               = optional(bool, false)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.monitoring.alarm_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+(\\.fifo)?$", var.monitoring.alarm_topic_arn))
    error_message = "monitoring.alarm_topic_arn must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)."
  }
  validation {
    condition     = var.monitoring.lambda_errors_threshold >= 1 && var.monitoring.api_5xx_threshold >= 1 && var.monitoring.api_latency_p90_ms >= 100
    error_message = "monitoring thresholds must be at least 1 error and 100 ms."
  }
}
