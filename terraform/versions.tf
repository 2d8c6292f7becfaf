# The AWS root: everything in AWS. Snowflake is its own root (./snowflake) with its own
# state, so this one inits, validates and plans with the AWS provider alone.
# .terraform.lock.hcl (committed) pins the exact provider build; `terraform init -upgrade`
# moves it within the range below.
terraform {
  required_version = ">= 1.6.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100.0, < 7.0.0"
    }
  }
}
