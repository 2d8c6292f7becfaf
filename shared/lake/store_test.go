package lake_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gfnpipeline/shared/awsconfig"
	"github.com/gfnpipeline/shared/awstest"
	"github.com/gfnpipeline/shared/lake"
)

// Both backends behave alike: the embedded run and AWS share every handler.
func TestStores(t *testing.T) {
	stores := map[string]func(t *testing.T) lake.Store{
		"dir": func(t *testing.T) lake.Store {
			d, err := lake.NewDir(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return d
		},
		"s3": func(t *testing.T) lake.Store {
			cfg := awstest.Config(t)
			return lake.NewS3(awsconfig.S3(cfg), awstest.Topology(t, cfg).Bucket)
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			ctx := context.Background()
			key := "raw/ecological_footprint/year=2026/month=11/day=25/data_a b+c.json"
			if err := s.Put(ctx, key, []byte(`[1]`), map[string]string{"Run-ID": "r1"}); err != nil {
				t.Fatal(err)
			}
			body, obj, err := s.Get(ctx, key)
			if err != nil || string(body) != "[1]" || obj.Metadata["run-id"] != "r1" {
				t.Fatalf("get = %q %+v %v", body, obj, err)
			}
			if h, err := s.Head(ctx, key); err != nil || h.Size != 3 || h.Metadata["run-id"] != "r1" {
				t.Fatalf("head = %+v %v", h, err)
			}
			if err := s.PutIfAbsent(ctx, key, []byte(`[2]`), nil); !errors.Is(err, lake.ErrExists) {
				t.Fatalf("PutIfAbsent on an existing key = %v, want ErrExists", err)
			}
			if body, _, _ := s.Get(ctx, key); string(body) != "[1]" {
				t.Fatalf("PutIfAbsent overwrote: %q", body)
			}
			if err := s.PutIfAbsent(ctx, "metadata/x.json", []byte(`{}`), nil); err != nil {
				t.Fatal(err)
			}
			if err := s.Put(ctx, "raw/ecological_footprint/a.json", nil, nil); err != nil {
				t.Fatal(err)
			}
			list, err := s.List(ctx, "raw/")
			if err != nil || len(list) != 2 || list[0].Key != "raw/ecological_footprint/a.json" || list[1].Key != key {
				t.Fatalf("list = %+v %v", list, err)
			}
			// Prefixes match as S3's do: on whole keys, not only at directory boundaries.
			for prefix, want := range map[string]int{"raw/ecological_footprint/a": 1, "raw/ecological_footprint/": 2,
				"raw/ecological_footprint/year=2026/month=11/": 1, "raw/nothing/": 0, "metadata/": 1, "": 3} {
				if list, err := s.List(ctx, prefix); err != nil || len(list) != want {
					t.Errorf("list %q = %+v %v, want %d objects", prefix, list, err, want)
				}
			}
			if err := s.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Get(ctx, key); !errors.Is(err, lake.ErrNotFound) {
				t.Fatalf("get after delete = %v, want ErrNotFound", err)
			}
			if _, err := s.Head(ctx, key); !errors.Is(err, lake.ErrNotFound) {
				t.Fatalf("head after delete = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestDirRejectsKeysOutsideTheLake(t *testing.T) {
	d, err := lake.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"../escape", "/abs", "a/../../b", ""} {
		if err := d.Put(context.Background(), key, nil, nil); err == nil {
			t.Errorf("Put(%q) succeeded", key)
		}
	}
}
