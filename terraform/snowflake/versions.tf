# The Snowflake side of production loading, its own root module with its own state: the AWS
# root (../) then initialises, validates and plans without the Snowflake provider, which our
# CI machines cannot download. tools/deploytest checks this root statically (HCL): provider
# source, column case against shared/warehouse and sql/merge_task.sql, change tracking, and
# the names it shares with the AWS root.
terraform {
  required_version = ">= 1.6.0"

  required_providers {
    # 2.x is published as snowflakedb/snowflake (Snowflake-Labs/snowflake stops at 1.x).
    # Pinned to a minor line: the provider still changes preview resource schemas between
    # minors. The first `terraform init` with registry access writes .terraform.lock.hcl
    # next to this file: commit it.
    snowflake = {
      source  = "snowflakedb/snowflake"
      version = "~> 2.10.0"
    }
  }
}

provider "snowflake" {
  organization_name = var.snowflake_organization_name
  account_name      = var.snowflake_account_name
  user              = var.snowflake_user
  role              = var.snowflake_role
  authenticator     = "SNOWFLAKE_JWT"
  # private_key comes from SNOWFLAKE_PRIVATE_KEY in the environment.

  # Resources the provider still ships as preview must be enabled explicitly.
  preview_features_enabled = [
    "snowflake_table_resource",
    "snowflake_stage_resource",
    "snowflake_pipe_resource",
    "snowflake_storage_integration_resource",
  ]
}
