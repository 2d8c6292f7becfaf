package contracts

import (
	"fmt"
	"sort"
	"strings"
)

// Names of topics, queues and the bucket. Terraform, `gfnctl infra apply`, the services and the
// compose file all use these; tests check that they agree.
const (
	TopicPipelineEvents = "gfn-pipeline-events"
	TopicNotifications  = "gfn-notifications"
	// TopicLakeEvents carries S3 ObjectCreated events for transformed/ files: Snowpipe's pipe
	// subscribes to it in production (AWS_SNS_TOPIC), and so does the loader's queue (the
	// DuckDB loader locally, the load confirmer in production).
	TopicLakeEvents = "gfn-lake-events"

	QueueExtractor   = "gfn-extractor"
	QueueValidator   = "gfn-validator"
	QueueTransformer = "gfn-transformer"
	QueueLoader      = "gfn-loader"
	QueueNotifier    = "gfn-notifier"

	DefaultBucket = "gfn-data-lake"

	// DLQSuffix names a queue's dead-letter queue: <queue>-dlq.
	DLQSuffix = "-dlq"

	// MaxReceiveCount: three retries after the first delivery, then the DLQ.
	MaxReceiveCount = 4

	// PollerVisibilitySeconds is every queue's base visibility for pollers (heartbeat-extended).
	PollerVisibilitySeconds = 30
)

// The pipeline's services, by the names their directories (services/<name>), binaries
// (cmd/<name>), Lambda functions and compose services carry.
const (
	ServiceExtractor   = "extractor"
	ServiceValidator   = "validator"
	ServiceTransformer = "transformer"
	ServiceLoader      = "loader"
	ServiceNotifier    = "notifier"
)

// Service is one deployable pipeline service and the queue it consumes.
type Service struct {
	Name  string
	Queue string
	// LocalConcurrency is how many messages the service handles at once where we run it as a
	// poller ourselves: docker-compose and `make e2e`'s stack (GFN_CONCURRENCY, unless the
	// environment sets it) and, for the loader, gfnctl's embedded bus. Most take 2: one
	// downloads or publishes while another is handled. The loader takes SQS's largest receive
	// batch, since the files waiting for DuckDB's writer commit together, two at a time; the
	// notifier hears four events a batch, each a few S3 calls on the run ledger, and keeps up
	// with the stages.
	LocalConcurrency int
}

// Services lists the pipeline's services in start order. It is the one list: the stacks,
// gfnctl's embedded run and the deploy checks range over it, Make finds the same services as
// the services/*/go.mod modules, and tools/deploytest checks the directories, go.work,
// docker-compose.yml and terraform against it.
func Services() []Service {
	return []Service{
		{ServiceExtractor, QueueExtractor, 2},
		{ServiceValidator, QueueValidator, 2},
		{ServiceTransformer, QueueTransformer, 2},
		{ServiceLoader, QueueLoader, 10},
		{ServiceNotifier, QueueNotifier, 8},
	}
}

// LocalConcurrency is the named service's LocalConcurrency (0 for a name not in Services).
func LocalConcurrency(name string) int {
	for _, s := range Services() {
		if s.Name == name {
			return s.LocalConcurrency
		}
	}
	return 0
}

// ServiceNames lists Services' names in start order.
func ServiceNames() []string {
	out := make([]string, 0, 5)
	for _, s := range Services() {
		out = append(out, s.Name)
	}
	return out
}

// Message attribute names (CloudEvents 1.0 plus routing and correlation). SQS allows 10
// attributes a message; the envelope uses 8, leaving room for the DLQ reason and, on a
// redriven message, the original id and receive count (which replace the reason).
const (
	AttrID            = "id"
	AttrSource        = "source"
	AttrType          = "type"
	AttrTime          = "time"
	AttrSpecVersion   = "specversion"
	AttrEventType     = "event_type"
	AttrRunID         = "run_id"
	AttrCorrelationID = "correlation_id"

	// AttrError carries why a message was dead-lettered.
	AttrError = "error"
	// AttrRedriveOriginalID and AttrRedriveReceiveCount are set by `gfnctl dlq redrive`.
	AttrRedriveOriginalID   = "redrive_original_id"
	AttrRedriveReceiveCount = "redrive_receive_count"

	SpecVersion = "1.0"
)

// Queue is one SQS queue with its dead-letter queue.
type Queue struct {
	Name string
	// VisibilityTimeoutSeconds is the pollers' base visibility: short (30-60 s), since a poller
	// extends it by a heartbeat while a handler works, so a crashed consumer's message returns
	// within it.
	VisibilityTimeoutSeconds int
	// LambdaVisibilityTimeoutSeconds is the queue's visibility where a Lambda event source
	// consumes it (terraform): no heartbeat there, so at least 6x the function timeout.
	LambdaVisibilityTimeoutSeconds int
	MaxReceiveCount                int
	// RetentionSeconds for the queue; its DLQ keeps messages for the SQS maximum (14 days).
	RetentionSeconds int
}

// DLQ is the name of the queue's dead-letter queue.
func (q Queue) DLQ() string { return q.Name + DLQSuffix }

// Subscription delivers a topic's events to a queue, raw, filtered on event_type.
// An empty EventTypes means every event.
type Subscription struct {
	Topic      string
	Queue      string
	EventTypes []string
}

