# The notifier: tracks runs in metadata/, confirms Snowpipe loads (COPY_HISTORY), publishes
# RunCompleted / RunFailed.

data "aws_iam_policy_document" "service" {
  statement {
    sid       = "RunLedger"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${var.bucket_arn}/metadata/*"]
  }

  statement {
    sid       = "RunLedgerList"
    actions   = ["s3:ListBucket"]
    resources = [var.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["metadata/*"]
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

  statement {
    sid       = "SnowflakeSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.snowflake_secret_arn]
  }
}

module "lambda" {
  source = "../lambda-service"

  service             = "notifier"
  function_name       = var.function_name
  zip_path            = var.zip_path
  architecture        = var.architecture
  memory_mb           = var.settings.memory_mb
  timeout_seconds     = var.settings.timeout_seconds
  batch_size          = var.settings.batch_size
  batching_window_s   = var.settings.batching_window_s
  maximum_concurrency = var.settings.maximum_concurrency
  environment = merge(var.environment, {
    SNOWFLAKE_SECRET_ARN = var.snowflake_secret_arn
  })
  queue_arn          = var.queue_arn
  dlq_arn            = var.dlq_arn
  kms_key_arn        = var.kms_key_arn
  policy_json        = data.aws_iam_policy_document.service.json
  log_retention_days = var.log_retention_days
  alarm_actions      = var.alarm_actions
}
