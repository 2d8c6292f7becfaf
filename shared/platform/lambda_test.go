package platform_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gfnpipeline/shared/platform"
)

func TestLambdaHandlerDispatchesOnTheEvent(t *testing.T) {
	const scheduled = `{"version":"0","id":"e1","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"2026-11-29T06:00:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/gfn-dlq-watch"],"detail":{}}`
	boom := errors.New("boom")
	tests := []struct {
		name       string
		payload    string
		scheduled  func(context.Context) error
		wantSQS    int
		wantPasses int
		wantErr    error
	}{
		{"sqs batch", `{"Records":[{"messageId":"m1","eventSource":"aws:sqs","body":"{}"},{"messageId":"m2","eventSource":"aws:sqs","body":"{}"}]}`, nil, 2, 0, nil},
		{"scheduled", scheduled, func(context.Context) error { return nil }, 0, 1, nil},
		{"scheduled pass fails the invocation", scheduled, func(context.Context) error { return boom }, 0, 1, boom},
		{"scheduled without scheduled work", scheduled, nil, 0, 0, errors.New("")},
		{"other event", `{"source":"aws.s3","detail-type":"Object Created"}`, nil, 0, 0, platform.ErrUnknownEvent},
		{"not json", `[1,2`, nil, 0, 0, platform.ErrUnknownEvent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var records, passes int
			sqsHandler := func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
				records += len(ev.Records)
				return events.SQSEventResponse{}, nil
			}
			var sched func(context.Context) error
			if tc.scheduled != nil {
				sched = func(ctx context.Context) error { passes++; return tc.scheduled(ctx) }
			}
			_, err := platform.LambdaHandler(sqsHandler, sched)(context.Background(), []byte(tc.payload))
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("error %v", err)
			case tc.wantErr != nil && err == nil:
				t.Fatalf("no error, want %v", tc.wantErr)
			case tc.wantErr != nil && tc.wantErr.Error() != "" && !errors.Is(err, tc.wantErr):
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if records != tc.wantSQS || passes != tc.wantPasses {
				t.Fatalf("%d records to the SQS handler, %d scheduled passes; want %d, %d", records, passes, tc.wantSQS, tc.wantPasses)
			}
		})
	}
}
