package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/gfnpipeline/shared/infra"
	"github.com/gfnpipeline/shared/platform"
)

func cmdInfra(ctx context.Context, args []string) error {
	if len(args) != 1 || args[0] != "apply" {
		return fmt.Errorf("usage: gfnctl infra apply")
	}
	cfg, err := loadAWS(ctx)
	if err != nil {
		return err
	}
	top := platform.Topology(os.Getenv)
	changes, err := infra.Apply(ctx, infra.NewClients(cfg), top)
	enc := json.NewEncoder(os.Stdout)
	for _, c := range changes {
		if eerr := enc.Encode(c); eerr != nil {
			return errors.Join(err, eerr)
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "infra apply: %d changes (bucket %s, %d queues with DLQs, %d topics)\n", len(changes), top.Bucket, len(top.Queues), len(top.Topics))
	return nil
}
