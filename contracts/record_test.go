package contracts

import (
	"reflect"
	"testing"
	"time"
)

// Row's tags agree: a column's parquet and JSON names are one, and a pointer field is
// optional (null stays null). shared/warehouse checks it has a column type for each.
func TestRowSchemaFollowsRowTags(t *testing.T) {
	row := reflect.TypeFor[Row]()
	if len(RowSchema) != row.NumField() || len(RowColumns) != len(RowSchema) {
		t.Fatalf("RowSchema has %d columns, RowColumns %d, Row %d fields", len(RowSchema), len(RowColumns), row.NumField())
	}
	for i, c := range RowSchema {
		f := row.Field(i)
		if json := f.Tag.Get("json"); c.Name != json || RowColumns[i] != json {
			t.Errorf("%s: column %q, json %q", f.Name, c.Name, json)
		}
		if c.Nullable != (f.Type.Kind() == reflect.Pointer) {
			t.Errorf("%s: nullable %v, but pointer %v (a pointer field must be optional)", f.Name, c.Nullable, f.Type.Kind() == reflect.Pointer)
		}
	}
	if RowSchema[0].Type != reflect.TypeFor[int32]() || RowSchema[0].Nullable || !RowSchema[4].Nullable ||
		RowSchema[len(RowSchema)-1].Type != reflect.TypeFor[time.Time]() {
		t.Errorf("year %+v, iso_alpha2 %+v, extracted_at %+v", RowSchema[0], RowSchema[4], RowSchema[len(RowSchema)-1])
	}
}
