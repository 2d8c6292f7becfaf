package e2e_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/awsconfig"
	"github.com/gfnpipeline/shared/awstest"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/messaging/messagingtest"
	"github.com/gfnpipeline/shared/telemetry/telemetrytest"
	"github.com/gfnpipeline/tools/e2e/stack"
)

// runtimeAPI is the Lambda Runtime API as the Lambda service speaks it: one invocation, then
// it holds the next poll until the test ends.
type runtimeAPI struct {
	event    []byte
	served   bool
	response chan []byte
}

func (r *runtimeAPI) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch {
	case req.Method == http.MethodGet && req.URL.Path == "/2018-06-01/runtime/invocation/next":
		if r.served {
			<-req.Context().Done()
			return
		}
		r.served = true
		w.Header().Set("Lambda-Runtime-Aws-Request-Id", "req-1")
		w.Header().Set("Lambda-Runtime-Deadline-Ms", "4102444800000")
		w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:gfn-validator")
		w.Write(r.event)
	case req.Method == http.MethodPost && req.URL.Path == "/2018-06-01/runtime/invocation/req-1/response":
		b, _ := io.ReadAll(req.Body)
		w.WriteHeader(http.StatusAccepted)
		r.response <- b
	default:
		b, _ := io.ReadAll(req.Body)
		w.WriteHeader(http.StatusAccepted)
		r.response <- append([]byte("unexpected "+req.Method+" "+req.URL.Path+": "), b...)
	}
}

// The validator binary with RUNTIME=lambda handles an SQS event: the good record is validated
// (its event reaches the transformer's queue), the undecodable one is dead-lettered at once, and
// neither is reported back as a batch item failure.
func TestValidatorBinaryAsLambda(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the service binaries")
	}
	root, err := stack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(bin, "validator"), stack.Binaries["validator"])
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cfg := awstest.Config(t)
	top := awstest.Topology(t, cfg)
	ctx := context.Background()

	// A landed raw batch, and the queue messages a Lambda event source would hand over.
	store := lake.NewS3(awsconfig.S3(cfg), top.Bucket)
	at := time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)
	rawKey := lake.RawKey(at, "ef-2020")
	raw := `[{"year":2020,"countryCode":1,"countryName":"Armenia","shortName":"Armenia","isoa2":"AM","record":"Population","cropLand":null,"grazingLand":null,"forestLand":null,"fishingGround":null,"builtupLand":null,"carbon":null,"value":2963.2,"score":null}]`
	if err := store.Put(ctx, rawKey, []byte(raw), nil); err != nil {
		t.Fatal(err)
	}
	pub, err := messaging.NewAWSPublisher(cfg, top, "test", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	landed := &contracts.RawBatchLanded{Header: contracts.Header{RunID: "run-l", BatchID: "ef-2020"}, Year: 2020, Bucket: top.Bucket, Key: rawKey, Records: 1, ExtractedAt: at}
	if err := pub.Publish(ctx, landed); err != nil {
		t.Fatal(err)
	}
	client := sqs.NewFromConfig(cfg)
	queue := top.Name(contracts.QueueValidator)
	urls, err := messaging.QueueURLs(ctx, client, queue, queue+contracts.DLQSuffix, top.Name(contracts.QueueTransformer))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(urls[queue]), MessageBody: aws.String("{truncated"),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{contracts.AttrType: {DataType: aws.String("String"), StringValue: aws.String(contracts.TypeRawBatchLanded)}}}); err != nil {
		t.Fatal(err)
	}
	ev, err := messagingtest.ReceiveAsLambda(ctx, client, urls[queue], queue, 2)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(ev)

	api := &runtimeAPI{event: body, response: make(chan []byte, 4)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: api}
	go srv.Serve(ln)
	defer srv.Close()

	fn := exec.Command(filepath.Join(bin, "validator"))
	fn.Env = append(os.Environ(), "RUNTIME=lambda", "AWS_LAMBDA_RUNTIME_API="+ln.Addr().String(), "GFN_NAME_PREFIX="+top.Prefix,
		"AWS_ENDPOINT_URL="+awstest.Endpoint(t), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1")
	logs, _ := os.Create(filepath.Join(bin, "validator.log"))
	fn.Stdout, fn.Stderr = logs, logs
	fn.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := fn.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { fn.Process.Kill(); fn.Wait() }()

	var resp events.SQSEventResponse
	select {
	case b := <-api.response:
		if err := json.Unmarshal(b, &resp); err != nil {
			t.Fatalf("function answered %s", b)
		}
	case <-time.After(60 * time.Second):
		out, _ := os.ReadFile(filepath.Join(bin, "validator.log"))
		t.Fatalf("no answer from the function:\n%s", out)
	}
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("batch item failures %+v, want none", resp.BatchItemFailures)
	}
	if n := receiveAll(t, client, urls[queue+contracts.DLQSuffix]); n != 1 {
		t.Fatalf("DLQ holds %d messages, want the undecodable one", n)
	}
	if n := receiveAll(t, client, urls[top.Name(contracts.QueueTransformer)]); n != 1 {
		t.Fatalf("transformer queue got %d BatchValidated, want 1", n)
	}
	assertLambdaMetrics(t, filepath.Join(bin, "validator.log"))
}

// assertLambdaMetrics: the Lambda runtime emits the poller's EMF metrics: the good record
// handled with its rows, the undecodable one failed and dead-lettered.
func assertLambdaMetrics(t *testing.T, logPath string) {
	t.Helper()
	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines, err := telemetrytest.ScanEMF(f)
	if err != nil {
		t.Fatal(err)
	}
	sum := map[string]float64{}
	for _, e := range lines {
		if e.Fields["service"] != "validator" {
			t.Errorf("service %q", e.Fields["service"])
		}
		for k, v := range e.Values {
			sum[e.Fields["event_type"]+"."+k] += v
		}
	}
	for k, want := range map[string]float64{"RawBatchLanded.handled": 1, "unknown.failed": 1, "unknown.dead_lettered": 1, "BatchValidated.rows_valid": 1} {
		if sum[k] != want {
			t.Errorf("%s = %v, want %v (all: %v)", k, sum[k], want, sum)
		}
	}
}

func receiveAll(t *testing.T, client *sqs.Client, url string) int {
	t.Helper()
	res, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 2})
	if err != nil {
		t.Fatal(err)
	}
	return len(res.Messages)
}

func quietLogger() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }
