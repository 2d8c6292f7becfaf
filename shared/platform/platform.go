// Package platform wires a service to its runtime: configuration from the environment, the
// lake, the publisher, and the consumer loop (a long-running SQS poller, or a Lambda SQS
// event-source handler). Services only see Deps and return an App.
package platform

import (
	"context"
	"errors"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/awsconfig"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/telemetry"
)

// Deps is what a service's application gets from the platform, whatever the runtime.
type Deps struct {
	Topology  contracts.Topology
	Store     lake.Store
	Publisher messaging.Publisher
	Logger    *slog.Logger
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

// Service is a deployed service's platform: AWS-backed deps and the chosen runtime.
type Service struct {
	Name    string
	Deps    Deps
	cfg     Config
	aws     aws.Config
	pub     *messaging.AWSPublisher
	metrics *telemetry.Metrics
}

// NewService builds the AWS platform for service name from the platform's settings.
func NewService(ctx context.Context, name string, pcfg Config) (*Service, error) {
	logger := telemetry.NewLogger(os.Stderr, name, pcfg.Level)
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		return nil, err
	}
	top := pcfg.Topology()
	pub, err := messaging.NewAWSPublisher(cfg, top, "gfn/"+name, logger)
	if err != nil {
		return nil, err
	}
	// Metrics go to stdout in Embedded Metric Format, logs to stderr: both reach CloudWatch Logs.
	metrics := telemetry.NewMetrics(os.Stdout, name)
	telemetry.SetDefaultMetrics(metrics)
	return &Service{
		Name:    name,
		cfg:     pcfg,
		aws:     cfg,
		pub:     pub,
		metrics: metrics,
		Deps: Deps{
			Topology:  top,
			Store:     lake.NewS3(awsconfig.S3(cfg), top.Bucket),
			Publisher: messaging.InstrumentPublisher(pub, metrics),
			Logger:    logger,
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
	if s.cfg.Runtime == RuntimeLambda {
		log.Info("starting", "runtime", s.cfg.Runtime)
		sqsHandler := messaging.LambdaHandler(sqs.NewFromConfig(s.aws), policy, log, consumers...)
		lambda.StartWithOptions(LambdaHandler(sqsHandler, app.Scheduled), lambda.WithContext(ctx))
		return nil
	}
	p := s.cfg.Poller
	opts := messaging.SQSOptions{Concurrency: p.Concurrency, WaitTimeSeconds: int32(min(p.WaitSeconds, 20)), DrainTimeout: p.DrainTimeout, Policy: policy} //nolint:gosec // G115: at most 20
	log.Info("starting", "runtime", s.cfg.Runtime, "bucket", s.Deps.Topology.Bucket)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if p.MetricsAddr != "" {
		var err error
		if opts.Middleware, err = servePrometheus(ctx, p.MetricsAddr, s.Name, log); err != nil {
			return err
		}
	}
	errs := make(chan error, len(app.Background))
	for _, bg := range app.Background {
		go func() { errs <- bg(ctx) }()
	}
	err := messaging.RunSQS(ctx, s.aws, log, opts, consumers...)
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
