// Command snowpipe-standin is the Snowflake-mode stack's Snowpipe and MERGE task over
// fakesnow's server (see package snowpipe for what it substitutes). It creates the tables,
// subscribes its own queue to the lake events topic, serves GET /status at
// SNOWPIPE_STANDIN_ADDR once ready, and loads every notified file until SIGTERM.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/gfnpipeline/shared/awsconfig"
	"github.com/gfnpipeline/shared/platform"
	"github.com/gfnpipeline/tools/e2e/snowpipe"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "snowpipe-standin:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	log := platform.Logger("snowpipe-standin", os.Getenv)
	for _, s := range snowpipe.Substitutions {
		log.Info("fakesnow cannot run a production statement; the stand-in runs its equivalent", "production", s.Production, "instead", s.Instead)
	}
	port, err := strconv.Atoi(os.Getenv("SNOWFLAKE_PORT"))
	if err != nil {
		return fmt.Errorf("SNOWFLAKE_PORT: %w", err)
	}
	sf, err := snowpipe.Open(ctx, port)
	if err != nil {
		return err
	}
	defer sf.Close()
	if err := snowpipe.Setup(ctx, sf.DB()); err != nil {
		return err
	}
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		return err
	}
	top := platform.Topology(os.Getenv)
	url, err := snowpipe.Subscribe(ctx, cfg, top)
	if err != nil {
		return err
	}
	p := &snowpipe.Pipe{SQS: sqs.NewFromConfig(cfg), S3: awsconfig.S3(cfg), Bucket: top.Bucket, QueueURL: url, SF: sf, Log: log}
	ln, err := net.Listen("tcp", os.Getenv("SNOWPIPE_STANDIN_ADDR"))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(p.StatusJSON())
	})}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("status server", "error", err.Error())
		}
	}()
	defer srv.Close()
	log.Info("stand-in ready", "queue", url, "bucket", top.Bucket)
	return p.Run(ctx)
}
