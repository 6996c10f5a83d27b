package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// get reads one catalogue record.
func (ix *Index) get(id string) (Document, bool, error) {
	var (
		d     Document
		found bool
	)
	err := ix.catalog.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketDocs).Get([]byte(id))
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(v, &d)
	})
	if err != nil {
		return Document{}, false, fmt.Errorf("local index: read %s: %w", id, err)
	}
	return d, found, nil
}

// putRecord stores d (without its text) in the catalogue.
func (ix *Index) putRecord(d Document, old Document, hadOld bool) error {
	d.Text = ""
	delta := int64(d.Tokens)
	if hadOld {
		delta -= int64(old.Tokens)
	}
	v, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("local index: encode %s: %w", d.ID, err)
	}
	err = ix.catalog.Update(func(tx *bolt.Tx) error {
		urls := tx.Bucket(bucketURLs)
		if hadOld && old.URL != d.URL {
			if err := urls.Delete([]byte(old.URL)); err != nil {
				return err
			}
		}
		if err := urls.Put([]byte(d.URL), []byte(d.ID)); err != nil {
			return err
		}
		if err := addTokens(tx, delta); err != nil {
			return err
		}
		return tx.Bucket(bucketDocs).Put([]byte(d.ID), v)
	})
	if err != nil {
		return fmt.Errorf("local index: write %s: %w", d.ID, err)
	}
	ix.tokens.Add(delta)
	return nil
}

// List returns documents ordered by URL, without their text, and the total
// number of documents.
func (ix *Index) List(ctx context.Context, offset, limit int) ([]Document, int, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	offset = max(offset, 0)
	var (
		docs  []Document
		total int
	)
	err := ix.catalog.View(func(tx *bolt.Tx) error {
		docsB := tx.Bucket(bucketDocs)
		total = docsB.Stats().KeyN
		c := tx.Bucket(bucketURLs).Cursor()
		i := 0
		for k, id := c.First(); k != nil; k, id = c.Next() {
			if i++; i <= offset {
				continue
			}
			if limit > 0 && len(docs) >= limit {
				break
			}
			var d Document
			if err := json.Unmarshal(docsB.Get(id), &d); err != nil {
				return fmt.Errorf("decode %s: %w", id, err)
			}
			docs = append(docs, d)
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("local index: list: %w", err)
	}
	return docs, total, nil
}

// Stats describes the size of the index.
type Stats struct {
	Documents int
	Passages  int
	// DiskBytes is the size of the index directory's files.
	DiskBytes int64
}

// Stats counts documents and passages and measures the index on disk.
func (ix *Index) Stats(ctx context.Context) (Stats, error) {
	if err := ctx.Err(); err != nil {
		return Stats{}, err
	}
	var st Stats
	err := ix.catalog.View(func(tx *bolt.Tx) error {
		st.Documents = tx.Bucket(bucketDocs).Stats().KeyN
		return nil
	})
	if err != nil {
		return Stats{}, fmt.Errorf("local index: stats: %w", err)
	}
	n, err := ix.passage.DocCount()
	if err != nil {
		return Stats{}, fmt.Errorf("local index: stats: %w", err)
	}
	st.Passages = int(n)
	err = filepath.WalkDir(ix.dir, func(_ string, e fs.DirEntry, err error) error {
		if err != nil {
			// Scorch removes obsolete segments while we walk.
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if e.Type().IsRegular() {
			if info, err := e.Info(); err == nil {
				st.DiskBytes += info.Size()
			}
		}
		return nil
	})
	if err != nil {
		return Stats{}, fmt.Errorf("local index: stats: %w", err)
	}
	return st, nil
}

// records reads the catalogue records of ids in one transaction.
func (ix *Index) records(ids []string) (map[string]Document, error) {
	out := make(map[string]Document, len(ids))
	err := ix.catalog.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDocs)
		for _, id := range ids {
			if _, done := out[id]; done {
				continue
			}
			v := b.Get([]byte(id))
			if v == nil {
				continue
			}
			var d Document
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("decode %s: %w", id, err)
			}
			out[id] = d
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("local index: read documents: %w", err)
	}
	return out, nil
}
