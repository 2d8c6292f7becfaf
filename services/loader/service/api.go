package service

import (
	"context"

	"github.com/gfnpipeline/services/loader/internal/load"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/warehouse"
)

// Status is the contract of the DuckDB loader's GET /status (EnvStatusAddr): what it has loaded
// since it started and TRANSFORMED's row count. The loader serves it because nothing else can
// open DuckDB's file while the loader runs; tools decode it.
type Status = load.Status

// LastLoad is the most recent file in a Status.
type LastLoad = load.LastLoad

// LoadFiles loads the transformed Parquet objects keys from store into wh as the loader does
// for their ObjectCreated notifications, publishing each BatchLoaded to pub; force reloads
// files the load history already has, as Snowflake's COPY ... FORCE = TRUE does. It is
// `gfnctl load`, run while the loader is stopped (DuckDB locks its file).
func LoadFiles(ctx context.Context, store lake.Store, wh warehouse.Warehouse, pub messaging.Publisher, force bool, keys ...string) error {
	l := load.New(load.Config{Force: force}, store, wh, pub)
	for _, k := range keys {
		if err := l.Handle(ctx, &lake.ObjectCreated{Bucket: store.Bucket(), Key: k}); err != nil {
			return err
		}
	}
	return nil
}
