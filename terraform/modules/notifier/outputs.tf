output "function_name" {
  description = "The Lambda function's name."
  value       = module.lambda.function_name
}

output "role_arn" {
  description = "The function's execution role."
  value       = module.lambda.role_arn
}

output "dlq_watch_rule" {
  description = "The EventBridge rule that runs the DLQ watch."
  value       = aws_cloudwatch_event_rule.dlq_watch.name
}

output "environment" {
  description = "The function's environment (settings and secret ARNs, never secret values)."
  value       = module.lambda.environment
}
