# A plan of the whole AWS root, offline: the real AWS provider (from the local mirror) plans
# every resource and runs its own plan-time checks (for example: a subscription's
# filter_policy_scope needs a filter_policy); no credentials, no AWS API call. Only the
# caller identity is given, and in one run the queues' URLs. The Lambda zips must exist
# (`make package` for every service): the plan hashes them. Run by `make terraform-test`.

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "offline"
  secret_key                  = "offline"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}

override_data {
  target = data.aws_caller_identity.current
  values = {
    account_id = "123456789012"
    arn        = "arn:aws:iam::123456789012:user/plan-test"
    user_id    = "AIDAPLANTEST"
  }
}

variables {
  soda_image_uri         = "123456789012.dkr.ecr.us-east-1.amazonaws.com/gfn-soda:plan-test"
  snowflake_iam_user_arn = "arn:aws:iam::999999999999:user/snowflake-plan-test"
  snowflake_external_id  = "PLAN_TEST_EXTERNAL_ID"
  alert_emails           = ["oncall@example.org"]
}

run "production" {
  command = plan

  assert {
    condition = alltrue([
      for svc, s in var.lambda_settings : aws_sqs_queue.queue["gfn-${svc}"].visibility_timeout_seconds >= 6 * s.timeout_seconds
    ])
    error_message = "every Lambda-triggered queue's visibility timeout must be at least 6x its function's timeout"
  }

  assert {
    condition     = length(aws_sqs_queue.dlq) == 5 && alltrue([for q, d in aws_sqs_queue.dlq : d.name == "${q}-dlq"])
    error_message = "every queue needs its <name>-dlq"
  }

  assert {
    condition = (
      aws_sns_topic_subscription.queue["gfn-loader"].raw_message_delivery &&
      aws_sns_topic_subscription.queue["gfn-loader"].filter_policy == null &&
      aws_sns_topic.topic["gfn-lake-events"].name == "gfn-lake-events"
    )
    error_message = "the loader's queue must take every gfn-lake-events notification, raw"
  }

  assert {
    condition     = aws_sns_topic_subscription.queue["gfn-validator"].filter_policy == jsonencode({ event_type = ["RawBatchLanded"] }) && aws_sns_topic_subscription.queue["gfn-validator"].filter_policy_scope == "MessageAttributes"
    error_message = "the validator's subscription must filter on event_type RawBatchLanded"
  }

  assert {
    condition = (
      length(aws_s3_bucket_notification.lake.queue) == 0 &&
      one(aws_s3_bucket_notification.lake.topic).filter_prefix == "transformed/" &&
      one(aws_s3_bucket_notification.lake.topic).filter_suffix == ".parquet"
    )
    error_message = "transformed/*.parquet must be announced on the gfn-lake-events topic (Snowpipe and the loader both subscribe)"
  }

  assert {
    condition = (
      module.loader.environment["WAREHOUSE"] == "snowflake" &&
      module.loader.environment["GFN_LOAD_CONFIRM_DEADLINE"] == "15m" &&
      contains(keys(module.loader.environment), "SNOWFLAKE_SECRET_ARN") &&
      module.loader.environment["RUNTIME"] == "lambda"
    )
    error_message = "production's loader confirms Snowpipe loads: WAREHOUSE=snowflake, the Snowflake secret, GFN_LOAD_CONFIRM_DEADLINE"
  }

  assert {
    condition     = !contains(keys(module.notifier.environment), "SNOWFLAKE_SECRET_ARN")
    error_message = "the notifier confirms no loads and must not get the Snowflake secret"
  }

  assert {
    condition     = module.notifier.dlq_watch_rule == "gfn-notifier-dlq-watch" && aws_cloudwatch_metric_alarm.run_missing.evaluation_periods * aws_cloudwatch_metric_alarm.run_missing.period == 26 * 3600
    error_message = "the DLQ watch rule and the 26 h no-RunCompleted alarm must be planned"
  }

  assert {
    condition = (
      aws_lambda_function.soda[0].package_type == "Image" &&
      aws_lambda_function.soda[0].tracing_config[0].mode == "Active" &&
      aws_sns_topic_subscription.soda[0].filter_policy == jsonencode({ event_type = ["RunCompleted"] })
    )
    error_message = "the Soda job runs as an image, traced, on RunCompleted only"
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.error_rate) == 5 && aws_cloudwatch_metric_alarm.run_slow.threshold == 600 && aws_cloudwatch_metric_alarm.error_rate["loader"].threshold == 5
    error_message = "alarms: an error-rate alarm per service (5%), a slow-run warning (10 min)"
  }

  assert {
    condition     = aws_s3_bucket_logging.lake.target_prefix == "s3/gfn-data-lake/" && aws_s3_bucket.access_logs.bucket == "gfn-data-lake-access-logs"
    error_message = "the lake's server access logs go to their own bucket"
  }

  assert {
    condition     = length(aws_iam_role.snowflake) == 1 && length(aws_chatbot_slack_channel_configuration.alerts) == 0 && length(aws_sns_topic_subscription.alert_email) == 1
    error_message = "with the Snowflake root's outputs given, the stage role exists; Slack only when configured"
  }
}

