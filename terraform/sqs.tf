# Every queue has <name>-dlq; the DLQ keeps messages for the SQS maximum (14 days) so
# operators have time to inspect and redrive (`gfnctl dlq`).
resource "aws_sqs_queue" "dlq" {
  for_each = local.queues

  name                              = "${var.name_prefix}${each.key}${local.dlq_suffix}"
  message_retention_seconds         = 1209600
  kms_master_key_id                 = aws_kms_key.pipeline.arn
  kms_data_key_reuse_period_seconds = 3600
}

resource "aws_sqs_queue" "queue" {
  for_each = local.queues

  name                              = "${var.name_prefix}${each.key}"
  visibility_timeout_seconds        = each.value.visibility_timeout_seconds
  message_retention_seconds         = each.value.retention_seconds
  receive_wait_time_seconds         = 20
  kms_master_key_id                 = aws_kms_key.pipeline.arn
  kms_data_key_reuse_period_seconds = 3600

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq[each.key].arn
    maxReceiveCount     = each.value.max_receive_count
  })
}

# Only the queue's own queue may use a DLQ as its dead-letter target.
resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  for_each = local.queues

  queue_url = aws_sqs_queue.dlq[each.key].id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.queue[each.key].arn]
  })
}

locals {
  # Who may send to each queue: its topic subscriptions (the bucket's notifications come
  # through gfn-lake-events); EventBridge Scheduler sends commands through its role, not a
  # resource policy.
  queue_senders = {
    for q, _ in local.queues : q => [for sq, s in local.subscriptions : aws_sns_topic.topic[s.topic].arn if sq == q]
  }
}

data "aws_iam_policy_document" "queue" {
  for_each = { for q, senders in local.queue_senders : q => senders if length(senders) > 0 }

  statement {
    sid       = "AllowPipelineSenders"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.queue[each.key].arn]

    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = each.value
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_sqs_queue_policy" "queue" {
  for_each = data.aws_iam_policy_document.queue

  queue_url = aws_sqs_queue.queue[each.key].id
  policy    = each.value.json
}
