# Snowflake authentication comes from the environment (SNOWFLAKE_PRIVATE_KEY), never from
# tfvars in the repository.
variable "snowflake_organization_name" {
  description = "Snowflake organization name."
  type        = string
}

variable "snowflake_account_name" {
  description = "Snowflake account name."
  type        = string
}

variable "snowflake_user" {
  description = "Snowflake user terraform connects as."
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

# The AWS root's names, which this root derives rather than reads (the two states are
# applied in turns, see terraform/README.md). Give the same values as to the AWS root.
variable "aws_account_id" {
  description = "AWS account holding the data lake (the AWS root's account)."
  type        = string
}

variable "aws_region" {
  description = "AWS region of the data lake and the gfn-lake-events topic."
  type        = string
  default     = "us-east-1"
}

variable "aws_partition" {
  description = "AWS partition (aws, aws-us-gov, aws-cn)."
  type        = string
  default     = "aws"
}

variable "name_prefix" {
  description = "The AWS root's name_prefix."
  type        = string
  default     = ""
}

variable "bucket_name" {
  description = "The AWS root's bucket_name (name_prefix is put before it)."
  type        = string
  default     = "gfn-data-lake"
}
