package infra_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/awstest"
	"github.com/gfnpipeline/shared/infra"
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
	if len(n.QueueConfigurations) != 1 {
		t.Fatalf("bucket notifications %+v", n.QueueConfigurations)
	}
	v, err := clients.S3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(top.Bucket)})
	if err != nil || v.Status != "Enabled" {
		t.Fatalf("bucket versioning %v (%v), want Enabled as terraform sets it", v.Status, err)
	}
}
