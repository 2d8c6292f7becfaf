package dlq_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/awstest"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/tools/gfnctl/dlq"
)

// newTool gives a test its own topology on the emulator. Holds are short so a test that
// stops early does not leave messages hidden for long.
func newTool(t *testing.T) *dlq.Tool {
	t.Helper()
	cfg := awstest.Config(t)
	return &dlq.Tool{SQS: sqs.NewFromConfig(cfg), Topology: awstest.Topology(t, cfg), HoldFor: 20 * time.Second}
}

// deadLetter puts n dead-lettered messages into queue's DLQ the way the settler does: the
// envelope's eight attributes plus the reason. body(i) and reason(i) vary them.
func deadLetter(t *testing.T, tool *dlq.Tool, dlqName string, n int, body func(i int) string, reason func(i int) string) {
	t.Helper()
	ctx := context.Background()
	url := queueURL(t, tool, dlqName)
	for start := 0; start < n; start += 10 {
		var entries []sqstypes.SendMessageBatchRequestEntry
		for i := start; i < min(start+10, n); i++ {
			env := map[string]string{
				contracts.AttrID: fmt.Sprintf("id-%d", i), contracts.AttrSource: "gfn/test", contracts.AttrType: contracts.TypeRawBatchLanded,
				contracts.AttrTime: "2025-01-01T00:00:00Z", contracts.AttrSpecVersion: contracts.SpecVersion,
				contracts.AttrEventType: "RawBatchLanded", contracts.AttrRunID: "run-test", contracts.AttrCorrelationID: "run-test",
			}
			entries = append(entries, sqstypes.SendMessageBatchRequestEntry{
				Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(body(i)),
				MessageAttributes: stringAttrs(messaging.DeadLetterAttributes(env, reason(i))),
			})
		}
		out, err := tool.SQS.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
		if err != nil || len(out.Failed) > 0 {
			t.Fatalf("fill %s: %v %+v", dlqName, err, out)
		}
	}
}

func stringAttrs(m map[string]string) map[string]sqstypes.MessageAttributeValue {
	out := make(map[string]sqstypes.MessageAttributeValue, len(m))
	for k, v := range m {
		out[k] = sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	return out
}

func queueURL(t *testing.T, tool *dlq.Tool, base string) string {
	t.Helper()
	res, err := tool.SQS.GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String(tool.Name(base))})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(res.QueueUrl)
}

func depth(t *testing.T, tool *dlq.Tool, base string) dlq.Depth {
	t.Helper()
	d, err := tool.Depth(context.Background(), tool.Name(base))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// drain consumes every message of a queue.
func drain(t *testing.T, tool *dlq.Tool, base string) []sqstypes.Message {
	t.Helper()
	url := queueURL(t, tool, base)
	var out []sqstypes.Message
	for {
		res, err := tool.SQS.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"},
			// Explicit: 0 would be left out and the source queues' 20 s long poll would apply.
			WaitTimeSeconds: 1,
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Messages) == 0 {
			return out
		}
		out = append(out, res.Messages...)
		var del []sqstypes.DeleteMessageBatchRequestEntry
		for i, m := range res.Messages {
			del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
		if _, err := tool.SQS.DeleteMessageBatch(context.Background(), &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: del}); err != nil {
			t.Fatal(err)
		}
	}
}

func batchBody(i int) string {
	return fmt.Sprintf(`{"run_id":"run-test","batch_id":"ef-%d","year":%d}`, 2000+i, 2000+i)
}

const (
	validatorDLQ = contracts.QueueValidator + contracts.DLQSuffix
	loaderDLQ    = contracts.QueueLoader + contracts.DLQSuffix
)

