# One Lambda per service, each its own module instance so it deploys alone:
#   make package SERVICE=validator && terraform apply -target=module.validator

locals {
  zip = { for s in ["extractor", "validator", "transformer", "loader", "notifier"] : s => "${var.artifacts_dir}/${s}-lambda.zip" }
}

module "extractor" {
  source = "./modules/extractor"

  function_name      = "${var.name_prefix}gfn-extractor"
  zip_path           = local.zip["extractor"]
  architecture       = var.lambda_architecture
  settings           = var.lambda_settings["extractor"]
  environment        = local.common_env
  bucket_arn         = aws_s3_bucket.lake.arn
  queue_arn          = aws_sqs_queue.queue["gfn-extractor"].arn
  dlq_arn            = aws_sqs_queue.dlq["gfn-extractor"].arn
  events_topic_arn   = aws_sns_topic.topic["gfn-pipeline-events"].arn
  kms_key_arn        = aws_kms_key.pipeline.arn
  log_retention_days = var.log_retention_days
  alarm_actions      = var.alarm_actions
  api_url            = var.gfn_api_url
  api_key_secret_arn = aws_secretsmanager_secret.gfn_api_key.arn
}

module "validator" {
  source = "./modules/validator"

  function_name      = "${var.name_prefix}gfn-validator"
  zip_path           = local.zip["validator"]
  architecture       = var.lambda_architecture
  settings           = var.lambda_settings["validator"]
  environment        = local.common_env
  bucket_arn         = aws_s3_bucket.lake.arn
  queue_arn          = aws_sqs_queue.queue["gfn-validator"].arn
  dlq_arn            = aws_sqs_queue.dlq["gfn-validator"].arn
  events_topic_arn   = aws_sns_topic.topic["gfn-pipeline-events"].arn
  kms_key_arn        = aws_kms_key.pipeline.arn
  log_retention_days = var.log_retention_days
  alarm_actions      = var.alarm_actions
}

module "transformer" {
  source = "./modules/transformer"

  function_name      = "${var.name_prefix}gfn-transformer"
  zip_path           = local.zip["transformer"]
  architecture       = var.lambda_architecture
  settings           = var.lambda_settings["transformer"]
  environment        = local.common_env
  bucket_arn         = aws_s3_bucket.lake.arn
  queue_arn          = aws_sqs_queue.queue["gfn-transformer"].arn
  dlq_arn            = aws_sqs_queue.dlq["gfn-transformer"].arn
  events_topic_arn   = aws_sns_topic.topic["gfn-pipeline-events"].arn
  kms_key_arn        = aws_kms_key.pipeline.arn
  log_retention_days = var.log_retention_days
  alarm_actions      = var.alarm_actions
}

# Production loads with Snowpipe; the DuckDB loader is for a sandbox without Snowflake.
module "loader" {
  source = "./modules/loader"
  count  = var.deploy_loader ? 1 : 0

  function_name      = "${var.name_prefix}gfn-loader"
  zip_path           = local.zip["loader"]
  architecture       = var.lambda_architecture
  settings           = var.lambda_settings["loader"]
  environment        = local.common_env
  bucket_arn         = aws_s3_bucket.lake.arn
  queue_arn          = aws_sqs_queue.queue["gfn-loader"].arn
  dlq_arn            = aws_sqs_queue.dlq["gfn-loader"].arn
  events_topic_arn   = aws_sns_topic.topic["gfn-pipeline-events"].arn
  kms_key_arn        = aws_kms_key.pipeline.arn
  log_retention_days = var.log_retention_days
  alarm_actions      = var.alarm_actions
}

module "notifier" {
  source = "./modules/notifier"

  function_name           = "${var.name_prefix}gfn-notifier"
  zip_path                = local.zip["notifier"]
  architecture            = var.lambda_architecture
  settings                = var.lambda_settings["notifier"]
  environment             = local.common_env
  bucket_arn              = aws_s3_bucket.lake.arn
  queue_arn               = aws_sqs_queue.queue["gfn-notifier"].arn
  dlq_arn                 = aws_sqs_queue.dlq["gfn-notifier"].arn
  events_topic_arn        = aws_sns_topic.topic["gfn-pipeline-events"].arn
  notifications_topic_arn = aws_sns_topic.topic["gfn-notifications"].arn
  snowflake_secret_arn    = aws_secretsmanager_secret.snowflake.arn
  kms_key_arn             = aws_kms_key.pipeline.arn
  log_retention_days      = var.log_retention_days
  alarm_actions           = var.alarm_actions
}
