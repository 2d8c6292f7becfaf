# The DuckDB loader, for an AWS sandbox without Snowflake (production loads with Snowpipe).
# DuckDB lives in the function's /tmp: it is a scratch warehouse, not a durable one.

data "aws_iam_policy_document" "service" {
  statement {
    sid = "LakeReadTransformed"
    # GetObjectVersion: the loader reads the version its S3 event names (versionId), so two
    # runs rewriting the same key each get their own BatchLoaded.
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${var.bucket_arn}/transformed/*"]
  }

  statement {
    sid       = "PublishEvents"
    actions   = ["sns:Publish"]
    resources = [var.events_topic_arn]
  }

  # The publisher resolves topic ARNs by name; ListTopics cannot be scoped to a resource.
  statement {
    sid       = "FindTopics"
    actions   = ["sns:ListTopics"]
    resources = ["*"]
  }
}

module "lambda" {
  source = "../lambda-service"

  service             = "loader"
  function_name       = var.function_name
  zip_path            = var.zip_path
  architecture        = var.architecture
  memory_mb           = var.settings.memory_mb
  timeout_seconds     = var.settings.timeout_seconds
  batch_size          = var.settings.batch_size
  batching_window_s   = var.settings.batching_window_s
  maximum_concurrency = var.settings.maximum_concurrency
  environment = merge(var.environment, {
    DUCKDB_PATH = "/tmp/gfn.duckdb"
  })
  queue_arn          = var.queue_arn
  dlq_arn            = var.dlq_arn
  kms_key_arn        = var.kms_key_arn
  policy_json        = data.aws_iam_policy_document.service.json
  log_retention_days = var.log_retention_days
  alarm_actions      = var.alarm_actions
}
