// Package infra creates the pipeline's AWS resources from the contracts topology: queues with
// their DLQs and redrive, topics, filtered raw subscriptions, the bucket and its ObjectCreated
// notification (to the lake events topic, which S3 may publish to). Apply is idempotent: a second run changes nothing. Terraform declares the same
// resources for production; this is what `gfnctl infra apply` runs against emulators.
package infra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/awsconfig"
)

// Change is one thing Apply created or updated.
type Change struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	What string `json:"what"`
}

// Clients are the AWS APIs Apply uses.
type Clients struct {
	SQS *sqs.Client
	SNS *sns.Client
	S3  *s3.Client
}

// NewClients builds the clients from an SDK config.
func NewClients(cfg aws.Config) Clients {
	return Clients{SQS: sqs.NewFromConfig(cfg), SNS: sns.NewFromConfig(cfg), S3: awsconfig.S3(cfg)}
}

// Apply makes AWS match the topology and returns what it changed.
func Apply(ctx context.Context, c Clients, top contracts.Topology) ([]Change, error) {
	var changes []Change
	queueARNs := map[string]string{}
	queueURLs := map[string]string{}
	for _, q := range top.Queues {
		dlqURL, dlqARN, ch, err := ensureQueue(ctx, c.SQS, q.DLQ(), map[string]string{
			"MessageRetentionPeriod": "1209600",
		})
		if err != nil {
			return changes, err
		}
		changes = append(changes, ch...)
		queueARNs[q.DLQ()], queueURLs[q.DLQ()] = dlqARN, dlqURL
		redrive, _ := json.Marshal(map[string]string{"deadLetterTargetArn": dlqARN, "maxReceiveCount": strconv.Itoa(q.MaxReceiveCount)})
		url, arn, ch, err := ensureQueue(ctx, c.SQS, q.Name, map[string]string{
			"VisibilityTimeout":             strconv.Itoa(q.VisibilityTimeoutSeconds),
			"MessageRetentionPeriod":        strconv.Itoa(q.RetentionSeconds),
			"ReceiveMessageWaitTimeSeconds": "20",
			"RedrivePolicy":                 string(redrive),
		})
		if err != nil {
			return changes, err
		}
		changes = append(changes, ch...)
		queueARNs[q.Name], queueURLs[q.Name] = arn, url
	}
	topicARNs := map[string]string{}
	for _, t := range top.Topics {
		arn, ch, err := ensureTopic(ctx, c.SNS, t)
		if err != nil {
			return changes, err
		}
		changes = append(changes, ch...)
		topicARNs[t] = arn
	}
	// Queue policies: which topics (and the bucket) may send to each queue.
	senders := map[string][]string{}
	for _, s := range top.Subscriptions {
		senders[s.Queue] = append(senders[s.Queue], topicARNs[s.Topic])
	}
	for queue, arns := range senders {
		ch, err := ensureQueuePolicy(ctx, c.SQS, queueURLs[queue], queueARNs[queue], arns)
		if err != nil {
			return changes, err
		}
		changes = append(changes, ch...)
	}
	for _, s := range top.Subscriptions {
		ch, err := ensureSubscription(ctx, c.SNS, topicARNs[s.Topic], queueARNs[s.Queue], s)
		if err != nil {
			return changes, err
		}
		changes = append(changes, ch...)
	}
	// Topic policies: the bucket may publish its notifications.
	for _, n := range top.Notifications {
		ch, err := ensureTopicPolicy(ctx, c.SNS, topicARNs[n.Topic], "arn:aws:s3:::"+top.Bucket)
		if err != nil {
			return changes, err
		}
		changes = append(changes, ch...)
	}
	ch, err := ensureBucket(ctx, c.S3, top, topicARNs)
	changes = append(changes, ch...)
	return changes, err
}

func ensureQueue(ctx context.Context, c *sqs.Client, name string, attrs map[string]string) (url, arn string, changes []Change, err error) {
	res, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	var missing *sqstypes.QueueDoesNotExist
	switch {
	case errors.As(err, &missing):
		out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
		if err != nil {
			return "", "", nil, fmt.Errorf("create queue %s: %w", name, err)
		}
		url = aws.ToString(out.QueueUrl)
		changes = append(changes, Change{"queue", name, "created"})
	case err != nil:
		return "", "", nil, fmt.Errorf("get queue %s: %w", name, err)
	default:
		url = aws.ToString(res.QueueUrl)
		cur, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
		if err != nil {
			return "", "", nil, fmt.Errorf("get attributes of %s: %w", name, err)
		}
		diff := map[string]string{}
		for k, v := range attrs {
			if !sameAttr(k, cur.Attributes[k], v) {
				diff[k] = v
			}
		}
		if len(diff) > 0 {
			if _, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: diff}); err != nil {
				return "", "", nil, fmt.Errorf("set attributes of %s: %w", name, err)
			}
			changes = append(changes, Change{"queue", name, fmt.Sprintf("updated %d attributes", len(diff))})
		}
	}
	a, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return "", "", nil, fmt.Errorf("get arn of %s: %w", name, err)
	}
	return url, a.Attributes["QueueArn"], changes, nil
}

