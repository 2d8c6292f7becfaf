package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/gfnpipeline/shared/infra"
	"github.com/gfnpipeline/shared/platform"
)

// newInfraCmd is `gfnctl infra`; an unknown or missing subcommand fails with 1, as before cobra.
func newInfraCmd() *cobra.Command {
	cmd := group(&cobra.Command{Use: "infra", Short: "infra apply: create queues, DLQs, topics, subscriptions, bucket and notifications"}, exitFailure)
	cmd.AddCommand(&cobra.Command{
		Use:   "apply",
		Short: "create the topology from contracts, idempotently",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return infraApply(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	})
	return cmd
}

func infraApply(ctx context.Context, stdout, stderr io.Writer) error {
	cfg, err := loadAWS(ctx)
	if err != nil {
		return err
	}
	top := platform.Topology(os.Getenv)
	changes, err := infra.Apply(ctx, infra.NewClients(cfg), top)
	enc := json.NewEncoder(stdout)
	for _, c := range changes {
		if eerr := enc.Encode(c); eerr != nil {
			return errors.Join(err, eerr)
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "infra apply: %d changes (bucket %s, %d queues with DLQs, %d topics)\n", len(changes), top.Bucket, len(top.Queues), len(top.Topics))
	return nil
}
