package infra_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/awsconfig"
	"github.com/gfnpipeline/shared/awstest"
	"github.com/gfnpipeline/shared/awstest/emulator"
	"github.com/gfnpipeline/shared/infra"
	"github.com/gfnpipeline/shared/messaging"
)

// The same topology and message path on an emulator container (moto's image, or LocalStack
// with a token), as `make up` runs them; CI's moto server when AWS_ENDPOINT_URL is set.
func TestTopologyOnEmulatorContainer(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", emulator.Endpoint(t))
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	ctx := context.Background()
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	top := contracts.DefaultTopology("").WithPrefix(awstest.Prefix())
	if _, err := infra.Apply(ctx, infra.NewClients(cfg), top); err != nil {
		t.Fatal(err)
	}
	pub, err := messaging.NewAWSPublisher(cfg, top, "test", slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx, &contracts.RawBatchLanded{Header: contracts.Header{RunID: "run-c", BatchID: "ef-2020"}, Year: 2020}); err != nil {
		t.Fatal(err)
	}
	client := sqs.NewFromConfig(cfg)
	urls, err := messaging.QueueURLs(ctx, client, top.Name(contracts.QueueValidator))
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(urls[top.Name(contracts.QueueValidator)]), WaitTimeSeconds: 5, MessageAttributeNames: []string{"All"}})
	if err != nil || len(res.Messages) != 1 {
		t.Fatalf("validator queue got %d messages (%v)", len(res.Messages), err)
	}
	if got := aws.ToString(res.Messages[0].MessageAttributes[contracts.AttrType].StringValue); got != contracts.TypeRawBatchLanded {
		t.Fatalf("type attribute %q", got)
	}
}
