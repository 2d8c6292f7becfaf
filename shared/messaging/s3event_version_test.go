package messaging_test

import (
	"testing"

	"github.com/gfnpipeline/shared/messaging"
)

// AWS's ObjectCreated event of a versioned bucket names the version (AWS's documented sample).
func TestS3EventCarriesTheVersion(t *testing.T) {
	t.Parallel()
	body := `{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put",
"s3":{"s3SchemaVersion":"1.0","bucket":{"name":"gfn-data-lake"},
"object":{"key":"transformed/ecological_footprint/year%3D2026/a.parquet","size":1024,
"eTag":"0123456789abcdef0123456789abcdef","versionId":"096fKKXTRTtl3on89fVO.nfljtsv6qko","sequencer":"0A1B2C3D4E5F678901"}}}]}`
	recs, err := messaging.ParseS3Event([]byte(body))
	if err != nil || len(recs) != 1 {
		t.Fatalf("%+v %v", recs, err)
	}
	if r := recs[0]; r.VersionID != "096fKKXTRTtl3on89fVO.nfljtsv6qko" || r.Key != "transformed/ecological_footprint/year=2026/a.parquet" {
		t.Fatalf("%+v", r)
	}
}
