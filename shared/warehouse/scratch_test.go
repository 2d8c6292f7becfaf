package warehouse

import (
	"context"
	"testing"
	"path/filepath"
	"time"

	"github.com/gfnpipeline/shared/warehouse/whtest"
)

func TestScratchFakesnow(t *testing.T) {
	ctx := context.Background()
	s, err := OpenSnowflake(ctx, SnowflakeConfig{Account: "fake", User: "fake", Password: "snow", Database: "gfn", Warehouse: "wh", Host: "127.0.0.1", Port: 18765, Protocol: "http"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, q := range append([]string{"CREATE DATABASE IF NOT EXISTS gfn", "USE DATABASE gfn"}, s.migrateSQL()...) {
		_, err := s.db.ExecContext(ctx, q)
		t.Logf("%s => %v", firstLine(q), err)
	}
	rows := whtest.YearRows(t, 2022, "run-1", time.Now().UTC())
	p := filepath.Join(t.TempDir(), "x.parquet")
	whtest.WriteParquet(t, p, rows)
	res, err := s.LoadFile(ctx, FileLoad{LocalPath: p, FileName: "transformed/ecological_footprint/data_x.parquet"})
	t.Logf("load => %+v %v", res, err)
	n, err := s.Count(ctx)
	t.Log("count", n, err)
	st, err := s.PipeStatus(ctx, DefaultPipe)
	t.Log("pipe", st, err)
	h, err := s.CopyHistory(ctx, RawTable, time.Now().Add(-time.Hour))
	t.Log("history", h, err)
}
