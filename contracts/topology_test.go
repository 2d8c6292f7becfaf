package contracts

import (
	"encoding/json"
	"testing"
)

func TestTopologyRouting(t *testing.T) {
	top := DefaultTopology("")
	tests := []struct {
		msg  Message
		want []string
	}{
		{&RawBatchLanded{}, []string{QueueValidator, QueueNotifier}},
		{&BatchValidated{}, []string{QueueTransformer, QueueNotifier}},
		{&BatchTransformed{}, []string{QueueNotifier}},
		{&BatchLoaded{}, []string{QueueNotifier}},
		{&ExtractionPlanned{}, []string{QueueNotifier}},
	}
	for _, tc := range tests {
		topic, isQueue := top.TopicFor(tc.msg)
		if isQueue || topic != TopicPipelineEvents {
			t.Fatalf("%T goes to %s (queue=%v)", tc.msg, topic, isQueue)
		}
		got := top.SubscribersOf(topic, tc.msg.EventType())
		if len(got) != len(tc.want) {
			t.Fatalf("%T reaches %v, want %v", tc.msg, got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Fatalf("%T reaches %v, want %v", tc.msg, got, tc.want)
			}
		}
	}
	if q, isQueue := top.TopicFor(&ExtractionRequested{}); !isQueue || q != QueueExtractor {
		t.Fatalf("ExtractionRequested goes to %s", q)
	}
	if topic, _ := top.TopicFor(&RunCompleted{}); topic != TopicNotifications {
		t.Fatalf("RunCompleted goes to %s", topic)
	}
}

func TestFilterPolicyIsValidJSON(t *testing.T) {
	for _, s := range DefaultTopology("").Subscriptions {
		p := s.FilterPolicy()
		if p == "" {
			continue
		}
		var v map[string][]string
		if err := json.Unmarshal([]byte(p), &v); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if len(v[AttrEventType]) != len(s.EventTypes) {
			t.Fatalf("%s does not list %v", p, s.EventTypes)
		}
	}
}

func TestEveryQueueHasDLQAndRedrive(t *testing.T) {
	for _, q := range DefaultTopology("").Queues {
		// Pollers: a short base (heartbeat-extended), so a crashed consumer's message returns
		// within a minute; Lambda: at least the base.
		if q.MaxReceiveCount != 4 || q.DLQ() != q.Name+"-dlq" || q.VisibilityTimeoutSeconds < 30 || q.VisibilityTimeoutSeconds > 60 ||
			q.LambdaVisibilityTimeoutSeconds < q.VisibilityTimeoutSeconds {
			t.Errorf("queue %+v", q)
		}
	}
}

func TestWithPrefixRenamesEverything(t *testing.T) {
	top := DefaultTopology("lake").WithPrefix("t1-")
	if top.Bucket != "t1-lake" || top.Name(QueueLoader) != "t1-gfn-loader" {
		t.Fatalf("bucket %s, loader %s", top.Bucket, top.Name(QueueLoader))
	}
	if q, _ := top.TopicFor(&ExtractionRequested{}); q != "t1-gfn-extractor" {
		t.Fatalf("command queue %s", q)
	}
	if topic, _ := top.TopicFor(&RunFailed{}); topic != "t1-gfn-notifications" {
		t.Fatalf("notifications topic %s", topic)
	}
	got := top.SubscribersOf("t1-"+TopicPipelineEvents, "RawBatchLanded")
	if len(got) != 2 || got[0] != "t1-gfn-validator" {
		t.Fatalf("subscribers %v", got)
	}
	if _, ok := top.Queue("t1-gfn-notifier"); !ok || top.Notifications[0].Topic != "t1-gfn-lake-events" {
		t.Fatal("queues or notifications not renamed")
	}
}

// Prefixing twice must keep Name in step with the renamed queues: the newer prefix goes first.
func TestWithPrefixTwiceKeepsNameInStep(t *testing.T) {
	top := DefaultTopology("lake").WithPrefix("a-").WithPrefix("b-")
	if _, ok := top.Queue(top.Name(QueueLoader)); !ok {
		t.Fatalf("Name(%s) = %s names no queue", QueueLoader, top.Name(QueueLoader))
	}
	if top.Name(QueueLoader) != "b-a-gfn-loader" || top.Bucket != "b-a-lake" {
		t.Fatalf("loader %s, bucket %s", top.Name(QueueLoader), top.Bucket)
	}
}

// Every queue of the topology is consumed by exactly one service, and every service's queue
// is in the topology.
func TestServicesConsumeTheTopologyQueues(t *testing.T) {
	top := DefaultTopology("")
	consumers := map[string]int{}
	for _, s := range Services() {
		if _, ok := top.Queue(s.Queue); !ok {
			t.Errorf("service %s consumes %s, which the topology lacks", s.Name, s.Queue)
		}
		consumers[s.Queue]++
	}
	for _, q := range top.Queues {
		if consumers[q.Name] != 1 {
			t.Errorf("queue %s has %d consuming services, want 1", q.Name, consumers[q.Name])
		}
	}
	if got := ServiceNames(); len(got) != len(Services()) || got[0] != ServiceExtractor {
		t.Errorf("ServiceNames %v", got)
	}
}
