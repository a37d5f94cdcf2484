# Day-one alarms and an optional dashboard. Alarms are on by default: six alarm metrics, free
# within CloudWatch's 10 free alarm metrics per account, otherwise USD 0.10 each per month.
# The dashboard is off by default: free within 3 dashboards per account, otherwise USD 3 per
# month, which an idle deployment should not cost. See var.monitoring.

locals {
  alarm_actions = compact([var.monitoring.alarm_topic_arn])

  # API Gateway's metrics of a REST API are keyed by its name and stage; with detailed metrics
  # (api.metrics_enabled) also by method and resource, which lets the latency alarm leave out
  # GET streams that stay open for up to mcp.max_stream_seconds by design.
  api_dimensions = {
    ApiName = aws_api_gateway_rest_api.this.name
    Stage   = aws_api_gateway_stage.this.stage_name
  }
  api_latency_dimensions = var.api.metrics_enabled ? merge(local.api_dimensions, { Method = "POST", Resource = local.mcp_path }) : local.api_dimensions

  alarm_definitions = {
    lambda-errors = {
      description = "The function returned errors (unhandled errors, timeouts, out of memory): see its log group ${aws_cloudwatch_log_group.lambda.name}."
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      statistic   = "Sum"
      extended    = null
      dimensions  = { FunctionName = aws_lambda_function.this.function_name }
      threshold   = var.monitoring.lambda_errors_threshold
      periods     = 1
    }
    lambda-throttles = {
      description = "Invocations of the function were throttled: the account's (or the reserved) concurrency is used up; every open SSE stream holds one unit."
      namespace   = "AWS/Lambda"
      metric      = "Throttles"
      statistic   = "Sum"
      extended    = null
      dimensions  = { FunctionName = aws_lambda_function.this.function_name }
      threshold   = 1
      periods     = 1
    }
    api-5xx = {
      description = "API Gateway answered 5XX (integration errors or timeouts, throttled function) on stage ${var.api.stage_name}."
      namespace   = "AWS/ApiGateway"
      metric      = "5XXError"
      statistic   = "Sum"
      extended    = null
      dimensions  = local.api_dimensions
      threshold   = var.monitoring.api_5xx_threshold
      periods     = 1
    }
    api-latency = {
      description = "p90 latency of ${var.api.metrics_enabled ? "POST ${local.mcp_path}" : "the stage (GET streams included)"} stayed above ${var.monitoring.api_latency_p90_ms} ms for 15 minutes."
      namespace   = "AWS/ApiGateway"
      metric      = "Latency"
      statistic   = null
      extended    = "p90"
      dimensions  = local.api_latency_dimensions
      threshold   = var.monitoring.api_latency_p90_ms
      periods     = 3
    }
  }
  alarms = { for k, v in local.alarm_definitions : k => v if var.monitoring.alarms }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  statistic           = each.value.statistic
  extended_statistic  = each.value.extended
  dimensions          = each.value.dimensions
  period              = 300
  evaluation_periods  = each.value.periods
  datapoints_to_alarm = each.value.periods
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = each.value.threshold
  # An idle deployment publishes no datapoints: that is OK, not INSUFFICIENT_DATA.
  treat_missing_data = "notBreaching"
  alarm_actions      = local.alarm_actions
  ok_actions         = local.alarm_actions
}

# Read and write throttle events of the session table, summed (on-demand tables throttle too,
# past the table's or the account's throughput limits).
resource "aws_cloudwatch_metric_alarm" "dynamodb_throttles" {
  count = var.monitoring.alarms ? 1 : 0

  alarm_name          = "${var.name}-dynamodb-throttles"
  alarm_description   = "Reads or writes of the session table ${aws_dynamodb_table.this.name} were throttled."
  evaluation_periods  = 1
  datapoints_to_alarm = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "throttles"
    expression  = "FILL(reads, 0) + FILL(writes, 0)"
    label       = "Throttle events"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = { reads = "ReadThrottleEvents", writes = "WriteThrottleEvents" }
    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/DynamoDB"
        metric_name = metric_query.value
        dimensions  = { TableName = aws_dynamodb_table.this.name }
        period      = 300
        stat        = "Sum"
      }
    }
  }
}

