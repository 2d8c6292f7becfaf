package infra_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/awstest"
	"github.com/gfnpipeline/shared/infra"
	"github.com/gfnpipeline/shared/lake"
	"github.com/gfnpipeline/shared/messaging"
)

func TestApplyIsIdempotentAndComplete(t *testing.T) {
	cfg := awstest.Config(t)
	ctx := context.Background()
	top := contracts.DefaultTopology("").WithPrefix(awstest.Prefix())
	clients := infra.NewClients(cfg)

	first, err := infra.Apply(ctx, clients, top)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) == 0 {
		t.Fatal("first apply changed nothing")
	}
	second, err := infra.Apply(ctx, clients, top)
	if err != nil {
		t.Fatalf("second apply: %v", err)
	}
	if len(second) != 0 {
		t.Fatalf("second apply changed %+v", second)
	}

	for _, q := range top.Queues {
		url, err := clients.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(q.Name)})
		if err != nil {
			t.Fatalf("queue %s: %v", q.Name, err)
		}
		attrs, err := clients.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: url.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
		if err != nil {
			t.Fatal(err)
		}
		var redrive map[string]any
		if err := json.Unmarshal([]byte(attrs.Attributes["RedrivePolicy"]), &redrive); err != nil {
			t.Fatalf("%s redrive policy %q: %v", q.Name, attrs.Attributes["RedrivePolicy"], err)
		}
		if arn, _ := redrive["deadLetterTargetArn"].(string); arn == "" || arn[len(arn)-len(q.DLQ()):] != q.DLQ() {
			t.Fatalf("%s redrives to %v", q.Name, redrive["deadLetterTargetArn"])
		}
		if attrs.Attributes["VisibilityTimeout"] == "" {
			t.Fatalf("%s has no visibility timeout", q.Name)
		}
	}
	n, err := clients.S3.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String(top.Bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if len(n.TopicConfigurations) != 1 || len(n.QueueConfigurations) != 0 {
		t.Fatalf("bucket notifications: topics %+v, queues %+v", n.TopicConfigurations, n.QueueConfigurations)
	}
}

// S3 -> SNS (gfn-lake-events) -> SQS (gfn-loader, raw delivery): the queue gets S3's event
// JSON itself, after the s3:TestEvent moto sends when the notification is configured, with the
// key URL-encoded as S3 does.
func TestObjectCreatedReachesLoaderThroughLakeEventsTopic(t *testing.T) {
	cfg := awstest.Config(t)
	ctx := context.Background()
	top := contracts.DefaultTopology("").WithPrefix(awstest.Prefix())
	clients := infra.NewClients(cfg)
	if _, err := infra.Apply(ctx, clients, top); err != nil {
		t.Fatal(err)
	}
	key := "transformed/ecological_footprint/year=2026/data a=b.parquet"
	if _, err := clients.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(top.Bucket), Key: aws.String(key), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	url, err := clients.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(top.Name(contracts.QueueLoader))})
	if err != nil {
		t.Fatal(err)
	}
	var got []lake.ObjectCreated
	for deadline := time.Now().Add(20 * time.Second); len(got) == 0 && time.Now().Before(deadline); {
		res, err := clients.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range res.Messages {
			objs, err := messaging.ParseS3Event([]byte(aws.ToString(m.Body)))
			if err != nil {
				t.Fatalf("loader queue body is not S3's event JSON (raw delivery?): %v\n%s", err, aws.ToString(m.Body))
			}
			got = append(got, objs...)
		}
	}
	if len(got) != 1 || got[0].Key != key || got[0].Bucket != top.Bucket {
		t.Fatalf("loader queue got %+v, want %s", got, key)
	}
	v, err := clients.S3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(top.Bucket)})
	if err != nil || v.Status != "Enabled" {
		t.Fatalf("bucket versioning %v (%v), want Enabled as terraform sets it", v.Status, err)
	}
}
