package messaging_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/gfnpipeline/contracts"
	"github.com/gfnpipeline/shared/messaging"
	"github.com/gfnpipeline/shared/messaging/messagingtest"
)

func TestPublishBatchFailed(t *testing.T) {
	body, _ := json.Marshal(contracts.RawBatchLanded{Header: contracts.Header{RunID: "run-1", BatchID: "ef-2005"}})
	landed := messaging.Delivery{Body: body, Attributes: map[string]string{
		contracts.AttrType: contracts.RawBatchLanded{}.MessageType(), contracts.AttrRunID: "run-1"}}
	tests := []struct {
		name    string
		failure messaging.Failure
		want    *contracts.BatchFailed
	}{
		{"batch of a run", messaging.FailureOf("gfn-validator", landed, "boom"),
			&contracts.BatchFailed{Header: contracts.Header{RunID: "run-1", BatchID: "ef-2005"}, Stage: "gfn-validator", Reason: "boom"}},
		{"planning", messaging.Failure{Stage: "gfn-extractor", Type: contracts.ExtractionRequested{}.MessageType(), RunID: "run-1", Reason: "bad"},
			&contracts.BatchFailed{Header: contracts.Header{RunID: "run-1"}, Stage: "gfn-extractor", Reason: "bad"}},
		{"no run", messaging.Failure{Stage: "gfn-loader", BatchID: "ef-2005", Reason: "gone"}, nil},
		{"a failed BatchFailed", messaging.Failure{Stage: "gfn-notifier", Type: contracts.TypeBatchFailed, RunID: "run-1", BatchID: "ef-2005"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := &messagingtest.Recorder{}
			published, err := messaging.PublishBatchFailed(context.Background(), pub, tt.failure)
			if err != nil || published != (tt.want != nil) || len(pub.Messages()) > 1 {
				t.Fatalf("published %v, err %v, messages %v", published, err, pub.Messages())
			}
			if tt.want == nil {
				if len(pub.Messages()) != 0 {
					t.Fatalf("published %v, want nothing", pub.Messages())
				}
				return
			}
			if got, ok := pub.Messages()[0].(*contracts.BatchFailed); !ok || got.RunID != tt.want.RunID || got.BatchID != tt.want.BatchID ||
				got.Stage != tt.want.Stage || got.Reason != tt.want.Reason {
				t.Fatalf("published %+v, want %+v", pub.Messages()[0], tt.want)
			}
		})
	}
	pub := &messagingtest.Recorder{}
	pub.FailNext(1, errors.New("sns down"))
	if ok, err := messaging.PublishBatchFailed(context.Background(), pub, tests[0].failure); ok || err == nil {
		t.Fatalf("a failed publish reported %v, %v", ok, err)
	}
}
