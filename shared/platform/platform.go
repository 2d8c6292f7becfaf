// Package platform wires a service to its runtime: configuration from the environment, the
// lake, the publisher, and the consumer loop (a long-running SQS poller, or a Lambda SQS
// event-source handler). Services only see Deps and return an App.
package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/awsconfig"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/telemetry"
)

// Environment variables every service reads.
const (
	EnvRuntime     = "RUNTIME"          // poller (default) or lambda
	EnvBucket      = "GFN_BUCKET"       // data lake bucket, default gfn-data-lake
	EnvNamePrefix  = "GFN_NAME_PREFIX"  // prefix of queue, topic and bucket names
	EnvConcurrency = "GFN_CONCURRENCY"  // messages handled at once per queue (poller)
	EnvLogLevel    = "LOG_LEVEL"        // debug, info, warn, error
	EnvWaitSeconds = "SQS_WAIT_SECONDS" // long-poll wait, default 20
	EnvMetricsAddr = "GFN_METRICS_ADDR" // poller: serve Prometheus GET /metrics there (host:port)
	// EnvDrainTimeout bounds a stopping poller's drain (a Go duration), default 25s.
	EnvDrainTimeout = "GFN_DRAIN_TIMEOUT"
)

// Runtimes.
const (
	RuntimePoller = "poller"
	RuntimeLambda = "lambda"
)

// Deps is what a service's application gets from the platform, whatever the runtime.
type Deps struct {
	Topology  contracts.Topology
	Store     lake.Store
	Publisher messaging.Publisher
	Logger    *slog.Logger
	// Getenv reads service settings (the embedded run overrides some).
	Getenv func(string) string
	// AWS is the SDK config when the service runs on AWS (or an emulator); nil embedded.
	AWS *aws.Config
}

// App is a service's application: the consumers of its queues, and work that runs beside
// them in a long-running poller (a Lambda has no "beside": its schedule is infrastructure's).
type App struct {
	Consumers  []messaging.Consumer
	Background []func(ctx context.Context) error
	// Scheduled is one pass of periodic work, which a Lambda runs when an EventBridge
	// schedule invokes it (a poller runs the same work in Background).
	Scheduled func(ctx context.Context) error
}

// Topology reads the topology from the environment (bucket and name prefix).
func Topology(getenv func(string) string) contracts.Topology {
	top := contracts.DefaultTopology(getenv(EnvBucket))
	if p := getenv(EnvNamePrefix); p != "" {
		top = top.WithPrefix(p)
	}
	return top
}

// Service is a deployed service's platform: AWS-backed deps and the chosen runtime.
type Service struct {
	Name    string
	Deps    Deps
	aws     aws.Config
	runtime string
	pub     *messaging.AWSPublisher
	metrics *telemetry.Metrics
}

// FromEnv builds the AWS platform for service name.
func FromEnv(ctx context.Context, name string) (*Service, error) {
	logger := telemetry.Default(name)
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		return nil, err
	}
	top := Topology(os.Getenv)
	runtime := os.Getenv(EnvRuntime)
	if runtime == "" {
		runtime = RuntimePoller
	}
	if runtime != RuntimePoller && runtime != RuntimeLambda {
		return nil, fmt.Errorf("%s=%q: want %s or %s", EnvRuntime, runtime, RuntimePoller, RuntimeLambda)
	}
	pub, err := messaging.NewAWSPublisher(cfg, top, "gfn/"+name, logger)
	if err != nil {
		return nil, err
	}
	// Metrics go to stdout in Embedded Metric Format, logs to stderr: both reach CloudWatch Logs.
	metrics := telemetry.NewMetrics(os.Stdout, name)
	telemetry.SetDefaultMetrics(metrics)
	return &Service{
		Name:    name,
		aws:     cfg,
		runtime: runtime,
		pub:     pub,
		metrics: metrics,
		Deps: Deps{
			Topology:  top,
			Store:     lake.NewS3(awsconfig.S3(cfg), top.Bucket),
			Publisher: messaging.InstrumentPublisher(pub, metrics),
			Logger:    logger,
			Getenv:    os.Getenv,
			AWS:       &cfg,
		},
	}, nil
}

// Run consumes the app's queues with the configured runtime until ctx ends.
func (s *Service) Run(ctx context.Context, app App) error {
	policy := messaging.Policy{Publisher: s.pub}
	log := s.Deps.Logger
	consumers := make([]messaging.Consumer, len(app.Consumers))
	for i, c := range app.Consumers {
		consumers[i] = policy.Instrument(c, s.metrics)
	}
	if s.runtime == RuntimeLambda {
		log.Info("starting", "runtime", s.runtime)
		sqsHandler := messaging.LambdaHandler(sqs.NewFromConfig(s.aws), policy, log, consumers...)
		lambda.StartWithOptions(LambdaHandler(sqsHandler, app.Scheduled), lambda.WithContext(ctx))
		return nil
	}
	concurrency, err := IntEnv(os.Getenv, EnvConcurrency, 1)
	if err != nil {
		return err
	}
	wait, err := IntEnv(os.Getenv, EnvWaitSeconds, 20)
	if err != nil {
		return err
	}
	drain, err := DurationEnv(os.Getenv, EnvDrainTimeout, messaging.DefaultDrainTimeout)
	if err != nil {
		return err
	}
	opts := messaging.SQSOptions{Concurrency: concurrency, WaitTimeSeconds: int32(min(wait, 20)), DrainTimeout: drain, Policy: policy} //nolint:gosec // G115: at most 20
	log.Info("starting", "runtime", s.runtime, "bucket", s.Deps.Topology.Bucket)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if addr := os.Getenv(EnvMetricsAddr); addr != "" {
		if opts.Middleware, err = servePrometheus(ctx, addr, s.Name, log); err != nil {
			return err
		}
	}
	errs := make(chan error, len(app.Background))
	for _, bg := range app.Background {
		go func() { errs <- bg(ctx) }()
	}
	err = messaging.RunSQS(ctx, s.aws, log, opts, consumers...)
	cancel()
	for range app.Background {
		if bgErr := <-errs; bgErr != nil && err == nil {
			err = bgErr
		}
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// Close releases the publisher.
func (s *Service) Close() error { return s.pub.Close() }

// IntEnv reads a positive integer setting, def when unset; anything else is an error that
// names the setting, so a typo stops the service instead of silently using the default.
func IntEnv(getenv func(string) string, name string, def int) (int, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive whole number", name, v)
	}
	return n, nil
}

// DurationEnv reads a positive Go duration setting ("25s"), def when unset; anything else is
// an error that names the setting.
func DurationEnv(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive duration such as 25s", name, v)
	}
	return d, nil
}
