variable "name" { type = string }
variable "settings" { type = any }
variable "queue_arn" { type = string }
variable "reports" {
  type    = bool
  default = true
}

resource "aws_lambda_function" "this" {
  function_name    = var.name
  timeout          = var.settings.timeout
  memory_size      = 128
  source_code_hash = filebase64sha256("nowhere.zip")
}

resource "aws_lambda_event_source_mapping" "this" {
  event_source_arn                   = var.queue_arn
  function_name                      = aws_lambda_function.this.arn
  batch_size                         = var.settings.batch
  maximum_batching_window_in_seconds = var.settings.window
  function_response_types            = var.reports ? ["ReportBatchItemFailures"] : []

  scaling_config {
    maximum_concurrency = var.settings.concurrency
  }
}
