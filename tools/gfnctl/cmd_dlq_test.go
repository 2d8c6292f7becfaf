package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/awstest"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/tools/e2e/stack"
	"github.com/gfnpipeline/tools/gfnctl/dlq"
)

// buildGfnctl compiles this command with the stack's binaries (one build for this package's
// tests and the e2e tests) and returns its path.
func buildGfnctl(t *testing.T) string {
	t.Helper()
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if err := stack.Build(context.Background(), root, stack.SharedDir(root)); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(stack.SharedDir(root), "bin", "gfnctl")
}

type sqsEnv struct {
	client *sqs.Client
	top    contracts.Topology
}

// newSQSEnv applies a fresh topology and points this process's environment (and so gfnctl
// children and in-process commands) at it.
func newSQSEnv(t *testing.T) sqsEnv {
	t.Helper()
	e := newQueues(t)
	t.Setenv("GFN_NAME_PREFIX", e.top.Prefix)
	return e
}

// newQueues applies a fresh topology and leaves the environment's prefix alone (parallel
// tests): gfnctl children get GFN_NAME_PREFIX from childEnv.
func newQueues(t *testing.T) sqsEnv {
	t.Helper()
	cfg := awstest.Config(t)
	return sqsEnv{client: sqs.NewFromConfig(cfg), top: awstest.Topology(t, cfg)}
}

func (e sqsEnv) childEnv() []string {
	return append(os.Environ(), "GFN_NAME_PREFIX="+e.top.Prefix)
}

func (e sqsEnv) url(t *testing.T, base string) string {
	t.Helper()
	res, err := e.client.GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String(e.top.Name(base))})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(res.QueueUrl)
}

