# The loader. In production (warehouse = "snowflake") it loads nothing: Snowpipe does. It is
# the load confirmer: triggered by the same S3 notification Snowpipe gets (SNS
# gfn-lake-events -> the gfn-loader queue, raw), it asks Snowflake's COPY_HISTORY whether the
# file was loaded and publishes BatchLoaded (rows from Snowflake) or BatchFailed (Snowflake's
# first error, or not loaded within GFN_LOAD_CONFIRM_DEADLINE), re-checking with growing
# visibility delays meanwhile. With warehouse = "duckdb" (an AWS sandbox without Snowflake)
# it loads the file into a scratch DuckDB in the function's /tmp instead.

locals {
  snowflake = var.warehouse == "snowflake"
}

data "aws_iam_policy_document" "service" {
  # The object (the version its event names) and its run metadata.
  statement {
    sid       = "LakeReadTransformed"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${var.bucket_arn}/transformed/*"]
  }

  # A HEAD of a missing key answers 404 (not 403) only with ListBucket.
  statement {
    sid       = "LakeListTransformed"
    actions   = ["s3:ListBucket"]
    resources = [var.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["transformed/*"]
    }
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

  dynamic "statement" {
    for_each = local.snowflake ? [1] : []

    content {
      sid       = "SnowflakeSecret"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [var.snowflake_secret_arn]
    }
  }
}

module "lambda" {
  source = "../lambda-service"

  service             = "loader"
  function_name       = var.function_name
  description         = var.warehouse == "snowflake" ? "Load confirmer: for each transformed/ file (SNS gfn-lake-events) asks Snowflake COPY_HISTORY; publishes BatchLoaded, or BatchFailed after GFN_LOAD_CONFIRM_DEADLINE. Snowpipe does the loading." : "Sandbox loader: loads each transformed/ file into a scratch DuckDB in /tmp; publishes BatchLoaded."
  zip_path            = var.zip_path
  architecture        = var.architecture
  memory_mb           = var.settings.memory_mb
  timeout_seconds     = var.settings.timeout_seconds
  batch_size          = var.settings.batch_size
  batching_window_s   = var.settings.batching_window_s
  maximum_concurrency = var.settings.maximum_concurrency
  environment = merge(var.environment, local.snowflake ? {
    WAREHOUSE                 = "snowflake"
    SNOWFLAKE_SECRET_ARN      = var.snowflake_secret_arn
    GFN_LOAD_CONFIRM_DEADLINE = var.load_confirm_deadline
    } : {
    WAREHOUSE   = "duckdb"
    DUCKDB_PATH = "/tmp/gfn.duckdb"
  })
  queue_arn                        = var.queue_arn
  queue_visibility_timeout_seconds = var.queue_visibility_timeout_seconds
  dlq_arn                          = var.dlq_arn
  kms_key_arn                      = var.kms_key_arn
  policy_json                      = data.aws_iam_policy_document.service.json
  log_retention_days               = var.log_retention_days
  alarm_actions                    = var.alarm_actions
}
