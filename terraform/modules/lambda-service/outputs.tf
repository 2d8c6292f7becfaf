output "function_name" {
  description = "The Lambda function's name."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "The Lambda function's ARN."
  value       = aws_lambda_function.this.arn
}

output "role_arn" {
  description = "The function's execution role."
  value       = aws_iam_role.this.arn
}

output "environment" {
  description = "The function's environment as configured (settings and secret ARNs, never secret values)."
  value       = var.environment
}
