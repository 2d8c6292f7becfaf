package messaging

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Every entry of a batch call must come back successful; a failed one, or one the response
// leaves out (moto drops an entry whose SNS fan-out raised), fails the publish so it is retried.
func TestBatchOutcome(t *testing.T) {
	code, msg := aws.String("InternalError"), aws.String("boom")
	tests := []struct {
		name                       string
		entries, succeeded, failed int
		want                       string
	}{
		{"all succeeded", 10, 10, 0, ""},
		{"one failed", 10, 9, 1, "1 of 10 entries failed: InternalError boom"},
		{"one unaccounted for", 10, 9, 0, "1 of 10 entries neither succeeded nor failed"},
		{"none mentioned", 3, 0, 0, "3 of 3 entries neither succeeded nor failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := batchOutcome(tt.entries, tt.succeeded, tt.failed, code, msg)
			if got := fmt.Sprint(err); (tt.want == "" && err != nil) || (tt.want != "" && got != tt.want) {
				t.Errorf("batchOutcome = %v, want %q", err, tt.want)
			}
		})
	}
}
