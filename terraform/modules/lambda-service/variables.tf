variable "service" {
  description = "Service name (extractor, validator, ...): the binary and the log source."
  type        = string
}

variable "function_name" {
  description = "Lambda function name."
  type        = string
}

variable "description" {
  description = "What the function does in production (shown in the Lambda console)."
  type        = string
}

variable "zip_path" {
  description = "Path of the zip `make package SERVICE=<service>` built (holds `bootstrap`)."
  type        = string
}

variable "architecture" {
  description = "x86_64 or arm64, matching the zip's GOARCH."
  type        = string
}

variable "memory_mb" {
  description = "Function memory."
  type        = number
}

variable "timeout_seconds" {
  description = "Function timeout; at most 1/6 of the queue's visibility timeout."
  type        = number
}

variable "queue_visibility_timeout_seconds" {
  description = "The consumed queue's visibility timeout (checked against timeout_seconds)."
  type        = number
}

variable "environment" {
  description = "Environment variables (no secret values: pass secret ARNs)."
  type        = map(string)
}

variable "queue_arn" {
  description = "ARN of the queue the function consumes."
  type        = string
}

variable "dlq_arn" {
  description = "ARN of the queue's DLQ (permanent failures are sent there at once)."
  type        = string
}

variable "batch_size" {
  description = "SQS messages per invocation."
  type        = number
}

variable "batching_window_s" {
  description = "Seconds to gather a batch."
  type        = number
}

variable "maximum_concurrency" {
  description = "Most concurrent invocations the event source starts (2 to 1000)."
  type        = number
}

variable "kms_key_arn" {
  description = "Key encrypting the queues, topics, bucket and secrets."
  type        = string
}

variable "policy_json" {
  description = "The service's own permissions (S3 prefixes, topics, secrets), least privilege."
  type        = string
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention."
  type        = number
}

variable "alarm_actions" {
  description = "ARNs notified when the errors alarm fires."
  type        = list(string)
  default     = []
}
