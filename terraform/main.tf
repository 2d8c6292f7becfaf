# Production AWS + Snowflake for the GFN pipeline. Names, filters and redrive come from
# contracts.DefaultTopology (contracts/topology.go); tools/deploytest fails when they drift.

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = {
      project     = "gfn-pipeline"
      environment = var.environment
      managed_by  = "terraform"
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

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  bucket     = "${var.name_prefix}${var.bucket_name}"

  # The topology, as contracts.DefaultTopology declares it (base names, no prefix).
  topics = ["gfn-pipeline-events", "gfn-notifications"]

  dlq_suffix = "-dlq"

  # Visibility timeouts exceed each handler's worst case; maxReceiveCount 4 = three retries.
  queues = {
    "gfn-extractor"   = { visibility_timeout_seconds = 900, max_receive_count = 4, retention_seconds = 345600 }
    "gfn-validator"   = { visibility_timeout_seconds = 120, max_receive_count = 4, retention_seconds = 345600 }
    "gfn-transformer" = { visibility_timeout_seconds = 120, max_receive_count = 4, retention_seconds = 345600 }
    "gfn-loader"      = { visibility_timeout_seconds = 300, max_receive_count = 4, retention_seconds = 345600 }
    "gfn-notifier"    = { visibility_timeout_seconds = 60, max_receive_count = 4, retention_seconds = 345600 }
  }

  # SNS filter policies match this message attribute (raw message delivery).
  filter_attribute = "event_type"

  # Keyed by the subscribed queue; an empty event_types list takes every event.
  subscriptions = {
    "gfn-validator"   = { topic = "gfn-pipeline-events", event_types = ["RawBatchLanded"] }
    "gfn-transformer" = { topic = "gfn-pipeline-events", event_types = ["BatchValidated"] }
    "gfn-notifier"    = { topic = "gfn-pipeline-events", event_types = [] }
  }

  bucket_notifications = [
    { prefix = "transformed/", suffix = ".parquet", queue = "gfn-loader" },
  ]

  # Commands go straight to a queue, not through SNS.
  command_queues = {
    "ExtractionRequested" = "gfn-extractor"
  }

  queue_names = { for q, _ in local.queues : q => "${var.name_prefix}${q}" }
  topic_names = { for t in local.topics : t => "${var.name_prefix}${t}" }

  # Settings every function reads (shared/platform).
  common_env = {
    RUNTIME         = "lambda"
    GFN_BUCKET      = var.bucket_name
    GFN_NAME_PREFIX = var.name_prefix
    LOG_LEVEL       = var.log_level
  }
}

# One customer-managed key for the lake, queues, topics and secrets: audit in CloudTrail,
# and grants limited to the pipeline's roles.
resource "aws_kms_key" "pipeline" {
  description             = "GFN pipeline data at rest (S3, SQS, SNS, Secrets Manager)"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "pipeline" {
  name          = "alias/${var.name_prefix}gfn-pipeline"
  target_key_id = aws_kms_key.pipeline.key_id
}

# Secret values are set out of band (aws secretsmanager put-secret-value): terraform state
# never holds them. The extractor reads GFN_API_KEY_SECRET_ARN; the notifier
# SNOWFLAKE_SECRET_ARN (JSON: account, user, database, warehouse, role, private_key).
resource "aws_secretsmanager_secret" "gfn_api_key" {
  name        = "${var.name_prefix}gfn/api-key"
  description = "GFN API key for the extractor (bare key or {\"api_key\": ...})."
  kms_key_id  = aws_kms_key.pipeline.arn
}

resource "aws_secretsmanager_secret" "snowflake" {
  name        = "${var.name_prefix}gfn/snowflake"
  description = "Snowflake key-pair credentials for load confirmation (COPY_HISTORY)."
  kms_key_id  = aws_kms_key.pipeline.arn
}
