// Package sodalambda_test runs the production Soda job (soda/lambda/handler.py) the way its
// Lambda does, against fakesnow's server as Snowflake and moto as AWS.
package sodalambda_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gfnpipeline/shared/awsconfig"
	"github.com/gfnpipeline/shared/awstest"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/warehouse"
	"github.com/gfnpipeline/shared/warehouse/whtest"
	"github.com/gfnpipeline/tools/e2e/fakesnow"
	"github.com/gfnpipeline/tools/e2e/snowpipe"
)

// Two recorded years loaded through the Snowpipe stand-in, then one negative value in
// TRANSFORMED: the job scans checks.yml, prints the EMF metric, alerts through SNS and Slack
// on the failed check, and records the scan in the run's ledger. fakesnow 0.12.1 runs every
// check of checks.yml in Soda's Snowflake dialect (freshness, the reference check, the
// failed-rows queries): none errors, so none is left unproven here.
func TestSodaJobScansSnowflakeAndReportsAFailedCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("Soda against fakesnow skipped in -short mode")
	}
	ctx := context.Background()
	root := whtest.RepoRoot(t)
	python := filepath.Join(root, ".venv-soda-snowflake", "bin", "python")
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("the Soda job's python not found at %s (run make venv-soda-snowflake): %v", python, err)
	}
	fsPython, err := fakesnow.Python(root)
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(t.TempDir(), "fakesnow.log")
	port, stop, err := fakesnow.Start(ctx, fsPython, logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	sf, err := snowpipe.Open(ctx, port)
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	if err := snowpipe.Setup(ctx, sf.DB()); err != nil {
		t.Fatal(err)
	}
	for _, year := range []int{2021, 2022} {
		local := filepath.Join(t.TempDir(), "upload.parquet")
		whtest.WriteParquet(t, local, whtest.YearRows(t, year, "run-soda", time.Now().UTC()))
		if _, err := snowpipe.Load(ctx, sf, fmt.Sprintf("transformed/ecological_footprint/data_ef-%d.parquet", year), local, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	// fakesnow enforces TRANSFORMED's primary key, so the defect is a negative value (on a
	// record without land-type components, so only that check fails).
	bad := `UPDATE ` + warehouse.TransformedTable + ` SET value = -1 WHERE country_code = 5001 AND year = 2022 AND record_type = 'Population'`
	if _, err := sf.DB().ExecContext(ctx, bad); err != nil {
		t.Fatal(err)
	}

	// AWS: the ledger's bucket, and an alert topic with a queue to read what it sends.
	cfg := awstest.Config(t)
	prefix := awstest.Prefix()
	bucket := prefix + "gfn-data-lake"
	s3c := awsconfig.S3(cfg)
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	topic, err := sns.NewFromConfig(cfg).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(prefix + "gfn-alerts")})
	if err != nil {
		t.Fatal(err)
	}
	sq := sqs.NewFromConfig(cfg)
	q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(prefix + "alerts")})
	if err != nil {
		t.Fatal(err)
	}
	qa, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sns.NewFromConfig(cfg).Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"),
		Endpoint: aws.String(qa.Attributes["QueueArn"]), Attributes: map[string]string{"RawMessageDelivery": "true"}}); err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		slack []string
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		slack = append(slack, string(b))
		mu.Unlock()
	}))
	defer hook.Close()

	cmd := exec.CommandContext(ctx, python, filepath.Join(root, "soda", "lambda", "handler.py"), "run-soda")
	cmd.Env = append(os.Environ(), fakesnow.Env(port)...)
	cmd.Env = append(cmd.Env, "AWS_ENDPOINT_URL="+aws.ToString(cfg.BaseEndpoint), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_DEFAULT_REGION=us-east-1", "GFN_BUCKET=gfn-data-lake", "GFN_NAME_PREFIX="+prefix,
		"GFN_ALERT_TOPIC_ARN="+aws.ToString(topic.TopicArn), "SLACK_WEBHOOK_URL="+hook.URL)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	t.Logf("soda job stderr:\n%s", tail(stderr.String(), 6000))
	if code := cmd.ProcessState.ExitCode(); code != 2 {
		b, _ := os.ReadFile(logPath)
		t.Fatalf("exit code %d (%v), want 2 (a check failed)\nstdout:\n%s\nfakesnow:\n%s", code, err, stdout.String(), tail(string(b), 4000))
	}

	// The EMF record on stdout.
	var metric map[string]any
	for _, line := range strings.Split(stdout.String(), "\n") {
		if strings.Contains(line, `"_aws"`) {
			if err := json.Unmarshal([]byte(line), &metric); err != nil {
				t.Fatalf("EMF line %q: %v", line, err)
			}
		}
	}
	if metric == nil {
		t.Fatalf("no EMF record on stdout:\n%s", stdout.String())
	}
	ns := metric["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)["Namespace"]
	total, passed, failed := metric["soda_checks_total"].(float64), metric["soda_checks_passed"].(float64), metric["soda_checks_failed"].(float64)
	if ns != "GFN/Pipeline" || failed != 1 || total < 18 || passed+failed != total {
		t.Fatalf("EMF record %v", metric)
	}

	// The ledger record gfnctl status reads.
	obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(lake.RunPrefix("run-soda") + "quality/soda.json")})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Body.Close()
	var rec struct {
		Passed       int      `json:"passed"`
		Failed       int      `json:"failed"`
		Total        int      `json:"total"`
		FailedChecks []string `json:"failed_checks"`
		Errors       []string `json:"errors"`
	}
	if err := json.NewDecoder(obj.Body).Decode(&rec); err != nil {
		t.Fatal(err)
	}
	const badCheck = "value is non-negative"
	if rec.Failed != 1 || !slices.Equal(rec.FailedChecks, []string{badCheck}) || float64(rec.Total) != total {
		t.Fatalf("ledger record %+v", rec)
	}
	if len(rec.Errors) != 0 {
		t.Fatalf("checks errored on fakesnow: %q", rec.Errors)
	}

	// The alerts.
	got, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 5})
	if err != nil || len(got.Messages) != 1 || !strings.Contains(aws.ToString(got.Messages[0].Body), badCheck) {
		t.Fatalf("SNS alert: %+v, %v", got.Messages, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(slack) != 1 || !strings.Contains(slack[0], badCheck) || !strings.Contains(slack[0], "run-soda") {
		t.Fatalf("Slack got %q", slack)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
