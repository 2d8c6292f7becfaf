package lake

import "github.com/gfnpipeline/contracts"

// RawIndex is the content of a raw index object (RawIndexKey): a batch's latest raw object.
// The extractor writes it; the extractor and gfnctl replay read it.
type RawIndex struct {
	BatchID string `json:"batch_id"`
	Key     string `json:"key"`
	// SHA256 is of the JSON bytes (before any gzip), like the object's sha256 metadata.
	SHA256  string `json:"sha256"`
	Records int    `json:"records"`
	Bytes   int64  `json:"bytes"`
	// Last is the latest event published for the batch, re-published as is when the same
	// request is delivered again.
	Last contracts.RawBatchLanded `json:"last_event"`
}
