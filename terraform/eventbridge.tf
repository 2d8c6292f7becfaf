# The daily run: EventBridge Scheduler sends ExtractionRequested straight to the extractor's
# queue (a command, so no SNS), exactly as `gfnctl run` does.
#
# Scheduler's templated SQS target (arn = the queue) cannot set message attributes, and the
# consumers dispatch on the `type` attribute. So this uses the universal target
# (aws-sdk:sqs:sendMessage), whose input is the whole SendMessage request, attributes
# included. Scheduler fills the context keywords per invocation: the run id derives from the
# scheduled time, so a retried invocation repeats the same run id instead of starting a
# second run.

locals {
  extractor_command_queue = local.command_queues["ExtractionRequested"]

  scheduled_time   = "<aws.scheduler.scheduled-time>"
  scheduled_run_id = "run-<aws.scheduler.scheduled-time>"

  # The ExtractionRequested v1 body (contracts/testdata/golden); omitted years mean the
  # API's range.
  scheduled_body = merge(
    {
      run_id       = local.scheduled_run_id
      mode         = "full"
      requested_at = local.scheduled_time
      requested_by = "scheduler"
    },
    var.extraction_from_year == null ? {} : { from_year = var.extraction_from_year },
    var.extraction_to_year == null ? {} : { to_year = var.extraction_to_year },
  )

  # The CloudEvents envelope shared/messaging.Encode writes (8 of SQS's 10 attributes). The id
  # derives from the scheduled time too: a retried invocation repeats the same message.
  scheduled_attributes = {
    id             = "scheduler-<aws.scheduler.scheduled-time>"
    source         = "gfn/scheduler"
    type           = "gfn.pipeline.extraction_requested.v1"
    time           = local.scheduled_time
    specversion    = "1.0"
    event_type     = "ExtractionRequested"
    run_id         = local.scheduled_run_id
    correlation_id = local.scheduled_run_id
  }

  # jsonencode escapes < and > as \u003c and \u003e, which would hide the context keywords
  # from Scheduler. The body is encoded twice (a JSON string inside the request), so its
  # escapes carry a doubled backslash; the attributes are encoded once. Both are undone, the
  # doubled ones first (a single-backslash pattern would leave their first backslash behind).
  scheduled_input = replace(replace(replace(replace(jsonencode({
    QueueUrl    = aws_sqs_queue.queue[local.extractor_command_queue].url
    MessageBody = jsonencode(local.scheduled_body)
    MessageAttributes = {
      for k, v in local.scheduled_attributes : k => { DataType = "String", StringValue = v }
    }
  }), "\\\\u003c", "<"), "\\\\u003e", ">"), "\\u003c", "<"), "\\u003e", ">")
}

# Invocations Scheduler could not deliver after its retries land here (not in the
# extractor's DLQ: they are Scheduler events, not pipeline messages).
resource "aws_sqs_queue" "scheduler_dlq" {
  name                      = "${var.name_prefix}gfn-scheduler-dlq"
  message_retention_seconds = 1209600
  kms_master_key_id         = aws_kms_key.pipeline.arn
}

resource "aws_scheduler_schedule" "daily_extraction" {
  name                         = "${var.name_prefix}gfn-daily-extraction"
  description                  = "Daily GFN extraction (ExtractionRequested to the extractor queue)."
  schedule_expression          = var.schedule_expression
  schedule_expression_timezone = var.schedule_timezone
  # The execution role's kms:Decrypt on this key lets Scheduler read the encrypted input.
  kms_key_arn = aws_kms_key.pipeline.arn

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = "arn:aws:scheduler:::aws-sdk:sqs:sendMessage"
    role_arn = aws_iam_role.scheduler.arn
    input    = local.scheduled_input

    retry_policy {
      maximum_event_age_in_seconds = 3600
      maximum_retry_attempts       = 5
    }

    dead_letter_config {
      arn = aws_sqs_queue.scheduler_dlq.arn
    }
  }
}
