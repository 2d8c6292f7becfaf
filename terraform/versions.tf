terraform {
  required_version = ">= 1.6.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    # Pinned to a minor line: the provider still changes resource schemas between minors.
    # .terraform.lock.hcl (commit it) pins the exact build.
    snowflake = {
      source  = "Snowflake-Labs/snowflake"
      version = "~> 2.10.0"
    }
  }
}
