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
  description = "CloudWatch Logs retention for the functions."
  type        = number
  default     = 30
}

variable "gfn_api_url" {
  description = "GFN API base URL for the extractor."
  type        = string
  default     = "https://api.footprintnetwork.org/v1"
}

variable "loader_notification_target" {
  description = "Where S3 sends ObjectCreated for transformed/*.parquet: \"snowpipe\" (production: the pipe's SQS channel) or \"loader_queue\" (the DuckDB loader's queue, for an AWS sandbox without Snowflake)."
  type        = string
  default     = "snowpipe"

  validation {
    condition     = contains(["snowpipe", "loader_queue"], var.loader_notification_target)
    error_message = "loader_notification_target must be snowpipe or loader_queue."
  }
}

variable "deploy_loader" {
  description = "Deploy the DuckDB loader as a Lambda. Production loads through Snowpipe, so this is off; turn it on with loader_notification_target = \"loader_queue\"."
  type        = bool
  default     = false
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
  description = "ARNs notified when an alarm fires (e.g. an on-call SNS topic)."
  type        = list(string)
  default     = []
}

variable "oldest_message_alarm_seconds" {
  description = "Alarm when a queue's oldest message is older than this."
  type        = number
  default     = 1800
}

variable "lambda_settings" {
  description = "Per-service Lambda sizing and SQS event source settings."
  type = map(object({
    memory_mb           = number
    timeout_seconds     = number
    batch_size          = number
    batching_window_s   = number
    maximum_concurrency = number
  }))
  # Timeouts stay below each queue's visibility timeout (contracts.DefaultTopology), so a
  # message is never redelivered while its handler still runs.
  default = {
    extractor   = { memory_mb = 512, timeout_seconds = 840, batch_size = 1, batching_window_s = 0, maximum_concurrency = 2 }
    validator   = { memory_mb = 1024, timeout_seconds = 110, batch_size = 5, batching_window_s = 1, maximum_concurrency = 5 }
    transformer = { memory_mb = 1024, timeout_seconds = 110, batch_size = 5, batching_window_s = 1, maximum_concurrency = 5 }
    loader      = { memory_mb = 2048, timeout_seconds = 280, batch_size = 1, batching_window_s = 0, maximum_concurrency = 2 }
    notifier    = { memory_mb = 256, timeout_seconds = 50, batch_size = 10, batching_window_s = 1, maximum_concurrency = 2 }
  }
}

# Snowflake. Authentication comes from the environment (SNOWFLAKE_PRIVATE_KEY,
# SNOWFLAKE_AUTHENTICATOR=SNOWFLAKE_JWT), never from tfvars in the repo.
variable "snowflake_organization_name" {
  description = "Snowflake organization name."
  type        = string
}

variable "snowflake_account_name" {
  description = "Snowflake account name."
  type        = string
}

variable "snowflake_user" {
  description = "Snowflake user terraform (and the notifier) connect as."
  type        = string
}

variable "snowflake_role" {
  description = "Snowflake role terraform runs as (needs CREATE INTEGRATION)."
  type        = string
  default     = "ACCOUNTADMIN"
}

variable "snowflake_warehouse" {
  description = "Warehouse the MERGE task runs on."
  type        = string
}

variable "snowflake_database" {
  description = "Database holding RAW and TRANSFORMED."
  type        = string
  default     = "GFN"
}
