# The CI roles can do what the root module asks of AWS: every resource and data source type in
# ../*.tf is listed in tests/root_actions.json with the IAM actions it needs, and each action of
# a type the pipeline manages is allowed to the apply role (and its reads to the plan role). A
# type the root starts to use without an entry there fails here, before a production apply
# fails with AccessDenied (as the alarms would have: monitoring.tf came after the roles).

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  github_repository = "acme/bedrock-usage-mcp"
}

# The alarms (on by default) and the dashboard (on in environments/production.tfvars), by the
# names ../monitoring.tf gives them: "<name>-<what>" and "<name>".
run "monitoring_is_pinned" {
  command = apply

  assert {
    condition = {
      for s in jsondecode(aws_iam_role_policy.apply.policy).Statement : s.Sid => [toset(s.Action), s.Resource] if contains(["Alarms", "Dashboard"], s.Sid)
      } == {
      Alarms    = [toset(["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource", "cloudwatch:UntagResource"]), "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:bedrock-usage-mcp-*"]
      Dashboard = [toset(["cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards"]), "arn:aws:cloudwatch::123456789012:dashboard/bedrock-usage-mcp"]
    }
    error_message = "The apply role writes the alarms <app>-* and the dashboard <app> only."
  }

  # Shared by the plan role and the apply role's read policy.
  assert {
    condition = {
      for s in jsondecode(aws_iam_role_policy.plan.policy).Statement : s.Sid => [toset(s.Action), s.Resource] if contains(["ReadAlarms", "ReadAlarmTags", "ReadDashboard"], s.Sid)
      } == {
      # DescribeAlarms is checked against alarm:* (a list call), not the names asked for.
      ReadAlarms    = [toset(["cloudwatch:DescribeAlarms"]), "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:*"]
      ReadAlarmTags = [toset(["cloudwatch:ListTagsForResource"]), "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:bedrock-usage-mcp-*"]
      ReadDashboard = [toset(["cloudwatch:GetDashboard"]), "arn:aws:cloudwatch::123456789012:dashboard/bedrock-usage-mcp"]
    }
    error_message = "The plan role reads (Describe/Get/List only) the alarms and the dashboard."
  }

  assert {
    condition = toset(flatten([
      for s in jsondecode(aws_iam_role_policy.apply_read.policy).Statement : s.Action if contains(["ReadAlarms", "ReadAlarmTags", "ReadDashboard"], s.Sid)
    ])) == toset(["cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource", "cloudwatch:GetDashboard"])
    error_message = "The apply role reads the alarms and the dashboard too (refresh before an apply)."
  }

  # The names the root gives them (a rename there must move the scope here).
  assert {
    condition = (
      strcontains(file("${path.module}/../monitoring.tf"), "alarm_name          = \"$${var.name}-$${each.key}\"") &&
      strcontains(file("${path.module}/../monitoring.tf"), "alarm_name          = \"$${var.name}-dynamodb-throttles\"") &&
      strcontains(file("${path.module}/../monitoring.tf"), "dashboard_name = var.name")
    )
    error_message = "../monitoring.tf no longer names the alarms <name>-* and the dashboard <name>: change arn_alarms and arn_dashboard in locals.tf."
  }
}

