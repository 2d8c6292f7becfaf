variable "function_name" {
  description = "Lambda function name."
  type        = string
}

variable "zip_path" {
  description = "The service's Lambda zip (make package)."
  type        = string
}

variable "architecture" {
  description = "x86_64 or arm64."
  type        = string
}

variable "settings" {
  description = "Sizing and event source settings."
  type = object({
    memory_mb           = number
    timeout_seconds     = number
    batch_size          = number
    batching_window_s   = number
    maximum_concurrency = number
  })
}

variable "environment" {
  description = "Platform environment variables (RUNTIME, GFN_BUCKET, GFN_NAME_PREFIX, LOG_LEVEL)."
  type        = map(string)
}

variable "bucket_arn" {
  description = "Data lake bucket ARN."
  type        = string
}

variable "queue_arn" {
  description = "The service's queue."
  type        = string
}

variable "queue_visibility_timeout_seconds" {
  description = "The queue's visibility timeout (at least 6x settings.timeout_seconds)."
  type        = number
}

variable "dlq_arn" {
  description = "The service's dead-letter queue."
  type        = string
}

variable "events_topic_arn" {
  description = "The pipeline events topic the service publishes to."
  type        = string
}

variable "kms_key_arn" {
  description = "The pipeline's KMS key."
  type        = string
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention."
  type        = number
}

variable "alarm_actions" {
  description = "ARNs notified by alarms."
  type        = list(string)
  default     = []
}

variable "notifications_topic_arn" {
  description = "Topic RunCompleted and RunFailed are published to."
  type        = string
}

variable "watched_dlq_arns" {
  description = "Every pipeline DLQ the DLQ watch reads."
  type        = list(string)
}

variable "dlq_watch_schedule" {
  description = "EventBridge schedule expression for the DLQ watch."
  type        = string
}
