# One Lambda per service, each its own module instance so it deploys alone:
#   make package SERVICE=validator && terraform apply -target=module.validator

locals {
  # The pipeline's services: contracts.Services, which tools/deploytest checks this against.
  services = ["extractor", "validator", "transformer", "loader", "notifier"]
  zip      = { for s in local.services : s => "${var.artifacts_dir}/${s}-lambda.zip" }

  # Alarms and errors reach the gfn-alerts topic (email, Slack) and any extra targets.
  alarm_actions = concat([aws_sns_topic.alerts.arn], var.alarm_actions)
}

module "extractor" {
  source = "./modules/extractor"

  function_name                    = "${var.name_prefix}gfn-extractor"
  zip_path                         = local.zip["extractor"]
  architecture                     = var.lambda_architecture
  settings                         = var.lambda_settings["extractor"]
  environment                      = local.common_env
  bucket_arn                       = aws_s3_bucket.lake.arn
  queue_arn                        = aws_sqs_queue.queue["gfn-extractor"].arn
  queue_visibility_timeout_seconds = local.queues["gfn-extractor"].visibility_timeout_seconds
  dlq_arn                          = aws_sqs_queue.dlq["gfn-extractor"].arn
  events_topic_arn                 = aws_sns_topic.topic["gfn-pipeline-events"].arn
  kms_key_arn                      = aws_kms_key.pipeline.arn
  log_retention_days               = var.log_retention_days
  alarm_actions                    = local.alarm_actions
  api_url                          = var.gfn_api_url
  api_key_secret_arn               = aws_secretsmanager_secret.gfn_api_key.arn
}

module "validator" {
  source = "./modules/validator"

  function_name                    = "${var.name_prefix}gfn-validator"
  zip_path                         = local.zip["validator"]
  architecture                     = var.lambda_architecture
  settings                         = var.lambda_settings["validator"]
  environment                      = local.common_env
  bucket_arn                       = aws_s3_bucket.lake.arn
  queue_arn                        = aws_sqs_queue.queue["gfn-validator"].arn
  queue_visibility_timeout_seconds = local.queues["gfn-validator"].visibility_timeout_seconds
  dlq_arn                          = aws_sqs_queue.dlq["gfn-validator"].arn
  events_topic_arn                 = aws_sns_topic.topic["gfn-pipeline-events"].arn
  kms_key_arn                      = aws_kms_key.pipeline.arn
  log_retention_days               = var.log_retention_days
  alarm_actions                    = local.alarm_actions
}

module "transformer" {
  source = "./modules/transformer"

  function_name                    = "${var.name_prefix}gfn-transformer"
  zip_path                         = local.zip["transformer"]
  architecture                     = var.lambda_architecture
  settings                         = var.lambda_settings["transformer"]
  environment                      = local.common_env
  bucket_arn                       = aws_s3_bucket.lake.arn
  queue_arn                        = aws_sqs_queue.queue["gfn-transformer"].arn
  queue_visibility_timeout_seconds = local.queues["gfn-transformer"].visibility_timeout_seconds
  dlq_arn                          = aws_sqs_queue.dlq["gfn-transformer"].arn
  events_topic_arn                 = aws_sns_topic.topic["gfn-pipeline-events"].arn
  kms_key_arn                      = aws_kms_key.pipeline.arn
  log_retention_days               = var.log_retention_days
  alarm_actions                    = local.alarm_actions
}

# Always deployed. Production (warehouse = "snowflake"): the load confirmer for Snowpipe's
# loads; the only function besides the Soda job that gets the Snowflake secret.
module "loader" {
  source = "./modules/loader"

  function_name                    = "${var.name_prefix}gfn-loader"
  zip_path                         = local.zip["loader"]
  architecture                     = var.lambda_architecture
  settings                         = var.lambda_settings["loader"]
  environment                      = local.common_env
  bucket_arn                       = aws_s3_bucket.lake.arn
  queue_arn                        = aws_sqs_queue.queue["gfn-loader"].arn
  queue_visibility_timeout_seconds = local.queues["gfn-loader"].visibility_timeout_seconds
  dlq_arn                          = aws_sqs_queue.dlq["gfn-loader"].arn
  events_topic_arn                 = aws_sns_topic.topic["gfn-pipeline-events"].arn
  kms_key_arn                      = aws_kms_key.pipeline.arn
  log_retention_days               = var.log_retention_days
  alarm_actions                    = local.alarm_actions
  warehouse                        = var.warehouse
  snowflake_secret_arn             = aws_secretsmanager_secret.snowflake.arn
  load_confirm_deadline            = var.load_confirm_deadline
}

module "notifier" {
  source = "./modules/notifier"

  function_name                    = "${var.name_prefix}gfn-notifier"
  zip_path                         = local.zip["notifier"]
  architecture                     = var.lambda_architecture
  settings                         = var.lambda_settings["notifier"]
  environment                      = local.common_env
  bucket_arn                       = aws_s3_bucket.lake.arn
  queue_arn                        = aws_sqs_queue.queue["gfn-notifier"].arn
  queue_visibility_timeout_seconds = local.queues["gfn-notifier"].visibility_timeout_seconds
  dlq_arn                          = aws_sqs_queue.dlq["gfn-notifier"].arn
  events_topic_arn                 = aws_sns_topic.topic["gfn-pipeline-events"].arn
  notifications_topic_arn          = aws_sns_topic.topic["gfn-notifications"].arn
  watched_dlq_arns                 = [for q, _ in local.queues : aws_sqs_queue.dlq[q].arn]
  dlq_watch_schedule               = var.dlq_watch_schedule
  kms_key_arn                      = aws_kms_key.pipeline.arn
  log_retention_days               = var.log_retention_days
  alarm_actions                    = local.alarm_actions
}
