package messaging_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/awstest"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/messaging/messagingtest"
)

var quiet = slog.New(slog.NewJSONHandler(io.Discard, nil))

type fixture struct {
	top    contracts.Topology
	client *sqs.Client
	pub    *messaging.AWSPublisher
	urls   map[string]string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	cfg := awstest.Config(t)
	top := awstest.Topology(t, cfg)
	pub, err := messaging.NewAWSPublisher(cfg, top, "test", quiet)
	if err != nil {
		t.Fatal(err)
	}
	client := sqs.NewFromConfig(cfg)
	var names []string
	for _, q := range top.Queues {
		names = append(names, q.Name, q.DLQ())
	}
	urls, err := messaging.QueueURLs(context.Background(), client, names...)
	if err != nil {
		t.Fatal(err)
	}
	return fixture{top: top, client: client, pub: pub, urls: urls}
}

// drain receives everything currently visible in queue (deleting it).
func (f fixture) drain(t *testing.T, queue string) []sqstypes.Message {
	t.Helper()
	var out []sqstypes.Message
	for {
		res, err := f.client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(f.urls[queue]), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Messages) == 0 {
			return out
		}
		for _, m := range res.Messages {
			out = append(out, m)
			f.client.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(f.urls[queue]), ReceiptHandle: m.ReceiptHandle})
		}
	}
}

func eventTypes(ms []sqstypes.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, aws.ToString(m.MessageAttributes[contracts.AttrEventType].StringValue))
	}
	sort.Strings(out)
	return out
}

func TestEventsReachExactlyTheMatchingQueues(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	// S3 greets a newly configured queue with a test event; take it out of the way.
	for _, m := range f.drain(t, f.top.Name(contracts.QueueLoader)) {
		if !strings.Contains(aws.ToString(m.Body), "s3:TestEvent") {
			t.Fatalf("loader queue holds %s", aws.ToString(m.Body))
		}
	}
	h := contracts.Header{RunID: "run-1", BatchID: "ef-2020"}
	if err := f.pub.Publish(ctx, &contracts.RawBatchLanded{Header: h}, &contracts.BatchValidated{Header: h}, &contracts.BatchTransformed{Header: h}); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		contracts.QueueValidator:   {"RawBatchLanded"},
		contracts.QueueTransformer: {"BatchValidated"},
		contracts.QueueNotifier:    {"BatchTransformed", "BatchValidated", "RawBatchLanded"},
		contracts.QueueExtractor:   nil,
		contracts.QueueLoader:      nil,
	}
	for base, types := range want {
		got := f.drain(t, f.top.Name(base))
		if len(got) != len(types) || strings.Join(eventTypes(got), ",") != strings.Join(types, ",") {
			t.Errorf("%s got %v, want %v", base, eventTypes(got), types)
		}
		for _, m := range got {
			if len(m.MessageAttributes) > 10 {
				t.Errorf("%d attributes: SQS allows 10", len(m.MessageAttributes))
			}
			for _, a := range []string{contracts.AttrID, contracts.AttrSource, contracts.AttrType, contracts.AttrTime, contracts.AttrSpecVersion, contracts.AttrRunID, contracts.AttrCorrelationID} {
				if m.MessageAttributes[a].StringValue == nil {
					t.Errorf("%s: attribute %s missing", base, a)
				}
			}
			if _, ok := m.MessageAttributes["_watermill_message_uuid"]; ok {
				t.Error("watermill uuid attribute spends one of SQS's ten")
			}
		}
	}
}

// run consumes with RunSQS until the test ends.
func run(t *testing.T, f fixture, c messaging.Consumer) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- messaging.RunSQS(ctx, aws.Config(awstest.Config(t)), quiet, messaging.SQSOptions{WaitTimeSeconds: 1, Policy: messaging.Policy{Publisher: f.pub}}, c)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("RunSQS: %v", err)
		}
	})
}

// waitFor receives from queue until n messages arrived or the deadline passes.
func (f fixture) waitFor(t *testing.T, queue string, n int, within time.Duration) []sqstypes.Message {
	t.Helper()
	var got []sqstypes.Message
	deadline := time.Now().Add(within)
	for len(got) < n && time.Now().Before(deadline) {
		got = append(got, f.drain(t, queue)...)
	}
	return got
}