// fill dead-letters n messages into the DLQ and returns their message ids.
func (e sqsEnv) fill(t *testing.T, dlqBase string, n int) map[string]bool {
	t.Helper()
	url := e.url(t, dlqBase)
	ids := make(map[string]bool, n)
	for start := 0; start < n; start += 10 {
		var entries []sqstypes.SendMessageBatchRequestEntry
		for i := start; i < min(start+10, n); i++ {
			attrs := map[string]string{contracts.AttrEventType: "RawBatchLanded", contracts.AttrRunID: "run-kill", contracts.AttrType: contracts.TypeRawBatchLanded}
			entries = append(entries, sqstypes.SendMessageBatchRequestEntry{
				Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(fmt.Sprintf(`{"run_id":"run-kill","n":%d}`, i)),
				MessageAttributes: stringAttrs(messaging.DeadLetterAttributes(attrs, "boom")),
			})
		}
		out, err := e.client.SendMessageBatch(context.Background(), &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
		if err != nil || len(out.Failed) > 0 {
			t.Fatalf("fill: %v %+v", err, out)
		}
		for _, s := range out.Successful {
			ids[aws.ToString(s.MessageId)] = true
		}
	}
	return ids
}

func stringAttrs(m map[string]string) map[string]sqstypes.MessageAttributeValue {
	out := make(map[string]sqstypes.MessageAttributeValue, len(m))
	for k, v := range m {
		out[k] = sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	return out
}

// drainer consumes a queue in the background (keeping it shallow: moto slows as queues
// deepen) and counts arrivals by redrive original id.
type drainer struct {
	mu   sync.Mutex
	seen map[string]int
	stop context.CancelFunc
	done chan struct{}
}

func (e sqsEnv) drain(t *testing.T, base string) *drainer {
	url := e.url(t, base)
	ctx, cancel := context.WithCancel(context.Background())
	d := &drainer{seen: map[string]int{}, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(d.done)
		for ctx.Err() == nil {
			res, err := e.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"}})
			if err != nil || len(res.Messages) == 0 {
				continue
			}
			var del []sqstypes.DeleteMessageBatchRequestEntry
			d.mu.Lock()
			for i, m := range res.Messages {
				d.seen[aws.ToString(m.MessageAttributes[contracts.AttrRedriveOriginalID].StringValue)]++
				del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
			}
			d.mu.Unlock()
			e.client.DeleteMessageBatch(context.WithoutCancel(ctx), &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: del})
		}
	}()
	return d
}

func (d *drainer) count() (distinct, total int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, n := range d.seen {
		total += n
	}
	return len(d.seen), total
}

// A redrive killed with SIGKILL half way and run again delivers every message at least once.
func TestRedriveSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds gfnctl and moves 200 messages")
	}
	t.Parallel()
	env := newQueues(t)
	bin := buildGfnctl(t)
	// Enough messages for a run killed half way to hold some in flight; moto's receives slow
	// down with queue depth, so more only cost time.
	const n = 200
	dlqName := contracts.QueueValidator + contracts.DLQSuffix
	began := time.Now()
	ids := env.fill(t, dlqName, n)
	t.Logf("filled in %v", time.Since(began))
	dest := env.drain(t, contracts.QueueValidator)

	// --rate makes the first run take several seconds so it can be killed half way; --hold
	// bounds how long the messages it held stay hidden after the kill.
	args := []string{"dlq", "redrive", dlqName, "--rate", "50", "--hold", "3s"}
	first := exec.Command(bin, args...)
	first.Env = env.childEnv()
	stdout, err := first.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	first.Stderr = &stderr
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	killedAt := -1
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var p dlq.Progress
		if json.Unmarshal(sc.Bytes(), &p) == nil && p.Event == "batch" && p.Moved >= n/2 {
			first.Process.Signal(syscall.SIGKILL)
			killedAt = p.Moved
			break
		}
	}
	err = first.Wait()
	var exit *exec.ExitError
	if killedAt < 0 || !errors.As(err, &exit) || exit.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("first run was not killed half way (moved %d, %v)\n%s", killedAt, err, stderr.String())
	}
	t.Logf("killed after %d moved at %v", killedAt, time.Since(began))

	// What the killed run held comes back after its hold; the second run must not end while
	// messages are still hidden, so wait for them first.
	waitFor(t, 30*time.Second, func() bool {
		d, err := (&dlq.Tool{SQS: env.client, Topology: env.top}).Depth(context.Background(), env.top.Name(dlqName))
		return err == nil && d.InFlight == 0
	})
	t.Logf("held messages back at %v", time.Since(began))
	second := exec.Command(bin, args[:len(args)-4]...)
	second.Env = env.childEnv()
	out, err := second.Output()
	if err != nil {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	var sum struct {
		Event string `json:"event"`
		dlq.Result
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil || sum.Event != "summary" || sum.Moved == 0 || sum.Failed != 0 {
		t.Fatalf("second run summary %q (%v)", lines[len(lines)-1], err)
	}

	t.Logf("second run done at %v", time.Since(began))
	waitFor(t, 60*time.Second, func() bool { distinct, _ := dest.count(); return distinct >= n })
	dest.stop()
	<-dest.done
	distinct, total := dest.count()
	for id := range ids {
		if dest.seen[id] == 0 {
			t.Errorf("message %s was lost", id)
		}
	}
	if distinct != n {
		t.Errorf("%d distinct original ids at the destination, want %d", distinct, n)
	}
	t.Logf("%d messages arrived for %d originals (%d duplicates from the kill); second run moved %d", total, distinct, total-distinct, sum.Moved)
	d, err := (&dlq.Tool{SQS: env.client, Topology: env.top}).Depth(context.Background(), env.top.Name(dlqName))
	if err != nil || d.Total() != 0 {
		t.Fatalf("DLQ not empty: %+v %v", d, err)
	}
}

func waitFor(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// The CLI resolves base names with GFN_NAME_PREFIX and refuses to purge without --yes.
func TestDLQCommands(t *testing.T) {
	env := newSQSEnv(t)
	dlqName := contracts.QueueLoader + contracts.DLQSuffix
	env.fill(t, dlqName, 3)
	ctx := context.Background()
	run := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := execute(ctx, append([]string{"dlq"}, args...), &out, &errOut)
		return out.String(), errOut.String(), err
	}

	out, _, err := run("list", "--json")
	if err != nil || !strings.Contains(out, `"dlq":"`+env.top.Name(dlqName)+`","source":"`+env.top.Name(contracts.QueueLoader)+`","visible":3`) {
		t.Fatalf("list: %v\n%s", err, out)
	}
	out, _, err = run("peek", dlqName, "-n", "2", "--filter", "error=boom")
	if err != nil || strings.Count(out, `"original_id"`) != 2 {
		t.Fatalf("peek: %v\n%s", err, out)
	}
	file := filepath.Join(t.TempDir(), "dlq.jsonl")
	if _, errOut, err := run("export", dlqName, file); err != nil || !strings.Contains(errOut, "exported 3 messages") {
		t.Fatalf("export: %v %s", err, errOut)
	}
	if b, _ := os.ReadFile(file); strings.Count(string(b), "\n") != 3 {
		t.Fatalf("export file:\n%s", b)
	}
	// A file that cannot be written to the end (a full disk) fails the export.
	if _, errOut, err := run("export", dlqName, "/dev/full"); err == nil || !strings.Contains(err.Error(), "no space left") || strings.Contains(errOut, "exported 3") {
		t.Fatalf("export to a full device: %v %s", err, errOut)
	}
	out, _, err = run("redrive", dlqName, "--dry-run")
	if err != nil || strings.Count(out, `"event":"would_move"`) != 3 || !strings.Contains(out, `"event":"summary"`) {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	out, _, err = run("purge", dlqName)
	if !errors.Is(err, errNotConfirmed) || !strings.Contains(out, "holds 3 messages") {
		t.Fatalf("purge without --yes: %v\n%s", err, out)
	}
	if _, _, err := run("purge", contracts.QueueLoader, "--yes"); !errors.Is(err, dlq.ErrNotDLQ) {
		t.Fatalf("purge of a source queue: %v", err)
	}
	if out, _, err = run("purge", dlqName, "--yes"); err != nil || !strings.Contains(out, "purged") {
		t.Fatalf("purge --yes: %v\n%s", err, out)
	}
	if _, _, err := run("redrive", dlqName, "--filter", "nonsense"); !errors.Is(err, dlq.ErrBadFilter) {
		t.Fatalf("bad filter: %v", err)
	}
}
