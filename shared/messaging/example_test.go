package messaging_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging"
)

// A typed handler on the in-memory bus, as the embedded run wires the validator: the event
// goes to the SNS-like topic and reaches the queues whose filter policy matches its type.
// The same handler runs unchanged under the SQS poller and the Lambda runtime.
func ExampleOn() {
	bus := messaging.NewMemory(contracts.DefaultTopology("gfn-data-lake"), slog.New(slog.DiscardHandler))
	defer bus.Close()

	handled := make(chan string, 1)
	validate := func(_ context.Context, m *contracts.RawBatchLanded) error {
		handled <- fmt.Sprintf("run %s batch %s: %d records in %s", m.RunID, m.BatchID, m.Records, m.Key)
		return nil
	}
	validator := messaging.Messages(contracts.QueueValidator, messaging.On(validate))

	ctx, cancel := context.WithCancel(context.Background())
	running, stopped := make(chan struct{}), make(chan error, 1)
	go func() { stopped <- bus.Run(ctx, messaging.Policy{MaxAttempts: 4}, running, validator) }()
	<-running

	at := time.Date(2026, 3, 4, 6, 0, 0, 0, time.UTC)
	err := bus.Publisher("extractor").Publish(ctx, &contracts.RawBatchLanded{
		Header: contracts.Header{RunID: "run-1", BatchID: "ef-2020"},
		Year:   2020, Key: lake.RawKey(at, "ef-2020"), Records: 3239, ExtractedAt: at,
	})
	if err != nil {
		fmt.Println(err)
	}
	fmt.Println(<-handled)
	cancel()
	<-stopped
	// Output:
	// run run-1 batch ef-2020: 3239 records in raw/ecological_footprint/year=2026/month=03/day=04/data_20260304_060000_ef-2020.json
}
