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

// NewApplication builds a service's app from its settings (C, its service package's Config)
// and its deps; cleanup releases what it opened.
type NewApplication[C any] func(ctx context.Context, cfg C, deps Deps) (app App, cleanup func(), err error)

// Main is a service binary's whole main: settings from the environment (the platform's and
// the service's C, parsed once), the app, the runtime. It exits non-zero with the error logged
// when the service cannot start or stops on error.
func Main[C any](name string, newApp NewApplication[C]) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, name, newApp); err != nil {
		telemetry.NewLogger(os.Stderr, name, "").Error("service stopped", "error", err.Error())
		os.Exit(1)
	}
}

func run[C any](ctx context.Context, name string, newApp NewApplication[C]) (err error) {
	pcfg, perr := ParseEnv[Config]()
	cfg, serr := ParseEnv[C]()
	if err := errors.Join(perr, serr); err != nil {
		return err
	}
	svc, err := NewService(ctx, name, pcfg)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, svc.Close()) }()
	slog.SetDefault(svc.Deps.Logger)
	app, cleanup, err := newApp(ctx, cfg, svc.Deps)
	if err != nil {
		return err
	}
	defer cleanup()
	return svc.Run(ctx, app)
}
