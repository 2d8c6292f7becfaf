// Package lambdaesm runs Lambda functions as AWS does for SQS queues, on one machine: each
// function's bootstrap under AWS's Lambda Runtime Interface Emulator (one emulator per
// concurrent invocation), fed by an event-source poller that does what Lambda's SQS event
// source mapping does, with the settings terraform gives it (ReadTerraform).
package lambdaesm

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Function is one deployed function and its event source.
type Function struct {
	Mapping
	// Name names the function's logs (the service).
	Name string
	// Bootstrap is the binary `make package` puts in the function's zip.
	Bootstrap string
	// Env is the function's environment (the emulator passes its own on to the bootstrap).
	Env []string
	// QueueName is the queue as deployed here (with the stack's prefix).
	QueueName string
}

// Options for Start.
type Options struct {
	// RIE is the aws-lambda-rie binary.
	RIE string
	// LogDir gets one log per emulator instance, <name>-<n>.log, and the pollers' PollerLog.
	LogDir string
	// SQS is the queues' client; Region and Account make the event source ARN.
	SQS             *sqs.Client
	Region, Account string
	// WaitTimeSeconds is the pollers' long poll; 0 means Lambda's 20 s.
	WaitTimeSeconds int32
	// Logger gets the pollers' failures (invocations, receives, deletes); nil writes them to
	// PollerLog in LogDir.
	Logger *slog.Logger
}

// Stats counts what the pollers did for a function.
type Stats struct {
	Invocations    int
	Records        int
	Deleted        int
	ItemFailures   int
	FailedBatches  int
	LargestBatch   int
	MostConcurrent int
	running        int
}

// PollerLog is the pollers' log in LogDir (when Options.Logger is nil).
const PollerLog = "event-sources.log"

// Runner is the event source mappings of a set of functions, and their emulators.
type Runner struct {
	opts    Options
	logFile *os.File
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	procs   []*exec.Cmd
	exited  []chan struct{}

	fns       map[string]Function
	direct    sync.Mutex
	directURL map[string]string

	mu    sync.Mutex
	stats map[string]*Stats
}

// invokePath is the emulator's Invoke API.
const invokePath = "/2015-03-31/functions/function/invocations"

// Start starts MaximumConcurrency emulators per function, each running the function's
// bootstrap, and one poller for each emulator. Stop ends them.
func Start(ctx context.Context, opts Options, fns ...Function) (*Runner, error) {
	if _, err := os.Stat(opts.RIE); err != nil {
		return nil, fmt.Errorf("lambda runtime interface emulator: %w (install it with `make lambda-rie`)", err)
	}
	var logFile *os.File
	if opts.Logger == nil {
		f, err := os.OpenFile(filepath.Join(opts.LogDir, PollerLog), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		logFile, opts.Logger = f, slog.New(slog.NewJSONHandler(f, nil))
	}
	if opts.WaitTimeSeconds == 0 {
		opts.WaitTimeSeconds = 20
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &Runner{opts: opts, logFile: logFile, cancel: cancel, stats: map[string]*Stats{}, fns: map[string]Function{}, directURL: map[string]string{}}
	for _, fn := range fns {
		url, err := opts.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(fn.QueueName)})
		if err != nil {
			r.Stop()
			return nil, fmt.Errorf("%s: event source %s: %w", fn.Function, fn.QueueName, err)
		}
		r.stats[fn.Name] = &Stats{}
		r.fns[fn.Name] = fn
		for i := range fn.MaximumConcurrency {
			addr, err := r.startEmulator(fn, i)
			if err != nil {
				r.Stop()
				return nil, err
			}
			p := &poller{r: r, fn: fn, queueURL: aws.ToString(url.QueueUrl), invokeURL: "http://" + addr + invokePath,
				arn: fmt.Sprintf("arn:aws:sqs:%s:%s:%s", opts.Region, opts.Account, fn.QueueName),
				log: opts.Logger.With("function", fn.Function, "instance", i)}
			r.wg.Add(1)
			go func() { defer r.wg.Done(); p.run(ctx) }()
		}
	}
	return r, nil
}