// sameAttr compares JSON-valued attributes by meaning, not spelling.
func sameAttr(name, cur, want string) bool {
	if cur == want {
		return true
	}
	if name != "RedrivePolicy" && name != "Policy" {
		return false
	}
	var a, b any
	if json.Unmarshal([]byte(cur), &a) != nil || json.Unmarshal([]byte(want), &b) != nil {
		return false
	}
	ab, _ := json.Marshal(normalize(a))
	bb, _ := json.Marshal(normalize(b))
	return string(ab) == string(bb)
}

// normalize turns numbers and numeric strings alike (SQS echoes maxReceiveCount as a number).
func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = normalize(x)
		}
		return t
	case []any:
		for i, x := range t {
			t[i] = normalize(x)
		}
		return t
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	}
	return v
}

func ensureTopic(ctx context.Context, c *sns.Client, name string) (string, []Change, error) {
	p := sns.NewListTopicsPaginator(c, &sns.ListTopicsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", nil, fmt.Errorf("list topics: %w", err)
		}
		for _, t := range page.Topics {
			if awsconfig.ResourceName(aws.ToString(t.TopicArn)) == name {
				return aws.ToString(t.TopicArn), nil, nil
			}
		}
	}
	out, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
	if err != nil {
		return "", nil, fmt.Errorf("create topic %s: %w", name, err)
	}
	return aws.ToString(out.TopicArn), []Change{{"topic", name, "created"}}, nil
}

func ensureQueuePolicy(ctx context.Context, c *sqs.Client, url, queueARN string, sourceARNs []string) ([]Change, error) {
	policy, _ := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Sid":       "pipeline-senders",
			"Effect":    "Allow",
			"Principal": map[string]any{"Service": []string{"sns.amazonaws.com", "s3.amazonaws.com"}},
			"Action":    "sqs:SendMessage",
			"Resource":  queueARN,
			"Condition": map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": sourceARNs}},
		}},
	})
	cur, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNamePolicy}})
	if err != nil {
		return nil, fmt.Errorf("get policy of %s: %w", queueARN, err)
	}
	if sameAttr("Policy", cur.Attributes["Policy"], string(policy)) {
		return nil, nil
	}
	if _, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: map[string]string{"Policy": string(policy)}}); err != nil {
		return nil, fmt.Errorf("set policy of %s: %w", queueARN, err)
	}
	return []Change{{"queue-policy", awsconfig.ResourceName(queueARN), "set"}}, nil
}

func ensureTopicPolicy(ctx context.Context, c *sns.Client, topicARN, bucketARN string) ([]Change, error) {
	policy, _ := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Sid":       "bucket-notifications",
			"Effect":    "Allow",
			"Principal": map[string]any{"Service": "s3.amazonaws.com"},
			"Action":    "sns:Publish",
			"Resource":  topicARN,
			"Condition": map[string]any{"ArnLike": map[string]any{"aws:SourceArn": bucketARN}},
		}},
	})
	cur, err := c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(topicARN)})
	if err != nil {
		return nil, fmt.Errorf("get policy of %s: %w", topicARN, err)
	}
	if sameAttr("Policy", cur.Attributes["Policy"], string(policy)) {
		return nil, nil
	}
	if _, err := c.SetTopicAttributes(ctx, &sns.SetTopicAttributesInput{TopicArn: aws.String(topicARN), AttributeName: aws.String("Policy"), AttributeValue: aws.String(string(policy))}); err != nil {
		return nil, fmt.Errorf("set policy of %s: %w", topicARN, err)
	}
	return []Change{{"topic-policy", awsconfig.ResourceName(topicARN), "set"}}, nil
}

