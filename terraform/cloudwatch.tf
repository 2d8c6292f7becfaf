# Alarms go to gfn-alerts (email, Slack) and var.alarm_actions. Queue alarms first (the Lambda
# errors alarms live in the service modules): a message in a DLQ always needs an operator;
# an old message on a live queue means a consumer is stuck.

resource "aws_cloudwatch_metric_alarm" "dlq_depth" {
  for_each = local.queues

  alarm_name          = "${var.name_prefix}${each.key}${local.dlq_suffix}-not-empty"
  alarm_description   = "[critical] Messages in ${each.key}${local.dlq_suffix}: their runs fail (DLQ watch); inspect and redrive with `gfnctl dlq`."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dlq[each.key].name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "oldest_message" {
  for_each = local.queues

  alarm_name          = "${var.name_prefix}${each.key}-oldest-message"
  alarm_description   = "The oldest message on ${each.key} is older than ${var.oldest_message_alarm_seconds}s."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = aws_sqs_queue.queue[each.key].name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 2
  threshold           = var.oldest_message_alarm_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "scheduler_dlq_depth" {
  alarm_name          = "${var.name_prefix}gfn-scheduler-dlq-not-empty"
  alarm_description   = "EventBridge Scheduler could not deliver the daily ExtractionRequested."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.scheduler_dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

# Pipeline metrics: CloudWatch Embedded Metric Format lines each service prints (Lambda turns
# them into metrics, no API call). Namespace GFN/Pipeline, dimensions (service, event_type)
# and the per-service rollup (service); names as shared/telemetry declares them.
locals {
  metrics_namespace = "GFN/Pipeline"
  # The consumers, as their service dimension names them.
  metric_services = local.services
  # RunCompleted/RunFailed (run_completed, run_failed, run_duration_s) come from the notifier.
  run_metrics_service = "notifier"
}

resource "aws_cloudwatch_metric_alarm" "run_failed" {
  alarm_name          = "${var.name_prefix}gfn-run-failed"
  alarm_description   = "[critical] A pipeline run failed (RunFailed names every failed batch): see `gfnctl status` and the gfn-notifications message."
  namespace           = local.metrics_namespace
  metric_name         = "run_failed"
  dimensions          = { service = local.run_metrics_service }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "run_slow" {
  alarm_name          = "${var.name_prefix}gfn-run-slow"
  alarm_description   = "[warning] A run took over ${var.run_duration_warning_seconds}s from request to outcome."
  namespace           = local.metrics_namespace
  metric_name         = "run_duration_s"
  dimensions          = { service = local.run_metrics_service }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.run_duration_warning_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

# No RunCompleted for run_completed_within_hours (the daily schedule plus slack): every
# hour without one is missing data, which counts as breaching; one completed run clears it.
resource "aws_cloudwatch_metric_alarm" "run_missing" {
  alarm_name          = "${var.name_prefix}gfn-no-run-completed"
  alarm_description   = "[critical] No RunCompleted for ${var.run_completed_within_hours}h: the daily run (${var.schedule_expression} ${var.schedule_timezone}) did not complete. Check the scheduler DLQ, `gfnctl status`."
  namespace           = local.metrics_namespace
  metric_name         = "run_completed"
  dimensions          = { service = local.run_metrics_service }
  statistic           = "Sum"
  period              = 3600
  evaluation_periods  = var.run_completed_within_hours
  datapoints_to_alarm = var.run_completed_within_hours
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# failed / (handled + failed) per service: handled counts successes only.
resource "aws_cloudwatch_metric_alarm" "error_rate" {
  for_each = toset(local.metric_services)

  alarm_name          = "${var.name_prefix}gfn-${each.key}-error-rate"
  alarm_description   = "[critical] More than ${var.handler_error_rate_percent}% of ${each.key}'s messages failed in 5 minutes (retried, then dead-lettered)."
  evaluation_periods  = 1
  threshold           = var.handler_error_rate_percent
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "rate"
    expression  = "IF(ok + failed > 0, 100 * failed / (ok + failed), 0)"
    label       = "${each.key} error rate (%)"
    return_data = true
  }

  metric_query {
    id = "failed"

    metric {
      namespace   = local.metrics_namespace
      metric_name = "failed"
      dimensions  = { service = each.key }
      stat        = "Sum"
      period      = 300
    }
  }

  metric_query {
    id = "ok"

    metric {
      namespace   = local.metrics_namespace
      metric_name = "handled"
      dimensions  = { service = each.key }
      stat        = "Sum"
      period      = 300
    }
  }
}

# The Soda job's failed checks. A Metrics Insights query over the metric name, so it holds
# whichever dimensions the job reports under.
resource "aws_cloudwatch_metric_alarm" "soda_failed" {
  alarm_name          = "${var.name_prefix}gfn-soda-check-failed"
  alarm_description   = "[critical] A tier-2 Soda check failed against Snowflake after a RunCompleted: see the gfn-soda log and the run's ledger."
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions

  metric_query {
    id          = "failed"
    expression  = "SELECT SUM(soda_checks_failed) FROM \"${local.metrics_namespace}\""
    period      = 300
    return_data = true
  }
}

resource "aws_cloudwatch_metric_alarm" "soda_dlq_depth" {
  alarm_name          = "${var.name_prefix}gfn-soda-dlq-not-empty"
  alarm_description   = "[critical] The Soda job could not run for a RunCompleted (after Lambda's retries)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.soda_dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

resource "aws_cloudwatch_dashboard" "pipeline" {
  dashboard_name = "${var.name_prefix}gfn-pipeline"
  dashboard_body = jsonencode({
    widgets = [
      local.widget.runs, local.widget.duration, local.widget.quality,
      local.widget.handled, local.widget.failed, local.widget.latency,
      local.widget.rows, local.widget.snowpipe, local.widget.dlqs,
    ]
  })
}

locals {
  ns = local.metrics_namespace
  per_service = {
    for m in ["handled", "failed", "latency_ms"] : m => [
      for s in local.metric_services : [local.ns, m, "service", s]
    ]
  }
  widget = {
    runs = {
      type = "metric", width = 8, height = 6, properties = {
        title = "Runs", region = var.aws_region, stat = "Sum", period = 3600, view = "timeSeries",
        metrics = [
          [local.ns, "run_completed", "service", local.run_metrics_service],
          [local.ns, "run_failed", "service", local.run_metrics_service],
        ]
      }
    }
    duration = {
      type = "metric", width = 8, height = 6, properties = {
        title       = "Run duration (s)", region = var.aws_region, stat = "Maximum", period = 3600, view = "timeSeries",
        metrics     = [[local.ns, "run_duration_s", "service", local.run_metrics_service]]
        annotations = { horizontal = [{ label = "warning", value = var.run_duration_warning_seconds }] }
      }
    }
    quality = {
      type = "metric", width = 8, height = 6, properties = {
        title = "Soda checks (tier 2)", region = var.aws_region, period = 3600, view = "timeSeries",
        metrics = [
          [{ expression = "SELECT SUM(soda_checks_passed) FROM \"${local.ns}\"", label = "passed", id = "p" }],
          [{ expression = "SELECT SUM(soda_checks_total) FROM \"${local.ns}\"", label = "total", id = "t" }],
          [{ expression = "SELECT SUM(soda_checks_failed) FROM \"${local.ns}\"", label = "failed", id = "f" }],
        ]
      }
    }
    handled = {
      type = "metric", width = 8, height = 6, properties = {
        title   = "Messages handled", region = var.aws_region, stat = "Sum", period = 300, view = "timeSeries",
        metrics = local.per_service["handled"]
      }
    }
    failed = {
      type = "metric", width = 8, height = 6, properties = {
        title   = "Messages failed", region = var.aws_region, stat = "Sum", period = 300, view = "timeSeries",
        metrics = local.per_service["failed"]
      }
    }
    latency = {
      type = "metric", width = 8, height = 6, properties = {
        title   = "Handling latency p95 (ms)", region = var.aws_region, stat = "p95", period = 300, view = "timeSeries",
        metrics = local.per_service["latency_ms"]
      }
    }
    rows = {
      type = "metric", width = 8, height = 6, properties = {
        title = "Rows", region = var.aws_region, stat = "Sum", period = 3600, view = "timeSeries",
        metrics = [
          [{ expression = "SELECT SUM(rows_in) FROM SCHEMA(\"${local.ns}\", service)", label = "in", id = "i" }],
          [{ expression = "SELECT SUM(rows_valid) FROM SCHEMA(\"${local.ns}\", service)", label = "valid", id = "v" }],
          [{ expression = "SELECT SUM(rows_rejected) FROM SCHEMA(\"${local.ns}\", service)", label = "rejected", id = "r" }],
          [{ expression = "SELECT SUM(rows_loaded) FROM SCHEMA(\"${local.ns}\", service)", label = "loaded", id = "l" }],
        ]
      }
    }
    snowpipe = {
      type = "metric", width = 8, height = 6, properties = {
        title   = "Snowpipe latency, object created to load confirmed (s)", region = var.aws_region, period = 3600, view = "timeSeries",
        metrics = [[{ expression = "SELECT MAX(snowpipe_latency_s) FROM SCHEMA(\"${local.ns}\", service)", label = "max", id = "s" }]]
      }
    }
    dlqs = {
      type = "metric", width = 8, height = 6, properties = {
        title   = "DLQ depth", region = var.aws_region, stat = "Maximum", period = 300, view = "timeSeries",
        metrics = [for q, _ in local.queues : ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", aws_sqs_queue.dlq[q].name]]
      }
    }
  }
}