func TestListPeekExportDoNotConsume(t *testing.T) {
	t.Parallel()
	tool := newTool(t)
	ctx := context.Background()
	deadLetter(t, tool, validatorDLQ, 12, batchBody, func(i int) string { return fmt.Sprintf("failed 4 deliveries: boom %d", i) })

	list, err := tool.List(ctx, 100, time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(tool.Topology.Queues) {
		t.Fatalf("list has %d DLQs, want %d", len(list), len(tool.Topology.Queues))
	}
	for _, q := range list {
		switch q.DLQ {
		case tool.Name(validatorDLQ):
			if q.Messages != 12 || q.AgeSampled != 12 || !q.AgeExact || q.OldestSentAt == nil || q.OldestAgeSeconds < 59 {
				t.Errorf("validator DLQ: %+v", q)
			}
		default:
			if q.Messages != 0 || q.OldestSentAt != nil {
				t.Errorf("%s should be empty: %+v", q.DLQ, q)
			}
		}
	}

	f, _ := dlq.ParseFilter("body~ef-2003")
	peeked, err := tool.Peek(ctx, validatorDLQ, 5, f)
	if err != nil {
		t.Fatal(err)
	}
	if len(peeked) != 1 || peeked[0].Error != "failed 4 deliveries: boom 3" || peeked[0].Attributes[contracts.AttrRunID] != "run-test" {
		t.Fatalf("peek with filter: %+v", peeked)
	}
	if peeked, err = tool.Peek(ctx, validatorDLQ, 11, dlq.Filter{}); err != nil || len(peeked) != 11 {
		t.Fatalf("peek 11 of 12: %d messages, %v", len(peeked), err)
	}

	var buf bytes.Buffer
	n, err := tool.Export(ctx, validatorDLQ, dlq.Filter{}, &buf)
	if err != nil || n != 12 {
		t.Fatalf("export: %d, %v", n, err)
	}
	ids := map[string]bool{}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var rec dlq.ExportRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if rec.MessageID == "" || rec.Body == "" || rec.Attributes[contracts.AttrError] == "" || rec.SentAt.IsZero() || rec.ReceiveCount < 1 {
			t.Fatalf("record %+v", rec)
		}
		ids[rec.MessageID] = true
	}
	if len(ids) != 12 {
		t.Fatalf("export has %d distinct messages", len(ids))
	}
	// Every read handed its messages back: all twelve are visible again.
	if d := depth(t, tool, validatorDLQ); d.Visible != 12 || d.InFlight != 0 {
		t.Fatalf("after list/peek/export: %+v", d)
	}
}

func TestRedriveDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	tool := newTool(t)
	deadLetter(t, tool, validatorDLQ, 15, batchBody, func(int) string { return "boom" })
	before := depth(t, tool, validatorDLQ)
	var would int
	res, err := tool.Redrive(context.Background(), validatorDLQ, dlq.RedriveOptions{DryRun: true, Progress: func(p dlq.Progress) {
		if p.Event == "would_move" && p.Message != nil && p.Message.Error == "boom" {
			would++
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Moved != 0 || res.WouldMove != 15 || would != 15 || res.Method != dlq.MethodCopy {
		t.Fatalf("dry run: %+v (%d reported)", res, would)
	}
	if after := depth(t, tool, validatorDLQ); after != before {
		t.Fatalf("DLQ depth %+v before, %+v after", before, after)
	}
	if d := depth(t, tool, contracts.QueueValidator); d.Total() != 0 {
		t.Fatalf("dry run sent messages: %+v", d)
	}
}

func TestRedriveFilterMovesOnlyMatches(t *testing.T) {
	t.Parallel()
	tool := newTool(t)
	// Batches ef-2000..ef-2019; ef-2005 and ef-2015 fail with a timeout, the rest otherwise.
	deadLetter(t, tool, validatorDLQ, 20, batchBody, func(i int) string {
		if i%10 == 5 {
			return "read timeout"
		}
		return "bad data"
	})
	peeked, err := tool.Peek(context.Background(), validatorDLQ, 0, dlq.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	idOf := map[string]string{} // body -> DLQ message id
	for _, m := range peeked {
		idOf[m.Body] = m.MessageID
	}
	f, _ := dlq.ParseFilter("error~timeout,attr.event_type=RawBatchLanded")
	res, err := tool.Redrive(context.Background(), validatorDLQ, dlq.RedriveOptions{Filter: f})
	if err != nil {
		t.Fatal(err)
	}
	if res.Moved != 2 || res.Skipped != 18 || res.Failed != 0 || res.Destination != tool.Name(contracts.QueueValidator) {
		t.Fatalf("redrive: %+v", res)
	}
	if d := depth(t, tool, validatorDLQ); d.Visible != 18 || d.InFlight != 0 {
		t.Fatalf("non-matching messages must stay visible in the DLQ: %+v", d)
	}
	moved := drain(t, tool, contracts.QueueValidator)
	if len(moved) != 2 {
		t.Fatalf("%d messages at the destination", len(moved))
	}
	for _, m := range moved {
		a := m.MessageAttributes
		if len(a) > dlq.MaxAttributes {
			t.Errorf("%d attributes", len(a))
		}
		if _, ok := a[contracts.AttrError]; ok {
			t.Errorf("redriven message still carries the error")
		}
		if got, want := aws.ToString(a[contracts.AttrRedriveOriginalID].StringValue), idOf[aws.ToString(m.Body)]; got == "" || got != want {
			t.Errorf("original id %q, want %q", got, want)
		}
		if n, err := strconv.Atoi(aws.ToString(a[contracts.AttrRedriveReceiveCount].StringValue)); err != nil || n < 1 {
			t.Errorf("receive count %v", a[contracts.AttrRedriveReceiveCount])
		}
		if aws.ToString(a[contracts.AttrRunID].StringValue) != "run-test" || aws.ToString(a[contracts.AttrType].StringValue) != contracts.TypeRawBatchLanded {
			t.Errorf("envelope not kept: %v", a)
		}
	}
}

// A message redriven, dead-lettered again by SQS's own redrive policy (which keeps its
// attributes) and redriven again keeps its first original id.
func TestRedriveKeepsFirstOriginalID(t *testing.T) {
	t.Parallel()
	tool := newTool(t)
	ctx := context.Background()
	url := queueURL(t, tool, loaderDLQ)
	if _, err := tool.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("{}"),
		MessageAttributes: stringAttrs(map[string]string{contracts.AttrRedriveOriginalID: "first-id", contracts.AttrRedriveReceiveCount: "4"})}); err != nil {
		t.Fatal(err)
	}
	if res, err := tool.Redrive(ctx, loaderDLQ, dlq.RedriveOptions{To: contracts.QueueNotifier}); err != nil || res.Moved != 1 {
		t.Fatalf("redrive: %+v %v", res, err)
	}
	got := drain(t, tool, contracts.QueueNotifier)
	if len(got) != 1 || aws.ToString(got[0].MessageAttributes[contracts.AttrRedriveOriginalID].StringValue) != "first-id" {
		t.Fatalf("destination: %+v", got)
	}
}

// A message that would exceed SQS's ten attributes is not sent and stays in the DLQ.
func TestRedriveRefusesTooManyAttributes(t *testing.T) {
	t.Parallel()
	tool := newTool(t)
	ctx := context.Background()
	attrs := map[string]string{contracts.AttrError: "x"}
	for i := range 9 {
		attrs[fmt.Sprintf("a%d", i)] = "v"
	}
	if _, err := tool.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(queueURL(t, tool, loaderDLQ)), MessageBody: aws.String("{}"), MessageAttributes: stringAttrs(attrs)}); err != nil {
		t.Fatal(err)
	}
	res, err := tool.Redrive(ctx, loaderDLQ, dlq.RedriveOptions{})
	if err != nil || res.Moved != 0 || res.Failed != 1 {
		t.Fatalf("redrive: %+v %v", res, err)
	}
	if d := depth(t, tool, loaderDLQ); d.Visible != 1 {
		t.Fatalf("DLQ: %+v", d)
	}
}