# Every type of the root is in the table, and every action the pipeline needs is allowed. The
# account-wide options are on here, so their types are checked too.
run "every_root_type_is_covered" {
  command = apply

  variables {
    allow_bedrock_logging_management     = true
    allow_api_gateway_account_management = true
  }

  assert {
    condition = length(setsubtract(
      toset(flatten([for f in fileset("${path.module}/..", "*.tf") : [for m in regexall("(?m)^[ \\t]*(?:resource|data)[ \\t]+\"(aws_[a-z0-9_]+)\"", file("${path.module}/../${f}")) : m[0]]])),
      keys(jsondecode(file("${path.module}/tests/root_actions.json")).types),
    )) == 0
    error_message = "The root uses AWS types that tests/root_actions.json does not list (add each with the actions it needs, and give them to the roles): ${join(", ", setsubtract(toset(flatten([for f in fileset("${path.module}/..", "*.tf") : [for m in regexall("(?m)^[ \\t]*(?:resource|data)[ \\t]+\"(aws_[a-z0-9_]+)\"", file("${path.module}/../${f}")) : m[0]]])), keys(jsondecode(file("${path.module}/tests/root_actions.json")).types)))}"
  }

  assert {
    condition = length(setsubtract(
      keys(jsondecode(file("${path.module}/tests/root_actions.json")).types),
      toset(flatten([for f in fileset("${path.module}/..", "*.tf") : [for m in regexall("(?m)^[ \\t]*(?:resource|data)[ \\t]+\"(aws_[a-z0-9_]+)\"", file("${path.module}/../${f}")) : m[0]]])),
    )) == 0
    error_message = "tests/root_actions.json lists types the root no longer uses: remove them (and what the roles allow only for them)."
  }

  assert {
    condition     = alltrue([for t, spec in jsondecode(file("${path.module}/tests/root_actions.json")).types : contains(["default", "allow_bedrock_logging_management", "allow_api_gateway_account_management", "extra_apply_policy_json", "image_build", "none"], spec.scope)])
    error_message = "Every entry of tests/root_actions.json has a known scope."
  }

  # The apply role (scoped-write and read policies): reads and writes.
  assert {
    condition = length([
      for need in flatten([
        for t, spec in jsondecode(file("${path.module}/tests/root_actions.json")).types : [for a in concat(spec.read, spec.write) : "${t} needs ${a}"]
        if contains(["default", "allow_bedrock_logging_management", "allow_api_gateway_account_management"], spec.scope)
      ]) : need
      if !anytrue([
        for s in concat(jsondecode(aws_iam_role_policy.apply.policy).Statement, jsondecode(aws_iam_role_policy.apply_read.policy).Statement) :
        s.Effect == "Allow" && anytrue([for pa in flatten([s.Action]) : can(regex("^${replace(pa, "*", ".*")}$", split(" needs ", need)[1]))])
      ])
    ]) == 0
    error_message = "The apply role lacks actions the root needs: ${join("; ", [for need in flatten([for t, spec in jsondecode(file("${path.module}/tests/root_actions.json")).types : [for a in concat(spec.read, spec.write) : "${t} needs ${a}"] if contains(["default", "allow_bedrock_logging_management", "allow_api_gateway_account_management"], spec.scope)]) : need if !anytrue([for s in concat(jsondecode(aws_iam_role_policy.apply.policy).Statement, jsondecode(aws_iam_role_policy.apply_read.policy).Statement) : s.Effect == "Allow" && anytrue([for pa in flatten([s.Action]) : can(regex("^${replace(pa, "*", ".*")}$", split(" needs ", need)[1]))])])])}"
  }

  # The plan role: reads.
  assert {
    condition = length([
      for need in flatten([
        for t, spec in jsondecode(file("${path.module}/tests/root_actions.json")).types : [for a in spec.read : "${t} needs ${a}"]
        if contains(["default", "allow_bedrock_logging_management", "allow_api_gateway_account_management"], spec.scope)
      ]) : need
      if !anytrue([
        for s in jsondecode(aws_iam_role_policy.plan.policy).Statement :
        s.Effect == "Allow" && anytrue([for pa in flatten([s.Action]) : can(regex("^${replace(pa, "*", ".*")}$", split(" needs ", need)[1]))])
      ])
    ]) == 0
    error_message = "The plan role lacks read actions the root needs: ${join("; ", [for need in flatten([for t, spec in jsondecode(file("${path.module}/tests/root_actions.json")).types : [for a in spec.read : "${t} needs ${a}"] if contains(["default", "allow_bedrock_logging_management", "allow_api_gateway_account_management"], spec.scope)]) : need if !anytrue([for s in jsondecode(aws_iam_role_policy.plan.policy).Statement : s.Effect == "Allow" && anytrue([for pa in flatten([s.Action]) : can(regex("^${replace(pa, "*", ".*")}$", split(" needs ", need)[1]))])])])}"
  }
}
