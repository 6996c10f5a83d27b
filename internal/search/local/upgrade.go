package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	bolt "go.etcd.io/bbolt"
)

// indexFormat is the layout of the passage index. Format 1 analyzed text
// with bleve's English analyzer; format 2 analyzes it with rank.Tokenize,
// stores titles with passages and counts tokens for exact BM25. An index of
// an older format is rebuilt from its stored passages when opened.
const indexFormat = 2

var (
	metaFormat = []byte("format")
	metaTokens = []byte("tokens")
)

// meta are the index-wide values kept in the catalogue.
type meta struct {
	format int   // 0 when absent: an index made before formats were recorded
	tokens int64 // total passage length in index terms
}

func readMeta(db *bolt.DB) (meta, error) {
	var m meta
	err := db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		var err error
		if v := b.Get(metaFormat); v != nil {
			if m.format, err = strconv.Atoi(string(v)); err != nil {
				return fmt.Errorf("format %q: %w", v, err)
			}
		}
		if v := b.Get(metaTokens); v != nil {
			if m.tokens, err = strconv.ParseInt(string(v), 10, 64); err != nil {
				return fmt.Errorf("tokens %q: %w", v, err)
			}
		}
		return nil
	})
	if err != nil {
		return meta{}, fmt.Errorf("local index: read catalogue meta: %w", err)
	}
	return m, nil
}

func writeMeta(db *bolt.DB, m meta) error {
	err := db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		if err := b.Put(metaFormat, []byte(strconv.Itoa(m.format))); err != nil {
			return err
		}
		return b.Put(metaTokens, []byte(strconv.FormatInt(m.tokens, 10)))
	})
	if err != nil {
		return fmt.Errorf("local index: write catalogue meta: %w", err)
	}
	return nil
}

// addTokens adds delta to the stored token total inside tx.
func addTokens(tx *bolt.Tx, delta int64) error {
	if delta == 0 {
		return nil
	}
	b := tx.Bucket(bucketMeta)
	var n int64
	if v := b.Get(metaTokens); v != nil {
		var err error
		if n, err = strconv.ParseInt(string(v), 10, 64); err != nil {
			return fmt.Errorf("tokens %q: %w", v, err)
		}
	}
	return b.Put(metaTokens, []byte(strconv.FormatInt(max(n+delta, 0), 10)))
}

// recoverSwap finishes or undoes an upgrade that stopped while swapping
// directories: the old index moved aside but the new one not yet in place
// goes back (the upgrade runs again), and a leftover old index is removed.
func recoverSwap(path string) error {
	old := path + ".old"
	if _, err := os.Stat(old); errors.Is(err, fs.ErrNotExist) {
		return os.RemoveAll(path + ".upgrade")
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(old, path); err != nil {
			return fmt.Errorf("restore passages after an interrupted upgrade: %w", err)
		}
		return os.RemoveAll(path + ".upgrade")
	}
	return os.RemoveAll(old)
}

// upgrade rebuilds the passage index at path in the current format from
// the passages it stores, then swaps it in and records the format. Every
// format stores each passage's document ID and body, which is all a
// rebuild needs beside the catalogue.
func upgrade(db *bolt.DB, path, scoring string) error {
	ctx := context.Background()
	var docs []Document
	err := db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDocs).ForEach(func(_, v []byte) error {
			var d Document
			if err := json.Unmarshal(v, &d); err != nil {
				return err
			}
			docs = append(docs, d)
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("upgrade: read catalogue: %w", err)
	}

	from, err := bleve.Open(path)
	if err != nil {
		return fmt.Errorf("upgrade: open old passages: %w", err)
	}
	defer func() {
		if from != nil {
			from.Close()
		}
	}()
	tmp := path + ".upgrade"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	to, err := bleve.NewUsing(tmp, passageMapping(scoring), scorch.Name, scorch.Name, nil)
	if err != nil {
		return fmt.Errorf("upgrade: create passages: %w", err)
	}
	var total int64
	b := to.NewBatch()
	for i := range docs {
		d := &docs[i]
		bodies, err := storedBodies(ctx, from, d.ID)
		if err != nil {
			to.Close()
			return err
		}
		d.Tokens = 0
		for j, body := range bodies {
			d.Tokens += tokenCount(indexedText(d.Title, body))
			if err := b.Index(passageID(d.ID, j), passageFields(*d, body)); err != nil {
				to.Close()
				return fmt.Errorf("upgrade: passage %d of %s: %w", j, d.URL, err)
			}
		}
		d.Passages = len(bodies)
		total += int64(d.Tokens)
		if b.Size() >= 1000 {
			if err := to.Batch(b); err != nil {
				to.Close()
				return fmt.Errorf("upgrade: write passages: %w", err)
			}
			b = to.NewBatch()
		}
	}
	if err := to.Batch(b); err != nil {
		to.Close()
		return fmt.Errorf("upgrade: write passages: %w", err)
	}
	if err := to.Close(); err != nil {
		return fmt.Errorf("upgrade: close passages: %w", err)
	}
	if err := from.Close(); err != nil {
		return fmt.Errorf("upgrade: close old passages: %w", err)
	}
	from = nil

	old := path + ".old"
	if err := os.Rename(path, old); err != nil {
		return fmt.Errorf("upgrade: move old passages aside: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("upgrade: put new passages in place: %w", err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		bd := tx.Bucket(bucketDocs)
		for _, d := range docs {
			v, err := json.Marshal(d)
			if err != nil {
				return err
			}
			if err := bd.Put([]byte(d.ID), v); err != nil {
				return err
			}
		}
		m := tx.Bucket(bucketMeta)
		if err := m.Put(metaTokens, []byte(strconv.FormatInt(total, 10))); err != nil {
			return err
		}
		return m.Put(metaFormat, []byte(strconv.Itoa(indexFormat)))
	})
	if err != nil {
		return fmt.Errorf("upgrade: record format: %w", err)
	}
	return os.RemoveAll(old)
}

// storedBodies reads a document's passage bodies from idx in passage order.
func storedBodies(ctx context.Context, idx bleve.Index, docID string) ([]string, error) {
	hits, err := docPassages(ctx, idx, docID, []string{fieldBody})
	if err != nil {
		return nil, fmt.Errorf("upgrade: %w", err)
	}
	bodies := make([]string, len(hits))
	for i, h := range hits {
		bodies[i], _ = h.Fields[fieldBody].(string)
	}
	return bodies, nil
}