func TestRedriveMaxRateAndNativeFallback(t *testing.T) {
	t.Parallel()
	tool := newTool(t)
	deadLetter(t, tool, validatorDLQ, 25, batchBody, func(int) string { return "boom" })
	ctx := context.Background()

	// moto has no StartMessageMoveTask: native alone fails with the sentinel...
	if _, err := tool.Redrive(ctx, validatorDLQ, dlq.RedriveOptions{Method: dlq.MethodNative}); !errors.Is(err, dlq.ErrNativeUnsupported) {
		t.Fatalf("native on moto: %v", err)
	}
	if _, err := tool.Cancel(ctx, validatorDLQ); err == nil {
		t.Fatal("cancel without a move task succeeded")
	}
	// ...--max takes the copy path and stops at the limit...
	res, err := tool.Redrive(ctx, validatorDLQ, dlq.RedriveOptions{Max: 7, Rate: 50})
	if err != nil || res.Moved != 7 || res.Method != dlq.MethodCopy {
		t.Fatalf("max 7: %+v %v", res, err)
	}
	// ...and auto falls back from native to copy for the rest.
	var fellBack bool
	var batches int
	res, err = tool.Redrive(ctx, validatorDLQ, dlq.RedriveOptions{Rate: 4, Progress: func(p dlq.Progress) {
		fellBack = fellBack || p.Event == "fallback"
		if p.Event == "batch" {
			batches++
		}
	}})
	if err != nil || res.Moved != 18 || !fellBack || res.Method != dlq.MethodCopy {
		t.Fatalf("auto: %+v %v (fallback reported: %v)", res, err, fellBack)
	}
	// A rate of 4/s moves at most 4 a batch.
	if batches < 5 {
		t.Fatalf("18 messages at 4/s in %d batches", batches)
	}
	if d := depth(t, tool, validatorDLQ); d.Total() != 0 {
		t.Fatalf("DLQ left: %+v", d)
	}
	if got := len(drain(t, tool, contracts.QueueValidator)); got != 25 {
		t.Fatalf("%d at the destination, want 25", got)
	}
}

func TestPurge(t *testing.T) {
	t.Parallel()
	tool := newTool(t)
	deadLetter(t, tool, validatorDLQ, 3, batchBody, func(int) string { return "boom" })
	if _, err := tool.Purge(context.Background(), contracts.QueueValidator); !errors.Is(err, dlq.ErrNotDLQ) {
		t.Fatalf("purging a source queue: %v", err)
	}
	n, err := tool.Purge(context.Background(), validatorDLQ)
	if err != nil || n != 3 {
		t.Fatalf("purge: %d %v", n, err)
	}
	if d := depth(t, tool, validatorDLQ); d.Total() != 0 {
		t.Fatalf("after purge: %+v", d)
	}
}

// A poison message: whatever the redrive moves is dead-lettered again at once by the
// consumer (a new message, as the settler sends it). The redrive moves each message the DLQ
// held when it started once, reports the ones that came back, and ends.
func TestRedriveMovesPoisonOnceAndReportsItsReturn(t *testing.T) {
	t.Parallel()
	tool := newTool(t)
	deadLetter(t, tool, validatorDLQ, 3, batchBody, func(int) string { return "boom" })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srcURL, dlqURL := queueURL(t, tool, contracts.QueueValidator), queueURL(t, tool, validatorDLQ)
	consumed := make(chan int, 1)
	go func() {
		n := 0
		defer func() { consumed <- n }()
		for ctx.Err() == nil {
			out, err := tool.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(srcURL), MaxNumberOfMessages: 10,
				MessageAttributeNames: []string{"All"}, WaitTimeSeconds: 1})
			if err != nil {
				return
			}
			for _, m := range out.Messages {
				attrs := map[string]string{}
				for k, v := range m.MessageAttributes {
					attrs[k] = aws.ToString(v.StringValue)
				}
				if _, err := tool.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(dlqURL), MessageBody: m.Body,
					MessageAttributes: stringAttrs(messaging.DeadLetterAttributes(attrs, "permanent: still broken"))}); err != nil {
					return
				}
				tool.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(srcURL), ReceiptHandle: m.ReceiptHandle})
				n++
			}
		}
	}()
	done := make(chan struct{})
	var res dlq.Result
	var err error
	go func() {
		defer close(done)
		res, err = tool.Redrive(ctx, validatorDLQ, dlq.RedriveOptions{Rate: 10, Watch: 3 * time.Second})
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		cancel()
		<-done
		t.Fatalf("redrive of a poison message did not end: %+v", res)
	}
	if err != nil || res.Moved != 3 || res.CameBack != 3 || len(res.Returned) != 3 || res.Arrived != 0 {
		t.Fatalf("redrive: %+v %v", res, err)
	}
	cancel()
	if n := <-consumed; n != 3 {
		t.Fatalf("the consumer received %d redriven messages, want each once", n)
	}
	// Everything that came back is in the DLQ, once each.
	if d := depth(t, tool, validatorDLQ); d.Total() != 3 {
		t.Fatalf("DLQ: %+v, want the 3 that came back", d)
	}
}
