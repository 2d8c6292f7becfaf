# Snowflake side of production loading: S3 announces each transformed/*.parquet on the SNS
# topic gfn-lake-events; Snowpipe's queue subscribes to it and auto-ingests the file into
# RAW.ECOLOGICAL_FOOTPRINT (MATCH_BY_COLUMN_NAME); a stream on RAW feeds a task that MERGEs
# into TRANSFORMED (latest extraction wins). The loader Lambda (AWS root, WAREHOUSE=snowflake)
# gets the same notification and confirms each load from COPY_HISTORY. Object names match
# shared/warehouse (RawTable, RawStream, MergeTask, DefaultPipe); the task body is its
# mergeTransaction.

locals {
  # shared/warehouse rowColumns + loadColumns, Snowflake types. The provider quotes column
  # names, so they are written in upper case: the identifier Snowflake gives an unquoted name.
  # sql/merge_task.sql, the pipe's INCLUDE_METADATA and the drivers' SQL use unquoted names,
  # MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE maps the Parquet's lower-case columns onto them.
  warehouse_columns = [
    { name = "YEAR", type = "NUMBER(38,0)", nullable = false },
    { name = "COUNTRY_CODE", type = "NUMBER(38,0)", nullable = false },
    { name = "COUNTRY_NAME", type = "VARCHAR", nullable = false },
    { name = "SHORT_NAME", type = "VARCHAR", nullable = false },
    { name = "ISO_ALPHA2", type = "VARCHAR", nullable = true },
    { name = "ISO_ALPHA3", type = "VARCHAR", nullable = true },
    { name = "IS_AGGREGATE", type = "BOOLEAN", nullable = false },
    { name = "RECORD_TYPE", type = "VARCHAR", nullable = false },
    { name = "CROP_LAND", type = "FLOAT", nullable = true },
    { name = "GRAZING_LAND", type = "FLOAT", nullable = true },
    { name = "FOREST_LAND", type = "FLOAT", nullable = true },
    { name = "FISHING_GROUND", type = "FLOAT", nullable = true },
    { name = "BUILTUP_LAND", type = "FLOAT", nullable = true },
    { name = "CARBON", type = "FLOAT", nullable = true },
    { name = "VALUE", type = "FLOAT", nullable = false },
    { name = "SCORE", type = "VARCHAR", nullable = true },
    { name = "EXTRA", type = "VARCHAR", nullable = true },
    { name = "RUN_ID", type = "VARCHAR", nullable = false },
    { name = "BATCH_ID", type = "VARCHAR", nullable = false },
    { name = "SOURCE_KEY", type = "VARCHAR", nullable = false },
    { name = "EXTRACTED_AT", type = "TIMESTAMP_NTZ", nullable = false },
    { name = "FILE_NAME", type = "VARCHAR", nullable = false },
    { name = "LOAD_ID", type = "VARCHAR", nullable = false },
    { name = "LOADED_AT", type = "TIMESTAMP_NTZ", nullable = false },
  ]
  bucket       = "${var.name_prefix}${var.bucket_name}"
  sf_raw_table = "${snowflake_database.gfn.name}.${snowflake_schema.raw.name}.${snowflake_table.raw.name}"

  # Names the AWS root gives (terraform/iam.tf, terraform/main.tf); deploytest keeps them equal.
  snowflake_role_name   = "${var.name_prefix}gfn-snowflake-stage"
  snowflake_role_arn    = "arn:${var.aws_partition}:iam::${var.aws_account_id}:role/${local.snowflake_role_name}"
  lake_events_topic     = "${var.name_prefix}gfn-lake-events"
  lake_events_topic_arn = "arn:${var.aws_partition}:sns:${var.aws_region}:${var.aws_account_id}:${local.lake_events_topic}"
}

resource "snowflake_database" "gfn" {
  name    = var.snowflake_database
  comment = "GFN National Footprint and Biocapacity Accounts"
}

resource "snowflake_schema" "raw" {
  database = snowflake_database.gfn.name
  name     = "RAW"
  comment  = "Append-only: one row per loaded Parquet row (Snowpipe)."
}

resource "snowflake_schema" "transformed" {
  database = snowflake_database.gfn.name
  name     = "TRANSFORMED"
  comment  = "One row per (country_code, year, record_type), latest wins."
}

resource "snowflake_table" "raw" {
  database = snowflake_database.gfn.name
  schema   = snowflake_schema.raw.name
  name     = "ECOLOGICAL_FOOTPRINT"
  comment  = "Append-only: one row per loaded Parquet row (Snowpipe)."
  # The stream below needs change tracking; Snowflake turns it on when the stream is
  # created, so declaring it keeps every later plan from drifting back to false.
  change_tracking = true

  dynamic "column" {
    for_each = local.warehouse_columns

    content {
      name     = column.value.name
      type     = column.value.type
      nullable = column.value.nullable
    }
  }
}

