// Package lake owns the data lake: every object key and prefix is built here (keys.go), and
// its storage is S3 in AWS or a directory for the embedded run. Keys are deterministic per
// batch, so a redelivered message rewrites the same object instead of adding a second one.
// Partitions are by extraction date (the production layout), not by the data's year.
//
// The bucket (default gfn-data-lake), what writes each prefix and what reads it:
//
//	raw/ecological_footprint/year=YYYY/month=MM/day=DD/data_YYYYMMDD_HHMMSS_<batch>.json
//	    RawKey. The API's bytes, immutable. Written by the extractor; read by the validator
//	    (RawBatchLanded.Key) and by gfnctl replay, which re-emits RawBatchLanded for a date range.
//	staged/ecological_footprint/run=<run_id>/<batch>.ndjson
//	    StagedKey. A batch's valid rows. Written by the validator; read by the transformer
//	    (BatchValidated.StagedKey).
//	transformed/ecological_footprint/year=YYYY/month=MM/day=DD/data_YYYYMMDD_HHMMSS_<batch>.parquet
//	    TransformedKey (same partition and name as the raw object). Written by the transformer;
//	    its ObjectCreated notifications (contracts' topology, prefix TransformedRoot) feed
//	    Snowpipe in production and the loader locally; Snowflake's file names are keys
//	    without TransformedRoot (warehouse.PipeFileName).
//	failed/ecological_footprint/YYYY/MM/DD/error_YYYYMMDD_HHMMSS_<batch>.json
//	    FailedKey, a FailedReport (failed.go): a batch's rejected rows with their rules, or
//	    why its body could not be read. Written by the validator; read by operators, named in
//	    BatchValidated/BatchQuarantined.FailedKey.
//	failed/responses/ecological_footprint/YYYY/MM/DD/error_YYYYMMDD_HHMMSS_<batch>.json
//	    FailedResponseKey, a FailedResponse (failed.go): an API response the extractor could
//	    not land, with the start of its body. Written by the extractor; read by operators,
//	    named in the error its message is dead-lettered with.
//	metadata/schemas/ecological_footprint_v1.json
//	    SchemaKey. The record schema, written by the transformer; for readers of the Parquet.
//	metadata/raw-index/<batch>.json
//	    RawIndexKey, content RawIndex. A batch's latest raw object and its sha256. Written and
//	    read by the extractor (incremental planning, the unchanged check); read by gfnctl replay.
//	metadata/dlq-alerts/<queue>/<message_id>.json
//	    DLQAlertKey. A dead-lettered message already alerted on. Written and read (write-once)
//	    by the notifier's DLQ watch.
//	metadata/runs/<run_id>/                                   RunPrefix: the run ledger (package runledger)
//	    plan.json                                 RunPlanKey: ExtractionPlanned
//	    batches/<batch|_run>/<EventType>.json     RunEventKey: each event the run met
//	    outcome/<RunCompleted|RunFailed>.json     RunOutcomeKey: the outcome claim
//	    outcome/<type>.announced.json             RunAnnouncedKey: the outcome was published
//	    alerts/<batch>/<EventType>.json           RunAlertKey: a batch failure alerted once
//	    schema-drift/<field>                      RunDriftKey: an unknown API field, once a run
//	    quality/soda.json                         RunQualityKey: the production Soda scan
//	    Written by the notifier (plan, batches, outcome, alerts), the validator (schema-drift)
//	    and the Soda Lambda, soda/lambda/handler.py (quality/soda.json: Python, it writes the
//	    path itself). Read by the notifier (run outcome), the extractor (was a batch loaded,
//	    for incremental runs), gfnctl status and run --wait.
package lake
