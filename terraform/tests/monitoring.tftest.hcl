# Alarms (on by default) and the dashboard (off by default).

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  image_uri = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ci-images@sha256:2222222222222222222222222222222222222222222222222222222222222222"
}

run "alarms_by_default_without_actions" {
  command = apply

  assert {
    condition     = toset(output.alarm_names) == toset(["bedrock-usage-mcp-lambda-errors", "bedrock-usage-mcp-lambda-throttles", "bedrock-usage-mcp-api-5xx", "bedrock-usage-mcp-api-latency", "bedrock-usage-mcp-dynamodb-throttles"])
    error_message = "Five alarms by default: function errors and throttles, API 5XX and latency, table throttles."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["lambda-errors"].dimensions == tomap({ FunctionName = "bedrock-usage-mcp" }) &&
      aws_cloudwatch_metric_alarm.this["lambda-errors"].metric_name == "Errors" &&
      aws_cloudwatch_metric_alarm.this["lambda-throttles"].metric_name == "Throttles" &&
      aws_cloudwatch_metric_alarm.this["api-5xx"].dimensions == tomap({ ApiName = "bedrock-usage-mcp", Stage = "prod" }) &&
      aws_cloudwatch_metric_alarm.this["api-5xx"].namespace == "AWS/ApiGateway"
    )
    error_message = "Alarms must watch this function and this API's stage."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["api-latency"].dimensions == tomap({ ApiName = "bedrock-usage-mcp", Stage = "prod", Method = "POST", Resource = "/mcp" }) &&
      aws_cloudwatch_metric_alarm.this["api-latency"].extended_statistic == "p90" &&
      aws_cloudwatch_metric_alarm.this["api-latency"].threshold == 30000 &&
      aws_cloudwatch_metric_alarm.this["api-latency"].evaluation_periods == 3
    )
    error_message = "The latency alarm must watch POST /mcp p90 (GET streams stay open by design)."
  }

  assert {
    condition     = [for q in aws_cloudwatch_metric_alarm.dynamodb_throttles[0].metric_query : q.metric[0].dimensions.TableName if length(q.metric) > 0] == ["bedrock-usage-mcp-sessions", "bedrock-usage-mcp-sessions"]
    error_message = "The throttle alarm must watch the session table's reads and writes."
  }

  assert {
    condition     = alltrue([for a in values(aws_cloudwatch_metric_alarm.this) : length(a.alarm_actions) == 0 && a.treat_missing_data == "notBreaching"])
    error_message = "Without a topic alarms have no actions; an idle deployment is OK, not INSUFFICIENT_DATA."
  }

  assert {
    condition     = length(aws_cloudwatch_dashboard.this) == 0 && output.dashboard_url == null
    error_message = "The dashboard (USD 3/month beyond the free 3) is off by default."
  }
}

run "topic_and_dashboard" {
  command = apply

  variables {
    monitoring = {
      alarm_topic_arn = "arn:aws:sns:eu-west-1:123456789012:oncall"
      dashboard       = true
    }
  }

  assert {
    condition = alltrue(concat(
      [for a in values(aws_cloudwatch_metric_alarm.this) : a.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:oncall"]) && a.ok_actions == toset(["arn:aws:sns:eu-west-1:123456789012:oncall"])],
      [aws_cloudwatch_metric_alarm.dynamodb_throttles[0].alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:oncall"])],
    ))
    error_message = "Every alarm must notify the topic on ALARM and OK."
  }

  assert {
    condition     = aws_cloudwatch_dashboard.this[0].dashboard_name == "bedrock-usage-mcp" && output.dashboard_url == "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards/dashboard/bedrock-usage-mcp"
    error_message = "The dashboard must be created and its URL output."
  }

  assert {
    condition     = length(jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets) == 8 && jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets[0].properties.alarms[0] == aws_cloudwatch_metric_alarm.this["api-5xx"].arn
    error_message = "The dashboard must show the alarms and the seven metric and log widgets."
  }

  assert {
    condition     = strcontains(aws_cloudwatch_dashboard.this[0].dashboard_body, "\"FunctionName\",\"bedrock-usage-mcp\"") && strcontains(aws_cloudwatch_dashboard.this[0].dashboard_body, "SOURCE '/aws/lambda/bedrock-usage-mcp'")
    error_message = "The dashboard's widgets must name this function and its log group."
  }
}

run "alarms_can_be_turned_off" {
  command = plan

  variables {
    monitoring = { alarms = false }
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.this) == 0 && length(aws_cloudwatch_metric_alarm.dynamodb_throttles) == 0
    error_message = "monitoring.alarms = false must create no alarm."
  }
}

run "topic_must_be_an_sns_arn" {
  command = plan

  variables {
    monitoring = { alarm_topic_arn = "oncall" }
  }

  expect_failures = [var.monitoring]
}
