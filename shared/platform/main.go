package platform

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/gfnpipeline/shared/telemetry"
)

// NewApplication builds a service's app from its deps; cleanup releases what it opened.
type NewApplication func(ctx context.Context, deps Deps) (app App, cleanup func(), err error)

// Main is a service binary's whole main: config from the environment, the app, the runtime.
// It exits non-zero with the error logged when the service cannot start or stops on error.
func Main(name string, newApp NewApplication) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, name, newApp); err != nil {
		telemetry.Default(name).Error("service stopped", "error", err.Error())
		os.Exit(1)
	}
}

func run(ctx context.Context, name string, newApp NewApplication) (err error) {
	svc, err := FromEnv(ctx, name)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, svc.Close()) }()
	slog.SetDefault(svc.Deps.Logger)
	app, cleanup, err := newApp(ctx, svc.Deps)
	if err != nil {
		return err
	}
	defer cleanup()
	return svc.Run(ctx, app)
}
