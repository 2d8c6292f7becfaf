# The validator: raw/ in, valid rows to staged/, rejects with reasons to failed/.

data "aws_iam_policy_document" "service" {
  statement {
    sid       = "LakeReadRaw"
    actions   = ["s3:GetObject"]
    resources = ["${var.bucket_arn}/raw/*"]
  }

  statement {
    sid       = "LakeWriteStagedFailed"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${var.bucket_arn}/staged/*", "${var.bucket_arn}/failed/*", "${var.bucket_arn}/metadata/*"]
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

  service                          = "validator"
  function_name                    = var.function_name
  description                      = "Tier-1 contract: raw/ -> staged/ (valid rows) and failed/ (rejects); publishes BatchValidated or BatchQuarantined."
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
