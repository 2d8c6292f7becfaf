// Command gfnapi-sim serves the GFN API simulator over HTTP. Configuration comes from the
// environment: GFNAPI_SIM_ADDR, GFN_DATA_DIR, GFN_API_KEY, GFNAPI_SIM_FAULTS,
// GFNAPI_SIM_MISSING_YEARS, GFNAPI_SIM_BAD_KEY, GFNAPI_SIM_SEED, GFNAPI_SIM_SLOW,
// GFNAPI_SIM_YEARS (FROM-TO: the data's years renumbered over a longer range).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gfnpipeline/tools/gfnapi-sim/sim"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("service", "gfnapi-sim")
	if err := run(log); err != nil {
		log.Error("gfnapi-sim failed", "error", err.Error())
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	cfg, addr, err := configFromEnv()
	if err != nil {
		return err
	}
	cfg.Logger = log
	srv, err := sim.New(cfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	hs := &http.Server{Addr: addr, Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.ListenAndServe() }()
	log.Info("gfnapi-sim listening", "addr", addr, "data_dir", cfg.DataDir, "years", len(srv.Years()),
		"faults", cfg.Faults, "missing_years", cfg.MissingYears, "reject_all_keys", cfg.RejectAllKeys,
		"key_required", cfg.APIKey != "")

	select {
	case err := <-errc:
		return fmt.Errorf("listen %s: %w", addr, err)
	case <-ctx.Done():
	}
	log.Info("gfnapi-sim shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("gfnapi-sim stopped", "stats", srv.Stats())
	return nil
}

func configFromEnv() (sim.Config, string, error) {
	addr := os.Getenv("GFNAPI_SIM_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8089"
	}
	cfg := sim.Config{
		DataDir:       os.Getenv("GFN_DATA_DIR"),
		APIKey:        os.Getenv("GFN_API_KEY"),
		Faults:        os.Getenv("GFNAPI_SIM_FAULTS"),
		RejectAllKeys: os.Getenv("GFNAPI_SIM_BAD_KEY") == "1",
		ServeYears:    os.Getenv(sim.EnvServeYears),
	}
	if v := os.Getenv("GFNAPI_SIM_SEED"); v != "" {
		seed, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return cfg, "", fmt.Errorf("GFNAPI_SIM_SEED: %w", err)
		}
		cfg.Seed = seed
	}
	if v := os.Getenv("GFNAPI_SIM_SLOW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return cfg, "", fmt.Errorf("GFNAPI_SIM_SLOW: %w", err)
		}
		cfg.SlowDelay = d
	}
	for _, f := range strings.Split(os.Getenv("GFNAPI_SIM_MISSING_YEARS"), ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		y, err := strconv.Atoi(f)
		if err != nil {
			return cfg, "", fmt.Errorf("GFNAPI_SIM_MISSING_YEARS: %q is not a year", f)
		}
		cfg.MissingYears = append(cfg.MissingYears, y)
	}
	return cfg, addr, nil
}