func ensureSubscription(ctx context.Context, c *sns.Client, topicARN, queueARN string, s contracts.Subscription) ([]Change, error) {
	attrs := map[string]string{"RawMessageDelivery": "true"}
	if fp := s.FilterPolicy(); fp != "" {
		attrs["FilterPolicy"] = fp
	}
	p := sns.NewListSubscriptionsByTopicPaginator(c, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(topicARN)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list subscriptions of %s: %w", s.Topic, err)
		}
		for _, sub := range page.Subscriptions {
			if aws.ToString(sub.Endpoint) != queueARN {
				continue
			}
			cur, err := c.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: sub.SubscriptionArn})
			if err != nil {
				return nil, fmt.Errorf("get subscription %s -> %s: %w", s.Topic, s.Queue, err)
			}
			var changes []Change
			for k, v := range attrs {
				if cur.Attributes[k] == v || k == "FilterPolicy" && sameJSON(cur.Attributes[k], v) {
					continue
				}
				if _, err := c.SetSubscriptionAttributes(ctx, &sns.SetSubscriptionAttributesInput{SubscriptionArn: sub.SubscriptionArn, AttributeName: aws.String(k), AttributeValue: aws.String(v)}); err != nil {
					return nil, fmt.Errorf("set %s on %s -> %s: %w", k, s.Topic, s.Queue, err)
				}
				changes = append(changes, Change{"subscription", s.Topic + "->" + s.Queue, "updated " + k})
			}
			return changes, nil
		}
	}
	if _, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(topicARN), Protocol: aws.String("sqs"), Endpoint: aws.String(queueARN), Attributes: attrs, ReturnSubscriptionArn: true}); err != nil {
		return nil, fmt.Errorf("subscribe %s -> %s: %w", s.Topic, s.Queue, err)
	}
	return []Change{{"subscription", s.Topic + "->" + s.Queue, "created"}}, nil
}

func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xa) == string(yb)
}

func ensureBucket(ctx context.Context, c *s3.Client, top contracts.Topology, topicARNs map[string]string) ([]Change, error) {
	var changes []Change
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(top.Bucket)}); err != nil {
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(top.Bucket)}); err != nil {
			return nil, fmt.Errorf("create bucket %s: %w", top.Bucket, err)
		}
		changes = append(changes, Change{"bucket", top.Bucket, "created"})
	}
	// Versioned as in terraform: the loader reads the version a notification names when two
	// runs rewrite the same transformed key.
	v, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(top.Bucket)})
	if err != nil {
		return changes, fmt.Errorf("get versioning of %s: %w", top.Bucket, err)
	}
	if v.Status != s3types.BucketVersioningStatusEnabled {
		if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(top.Bucket),
			VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
			return changes, fmt.Errorf("enable versioning of %s: %w", top.Bucket, err)
		}
		changes = append(changes, Change{"bucket versioning", top.Bucket, "enabled"})
	}
	want := &s3types.NotificationConfiguration{}
	for _, n := range top.Notifications {
		want.TopicConfigurations = append(want.TopicConfigurations, s3types.TopicConfiguration{
			Id:       aws.String(n.Topic + "-" + strings.TrimSuffix(n.Prefix, "/")),
			TopicArn: aws.String(topicARNs[n.Topic]),
			Events:   []s3types.Event{s3types.EventS3ObjectCreated},
			Filter: &s3types.NotificationConfigurationFilter{Key: &s3types.S3KeyFilter{FilterRules: []s3types.FilterRule{
				{Name: s3types.FilterRuleNamePrefix, Value: aws.String(n.Prefix)},
				{Name: s3types.FilterRuleNameSuffix, Value: aws.String(n.Suffix)},
			}}},
		})
	}
	cur, err := c.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String(top.Bucket)})
	if err != nil {
		return changes, fmt.Errorf("get notifications of %s: %w", top.Bucket, err)
	}
	// Queue targets left by an older layout are dropped: the put replaces the whole configuration.
	if len(cur.QueueConfigurations) == 0 && sameNotifications(cur.TopicConfigurations, want.TopicConfigurations) {
		return changes, nil
	}
	if _, err := c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String(top.Bucket), NotificationConfiguration: want}); err != nil {
		return changes, fmt.Errorf("put notifications of %s: %w", top.Bucket, err)
	}
	return append(changes, Change{"bucket-notification", top.Bucket, "set"}), nil
}

func sameNotifications(cur, want []s3types.TopicConfiguration) bool {
	if len(cur) != len(want) {
		return false
	}
	key := func(t s3types.TopicConfiguration) string {
		k := aws.ToString(t.TopicArn)
		if t.Filter != nil && t.Filter.Key != nil {
			for _, r := range t.Filter.Key.FilterRules {
				k += "|" + strings.ToLower(string(r.Name)) + "=" + aws.ToString(r.Value)
			}
		}
		return k
	}
	seen := map[string]bool{}
	for _, t := range cur {
		seen[key(t)] = true
	}
	for _, t := range want {
		if !seen[key(t)] {
			return false
		}
	}
	return true
}
