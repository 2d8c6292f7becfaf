# Snowflake side of production loading: Snowpipe auto-ingests transformed/*.parquet into
# RAW.ECOLOGICAL_FOOTPRINT (MATCH_BY_COLUMN_NAME), a stream on RAW feeds a task that MERGEs
# into TRANSFORMED (latest extraction wins). Object names match shared/warehouse
# (RawTable, RawStream, MergeTask, DefaultPipe); the task body is its mergeTransaction.

locals {
  # shared/warehouse rowColumns + loadColumns, Snowflake types.
  warehouse_columns = [
    { name = "year", type = "NUMBER(38,0)", nullable = false },
    { name = "country_code", type = "NUMBER(38,0)", nullable = false },
    { name = "country_name", type = "VARCHAR", nullable = false },
    { name = "short_name", type = "VARCHAR", nullable = false },
    { name = "iso_alpha2", type = "VARCHAR", nullable = true },
    { name = "iso_alpha3", type = "VARCHAR", nullable = true },
    { name = "is_aggregate", type = "BOOLEAN", nullable = false },
    { name = "record_type", type = "VARCHAR", nullable = false },
    { name = "crop_land", type = "FLOAT", nullable = true },
    { name = "grazing_land", type = "FLOAT", nullable = true },
    { name = "forest_land", type = "FLOAT", nullable = true },
    { name = "fishing_ground", type = "FLOAT", nullable = true },
    { name = "builtup_land", type = "FLOAT", nullable = true },
    { name = "carbon", type = "FLOAT", nullable = true },
    { name = "value", type = "FLOAT", nullable = false },
    { name = "score", type = "VARCHAR", nullable = true },
    { name = "extra", type = "VARCHAR", nullable = true },
    { name = "run_id", type = "VARCHAR", nullable = false },
    { name = "batch_id", type = "VARCHAR", nullable = false },
    { name = "source_key", type = "VARCHAR", nullable = false },
    { name = "extracted_at", type = "TIMESTAMP_NTZ", nullable = false },
    { name = "file_name", type = "VARCHAR", nullable = false },
    { name = "load_id", type = "VARCHAR", nullable = false },
    { name = "loaded_at", type = "TIMESTAMP_NTZ", nullable = false },
  ]
  sf_raw_table = "${snowflake_database.gfn.name}.${snowflake_schema.raw.name}.${snowflake_table.raw.name}"
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
      { name = "country_code", type = "NUMBER(38,0)", nullable = false },
      { name = "country_name", type = "VARCHAR", nullable = false },
      { name = "short_name", type = "VARCHAR", nullable = true },
      { name = "iso_alpha2", type = "VARCHAR", nullable = true },
      { name = "iso_alpha3", type = "VARCHAR", nullable = true },
      { name = "is_aggregate", type = "BOOLEAN", nullable = false },
      { name = "first_year", type = "NUMBER(38,0)", nullable = false },
      { name = "last_year", type = "NUMBER(38,0)", nullable = false },
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
}

resource "snowflake_stage" "transformed" {
  database            = snowflake_database.gfn.name
  schema              = snowflake_schema.raw.name
  name                = "TRANSFORMED_STAGE"
  url                 = "s3://${local.bucket}/transformed/"
  storage_integration = snowflake_storage_integration.lake.name
  file_format         = "TYPE = PARQUET"

  depends_on = [aws_iam_role_policy.snowflake]
}

# The pipe's notification_channel is the SQS queue s3.tf sends transformed/ events to.
# File name, load id (the file's content key) and load time fill RAW's lineage columns.
resource "snowflake_pipe" "raw" {
  database    = snowflake_database.gfn.name
  schema      = snowflake_schema.raw.name
  name        = "ECOLOGICAL_FOOTPRINT_PIPE"
  auto_ingest = true

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

  # sql/merge_task.sql is shared/warehouse mergeTransaction() in the Snowflake dialect.
  sql_statement = templatefile("${path.module}/sql/merge_task.sql", {
    stream = "${snowflake_database.gfn.name}.${snowflake_schema.raw.name}.${snowflake_stream_on_table.raw.name}"
    target = "${snowflake_database.gfn.name}.${snowflake_schema.transformed.name}.${snowflake_table.transformed.name}"
    dims   = "${snowflake_database.gfn.name}.${snowflake_schema.transformed.name}.${snowflake_table.countries.name}"
  })
}
