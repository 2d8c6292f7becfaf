package platform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
)

// Scheduled events, as an EventBridge rule with a schedule expression sends them.
const (
	scheduledSource     = "aws.events"
	scheduledDetailType = "Scheduled Event"
)

// ErrUnknownEvent is a Lambda payload that is neither an SQS batch nor a scheduled event.
var ErrUnknownEvent = errors.New("lambda: payload is neither an SQS event nor an EventBridge scheduled event")

// LambdaHandler is a function's one entry point: an SQS event source's batch goes to
// sqsHandler; an EventBridge scheduled event (source aws.events, detail-type "Scheduled
// Event") runs the app's scheduled work once, and its error fails the invocation so
// EventBridge retries it.
func LambdaHandler(sqsHandler func(context.Context, events.SQSEvent) (events.SQSEventResponse, error), scheduled func(context.Context) error) func(context.Context, json.RawMessage) (any, error) {
	return func(ctx context.Context, payload json.RawMessage) (any, error) {
		var probe struct {
			Source     string            `json:"source"`
			DetailType string            `json:"detail-type"`
			Records    []json.RawMessage `json:"Records"`
		}
		if err := json.Unmarshal(payload, &probe); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUnknownEvent, err)
		}
		switch {
		case probe.Source == scheduledSource && probe.DetailType == scheduledDetailType:
			if scheduled == nil {
				return nil, errors.New("lambda: a scheduled event, but this function has no scheduled work")
			}
			return nil, scheduled(ctx)
		case probe.Records != nil:
			var ev events.SQSEvent
			if err := json.Unmarshal(payload, &ev); err != nil {
				return nil, fmt.Errorf("lambda: sqs event: %w", err)
			}
			return sqsHandler(ctx, ev)
		}
		return nil, ErrUnknownEvent
	}
}
