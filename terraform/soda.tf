# Tier-2 data quality in production: after every RunCompleted, a Lambda container image
# (soda/, Python, soda-core-snowflake==3.5.6) runs soda/checks.yml against Snowflake's
# TRANSFORMED tables. It publishes the result as metrics in GFN/Pipeline
# (soda_checks_passed, soda_checks_total, soda_checks_failed), records it in the run's
# ledger (metadata/runs/<run_id>/) and, when a check fails, alerts on gfn-alerts.
# SNS invokes it asynchronously with the RunCompleted message as the record's Message.

resource "aws_ecr_repository" "soda" {
  name                 = "${var.name_prefix}gfn-soda"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.pipeline.arn
  }
}

resource "aws_ecr_lifecycle_policy" "soda" {
  repository = aws_ecr_repository.soda.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the last 10 images"
      selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = 10 }
      action       = { type = "expire" }
    }]
  })
}

locals {
  soda          = var.soda_image_uri != null
  soda_function = "${var.name_prefix}gfn-soda"
}

data "aws_iam_policy_document" "soda_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "soda" {
  count = local.soda ? 1 : 0

  name               = "${local.soda_function}-lambda"
  assume_role_policy = data.aws_iam_policy_document.soda_assume.json
}

resource "aws_cloudwatch_log_group" "soda" {
  count = local.soda ? 1 : 0

  name              = "/aws/lambda/${local.soda_function}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.pipeline.arn
}

# Invocations that fail after Lambda's async retries (a scan that could not run at all).
resource "aws_sqs_queue" "soda_dlq" {
  name                      = "${local.soda_function}-dlq"
  message_retention_seconds = 1209600
  kms_master_key_id         = aws_kms_key.pipeline.arn
}

data "aws_iam_policy_document" "soda" {
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["arn:${local.partition}:logs:${var.aws_region}:${local.account_id}:log-group:/aws/lambda/${local.soda_function}:*"]
  }

  statement {
    sid       = "SnowflakeSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.snowflake.arn]
  }

  statement {
    sid       = "UsePipelineKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.pipeline.arn]
  }

  statement {
    sid       = "RunLedger"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${aws_s3_bucket.lake.arn}/metadata/runs/*"]
  }

  statement {
    sid       = "AlertOnFailedChecks"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts.arn]
  }

  statement {
    sid       = "DeadLetter"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.soda_dlq.arn]
  }

  # PutMetricData takes no resource ARN; the condition holds it to the pipeline's namespace.
  statement {
    sid       = "QualityMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [local.metrics_namespace]
    }
  }
}

resource "aws_iam_role_policy" "soda" {
  count = local.soda ? 1 : 0

  name   = "soda-least-privilege"
  role   = aws_iam_role.soda[0].id
  policy = data.aws_iam_policy_document.soda.json
}

resource "aws_iam_role_policy_attachment" "soda_xray" {
  count = local.soda ? 1 : 0

  role       = aws_iam_role.soda[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"
}

resource "aws_lambda_function" "soda" {
  #checkov:skip=CKV_AWS_117:No VPC: the job reaches Snowflake and AWS APIs over their public endpoints; a VPC would add NAT gateways and protect nothing here.
  #checkov:skip=CKV_AWS_272:Code signing applies to zip packages; this is a container image from the pipeline's own ECR repository (immutable tags, scan on push).
  #checkov:skip=CKV_AWS_115:One scan per completed run (daily); reserved concurrency would take capacity from the account's unreserved pool for no gain.
  count = local.soda ? 1 : 0

  function_name = local.soda_function
  description   = "Tier-2 quality: soda/checks.yml against Snowflake after each RunCompleted (soda-core-snowflake 3.5.6); metrics soda_checks_*; alerts on gfn-alerts."
  role          = aws_iam_role.soda[0].arn
  package_type  = "Image"
  image_uri     = var.soda_image_uri
  architectures = ["x86_64"]
  memory_size   = 1024
  timeout       = 300
  kms_key_arn   = aws_kms_key.pipeline.arn

  environment {
    variables = {
      SNOWFLAKE_SECRET_ARN  = aws_secretsmanager_secret.snowflake.arn
      GFN_ALERT_TOPIC_ARN   = aws_sns_topic.alerts.arn
      GFN_BUCKET            = var.bucket_name
      GFN_NAME_PREFIX       = var.name_prefix
      GFN_METRICS_NAMESPACE = local.metrics_namespace
      LOG_LEVEL             = var.log_level
    }
  }

  tracing_config {
    mode = "Active"
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.soda_dlq.arn
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.soda[0].name
  }

  depends_on = [aws_iam_role_policy.soda, aws_iam_role_policy_attachment.soda_xray]
}

resource "aws_sns_topic_subscription" "soda" {
  count = local.soda ? 1 : 0

  topic_arn           = aws_sns_topic.topic["gfn-notifications"].arn
  protocol            = "lambda"
  endpoint            = aws_lambda_function.soda[0].arn
  filter_policy_scope = "MessageAttributes"
  filter_policy       = jsonencode({ (local.filter_attribute) = ["RunCompleted"] })
}

resource "aws_lambda_permission" "soda" {
  count = local.soda ? 1 : 0

  statement_id  = "AllowNotificationsTopic"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.soda[0].function_name
  principal     = "sns.amazonaws.com"
  source_arn    = aws_sns_topic.topic["gfn-notifications"].arn
}
