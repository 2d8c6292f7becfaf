# Production AWS for the GFN pipeline (Snowflake: ./snowflake, its own root and state).
# Names, filters and redrive come from contracts.DefaultTopology (contracts/topology.go);
# tools/deploytest fails when they drift.
#
# What runs where in production:
#   extractor, validator, transformer  Lambda functions on their SQS queues.
#   Snowpipe (Snowflake)               loads transformed/*.parquet into RAW; a task MERGEs.
#   loader                             Lambda with WAREHOUSE=snowflake: the load confirmer.
#                                      It gets the same S3 notification as Snowpipe (SNS
#                                      gfn-lake-events), asks COPY_HISTORY for the file and
#                                      publishes BatchLoaded or BatchFailed (not loaded within
#                                      GFN_LOAD_CONFIRM_DEADLINE). It never loads anything.
#   notifier                           Lambda: run ledger, RunCompleted/RunFailed, and (on an
#                                      EventBridge schedule) the DLQ watch.
#   soda                               Lambda container: soda/checks.yml against Snowflake
#                                      after every RunCompleted.

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

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  bucket     = "${var.name_prefix}${var.bucket_name}"

  # The topology, as contracts.DefaultTopology declares it (base names, no prefix).
  topics = ["gfn-pipeline-events", "gfn-notifications", local.lake_events_topic]

  # S3 announces transformed/ objects here (not straight to a queue) so that Snowpipe and
  # the loader's load confirmation both get every notification.
  lake_events_topic = "gfn-lake-events"

  dlq_suffix = "-dlq"

  # Visibility timeouts are at least 6x each Lambda's timeout (var.lambda_settings; AWS's
  # guidance for SQS event sources, checked by a precondition and tools/deploytest);
  # maxReceiveCount 4 = three retries.
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
    # S3 event notifications carry no event_type attribute: the loader takes them all.
    "gfn-loader" = { topic = local.lake_events_topic, event_types = [] }
  }

  # The topology's transformed/ -> gfn-loader notification, delivered through the topic.
  bucket_notifications = [
    { prefix = "transformed/", suffix = ".parquet", topic = local.lake_events_topic },
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
# never holds them. The extractor reads GFN_API_KEY_SECRET_ARN; the loader (load
# confirmation) and the Soda job read SNOWFLAKE_SECRET_ARN (JSON: account, user, database,
# warehouse, role, private_key). Nothing else is granted either secret.
resource "aws_secretsmanager_secret" "gfn_api_key" {
  #checkov:skip=CKV2_AWS_57:The GFN API key is issued by GFN; there is no API to rotate it, so it is replaced by hand when GFN reissues it.
  name        = "${var.name_prefix}gfn/api-key"
  description = "GFN API key for the extractor (bare key or {\"api_key\": ...})."
  kms_key_id  = aws_kms_key.pipeline.arn
}

resource "aws_secretsmanager_secret" "snowflake" {
  #checkov:skip=CKV2_AWS_57:A Snowflake key pair is rotated by registering a second public key on the user (RSA_PUBLIC_KEY_2), not by a Secrets Manager rotation Lambda.
  name        = "${var.name_prefix}gfn/snowflake"
  description = "Snowflake key-pair credentials for the loader's load confirmation (COPY_HISTORY) and the Soda job."
  kms_key_id  = aws_kms_key.pipeline.arn
}
