# The transformer: staged/ rows in, Parquet out to transformed/ (which triggers the load).

data "aws_iam_policy_document" "service" {
  statement {
    sid       = "LakeReadStaged"
    actions   = ["s3:GetObject"]
    resources = ["${var.bucket_arn}/staged/*"]
  }

  statement {
    sid       = "LakeWriteTransformed"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${var.bucket_arn}/transformed/*", "${var.bucket_arn}/metadata/*"]
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

  service                          = "transformer"
  function_name                    = var.function_name
  description                      = "staged/ -> transformed/*.parquet (which Snowpipe loads); publishes BatchTransformed."
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
