# The AWS root needs these two for the role Snowflake assumes (trust policy) and for the
# gfn-lake-events topic policy (Snowpipe's queue subscribes to it).
output "storage_aws_iam_user_arn" {
  description = "Pass to the AWS root as snowflake_iam_user_arn."
  value       = snowflake_storage_integration.lake.storage_aws_iam_user_arn
}

output "storage_aws_external_id" {
  description = "Pass to the AWS root as snowflake_external_id (DESCRIBE INTEGRATION's value; the top-level attribute is null since provider 2.5)."
  value       = snowflake_storage_integration.lake.describe_output[0].storage_aws_external_id[0].value
}

output "pipe_notification_channel" {
  description = "Snowpipe's own SQS queue, subscribed by Snowflake to the gfn-lake-events topic."
  value       = snowflake_pipe.raw.notification_channel
}
