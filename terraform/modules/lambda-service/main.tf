# One service as a Lambda: role, logs, function, SQS event source and an errors alarm. The
# handler is the service's own binary with RUNTIME=lambda (shared/platform), reporting
# partial batch failures so one bad message does not retry its whole batch. X-Ray traces
# every invocation (the trace id reaches the logs through _X_AMZN_TRACE_ID); logs and
# environment are encrypted with the pipeline key.

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.function_name}-lambda"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

data "aws_iam_policy_document" "base" {
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  statement {
    sid = "ConsumeOwnQueue"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
    ]
    resources = [var.queue_arn]
  }

  # Messages that can never succeed go to the DLQ at once, with the error as an attribute.
  statement {
    sid       = "DeadLetterOwnQueue"
    actions   = ["sqs:SendMessage", "sqs:GetQueueUrl"]
    resources = [var.dlq_arn]
  }

  statement {
    sid       = "UsePipelineKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
}

data "aws_iam_policy_document" "this" {
  source_policy_documents = [data.aws_iam_policy_document.base.json, var.policy_json]
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.service}-least-privilege"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

# Active tracing needs PutTraceSegments/PutTelemetryRecords, which take no resource ARN.
resource "aws_iam_role_policy_attachment" "xray" {
  role       = aws_iam_role.this.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"
}

data "aws_partition" "current" {}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:No VPC: the functions reach only AWS APIs and the public GFN API; a VPC would add NAT gateways and endpoints and protect nothing here.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile in the build; the zips come from `make package` in CI and the deploy role is the only writer.
  #checkov:skip=CKV_AWS_116:SQS-triggered: failed messages go to the queue's redrive DLQ, which a function-level DLQ (async invocations only) would not see.
  #checkov:skip=CKV_AWS_115:Concurrency is capped per event source (scaling_config.maximum_concurrency); reserved concurrency would take capacity from the account's unreserved pool.
  function_name    = var.function_name
  description      = var.description
  role             = aws_iam_role.this.arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.architecture]
  filename         = var.zip_path
  source_code_hash = filebase64sha256(var.zip_path)
  memory_size      = var.memory_mb
  timeout          = var.timeout_seconds
  kms_key_arn      = var.kms_key_arn

  environment {
    variables = var.environment
  }

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.this.name
  }

  depends_on = [aws_iam_role_policy.this, aws_iam_role_policy_attachment.xray]
}

resource "aws_lambda_event_source_mapping" "this" {
  event_source_arn                   = var.queue_arn
  function_name                      = aws_lambda_function.this.arn
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.batching_window_s
  function_response_types            = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.maximum_concurrency
  }

  lifecycle {
    precondition {
      condition     = var.queue_visibility_timeout_seconds >= 6 * var.timeout_seconds
      error_message = "${var.service}: the queue's visibility timeout (${var.queue_visibility_timeout_seconds}s) must be at least 6x the function timeout (${var.timeout_seconds}s), or SQS hands a message to a second invocation while the first still runs."
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "${var.function_name}-errors"
  alarm_description   = "${var.service} Lambda invocations failed (crashes or timeouts, not per-message failures)."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}
