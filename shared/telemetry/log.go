// Package telemetry sets up JSON logging. Every line a handler logs carries the run_id,
// batch_id and message id of the message being handled: take the logger from the context.
package telemetry

import (
	"context"
	"io"
	"log/slog"
	"strings"
)

type ctxKey struct{}

// NewLogger returns a JSON logger for service at level ("debug", "info", "warn", "error").
func NewLogger(w io.Writer, service, level string) *slog.Logger {
	var l slog.Level
	switch strings.ToLower(level) {
	case "debug":
		l = slog.LevelDebug
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})).With("service", service)
}

// WithLogger stores l in ctx.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// Logger returns the context's logger (with run_id, batch_id, message_id when handling a
// message), or slog's default.
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(ctxKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}
