variable "aws_region" {
  description = "AWS region for the data lake, queues and functions."
  type        = string
  default     = "us-east-1"
}

variable "environment" {
  description = "Environment name, used in tags (prod, staging, ...)."
  type        = string
  default     = "prod"
}

variable "name_prefix" {
  description = "Put before every queue, topic and bucket name, as GFN_NAME_PREFIX does for the services (contracts Topology.WithPrefix)."
  type        = string
  default     = ""
}

variable "bucket_name" {
  description = "Data lake bucket base name (GFN_BUCKET); name_prefix is put before it."
  type        = string
  default     = "gfn-data-lake"
}

variable "access_log_retention_days" {
  description = "Days the lake's S3 server access logs are kept."
  type        = number
  default     = 365
}

variable "artifacts_dir" {
  description = "Directory holding <service>-lambda.zip files built by `make package SERVICE=<service>`."
  type        = string
  default     = "../dist"
}

variable "lambda_architecture" {
  description = "Lambda architecture; must match the GOARCH the zips were built for (x86_64 = amd64)."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.lambda_architecture)
    error_message = "lambda_architecture must be x86_64 or arm64."
  }
}

variable "log_level" {
  description = "LOG_LEVEL for every function."
  type        = string
  default     = "info"
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention for the functions (a year: runs are audited against their logs)."
  type        = number
  default     = 365
}

variable "gfn_api_url" {
  description = "GFN API base URL for the extractor."
  type        = string
  default     = "https://api.footprintnetwork.org/v1"
}

variable "warehouse" {
  description = "What the loader Lambda does with each transformed/ file: \"snowflake\" (production: Snowpipe loads it, the loader confirms the load from COPY_HISTORY and publishes BatchLoaded/BatchFailed) or \"duckdb\" (an AWS sandbox without Snowflake: the loader loads it into a scratch DuckDB in /tmp)."
  type        = string
  default     = "snowflake"

  validation {
    condition     = contains(["snowflake", "duckdb"], var.warehouse)
    error_message = "warehouse must be snowflake or duckdb."
  }
}

variable "load_confirm_deadline" {
  description = "GFN_LOAD_CONFIRM_DEADLINE for the loader: how long after the object's creation a file may stay unloaded in Snowflake before the loader publishes BatchFailed (Snowpipe usually loads within a minute)."
  type        = string
  default     = "15m"
}

# From the Snowflake root's outputs (terraform -chdir=snowflake output). Until they are set,
# the role Snowflake assumes and Snowpipe's topic subscription grant are not created.
variable "snowflake_iam_user_arn" {
  description = "The Snowflake account's AWS IAM user (the storage integration's storage_aws_iam_user_arn): it assumes the stage role and subscribes Snowpipe's queue to gfn-lake-events."
  type        = string
  default     = null
}

variable "snowflake_external_id" {
  description = "The storage integration's external id (the Snowflake root's storage_aws_external_id output)."
  type        = string
  default     = null
}

variable "dlq_watch_schedule" {
  description = "How often EventBridge invokes the notifier's DLQ watch (a message the redrive policy moved fails its run)."
  type        = string
  default     = "rate(1 minute)"
}

variable "soda_image_uri" {
  description = "The tier-2 quality job's image (soda/, pushed to the gfn-soda ECR repository). Null until the first image is pushed: the repository is created, the function is not."
  type        = string
  default     = null
}

variable "alert_emails" {
  description = "Email addresses subscribed to the gfn-alerts topic (each confirms by mail)."
  type        = list(string)
  default     = []
}

variable "slack_workspace_id" {
  description = "Slack workspace (team) id for AWS Chatbot; with slack_channel_id, alarms also post to Slack. The workspace must be authorised in the Chatbot console once."
  type        = string
  default     = null
}

variable "slack_channel_id" {
  description = "Slack channel id the alerts go to (with slack_workspace_id)."
  type        = string
  default     = null
}

variable "run_duration_warning_seconds" {
  description = "Warn when a run takes longer than this."
  type        = number
  default     = 600
}

variable "handler_error_rate_percent" {
  description = "Critical when more than this share of a service's messages fail."
  type        = number
  default     = 5
}

variable "run_completed_within_hours" {
  description = "Alarm when no RunCompleted has been seen for this long (the daily schedule plus slack)."
  type        = number
  default     = 26

  # One-hour periods: CloudWatch evaluates at most 7 days of them.
  validation {
    condition     = var.run_completed_within_hours >= 1 && var.run_completed_within_hours <= 168
    error_message = "run_completed_within_hours must be between 1 and 168."
  }
}

variable "schedule_expression" {
  description = "When EventBridge Scheduler requests the daily extraction."
  type        = string
  default     = "cron(0 6 * * ? *)"
}

variable "schedule_timezone" {
  description = "Time zone of schedule_expression."
  type        = string
  default     = "UTC"
}

variable "extraction_from_year" {
  description = "First year the scheduled run extracts; null means the API's range."
  type        = number
  default     = null
}

variable "extraction_to_year" {
  description = "Last year the scheduled run extracts; null means the API's range."
  type        = number
  default     = null
}

variable "alarm_actions" {
  description = "ARNs notified when an alarm fires, besides the gfn-alerts topic (e.g. an on-call system's SNS topic)."
  type        = list(string)
  default     = []
}

variable "oldest_message_alarm_seconds" {
  description = "Alarm when a queue's oldest message is older than this."
  type        = number
  default     = 1800
}

variable "lambda_settings" {
  description = "Per-service Lambda sizing and SQS event source settings (tools/e2e's event-source poller reads these)."
  type = map(object({
    memory_mb           = number
    timeout_seconds     = number
    batch_size          = number
    batching_window_s   = number
    maximum_concurrency = number
  }))
  # Each timeout is at most 1/6 of its queue's visibility timeout (contracts.DefaultTopology:
  # 900, 120, 120, 300, 60 s), as AWS asks for SQS event sources: Lambda's poller holds a
  # batch while it retries throttled invokes, and a shorter visibility would hand the same
  # message to a second invocation. One year's download (extractor), five ~1,200-row
  # batches (validator, transformer), one COPY_HISTORY query (loader) and ten ledger updates
  # (notifier) each fit well inside.
  default = {
    extractor   = { memory_mb = 512, timeout_seconds = 150, batch_size = 1, batching_window_s = 0, maximum_concurrency = 2 }
    validator   = { memory_mb = 1024, timeout_seconds = 20, batch_size = 5, batching_window_s = 1, maximum_concurrency = 5 }
    transformer = { memory_mb = 1024, timeout_seconds = 20, batch_size = 5, batching_window_s = 1, maximum_concurrency = 5 }
    loader      = { memory_mb = 1024, timeout_seconds = 50, batch_size = 1, batching_window_s = 0, maximum_concurrency = 2 }
    notifier    = { memory_mb = 256, timeout_seconds = 10, batch_size = 10, batching_window_s = 1, maximum_concurrency = 2 }
  }
}
