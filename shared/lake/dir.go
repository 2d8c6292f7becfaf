package lake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Dir is a Store on the local filesystem, for the embedded run and tests. Metadata lives in a
// sidecar file under .meta/ so objects keep exactly their bytes.
type Dir struct {
	root string
	mu   sync.Mutex // serialises PutIfAbsent's check-then-write
	// onCreate, when set, is told of every written object (the embedded run's stand-in for
	// S3 event notifications).
	onCreate func(ctx context.Context, o ObjectCreated)
}

// NewDir returns a store rooted at root, creating it.
func NewDir(root string) (*Dir, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("create lake dir %s: %w", root, err)
	}
	return &Dir{root: root}, nil
}

// OnCreate registers fn to be called after each successful write.
func (d *Dir) OnCreate(fn func(ctx context.Context, o ObjectCreated)) { d.onCreate = fn }

func (d *Dir) Bucket() string { return d.root }

func (d *Dir) path(key string) (string, error) {
	clean := filepath.Clean("/" + key)
	if clean == "/" || strings.HasPrefix(key, "/") || strings.Contains(key, "..") {
		return "", fmt.Errorf("invalid object key %q", key)
	}
	return filepath.Join(d.root, clean), nil
}

func (d *Dir) metaPath(key string) string {
	return filepath.Join(d.root, ".meta", filepath.Clean("/"+key)+".json")
}

func (d *Dir) Put(ctx context.Context, key string, body []byte, metadata map[string]string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := writeAtomic(p, body); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	meta := map[string]string{}
	for k, v := range metadata {
		meta[strings.ToLower(k)] = v
	}
	mb, _ := json.Marshal(meta)
	if err := writeAtomic(d.metaPath(key), mb); err != nil {
		return fmt.Errorf("put metadata %s: %w", key, err)
	}
	if d.onCreate != nil {
		d.onCreate(ctx, ObjectCreated{Bucket: d.root, Key: key, Size: int64(len(body))})
	}
	return nil
}

func (d *Dir) PutIfAbsent(ctx context.Context, key string, body []byte, metadata map[string]string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.Head(ctx, key); err == nil {
		return fmt.Errorf("put %s: %w", key, ErrExists)
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	return d.Put(ctx, key, body, metadata)
}

// writeAtomic writes via a temp file and rename, so a crash never leaves half an object.
func writeAtomic(p string, body []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(body); err != nil {
		return errors.Join(err, tmp.Close(), os.Remove(tmp.Name()))
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), p)
}

func (d *Dir) Get(ctx context.Context, key string) ([]byte, Object, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, Object{}, err
	}
	body, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Object{}, fmt.Errorf("get %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, Object{}, fmt.Errorf("get %s: %w", key, err)
	}
	o, err := d.Head(ctx, key)
	return body, o, err
}

func (d *Dir) Head(_ context.Context, key string) (Object, error) {
	p, err := d.path(key)
	if err != nil {
		return Object{}, err
	}
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return Object{}, fmt.Errorf("head %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return Object{}, fmt.Errorf("head %s: %w", key, err)
	}
	o := Object{Key: key, Size: st.Size(), LastModified: st.ModTime(), Metadata: map[string]string{}}
	if mb, err := os.ReadFile(d.metaPath(key)); err == nil {
		if err := json.Unmarshal(mb, &o.Metadata); err != nil {
			return Object{}, fmt.Errorf("head %s: metadata: %w", key, err)
		}
	}
	return o, nil
}

func (d *Dir) List(_ context.Context, prefix string) ([]Object, error) {
	var out []Object
	// Walk only the directory the prefix names, not the whole lake: a run's ledger is listed
	// again and again while the lake fills up.
	start := d.root
	if i := strings.LastIndexByte(prefix, '/'); i > 0 && !strings.Contains(prefix[:i], "..") && !strings.HasPrefix(prefix, ".meta") {
		start = filepath.Join(d.root, filepath.FromSlash(prefix[:i]))
	}
	err := filepath.WalkDir(start, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(d.root, p)
		rel = filepath.ToSlash(rel)
		if e.IsDir() {
			if rel == ".meta" {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(e.Name(), ".tmp-") || !strings.HasPrefix(rel, prefix) {
			return nil
		}
		// Like S3's listing: no user metadata (Head has it), so no sidecar read per object.
		st, err := e.Info()
		if err != nil {
			return err
		}
		out = append(out, Object{Key: rel, Size: st.Size(), LastModified: st.ModTime()})
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func (d *Dir) Delete(_ context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	os.Remove(d.metaPath(key))
	return nil
}
