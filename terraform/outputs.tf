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

output "snowpipe_notification_channel" {
  description = "Snowpipe's SQS queue (S3 sends transformed/*.parquet events there)."
  value       = snowflake_pipe.raw.notification_channel
}

output "gfn_api_key_secret_arn" {
  description = "Put the GFN API key here: aws secretsmanager put-secret-value --secret-id <arn> --secret-string <key>."
  value       = aws_secretsmanager_secret.gfn_api_key.arn
}

output "snowflake_secret_arn" {
  description = "Put the Snowflake credentials JSON here (account, user, database, warehouse, role, private_key)."
  value       = aws_secretsmanager_secret.snowflake.arn
}

output "functions" {
  description = "Lambda function names by service."
  value = merge(
    {
      extractor   = module.extractor.function_name
      validator   = module.validator.function_name
      transformer = module.transformer.function_name
      notifier    = module.notifier.function_name
    },
    var.deploy_loader ? { loader = module.loader[0].function_name } : {},
  )
}
