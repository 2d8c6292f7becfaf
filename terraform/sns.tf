resource "aws_sns_topic" "topic" {
  for_each = toset(local.topics)

  name              = "${var.name_prefix}${each.key}"
  kms_master_key_id = aws_kms_key.pipeline.arn
}

# Raw delivery keeps the CloudEvents message attributes as SQS attributes (the consumers
# dispatch on them) and the body as the message JSON itself (for gfn-lake-events: the S3
# event notification, as S3 would have sent it to the queue).
resource "aws_sns_topic_subscription" "queue" {
  for_each = local.subscriptions

  topic_arn            = aws_sns_topic.topic[each.value.topic].arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.queue[each.key].arn
  raw_message_delivery = true
  # SNS rejects a scope without a policy: both are set, or neither.
  filter_policy       = length(each.value.event_types) > 0 ? jsonencode({ (local.filter_attribute) = sort(each.value.event_types) }) : null
  filter_policy_scope = length(each.value.event_types) > 0 ? "MessageAttributes" : null

  depends_on = [aws_sqs_queue_policy.queue]
}

# gfn-lake-events: the bucket publishes transformed/ ObjectCreated, Snowflake subscribes
# Snowpipe's queue (CREATE PIPE ... AWS_SNS_TOPIC), the loader's queue is subscribed above.
data "aws_iam_policy_document" "lake_events" {
  statement {
    sid       = "BucketPublishes"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.topic[local.lake_events_topic].arn]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.lake.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  # What SYSTEM$GET_AWS_SNS_IAM_POLICY asks for, once the Snowflake root has run.
  dynamic "statement" {
    for_each = var.snowflake_iam_user_arn == null ? [] : [var.snowflake_iam_user_arn]

    content {
      sid       = "SnowpipeSubscribes"
      actions   = ["sns:Subscribe"]
      resources = [aws_sns_topic.topic[local.lake_events_topic].arn]

      principals {
        type        = "AWS"
        identifiers = [statement.value]
      }
    }
  }
}

resource "aws_sns_topic_policy" "lake_events" {
  arn    = aws_sns_topic.topic[local.lake_events_topic].arn
  policy = data.aws_iam_policy_document.lake_events.json
}

# Alerts for people: every alarm, the Soda job's failed checks. Email subscriptions need a
# confirmation click; Slack goes through AWS Chatbot when a workspace and channel are given.
resource "aws_sns_topic" "alerts" {
  name              = "${var.name_prefix}gfn-alerts"
  kms_master_key_id = aws_kms_key.pipeline.arn
}

resource "aws_sns_topic_subscription" "alert_email" {
  for_each = toset(var.alert_emails)

  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "email"
  endpoint  = each.key
}

data "aws_iam_policy_document" "chatbot_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["chatbot.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "chatbot" {
  count = local.slack ? 1 : 0

  name               = "${var.name_prefix}gfn-chatbot"
  assume_role_policy = data.aws_iam_policy_document.chatbot_assume.json
}

# Chatbot renders alarm graphs with CloudWatch reads; the guardrail keeps it read-only.
resource "aws_iam_role_policy_attachment" "chatbot" {
  count = local.slack ? 1 : 0

  role       = aws_iam_role.chatbot[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/CloudWatchReadOnlyAccess"
}

resource "aws_chatbot_slack_channel_configuration" "alerts" {
  count = local.slack ? 1 : 0

  configuration_name    = "${var.name_prefix}gfn-alerts"
  iam_role_arn          = aws_iam_role.chatbot[0].arn
  slack_team_id         = var.slack_workspace_id
  slack_channel_id      = var.slack_channel_id
  sns_topic_arns        = [aws_sns_topic.alerts.arn]
  guardrail_policy_arns = ["arn:${local.partition}:iam::aws:policy/CloudWatchReadOnlyAccess"]
}

locals {
  slack = var.slack_workspace_id != null && var.slack_channel_id != null
}
