package lake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// S3 is a Store on an S3 bucket.
type S3 struct {
	client *s3.Client
	bucket string
}

// NewS3 returns a store on bucket. The bucket is created by infrastructure, never here.
func NewS3(client *s3.Client, bucket string) *S3 { return &S3{client: client, bucket: bucket} }

func (s *S3) Bucket() string { return s.bucket }

func (s *S3) Put(ctx context.Context, key string, body []byte, metadata map[string]string) error {
	return s.put(ctx, key, body, metadata, false)
}

func (s *S3) PutIfAbsent(ctx context.Context, key string, body []byte, metadata map[string]string) error {
	return s.put(ctx, key, body, metadata, true)
}

func (s *S3) put(ctx context.Context, key string, body []byte, metadata map[string]string, ifAbsent bool) error {
	in := &s3.PutObjectInput{
		Bucket:   aws.String(s.bucket),
		Key:      aws.String(key),
		Body:     bytes.NewReader(body),
		Metadata: metadata,
	}
	if ifAbsent {
		in.IfNoneMatch = aws.String("*")
	}
	if _, err := s.client.PutObject(ctx, in); err != nil {
		if ifAbsent && isStatus(err, http.StatusPreconditionFailed, "PreconditionFailed") {
			return fmt.Errorf("put s3://%s/%s: %w", s.bucket, key, ErrExists)
		}
		return fmt.Errorf("put s3://%s/%s: %w", s.bucket, key, err)
	}
	return nil
}

func (s *S3) Get(ctx context.Context, key string) ([]byte, Object, error) {
	return s.get(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
}

// GetNotified reads the version an ObjectCreated notification names: by its version id, or,
// when the event has none (moto), by its ETag: the current object if it still matches, else
// the version with that ETag. A bucket without versioning keeps only the current object,
// which is read then.
func (s *S3) GetNotified(ctx context.Context, o ObjectCreated) ([]byte, Object, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(o.Key)}
	switch {
	case o.VersionID != "":
		in.VersionId = aws.String(o.VersionID)
		return s.get(ctx, in)
	case o.ETag == "":
		return s.get(ctx, in)
	}
	etag := strings.Trim(o.ETag, `"`)
	in.IfMatch = aws.String(`"` + etag + `"`)
	body, obj, err := s.get(ctx, in)
	if err == nil || !isStatus(err, http.StatusPreconditionFailed, "PreconditionFailed") {
		return body, obj, err
	}
	// Rewritten since the event: find the version it named.
	p := s3.NewListObjectVersionsPaginator(s.client, &s3.ListObjectVersionsInput{Bucket: aws.String(s.bucket), Prefix: aws.String(o.Key)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, Object{}, fmt.Errorf("versions of s3://%s/%s: %w", s.bucket, o.Key, err)
		}
		for _, v := range page.Versions {
			if aws.ToString(v.Key) == o.Key && strings.Trim(aws.ToString(v.ETag), `"`) == etag {
				return s.get(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(o.Key), VersionId: v.VersionId})
			}
		}
	}
	return s.Get(ctx, o.Key)
}

func (s *S3) get(ctx context.Context, in *s3.GetObjectInput) ([]byte, Object, error) {
	key := aws.ToString(in.Key)
	out, err := s.client.GetObject(ctx, in)
	if err != nil {
		return nil, Object{}, s.wrap("get", key, err)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, Object{}, fmt.Errorf("read s3://%s/%s: %w", s.bucket, key, err)
	}
	return body, Object{Key: key, Size: int64(len(body)), LastModified: aws.ToTime(out.LastModified), Metadata: lower(out.Metadata)}, nil
}

func (s *S3) Head(ctx context.Context, key string) (Object, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		return Object{}, s.wrap("head", key, err)
	}
	return Object{Key: key, Size: aws.ToInt64(out.ContentLength), LastModified: aws.ToTime(out.LastModified), Metadata: lower(out.Metadata)}, nil
}

// List does not return metadata (S3 does not list it); Head an object for that.
func (s *S3) List(ctx context.Context, prefix string) ([]Object, error) {
	var out []Object
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", s.bucket, prefix, err)
		}
		for _, o := range page.Contents {
			out = append(out, Object{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size), LastModified: aws.ToTime(o.LastModified)})
		}
	}
	return out, nil
}

func (s *S3) Delete(ctx context.Context, key string) error {
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)}); err != nil {
		return fmt.Errorf("delete s3://%s/%s: %w", s.bucket, key, err)
	}
	return nil
}

func (s *S3) wrap(op, key string, err error) error {
	if isStatus(err, http.StatusNotFound, "NoSuchKey") {
		return fmt.Errorf("%s s3://%s/%s: %w", op, s.bucket, key, ErrNotFound)
	}
	return fmt.Errorf("%s s3://%s/%s: %w", op, s.bucket, key, err)
}

func isStatus(err error, status int, code string) bool {
	var api smithy.APIError
	if errors.As(err, &api) && (api.ErrorCode() == code || api.ErrorCode() == "NotFound" && status == http.StatusNotFound) {
		return true
	}
	var re interface{ HTTPStatusCode() int }
	return errors.As(err, &re) && re.HTTPStatusCode() == status
}

func lower(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}
