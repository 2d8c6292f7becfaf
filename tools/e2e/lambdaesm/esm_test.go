package lambdaesm_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gfnpipeline/shared/awstest"
	"github.com/gfnpipeline/tools/e2e/lambdaesm"
	"github.com/gfnpipeline/tools/e2e/stack"
)

// The poller over a real emulator and queue: it gathers a batch within the window, deletes
// what the function reports done, and leaves on the queue the reported failures, the whole
// batch of an invocation that errs, times out or names a message not in it.
func TestEventSourceSettlesAsLambdaDoes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the Lambda runtime emulator")
	}
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rie, err := stack.RIE(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "bootstrap"), "./testdata/fn")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	client := sqs.NewFromConfig(awstest.Config(t))
	queue := awstest.Prefix() + "esm"
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(queue), Attributes: map[string]string{"VisibilityTimeout": "600"}})
	if err != nil {
		t.Fatal(err)
	}
	url := q.QueueUrl
	send := func(bodies ...string) {
		for _, b := range bodies {
			if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String(b)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	depth := func() (visible, inFlight int) {
		a, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: url, AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
		if err != nil {
			t.Fatal(err)
		}
		v, _ := strconv.Atoi(a.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
		f, _ := strconv.Atoi(a.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
		return v, f
	}
	// Queued before the poller starts: the window gathers them into one batch of five.
	send("ok-1", "ok-2", "ok-3", "fail-1", "ok-4")
	fn := lambdaesm.Function{
		Mapping: lambdaesm.Mapping{Function: "esm-test", Queue: queue, BatchSize: 5, BatchingWindow: time.Second,
			MaximumConcurrency: 1, ReportBatchItemFailures: true, Timeout: 3 * time.Second, MemoryMB: 128},
		Name: "fn", Bootstrap: filepath.Join(dir, "bootstrap"), QueueName: queue,
	}
	r, err := lambdaesm.Start(ctx, lambdaesm.Options{RIE: rie, LogDir: dir, SQS: client, Region: "us-east-1", Account: "123456789012", WaitTimeSeconds: 1}, fn)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		r.Stop()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "fn-0.log"))
			t.Logf("emulator log:\n%s", log)
		}
	}()
	waitFor := func(what string, ok func(lambdaesm.Stats) bool) lambdaesm.Stats {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			st := r.Stats()["fn"]
			if ok(st) {
				return st
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %+v", what, st)
			}
		}
	}
	st := waitFor("first batch", func(s lambdaesm.Stats) bool { return s.Invocations == 1 && s.Deleted+s.ItemFailures == 5 })
	if st.LargestBatch != 5 || st.Deleted != 4 || st.ItemFailures != 1 {
		t.Fatalf("first batch: %+v, want one batch of 5 with 4 deleted and 1 failure", st)
	}
	for i, body := range []string{"error", "stranger", "slow"} {
		send(body)
		waitFor(body, func(s lambdaesm.Stats) bool { return s.FailedBatches == i+1 })
	}
	if st := r.Stats()["fn"]; st.Deleted != 4 || st.MostConcurrent != 1 {
		t.Fatalf("after the failed batches: %+v", st)
	}
	// The failure and the three failed batches wait out their visibility timeout.
	if v, f := depth(); v != 0 || f != 4 {
		t.Fatalf("queue: %d visible, %d in flight; want 0 and 4", v, f)
	}
}
