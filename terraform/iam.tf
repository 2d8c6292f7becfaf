# Roles outside the service modules (each service's role lives in its module): the key
# policy, EventBridge Scheduler, and the role Snowflake's storage integration assumes.

data "aws_iam_policy_document" "kms" {
  # The standard root statement: it lets IAM policies in this account grant use of the key
  # (the roles below get only Decrypt/GenerateDataKey on it); without it the key becomes
  # unmanageable. In a key policy, "*" means this key.
  #checkov:skip=CKV_AWS_109:Key policy root statement (see above); "*" is this key only.
  #checkov:skip=CKV_AWS_111:Key policy root statement (see above); "*" is this key only.
  #checkov:skip=CKV_AWS_356:In a key policy the resource "*" is the key itself.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # SNS (delivering to encrypted queues), S3 (notifications to the encrypted lake-events
  # topic) and CloudWatch (alarms to the encrypted alerts topic) need the key to write
  # messages.
  statement {
    sid       = "ServicesDeliverMessages"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com", "s3.amazonaws.com", "cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  # CloudWatch Logs encrypts the functions' log groups, only for log groups of this account.
  statement {
    sid = "LogsEncryptLogGroups"
    actions = [
      "kms:Encrypt*",
      "kms:Decrypt*",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:Describe*",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${var.aws_region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${var.aws_region}:${local.account_id}:log-group:*"]
    }
  }
}

data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "${var.name_prefix}gfn-scheduler"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "SendExtractionRequested"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.queue[local.extractor_command_queue].arn, aws_sqs_queue.scheduler_dlq.arn]
  }

  statement {
    sid       = "EncryptMessages"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.pipeline.arn]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "send-extraction-requested"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

# Snowflake reads transformed/ through this role. Its trust names the storage integration's
# IAM user and external id, which only exist once the Snowflake root has created the
# integration (with this role's ARN, built from its name): until snowflake_iam_user_arn and
# snowflake_external_id are set, the role is not created.
locals {
  snowflake_role_name = "${var.name_prefix}gfn-snowflake-stage"
  snowflake_trusted   = var.snowflake_iam_user_arn != null && var.snowflake_external_id != null
}

data "aws_iam_policy_document" "snowflake_assume" {
  count = local.snowflake_trusted ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = [var.snowflake_iam_user_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "sts:ExternalId"
      values   = [var.snowflake_external_id]
    }
  }
}

resource "aws_iam_role" "snowflake" {
  count = local.snowflake_trusted ? 1 : 0

  name               = local.snowflake_role_name
  description        = "Snowpipe (Snowflake storage integration) reads transformed/ in the lake."
  assume_role_policy = data.aws_iam_policy_document.snowflake_assume[0].json
}
data "aws_iam_policy_document" "snowflake" {
  statement {
    sid       = "ReadTransformed"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${aws_s3_bucket.lake.arn}/transformed/*"]
  }

  statement {
    sid       = "ListTransformed"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.lake.arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["transformed/*"]
    }
  }

  statement {
    sid       = "BucketLocation"
    actions   = ["s3:GetBucketLocation"]
    resources = [aws_s3_bucket.lake.arn]
  }

  statement {
    sid       = "DecryptLake"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.pipeline.arn]
  }
}

resource "aws_iam_role_policy" "snowflake" {
  count = local.snowflake_trusted ? 1 : 0

  name   = "read-transformed"
  role   = aws_iam_role.snowflake[0].id
  policy = data.aws_iam_policy_document.snowflake.json
}