// startEmulator runs one emulator instance with its own Runtime API and invoke addresses.
func (r *Runner) startEmulator(fn Function, i int) (string, error) {
	api, err := freeAddr()
	if err != nil {
		return "", err
	}
	invoke, err := freeAddr()
	if err != nil {
		return "", err
	}
	logPath := filepath.Join(r.opts.LogDir, fmt.Sprintf("%s-%d.log", fn.Name, i))
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return "", err
	}
	cmd := exec.Command(r.opts.RIE, "--runtime-api-address", api, "--runtime-interface-emulator-address", invoke, fn.Bootstrap)
	cmd.Dir = filepath.Dir(fn.Bootstrap)
	cmd.Env = append(append([]string{}, fn.Env...),
		"AWS_LAMBDA_FUNCTION_NAME="+fn.Function,
		"AWS_LAMBDA_FUNCTION_TIMEOUT="+strconv.Itoa(int(fn.Timeout/time.Second)),
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE="+strconv.Itoa(fn.MemoryMB))
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return "", fmt.Errorf("start emulator for %s: %w", fn.Function, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); f.Close(); close(done) }()
	r.mu.Lock()
	r.procs, r.exited = append(r.procs, cmd), append(r.exited, done)
	r.mu.Unlock()
	if err := waitListening(invoke, 30*time.Second); err != nil {
		return "", fmt.Errorf("emulator for %s: %w (see %s)", fn.Function, err, logPath)
	}
	return invoke, nil
}

// Stop stops the pollers, the emulators and the bootstraps they run. An invocation under way
// is cut short: its batch returns after the visibility timeout, as after a crash.
func (r *Runner) Stop() {
	r.cancel()
	defer func() {
		r.wg.Wait()
		if r.logFile != nil {
			r.logFile.Close()
		}
	}()
	r.mu.Lock()
	procs, exited := r.procs, r.exited
	r.procs, r.exited = nil, nil
	r.mu.Unlock()
	for _, p := range procs {
		syscall.Kill(-p.Process.Pid, syscall.SIGTERM)
	}
	for i, done := range exited {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-procs[i].Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
}

// Stats returns a copy of each function's counters, by name.
func (r *Runner) Stats() map[string]Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]Stats, len(r.stats))
	for k, v := range r.stats {
		out[k] = *v
	}
	return out
}

func (r *Runner) count(name string, f func(*Stats)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(r.stats[name])
}

// poller is one of a mapping's concurrent pollers, with the emulator it invokes.
type poller struct {
	r         *Runner
	fn        Function
	queueURL  string
	invokeURL string
	arn       string
	log       *slog.Logger
}

func (p *poller) run(ctx context.Context) {
	for ctx.Err() == nil {
		msgs, err := p.receive(ctx)
		if err != nil {
			if ctx.Err() == nil {
				p.log.Warn("receive", "error", err.Error())
				sleep(ctx, time.Second)
			}
			continue
		}
		if len(msgs) == 0 {
			continue
		}
		// A batch received is invoked and settled even while the poller stops; Stop ends the
		// emulator, which cuts the invocation short.
		p.invoke(context.WithoutCancel(ctx), msgs)
	}
}

// receive gathers a batch: up to BatchSize messages, waiting up to the batching window once
// the first has arrived.
func (p *poller) receive(ctx context.Context) ([]sqstypes.Message, error) {
	var out []sqstypes.Message
	var windowEnds time.Time
	for len(out) < p.fn.BatchSize {
		wait := p.r.opts.WaitTimeSeconds
		if len(out) > 0 {
			left := time.Until(windowEnds)
			if left <= 0 {
				break
			}
			wait = int32((left + time.Second - 1) / time.Second)
		}
		res, err := p.r.opts.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(p.queueURL), MaxNumberOfMessages: int32(min(p.fn.BatchSize-len(out), 10)), WaitTimeSeconds: wait,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		})
		if err != nil {
			if len(out) > 0 {
				return out, nil
			}
			return nil, err
		}
		if len(out) == 0 && len(res.Messages) > 0 {
			windowEnds = time.Now().Add(p.fn.BatchingWindow)
		}
		out = append(out, res.Messages...)
		if p.fn.BatchingWindow == 0 && len(out) > 0 {
			break
		}
	}
	return out, nil
}

// Event is the SQS event Lambda hands a function for msgs.
func (p *poller) event(msgs []sqstypes.Message) events.SQSEvent {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, len(msgs))}
	for i, m := range msgs {
		rec := events.SQSMessage{
			MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
			Md5OfBody: aws.ToString(m.MD5OfBody), Md5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
			Attributes: m.Attributes, MessageAttributes: map[string]events.SQSMessageAttribute{},
			EventSource: "aws:sqs", EventSourceARN: p.arn, AWSRegion: p.r.opts.Region,
		}
		if rec.Md5OfBody == "" {
			sum := md5.Sum([]byte(rec.Body))
			rec.Md5OfBody = hex.EncodeToString(sum[:])
		}
		for k, v := range m.MessageAttributes {
			rec.MessageAttributes[k] = events.SQSMessageAttribute{StringValue: v.StringValue, BinaryValue: v.BinaryValue,
				StringListValues: append([]string{}, v.StringListValues...), BinaryListValues: append([][]byte{}, v.BinaryListValues...),
				DataType: aws.ToString(v.DataType)}
		}
		ev.Records[i] = rec
	}
	return ev
}