resource "snowflake_table" "transformed" {
  database = snowflake_database.gfn.name
  schema   = snowflake_schema.transformed.name
  name     = "ECOLOGICAL_FOOTPRINT"

  dynamic "column" {
    for_each = local.warehouse_columns

    content {
      name     = column.value.name
      type     = column.value.type
      nullable = column.value.nullable
    }
  }
}

# The country dimension the task keeps in step (shared/warehouse CountriesTable).
resource "snowflake_table" "countries" {
  database = snowflake_database.gfn.name
  schema   = snowflake_schema.transformed.name
  name     = "COUNTRIES"

  dynamic "column" {
    for_each = [
      { name = "COUNTRY_CODE", type = "NUMBER(38,0)", nullable = false },
      { name = "COUNTRY_NAME", type = "VARCHAR", nullable = false },
      { name = "SHORT_NAME", type = "VARCHAR", nullable = true },
      { name = "ISO_ALPHA2", type = "VARCHAR", nullable = true },
      { name = "ISO_ALPHA3", type = "VARCHAR", nullable = true },
      { name = "IS_AGGREGATE", type = "BOOLEAN", nullable = false },
      { name = "FIRST_YEAR", type = "NUMBER(38,0)", nullable = false },
      { name = "LAST_YEAR", type = "NUMBER(38,0)", nullable = false },
    ]

    content {
      name     = column.value.name
      type     = column.value.type
      nullable = column.value.nullable
    }
  }
}

resource "snowflake_storage_integration" "lake" {
  name                      = "${upper(replace(var.name_prefix, "-", "_"))}GFN_LAKE"
  type                      = "EXTERNAL_STAGE"
  storage_provider          = "S3"
  enabled                   = true
  storage_aws_role_arn      = local.snowflake_role_arn
  storage_allowed_locations = ["s3://${local.bucket}/transformed/"]
  comment                   = "Snowpipe reads the GFN lake's transformed/ through the AWS role ${local.snowflake_role_name}."
}

resource "snowflake_stage" "transformed" {
  database            = snowflake_database.gfn.name
  schema              = snowflake_schema.raw.name
  name                = "TRANSFORMED_STAGE"
  url                 = "s3://${local.bucket}/transformed/"
  storage_integration = snowflake_storage_integration.lake.name
  file_format         = "TYPE = PARQUET"
}

# Auto-ingest through the SNS topic (AWS_SNS_TOPIC): Snowflake subscribes the pipe's own SQS
# queue (notification_channel) to gfn-lake-events, which the loader's queue shares. File
# name, load id (the file's content key) and load time fill RAW's lineage columns.
resource "snowflake_pipe" "raw" {
  database          = snowflake_database.gfn.name
  schema            = snowflake_schema.raw.name
  name              = "ECOLOGICAL_FOOTPRINT_PIPE"
  auto_ingest       = true
  aws_sns_topic_arn = local.lake_events_topic_arn
  comment           = "transformed/*.parquet from s3://${local.bucket} into RAW; loads are confirmed by the gfn-loader Lambda (COPY_HISTORY)."

  copy_statement = <<-SQL
    COPY INTO ${local.sf_raw_table}
    FROM @${snowflake_database.gfn.name}.${snowflake_schema.raw.name}.${snowflake_stage.transformed.name}
    FILE_FORMAT = (TYPE = PARQUET)
    MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE
    INCLUDE_METADATA = (file_name = METADATA$FILENAME, load_id = METADATA$FILE_CONTENT_KEY, loaded_at = METADATA$START_SCAN_TIME)
    PATTERN = '.*[.]parquet'
  SQL
}

resource "snowflake_stream_on_table" "raw" {
  database    = snowflake_database.gfn.name
  schema      = snowflake_schema.raw.name
  name        = "ECOLOGICAL_FOOTPRINT_STREAM"
  table       = local.sf_raw_table
  append_only = "true"
}

resource "snowflake_task" "merge" {
  database  = snowflake_database.gfn.name
  schema    = snowflake_schema.transformed.name
  name      = "MERGE_ECOLOGICAL_FOOTPRINT"
  warehouse = var.snowflake_warehouse
  started   = true
  when      = "SYSTEM$STREAM_HAS_DATA('${snowflake_database.gfn.name}.${snowflake_schema.raw.name}.${snowflake_stream_on_table.raw.name}')"

  schedule {
    minutes = 1
  }

  # terraform/sql/merge_task.sql is shared/warehouse mergeTransaction() in the Snowflake
  # dialect (a test in shared/warehouse keeps them equal).
  sql_statement = templatefile("${path.module}/../sql/merge_task.sql", {
    stream = "${snowflake_database.gfn.name}.${snowflake_schema.raw.name}.${snowflake_stream_on_table.raw.name}"
    target = "${snowflake_database.gfn.name}.${snowflake_schema.transformed.name}.${snowflake_table.transformed.name}"
    dims   = "${snowflake_database.gfn.name}.${snowflake_schema.transformed.name}.${snowflake_table.countries.name}"
  })
}
