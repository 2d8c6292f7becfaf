package lake

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned when an object does not exist.
var ErrNotFound = errors.New("object not found")

// ErrExists is returned by PutIfAbsent when the key is taken.
var ErrExists = errors.New("object already exists")

// Object describes a stored object.
type Object struct {
	Key          string
	Size         int64
	LastModified time.Time
	// Metadata holds user metadata (x-amz-meta-*), keys lower-case.
	Metadata map[string]string
}

// Store is the data lake. Implementations: S3 (AWS, moto) and Dir (embedded run).
type Store interface {
	// Bucket names the lake (the S3 bucket, or the directory for Dir).
	Bucket() string
	Put(ctx context.Context, key string, body []byte, metadata map[string]string) error
	// PutIfAbsent writes only when key does not exist yet, else returns ErrExists.
	PutIfAbsent(ctx context.Context, key string, body []byte, metadata map[string]string) error
	Get(ctx context.Context, key string) ([]byte, Object, error)
	Head(ctx context.Context, key string) (Object, error)
	// List returns every object under prefix, sorted by key; like S3's listing it gives key,
	// size and time, not Metadata (Head does).
	List(ctx context.Context, prefix string) ([]Object, error)
	Delete(ctx context.Context, key string) error
}

// Object metadata keys the pipeline sets (S3 user metadata, lower-case).
const (
	MetaRunID       = "run-id"
	MetaBatchID     = "batch-id"
	MetaSHA256      = "sha256"
	MetaRecords     = "records"
	MetaExtractedAt = "extracted-at"
	MetaSourceKey   = "source-key"
)

// ObjectCreated is one S3 ObjectCreated notification record (Snowpipe's trigger in
// production, the loader's locally). Key is already URL-decoded.
type ObjectCreated struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	Size   int64  `json:"size"`
	ETag   string `json:"etag"`
	// VersionID names the created version when the bucket is versioned.
	VersionID string `json:"version_id,omitempty"`
}

// notifiedGetter is a store that can read the version a notification names (S3).
type notifiedGetter interface {
	GetNotified(ctx context.Context, o ObjectCreated) ([]byte, Object, error)
}

// GetNotified reads the object a notification is about. Two runs may rewrite the same key
// (an unchanged year), each with its own run metadata: reading the version the event names
// gives each notification its own run. Stores without versions read the current object.
func GetNotified(ctx context.Context, store Store, o ObjectCreated) ([]byte, Object, error) {
	if g, ok := store.(notifiedGetter); ok {
		return g.GetNotified(ctx, o)
	}
	return store.Get(ctx, o.Key)
}
