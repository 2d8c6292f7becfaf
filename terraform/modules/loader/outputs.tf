output "function_name" {
  description = "The Lambda function's name."
  value       = module.lambda.function_name
}

output "role_arn" {
  description = "The function's execution role."
  value       = module.lambda.role_arn
}

output "environment" {
  description = "The function's environment (settings and secret ARNs, never secret values)."
  value       = module.lambda.environment
}