// FilterPolicy is the SNS filter policy JSON for the subscription ("" when it takes all).
func (s Subscription) FilterPolicy() string {
	if len(s.EventTypes) == 0 {
		return ""
	}
	types := append([]string(nil), s.EventTypes...)
	sort.Strings(types)
	return fmt.Sprintf(`{"%s":["%s"]}`, AttrEventType, strings.Join(types, `","`))
}

// Matches reports whether an event of this type passes the subscription's filter.
func (s Subscription) Matches(eventType string) bool {
	if len(s.EventTypes) == 0 {
		return true
	}
	for _, t := range s.EventTypes {
		if t == eventType {
			return true
		}
	}
	return false
}

// BucketNotification sends S3 ObjectCreated events for a prefix to an SNS topic; its
// subscribers (Snowpipe, the loader's queue, raw delivery) get S3's event JSON unchanged.
type BucketNotification struct {
	Prefix string
	Suffix string
	Topic  string
}

// Topology is the whole messaging layout.
type Topology struct {
	// Prefix is put before every queue, topic and bucket name: one account can hold several
	// environments (and tests can share one emulator).
	Prefix        string
	Bucket        string
	Topics        []string
	Queues        []Queue
	Subscriptions []Subscription
	Notifications []BucketNotification
	// CommandQueues maps a command's event type to the queue it is sent to directly.
	CommandQueues map[string]string
}

// DefaultTopology is the production layout; bucket "" means DefaultBucket.
func DefaultTopology(bucket string) Topology {
	if bucket == "" {
		bucket = DefaultBucket
	}
	q := func(name string, lambdaVisibility int) Queue {
		return Queue{Name: name, VisibilityTimeoutSeconds: PollerVisibilitySeconds, LambdaVisibilityTimeoutSeconds: lambdaVisibility,
			MaxReceiveCount: MaxReceiveCount, RetentionSeconds: 4 * 24 * 3600}
	}
	return Topology{
		Bucket: bucket,
		Topics: []string{TopicPipelineEvents, TopicNotifications, TopicLakeEvents},
		Queues: []Queue{
			// Lambda: the extractor's worst case is a year's download with retries and backoff.
			q(QueueExtractor, 900),
			q(QueueValidator, 120),
			q(QueueTransformer, 120),
			q(QueueLoader, 300),
			q(QueueNotifier, 60),
		},
		Subscriptions: []Subscription{
			{Topic: TopicPipelineEvents, Queue: QueueValidator, EventTypes: []string{RawBatchLanded{}.EventType()}},
			{Topic: TopicPipelineEvents, Queue: QueueTransformer, EventTypes: []string{BatchValidated{}.EventType()}},
			{Topic: TopicPipelineEvents, Queue: QueueNotifier},
			{Topic: TopicLakeEvents, Queue: QueueLoader},
		},
		Notifications: []BucketNotification{
			{Prefix: "transformed/", Suffix: ".parquet", Topic: TopicLakeEvents},
		},
		CommandQueues: map[string]string{
			ExtractionRequested{}.EventType(): QueueExtractor,
		},
	}
}

// TopicFor is where a message is published: commands to their queue, run outcomes to the
// notifications topic, every other event to the pipeline events topic.
func (t Topology) TopicFor(m Message) (name string, isQueue bool) {
	if q, ok := t.CommandQueues[m.EventType()]; ok {
		return q, true
	}
	switch m.(type) {
	case *RunCompleted, *RunFailed, RunCompleted, RunFailed:
		return t.Name(TopicNotifications), false
	}
	return t.Name(TopicPipelineEvents), false
}

// Name is the deployed name of a queue or topic (the base name with the prefix).
func (t Topology) Name(base string) string { return t.Prefix + base }

// WithPrefix returns the topology with every queue, topic and the bucket renamed.
func (t Topology) WithPrefix(prefix string) Topology {
	out := t
	out.Prefix = prefix + t.Prefix
	out.Bucket = prefix + t.Bucket
	out.Topics = make([]string, len(t.Topics))
	for i, n := range t.Topics {
		out.Topics[i] = prefix + n
	}
	out.Queues = make([]Queue, len(t.Queues))
	for i, q := range t.Queues {
		q.Name = prefix + q.Name
		out.Queues[i] = q
	}
	out.Subscriptions = make([]Subscription, len(t.Subscriptions))
	for i, s := range t.Subscriptions {
		s.Topic, s.Queue = prefix+s.Topic, prefix+s.Queue
		out.Subscriptions[i] = s
	}
	out.Notifications = make([]BucketNotification, len(t.Notifications))
	for i, n := range t.Notifications {
		n.Topic = prefix + n.Topic
		out.Notifications[i] = n
	}
	out.CommandQueues = make(map[string]string, len(t.CommandQueues))
	for k, v := range t.CommandQueues {
		out.CommandQueues[k] = prefix + v
	}
	return out
}

// SubscribersOf lists the queues an event published on topic reaches.
func (t Topology) SubscribersOf(topic, eventType string) []string {
	var out []string
	for _, s := range t.Subscriptions {
		if s.Topic == topic && s.Matches(eventType) {
			out = append(out, s.Queue)
		}
	}
	return out
}

// Queue finds a queue by name.
func (t Topology) Queue(name string) (Queue, bool) {
	for _, q := range t.Queues {
		if q.Name == name {
			return q, true
		}
	}
	return Queue{}, false
}

// DLQs lists every dead-letter queue name.
func (t Topology) DLQs() []string {
	out := make([]string, len(t.Queues))
	for i, q := range t.Queues {
		out[i] = q.DLQ()
	}
	return out
}
