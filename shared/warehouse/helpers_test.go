package warehouse_test

import "github.com/parquet-go/parquet-go"

func writeAny[T any](path string, rows []T) error { return parquet.WriteFile(path, rows) }
