output "bucket" {
  description = "Data lake bucket (GFN_BUCKET is its base name)."
  value       = aws_s3_bucket.lake.bucket
}

output "queue_urls" {
  description = "Queue URLs by base name."
  value       = { for q, _ in local.queues : q => aws_sqs_queue.queue[q].url }
}

output "dlq_urls" {
  description = "Dead-letter queue URLs by base queue name."
  value       = { for q, _ in local.queues : q => aws_sqs_queue.dlq[q].url }
}

output "topic_arns" {
  description = "SNS topic ARNs by base name."
  value       = { for t, topic in aws_sns_topic.topic : t => topic.arn }
}

output "lake_events_topic_arn" {
  description = "The topic S3 announces transformed/*.parquet on; Snowpipe (AWS_SNS_TOPIC) and the gfn-loader queue subscribe."
  value       = aws_sns_topic.topic[local.lake_events_topic].arn
}

output "snowflake_root_inputs" {
  description = "Variables the Snowflake root (terraform/snowflake) derives its AWS names from."
  value = {
    aws_account_id = local.account_id
    aws_region     = var.aws_region
    aws_partition  = local.partition
    name_prefix    = var.name_prefix
    bucket_name    = var.bucket_name
  }
}

output "snowflake_role_arn" {
  description = "The role Snowflake's storage integration assumes (null until snowflake_iam_user_arn and snowflake_external_id are set)."
  value       = local.snowflake_trusted ? aws_iam_role.snowflake[0].arn : null
}

output "alerts_topic_arn" {
  description = "gfn-alerts: every alarm and the Soda job's failed checks."
  value       = aws_sns_topic.alerts.arn
}

output "soda_repository_url" {
  description = "Push the Soda job's image here, then set soda_image_uri."
  value       = aws_ecr_repository.soda.repository_url
}

output "gfn_api_key_secret_arn" {
  description = "Put the GFN API key here: aws secretsmanager put-secret-value --secret-id <arn> --secret-string <key>."
  value       = aws_secretsmanager_secret.gfn_api_key.arn
}

output "snowflake_secret_arn" {
  description = "Put the Snowflake credentials JSON here (account, user, database, warehouse, role, private_key); read by the loader and the Soda job only."
  value       = aws_secretsmanager_secret.snowflake.arn
}

output "functions" {
  description = "Lambda function names by service."
  value = merge(
    {
      extractor   = module.extractor.function_name
      validator   = module.validator.function_name
      transformer = module.transformer.function_name
      loader      = module.loader.function_name
      notifier    = module.notifier.function_name
    },
    var.soda_image_uri == null ? {} : { soda = aws_lambda_function.soda[0].function_name },
  )
}