func TestFailingHandlerBacksOffThenDeadLetters(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var (
		mu    sync.Mutex
		times []time.Time
	)
	c := messaging.Messages(f.top.Name(contracts.QueueValidator), messaging.On(func(ctx context.Context, m *contracts.RawBatchLanded) error {
		mu.Lock()
		times = append(times, time.Now())
		mu.Unlock()
		return errors.New("warehouse is down")
	}))
	run(t, f, c)
	if err := f.pub.Publish(context.Background(), &contracts.RawBatchLanded{Header: contracts.Header{RunID: "run-2", BatchID: "ef-2021"}, Year: 2021}); err != nil {
		t.Fatal(err)
	}
	dead := f.waitFor(t, f.top.Name(contracts.QueueValidator)+contracts.DLQSuffix, 1, 40*time.Second)
	if len(dead) != 1 {
		t.Fatalf("DLQ has %d messages", len(dead))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(times) != contracts.MaxReceiveCount {
		t.Fatalf("delivered %d times, want %d", len(times), contracts.MaxReceiveCount)
	}
	for i := 1; i < len(times); i++ {
		gap := times[i].Sub(times[i-1])
		if min := messaging.Backoff(i); gap < min {
			t.Errorf("delivery %d came %v after the previous, want >= %v", i+1, gap, min)
		}
	}
	reason := aws.ToString(dead[0].MessageAttributes[contracts.AttrError].StringValue)
	if !strings.Contains(reason, "warehouse is down") || !strings.Contains(reason, "4 deliveries") {
		t.Fatalf("DLQ error attribute = %q", reason)
	}
	if aws.ToString(dead[0].MessageAttributes[contracts.AttrType].StringValue) != contracts.TypeRawBatchLanded {
		t.Fatal("DLQ message lost its type attribute")
	}
	failed := f.waitFor(t, f.top.Name(contracts.QueueNotifier), 2, 10*time.Second)
	if got := strings.Join(eventTypes(failed), ","); got != "BatchFailed,RawBatchLanded" {
		t.Fatalf("notifier got %s, want the event and BatchFailed", got)
	}
}

func TestUndecodableMessageGoesToDLQAfterOneReceive(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	calls := 0
	c := messaging.Messages(f.top.Name(contracts.QueueValidator), messaging.On(func(ctx context.Context, m *contracts.RawBatchLanded) error {
		calls++
		return nil
	}))
	ctx := context.Background()
	queue := f.top.Name(contracts.QueueValidator)
	send := func(typ, body string) {
		_, err := f.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(f.urls[queue]), MessageBody: aws.String(body),
			MessageAttributes: map[string]sqstypes.MessageAttributeValue{
				contracts.AttrType:  {DataType: aws.String("String"), StringValue: aws.String(typ)},
				contracts.AttrRunID: {DataType: aws.String("String"), StringValue: aws.String("run-3")},
			}})
		if err != nil {
			t.Fatal(err)
		}
	}
	send(contracts.TypeRawBatchLanded, "{not json")
	send("gfn.pipeline.raw_batch_landed.v99", `{"run_id":"run-3"}`)
	run(t, f, c)
	dead := f.waitFor(t, queue+contracts.DLQSuffix, 2, 15*time.Second)
	if len(dead) != 2 {
		t.Fatalf("DLQ has %d messages, want 2", len(dead))
	}
	for _, m := range dead {
		reason := aws.ToString(m.MessageAttributes[contracts.AttrError].StringValue)
		if !strings.HasPrefix(reason, "permanent:") {
			t.Errorf("reason %q", reason)
		}
	}
	if calls != 0 {
		t.Fatalf("handler called %d times for bad messages", calls)
	}
	// Nothing is left to come back from the source queue.
	time.Sleep(2 * time.Second)
	if left := f.drain(t, queue); len(left) != 0 {
		t.Fatalf("%d messages still in the source queue", len(left))
	}
}

func TestLambdaAdapterReportsExactlyTheFailedRecords(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	queue := f.top.Name(contracts.QueueValidator)
	for _, year := range []int{2001, 2002, 2003} {
		if err := f.pub.Publish(ctx, &contracts.RawBatchLanded{Header: contracts.Header{RunID: "run-4", BatchID: "b"}, Year: year}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(f.urls[queue]), MessageBody: aws.String("garbage"),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{contracts.AttrType: {DataType: aws.String("String"), StringValue: aws.String(contracts.TypeRawBatchLanded)}}}); err != nil {
		t.Fatal(err)
	}
	ev, err := messagingtest.ReceiveAsLambda(ctx, f.client, f.urls[queue], queue, 4)
	if err != nil {
		t.Fatal(err)
	}
	c := messaging.Messages(queue, messaging.On(func(ctx context.Context, m *contracts.RawBatchLanded) error {
		if m.Year == 2002 {
			return errors.New("transient")
		}
		return nil
	}))
	handler := messaging.LambdaHandler(f.client, messaging.Policy{}, quiet, c)
	resp, err := handler(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	var wantFailed string
	for _, r := range ev.Records {
		if strings.Contains(r.Body, `"year":2002`) {
			wantFailed = r.MessageId
		}
	}
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != wantFailed {
		t.Fatalf("batch item failures %+v, want only %s", resp.BatchItemFailures, wantFailed)
	}
	if dead := f.waitFor(t, queue+contracts.DLQSuffix, 1, 5*time.Second); len(dead) != 1 || aws.ToString(dead[0].Body) != "garbage" {
		t.Fatalf("the undecodable record should be in the DLQ, got %d", len(dead))
	}
}