# An AWS sandbox without Snowflake: the loader loads into DuckDB, nothing trusts Snowflake.
run "duckdb_sandbox" {
  command = plan

  variables {
    warehouse              = "duckdb"
    snowflake_iam_user_arn = null
    snowflake_external_id  = null
    soda_image_uri         = null
    name_prefix            = "sandbox-"
  }

  assert {
    condition     = module.loader.environment["WAREHOUSE"] == "duckdb" && !contains(keys(module.loader.environment), "SNOWFLAKE_SECRET_ARN")
    error_message = "in duckdb mode the loader loads into /tmp and gets no Snowflake secret"
  }

  assert {
    condition     = length(aws_iam_role.snowflake) == 0 && length(aws_lambda_function.soda) == 0 && output.functions["loader"] == "sandbox-gfn-loader"
    error_message = "no Snowflake role or Soda job without Snowflake; names carry the prefix"
  }

  assert {
    condition     = aws_s3_bucket.lake.bucket == "sandbox-gfn-data-lake" && aws_sns_topic.topic["gfn-lake-events"].name == "sandbox-gfn-lake-events"
    error_message = "name_prefix goes before every bucket and topic name"
  }
}

# The schedule's SendMessage request, with the extractor queue's URL known: Scheduler's
# context keywords must survive jsonencode's \u003c...\u003e escaping in the body and in the
# attributes, so the run id and message id carry the scheduled time.
run "schedule_input" {
  command = plan

  override_resource {
    target          = aws_sqs_queue.queue
    override_during = plan
    values = {
      url = "https://sqs.us-east-1.amazonaws.com/123456789012/gfn-extractor"
      arn = "arn:aws:sqs:us-east-1:123456789012:gfn-extractor"
    }
  }

  assert {
    condition     = !strcontains(aws_scheduler_schedule.daily_extraction.target[0].input, "u003")
    error_message = "the schedule input still holds \\u003c/\\u003e escapes: Scheduler would not fill its context keywords"
  }

  assert {
    condition = (
      jsondecode(aws_scheduler_schedule.daily_extraction.target[0].input).MessageAttributes.run_id.StringValue == "run-<aws.scheduler.scheduled-time>" &&
      jsondecode(aws_scheduler_schedule.daily_extraction.target[0].input).MessageAttributes.id.StringValue == "scheduler-<aws.scheduler.scheduled-time>" &&
      jsondecode(aws_scheduler_schedule.daily_extraction.target[0].input).MessageAttributes.time.StringValue == "<aws.scheduler.scheduled-time>"
    )
    error_message = "run_id, id and time attributes must carry Scheduler's scheduled-time keyword"
  }

  assert {
    condition = (
      jsondecode(jsondecode(aws_scheduler_schedule.daily_extraction.target[0].input).MessageBody).run_id == "run-<aws.scheduler.scheduled-time>" &&
      jsondecode(aws_scheduler_schedule.daily_extraction.target[0].input).QueueUrl == "https://sqs.us-east-1.amazonaws.com/123456789012/gfn-extractor"
    )
    error_message = "the ExtractionRequested body must carry the scheduled run id and go to the extractor queue"
  }
}

# The shared Lambda module on its own: tracing, encrypted logs and environment, partial
# batch responses, and the 6x visibility guard.
run "lambda_service" {
  command = plan

  module {
    source = "./modules/lambda-service"
  }

  variables {
    service                          = "validator"
    function_name                    = "gfn-validator"
    description                      = "plan test"
    zip_path                         = "../dist/validator-lambda.zip"
    architecture                     = "x86_64"
    memory_mb                        = 256
    timeout_seconds                  = 20
    queue_visibility_timeout_seconds = 120
    environment                      = { RUNTIME = "lambda" }
    queue_arn                        = "arn:aws:sqs:us-east-1:123456789012:gfn-validator"
    dlq_arn                          = "arn:aws:sqs:us-east-1:123456789012:gfn-validator-dlq"
    batch_size                       = 5
    batching_window_s                = 1
    maximum_concurrency              = 5
    kms_key_arn                      = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    policy_json                      = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    log_retention_days               = 365
  }

  assert {
    condition     = aws_lambda_function.this.tracing_config[0].mode == "Active"
    error_message = "X-Ray active tracing must be on"
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.kms_key_id == var.kms_key_arn && aws_lambda_function.this.kms_key_arn == var.kms_key_arn
    error_message = "the log group and the environment must be encrypted with the pipeline key"
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this.function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "the event source must report partial batch failures"
  }
}

run "lambda_service_visibility_guard" {
  command = plan

  module {
    source = "./modules/lambda-service"
  }

  variables {
    service                          = "validator"
    function_name                    = "gfn-validator"
    description                      = "plan test"
    zip_path                         = "../dist/validator-lambda.zip"
    architecture                     = "x86_64"
    memory_mb                        = 256
    timeout_seconds                  = 30
    queue_visibility_timeout_seconds = 120
    environment                      = { RUNTIME = "lambda" }
    queue_arn                        = "arn:aws:sqs:us-east-1:123456789012:gfn-validator"
    dlq_arn                          = "arn:aws:sqs:us-east-1:123456789012:gfn-validator-dlq"
    batch_size                       = 5
    batching_window_s                = 1
    maximum_concurrency              = 5
    kms_key_arn                      = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    policy_json                      = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    log_retention_days               = 365
  }

  expect_failures = [aws_lambda_event_source_mapping.this]
}