locals {
  alarm_arns = concat(
    [for a in aws_cloudwatch_metric_alarm.this : a.arn],
    aws_cloudwatch_metric_alarm.dynamodb_throttles[*].arn,
  )

  dashboard_widgets = concat(
    length(local.alarm_arns) > 0 ? [{
      type       = "alarm", x = 0, y = 0, width = 24, height = 3
      properties = { title = "Alarms", alarms = local.alarm_arns }
    }] : [],
    [
      {
        type = "metric", x = 0, y = 3, width = 12, height = 6
        properties = {
          title   = "Function: invocations, errors, throttles"
          region  = local.region, stat = "Sum", period = 300, view = "timeSeries"
          metrics = [for m in ["Invocations", "Errors", "Throttles"] : ["AWS/Lambda", m, "FunctionName", aws_lambda_function.this.function_name]]
        }
      },
      {
        type = "metric", x = 12, y = 3, width = 12, height = 6
        properties = {
          title  = "Function: duration (streams stay open up to ${var.mcp.max_stream_seconds} s) and concurrency"
          region = local.region, period = 300, view = "timeSeries"
          metrics = [
            ["AWS/Lambda", "Duration", "FunctionName", aws_lambda_function.this.function_name, { stat = "p50" }],
            ["AWS/Lambda", "Duration", "FunctionName", aws_lambda_function.this.function_name, { stat = "p99" }],
            ["AWS/Lambda", "ConcurrentExecutions", "FunctionName", aws_lambda_function.this.function_name, { stat = "Maximum", yAxis = "right" }],
          ]
        }
      },
      {
        type = "metric", x = 0, y = 9, width = 12, height = 6
        properties = {
          title   = "API Gateway: requests, 4XX, 5XX"
          region  = local.region, stat = "Sum", period = 300, view = "timeSeries"
          metrics = [for m in ["Count", "4XXError", "5XXError"] : concat(["AWS/ApiGateway", m], flatten([for k, v in local.api_dimensions : [k, v]]))]
        }
      },
      {
        type = "metric", x = 12, y = 9, width = 12, height = 6
        properties = {
          title   = "API Gateway: latency${var.api.metrics_enabled ? " of POST ${local.mcp_path}" : ""}"
          region  = local.region, period = 300, view = "timeSeries"
          metrics = [for s in ["p50", "p90"] : concat(["AWS/ApiGateway", "Latency"], flatten([for k, v in local.api_latency_dimensions : [k, v]]), [{ stat = s }])]
        }
      },
      {
        type = "metric", x = 0, y = 15, width = 12, height = 6
        properties = {
          title   = "Session table: consumed capacity and throttle events"
          region  = local.region, stat = "Sum", period = 300, view = "timeSeries"
          metrics = [for m in ["ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits", "ReadThrottleEvents", "WriteThrottleEvents"] : ["AWS/DynamoDB", m, "TableName", aws_dynamodb_table.this.name]]
        }
      },
      {
        # AWS/Bedrock metrics exist without invocation logging (no per-caller dimension).
        type = "metric", x = 12, y = 15, width = 12, height = 6
        properties = {
          title  = "Bedrock in ${local.region}: tokens by model"
          region = local.region, period = 3600, view = "timeSeries", stacked = true
          metrics = [
            [{ expression = "SEARCH('{AWS/Bedrock,ModelId} MetricName=\"InputTokenCount\"', 'Sum', 3600)", id = "input", label = "input" }],
            [{ expression = "SEARCH('{AWS/Bedrock,ModelId} MetricName=\"OutputTokenCount\"', 'Sum', 3600)", id = "output", label = "output" }],
          ]
        }
      },
      {
        type = "log", x = 0, y = 21, width = 24, height = 6
        properties = {
          title  = "Function: latest errors"
          region = local.region, view = "table"
          query  = "SOURCE '${aws_cloudwatch_log_group.lambda.name}' | fields @timestamp, @message | filter @message like /(?i)error/ | sort @timestamp desc | limit 50"
        }
      },
    ],
  )
}

resource "aws_cloudwatch_dashboard" "this" {
  count = var.monitoring.dashboard ? 1 : 0

  dashboard_name = var.name
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}
