resource "aws_sns_topic" "topic" {
  for_each = toset(local.topics)

  name              = "${var.name_prefix}${each.key}"
  kms_master_key_id = aws_kms_key.pipeline.arn
}

# Raw delivery keeps the CloudEvents message attributes as SQS attributes (the consumers
# dispatch on them) and the body as the message JSON itself.
resource "aws_sns_topic_subscription" "queue" {
  for_each = local.subscriptions

  topic_arn            = aws_sns_topic.topic[each.value.topic].arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.queue[each.key].arn
  raw_message_delivery = true
  filter_policy_scope  = "MessageAttributes"
  filter_policy        = length(each.value.event_types) > 0 ? jsonencode({ (local.filter_attribute) = sort(each.value.event_types) }) : null

  depends_on = [aws_sqs_queue_policy.queue]
}
