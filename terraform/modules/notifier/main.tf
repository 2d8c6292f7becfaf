# The notifier: tracks runs in metadata/runs/, publishes RunCompleted / RunFailed once every
# planned batch has settled. It confirms no loads (the loader does, from COPY_HISTORY) and
# holds no Snowflake credentials. EventBridge also invokes it on a schedule: its Lambda
# handler recognises the scheduled event and runs the DLQ watch, which fails the run of every
# message a redrive policy moved to a DLQ, then leaves the message there for `gfnctl dlq`.

data "aws_iam_policy_document" "service" {
  statement {
    sid       = "RunLedger"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${var.bucket_arn}/metadata/*"]
  }

  # A dead-lettered S3 notification names an object; its metadata names the run to fail.
  statement {
    sid       = "TransformedRunMetadata"
    actions   = ["s3:GetObject"]
    resources = ["${var.bucket_arn}/transformed/*"]
  }

  statement {
    sid       = "RunLedgerList"
    actions   = ["s3:ListBucket"]
    resources = [var.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["metadata/*", "transformed/*"]
    }
  }

  statement {
    sid       = "PublishOutcomes"
    actions   = ["sns:Publish"]
    resources = [var.events_topic_arn, var.notifications_topic_arn]
  }

  # The publisher resolves topic ARNs by name; ListTopics cannot be scoped to a resource.
  statement {
    sid       = "FindTopics"
    actions   = ["sns:ListTopics"]
    resources = ["*"]
  }

  # The DLQ watch peeks at every DLQ and hands each message back (visibility 0): it never
  # deletes, the operator redrives or purges.
  statement {
    sid = "WatchDeadLetterQueues"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
    ]
    resources = var.watched_dlq_arns
  }
}

module "lambda" {
  source = "../lambda-service"

  service                          = "notifier"
  function_name                    = var.function_name
  description                      = "Run ledger in metadata/runs/; publishes RunCompleted/RunFailed. On its EventBridge schedule: the DLQ watch (fails the runs of dead-lettered messages)."
  zip_path                         = var.zip_path
  architecture                     = var.architecture
  memory_mb                        = var.settings.memory_mb
  timeout_seconds                  = var.settings.timeout_seconds
  batch_size                       = var.settings.batch_size
  batching_window_s                = var.settings.batching_window_s
  maximum_concurrency              = var.settings.maximum_concurrency
  environment                      = var.environment
  queue_arn                        = var.queue_arn
  queue_visibility_timeout_seconds = var.queue_visibility_timeout_seconds
  dlq_arn                          = var.dlq_arn
  kms_key_arn                      = var.kms_key_arn
  policy_json                      = data.aws_iam_policy_document.service.json
  log_retention_days               = var.log_retention_days
  alarm_actions                    = var.alarm_actions
}

# The DLQ watch in the Lambda runtime: a scheduled event straight to the function (no
# queue: a missed tick is covered by the next one).
resource "aws_cloudwatch_event_rule" "dlq_watch" {
  name                = "${var.function_name}-dlq-watch"
  description         = "Invokes ${var.function_name}, whose handler runs the DLQ watch on a scheduled event."
  schedule_expression = var.dlq_watch_schedule
}

resource "aws_cloudwatch_event_target" "dlq_watch" {
  rule = aws_cloudwatch_event_rule.dlq_watch.name
  arn  = module.lambda.function_arn

  retry_policy {
    maximum_event_age_in_seconds = 60
    maximum_retry_attempts       = 0
  }
}

resource "aws_lambda_permission" "dlq_watch" {
  statement_id  = "AllowEventBridgeDLQWatch"
  action        = "lambda:InvokeFunction"
  function_name = module.lambda.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.dlq_watch.arn
}
