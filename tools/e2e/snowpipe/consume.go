package snowpipe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/awsconfig"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/warehouse"
)

// QueueBase names the stand-in's queue: Snowpipe's own notification queue, which Snowflake
// owns and subscribes to the lake events topic (AWS_SNS_TOPIC), is not part of the topology.
const QueueBase = "gfn-snowpipe-standin"

// Pipe consumes its subscription of the lake events topic and loads each notified file.
type Pipe struct {
	SQS      *sqs.Client
	S3       *s3.Client
	Bucket   string
	QueueURL string
	SF       *warehouse.Snowflake
	Log      *slog.Logger

	mu     sync.Mutex
	status Status
}

// Status counts the stand-in's loads.
type Status struct {
	FilesLoaded  int `json:"files_loaded"`
	FilesSkipped int `json:"files_skipped"`
	RowsLoaded   int `json:"rows_loaded"`
}

// Subscribe creates the stand-in's queue and subscribes it, raw, to the lake events topic.
func Subscribe(ctx context.Context, cfg aws.Config, top contracts.Topology) (string, error) {
	sq, sn := sqs.NewFromConfig(cfg), sns.NewFromConfig(cfg)
	q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(top.Name(QueueBase)),
		Attributes: map[string]string{"VisibilityTimeout": "30"}})
	if err != nil {
		return "", fmt.Errorf("stand-in queue: %w", err)
	}
	arn, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return "", fmt.Errorf("stand-in queue arn: %w", err)
	}
	var topicARN string
	p := sns.NewListTopicsPaginator(sn, &sns.ListTopicsInput{})
	for p.HasMorePages() && topicARN == "" {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("list topics: %w", err)
		}
		for _, t := range page.Topics {
			if awsconfig.ResourceName(aws.ToString(t.TopicArn)) == top.Name(contracts.TopicLakeEvents) {
				topicARN = aws.ToString(t.TopicArn)
			}
		}
	}
	if topicARN == "" {
		return "", fmt.Errorf("topic %s not found (run `gfnctl infra apply`)", top.Name(contracts.TopicLakeEvents))
	}
	if _, err := sn.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(topicARN), Protocol: aws.String("sqs"),
		Endpoint: aws.String(arn.Attributes["QueueArn"]), Attributes: map[string]string{"RawMessageDelivery": "true"}}); err != nil {
		return "", fmt.Errorf("subscribe stand-in to %s: %w", topicARN, err)
	}
	return aws.ToString(q.QueueUrl), nil
}

// Run loads notified files until ctx ends. A file that fails stays in the queue and comes
// back after the visibility timeout, as Snowpipe retries.
func (p *Pipe) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		res, err := p.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(p.QueueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 2})
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			p.Log.Error("receive", "error", err.Error())
			time.Sleep(time.Second)
			continue
		}
		for _, m := range res.Messages {
			if err := p.handle(ctx, []byte(aws.ToString(m.Body))); err != nil {
				p.Log.Error("stand-in load failed; the notification comes back", "error", err.Error())
				continue
			}
			if _, err := p.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(p.QueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				p.Log.Error("delete", "error", err.Error())
			}
		}
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return nil
	}
	return ctx.Err()
}

func (p *Pipe) handle(ctx context.Context, body []byte) error {
	objs, err := messaging.ParseS3Event(body)
	if err != nil {
		return err
	}
	for _, o := range objs {
		res, err := p.load(ctx, o.Key)
		if err != nil {
			return err
		}
		p.mu.Lock()
		if res.Skipped {
			p.status.FilesSkipped++
		} else {
			p.status.FilesLoaded++
			p.status.RowsLoaded += res.RowsLoaded
		}
		p.mu.Unlock()
		p.Log.Info("stand-in Snowpipe load (PUT + COPY INTO RAW with a copy transformation, then the task's MERGEs)",
			"key", o.Key, "load_id", res.LoadID, "rows_loaded", res.RowsLoaded, "skipped", res.Skipped)
	}
	return nil
}

// load downloads the object into a directory of its own and loads it.
func (p *Pipe) load(ctx context.Context, key string) (Loaded, error) {
	out, err := p.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(p.Bucket), Key: aws.String(key)})
	if err != nil {
		return Loaded{}, fmt.Errorf("get %s: %w", key, err)
	}
	defer out.Body.Close()
	dir, err := os.MkdirTemp("", "gfn-standin-")
	if err != nil {
		return Loaded{}, err
	}
	defer os.RemoveAll(dir)
	local := filepath.Join(dir, "upload")
	f, err := os.Create(local)
	if err != nil {
		return Loaded{}, err
	}
	_, err = io.Copy(f, out.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Loaded{}, fmt.Errorf("download %s: %w", key, err)
	}
	return Load(ctx, p.SF, key, local, time.Now())
}

// StatusJSON is the stand-in's counters as JSON.
func (p *Pipe) StatusJSON() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, _ := json.Marshal(p.status)
	return b
}
