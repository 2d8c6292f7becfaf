# The extractor: reads the GFN API, lands raw/ JSON (never overwritten), plans runs.

data "aws_iam_policy_document" "service" {
  statement {
    sid       = "LakeRawAndRunLedger"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${var.bucket_arn}/raw/*", "${var.bucket_arn}/metadata/*"]
  }

  # A response that cannot be landed is reported under failed/responses/ (shared/lake).
  statement {
    sid       = "LakeFailedResponses"
    actions   = ["s3:PutObject"]
    resources = ["${var.bucket_arn}/failed/responses/*"]
  }

  # Checking whether a raw object already exists (HEAD of a missing key) needs ListBucket.
  statement {
    sid       = "LakeList"
    actions   = ["s3:ListBucket"]
    resources = [var.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["raw/*", "metadata/*"]
    }
  }

  # A run fans out one message a year onto the extractor's own queue.
  statement {
    sid       = "SendOwnQueue"
    actions   = ["sqs:SendMessage", "sqs:GetQueueUrl"]
    resources = [var.queue_arn]
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

  statement {
    sid       = "ApiKey"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.api_key_secret_arn]
  }
}

module "lambda" {
  source = "../lambda-service"

  service             = "extractor"
  function_name       = var.function_name
  description         = "GFN API -> raw/ JSON; ExtractionRequested from its queue (schedule, gfnctl run); publishes ExtractionPlanned, RawBatchLanded."
  zip_path            = var.zip_path
  architecture        = var.architecture
  memory_mb           = var.settings.memory_mb
  timeout_seconds     = var.settings.timeout_seconds
  batch_size          = var.settings.batch_size
  batching_window_s   = var.settings.batching_window_s
  maximum_concurrency = var.settings.maximum_concurrency
  environment = merge(var.environment, {
    GFN_API_URL            = var.api_url
    GFN_API_KEY_SECRET_ARN = var.api_key_secret_arn
  })
  queue_arn                        = var.queue_arn
  queue_visibility_timeout_seconds = var.queue_visibility_timeout_seconds
  dlq_arn                          = var.dlq_arn
  kms_key_arn                      = var.kms_key_arn
  policy_json                      = data.aws_iam_policy_document.service.json
  log_retention_days               = var.log_retention_days
  alarm_actions                    = var.alarm_actions
}