// invoke runs the function on the batch with the function's timeout as the deadline, deletes
// what succeeded and leaves the rest to their visibility timeout, as the event source does.
func (p *poller) invoke(ctx context.Context, msgs []sqstypes.Message) {
	name := p.fn.Name
	p.r.count(name, func(s *Stats) {
		s.Invocations++
		s.Records += len(msgs)
		s.LargestBatch = max(s.LargestBatch, len(msgs))
		s.running++
		s.MostConcurrent = max(s.MostConcurrent, s.running)
	})
	defer p.r.count(name, func(s *Stats) { s.running-- })
	body, _ := json.Marshal(p.event(msgs))
	// The emulator enforces the timeout itself; the margin covers its answer.
	ctx, cancel := context.WithTimeout(ctx, p.fn.Timeout+5*time.Second)
	defer cancel()
	failed, err := p.call(ctx, body, msgs)
	if err != nil {
		p.log.Error("invocation failed; the batch returns after its visibility timeout", "records", len(msgs), "error", err.Error())
		p.r.count(name, func(s *Stats) { s.FailedBatches++ })
		return
	}
	var entries []sqstypes.DeleteMessageBatchRequestEntry
	for i, m := range msgs {
		if !failed[aws.ToString(m.MessageId)] {
			entries = append(entries, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
	}
	deleted := 0
	for len(entries) > 0 {
		n := min(len(entries), 10)
		res, err := p.r.opts.SQS.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.queueURL), Entries: entries[:n]})
		if err != nil {
			p.log.Error("delete", "error", err.Error())
		} else {
			deleted += len(res.Successful)
			for _, f := range res.Failed {
				p.log.Error("delete", "id", aws.ToString(f.Id), "error", aws.ToString(f.Message))
			}
		}
		entries = entries[n:]
	}
	p.r.count(name, func(s *Stats) { s.Deleted += deleted; s.ItemFailures += len(failed) })
}

// errFunction is an invocation the function did not complete (error, crash or timeout).
var errFunction = errors.New("function error")

// call invokes the emulator and returns the message ids to leave on the queue. With
// ReportBatchItemFailures an unreadable response, or one naming a message not in the batch,
// fails the whole batch, as Lambda treats it.
func (p *poller) call(ctx context.Context, body []byte, msgs []sqstypes.Message) (map[string]bool, error) {
	out, err := invoke(ctx, p.invokeURL, body)
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(out, []byte("Task timed out")) {
		return nil, fmt.Errorf("%w: %s", errFunction, trim(out))
	}
	var resp struct {
		events.SQSEventResponse
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		if !p.fn.ReportBatchItemFailures {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: unreadable response %q", errFunction, trim(out))
	}
	if resp.ErrorType != "" || resp.ErrorMessage != "" {
		return nil, fmt.Errorf("%w: %s: %s", errFunction, resp.ErrorType, resp.ErrorMessage)
	}
	if !p.fn.ReportBatchItemFailures {
		return nil, nil
	}
	inBatch := map[string]bool{}
	for _, m := range msgs {
		inBatch[aws.ToString(m.MessageId)] = true
	}
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		if !inBatch[f.ItemIdentifier] {
			return nil, fmt.Errorf("%w: batch item failure %q names no message of the batch", errFunction, f.ItemIdentifier)
		}
		failed[f.ItemIdentifier] = true
	}
	return failed, nil
}

// Invoke sends one event straight to a function, as an EventBridge rule does: through an
// emulator instance of its own (started on first use), not one an event-source poller feeds.
func (r *Runner) Invoke(ctx context.Context, name string, payload []byte) ([]byte, error) {
	r.direct.Lock()
	defer r.direct.Unlock()
	url, ok := r.directURL[name]
	if !ok {
		fn, ok := r.fns[name]
		if !ok {
			return nil, fmt.Errorf("no function %q", name)
		}
		addr, err := r.startEmulator(fn, fn.MaximumConcurrency)
		if err != nil {
			return nil, err
		}
		url = "http://" + addr + invokePath
		r.directURL[name] = url
	}
	ctx, cancel := context.WithTimeout(ctx, r.fns[name].Timeout+5*time.Second)
	defer cancel()
	return invoke(ctx, url, payload)
}

// invoke posts payload to an emulator's invocation URL and returns the function's response;
// a status other than 200 is errFunction (the response is returned with it).
func invoke(ctx context.Context, url string, payload []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err == nil && res.StatusCode != http.StatusOK {
		err = fmt.Errorf("%w: %s: %s", errFunction, res.Status, trim(out))
	}
	return out, err
}

func trim(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 500 {
		s = s[:500] + "..."
	}
	return s
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitListening(addr string, d time.Duration) error {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
	}
	return fmt.Errorf("%s is not listening", addr)
}
