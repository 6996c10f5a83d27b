// Package local is Tollgate's built-in search index: documents kept on disk
// in the data directory, split into passages and ranked with BM25, so that
// search-grounded answers work with no network at all.
//
// Passages live in a bleve scorch index (bleve's BM25 needs scorch: the
// in-memory upsidedown index silently falls back to TF-IDF). Document
// metadata lives beside it in a bbolt catalogue, keyed by document ID, so
// that passages alone make up the corpus BM25's statistics are taken over.
package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	bsearch "github.com/blevesearch/bleve/v2/search"
	bolt "go.etcd.io/bbolt"

	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/search"
)

// Put statuses.
const (
	StatusAdded     = "added"
	StatusUpdated   = "updated"
	StatusUnchanged = "unchanged"
)

// Names inside the index directory.
const (
	passagesDir = "passages"
	catalogFile = "catalog.db"
)

var (
	bucketDocs = []byte("documents") // ID → JSON Document without Text
	bucketURLs = []byte("urls")      // URL → ID, the order List pages in
	bucketMeta = []byte("meta")      // index-wide values: metaFormat, metaTokens
)

// Index is the persistent local search index. It is safe for concurrent
// use; writes are serialized.
type Index struct {
	dir     string
	passage bleve.Index
	catalog *bolt.DB
	// tokens is the total length of all passages in index terms, BM25's
	// average passage length times their number.
	tokens atomic.Int64

	mu sync.Mutex // serializes Put and Delete
}

var _ search.Provider = (*Index)(nil)

// Open opens the index stored in dir, creating it if missing. Only one
// process may have an index open at a time.
func Open(dir string) (*Index, error) {
	return open(dir, "bm25")
}

// open is Open with a choice of scoring model, so a test can show that BM25
// and bleve's default TF-IDF really rank differently.
func open(dir, scoring string) (*Index, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("local index: %w", err)
	}
	// The catalogue is opened first, with a timeout: its lock makes a second
	// process fail fast instead of blocking on the passage index's lock.
	db, err := bolt.Open(filepath.Join(dir, catalogFile), 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("local index: open catalogue: %w", err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketDocs, bucketURLs, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("local index: init catalogue: %w", err)
	}

	path := filepath.Join(dir, passagesDir)
	if err := recoverSwap(path); err != nil {
		db.Close()
		return nil, fmt.Errorf("local index: %w", err)
	}
	m, err := readMeta(db)
	if err != nil {
		db.Close()
		return nil, err
	}
	var idx bleve.Index
	_, statErr := os.Stat(path)
	switch {
	case errors.Is(statErr, fs.ErrNotExist):
		idx, err = bleve.NewUsing(path, passageMapping(scoring), scorch.Name, scorch.Name, nil)
		if err == nil {
			err = writeMeta(db, meta{format: indexFormat})
		}
	case m.format != indexFormat:
		if err = upgrade(db, path, scoring); err == nil {
			m, err = readMeta(db)
		}
		if err == nil {
			idx, err = bleve.Open(path)
		}
	default:
		idx, err = bleve.Open(path)
	}
	if err != nil {
		if idx != nil {
			idx.Close()
		}
		db.Close()
		return nil, fmt.Errorf("local index: open passages: %w", err)
	}
	ix := &Index{dir: dir, passage: idx, catalog: db}
	ix.tokens.Store(m.tokens)
	return ix, nil
}

// Close flushes and closes the index.
func (ix *Index) Close() error {
	return errors.Join(ix.passage.Close(), ix.catalog.Close())
}

// Name reports the provider name, "local".
func (ix *Index) Name() string { return "local" }

// Put adds d, replaces the stored version of the same URL, or does nothing if
// the stored version has the same content hash. It reports which happened.
func (ix *Index) Put(ctx context.Context, d Document) (string, error) {
	d, err := normalize(d)
	if err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()

	old, found, err := ix.get(d.ID)
	if err != nil {
		return "", err
	}
	if found && old.Hash == d.Hash {
		return StatusUnchanged, nil
	}

	// Passages first, catalogue second: a crash in between leaves the old
	// hash (or none) in the catalogue, so the next Put redoes the work.
	b := ix.passage.NewBatch()
	stale, err := ix.passageIDs(ctx, d.ID)
	if err != nil {
		return "", err
	}
	for _, id := range stale {
		b.Delete(id)
	}
	pieces := Chunk(d.Text)
	if len(pieces) == 0 {
		pieces = []string{""} // a title-only document is one passage
	}
	d.Tokens = 0
	for i, body := range pieces {
		d.Tokens += tokenCount(indexedText(d.Title, body))
		// Overwriting an ID in the same batch that deletes it is fine:
		// bleve applies the last operation per ID.
		if err := b.Index(passageID(d.ID, i), passageFields(d, body)); err != nil {
			return "", fmt.Errorf("local index: passage %d of %s: %w", i, d.URL, err)
		}
	}
	if err := ix.passage.Batch(b); err != nil {
		return "", fmt.Errorf("local index: write passages of %s: %w", d.URL, err)
	}

	d.Passages = len(pieces)
	if err := ix.putRecord(d, old, found); err != nil {
		return "", err
	}
	if found {
		return StatusUpdated, nil
	}
	return StatusAdded, nil
}

func passageID(docID string, i int) string { return fmt.Sprintf("%s/%04d", docID, i) }

// indexedText is what BM25 sees of a passage: the document's title, then
// the passage.
func indexedText(title, body string) string {
	if title == "" {
		return body
	}
	return title + "\n\n" + body
}

// passageFields is the bleve document of one passage.
func passageFields(d Document, body string) map[string]any {
	f := map[string]any{
		fieldDocID: d.ID,
		fieldText:  indexedText(d.Title, body),
		fieldBody:  body,
	}
	if d.Title != "" {
		f[fieldTitle] = d.Title
	}
	if s := domainSuffixes(d.Domain); len(s) > 0 {
		f[fieldDomains] = s
	}
	if d.Published != nil {
		f[fieldPublished] = *d.Published
	}
	if d.Updated != nil {
		f[fieldUpdated] = *d.Updated
	}
	if d.Language != "" {
		f[fieldLanguage] = d.Language
	}
	return f
}

// passageIDs finds every passage of a document in the passage index itself,
// rather than trusting the catalogue's count, so leftovers of an
// interrupted write are cleaned up too.
func (ix *Index) passageIDs(ctx context.Context, docID string) ([]string, error) {
	hits, err := docPassages(ctx, ix.passage, docID, nil)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	return ids, nil
}

// docPassages returns every passage of a document in idx, in passage order,
// with the stored fields asked for.
func docPassages(ctx context.Context, idx bleve.Index, docID string, fields []string) (bsearch.DocumentMatchCollection, error) {
	q := bleve.NewTermQuery(docID)
	q.SetField(fieldDocID)
	var out bsearch.DocumentMatchCollection
	for from := 0; ; {
		req := bleve.NewSearchRequestOptions(q, 1000, from, false)
		req.Score = "none"
		req.Fields = fields
		req.SortBy([]string{"_id"})
		res, err := idx.SearchInContext(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("local index: passages of %s: %w", docID, err)
		}
		out = append(out, res.Hits...)
		from += len(res.Hits)
		if len(res.Hits) == 0 || uint64(from) >= res.Total {
			return out, nil
		}
	}
}

// Delete removes a document, named by its ID or its URL.
func (ix *Index) Delete(ctx context.Context, idOrURL string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()

	var (
		d     Document
		found bool
		err   error
	)
	for _, id := range []string{idOrURL, DocID(idOrURL)} {
		if !strings.HasPrefix(id, PrefixDocument) {
			continue
		}
		if d, found, err = ix.get(id); err != nil {
			return err
		}
		if found {
			break
		}
	}
	if !found {
		return fmt.Errorf("local index: document %q: %w", idOrURL, platform.ErrNotFound)
	}
	id := d.ID
	// Catalogue first: passages without a catalogue entry are never shown,
	// and the next Put of the URL sweeps them.
	err = ix.catalog.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketURLs).Delete([]byte(d.URL)); err != nil {
			return err
		}
		if err := addTokens(tx, -int64(d.Tokens)); err != nil {
			return err
		}
		return tx.Bucket(bucketDocs).Delete([]byte(id))
	})
	if err != nil {
		return fmt.Errorf("local index: delete %s: %w", id, err)
	}
	ix.tokens.Add(-int64(d.Tokens))
	ids, err := ix.passageIDs(ctx, id)
	if err != nil {
		return err
	}
	b := ix.passage.NewBatch()
	for _, pid := range ids {
		b.Delete(pid)
	}
	if err := ix.passage.Batch(b); err != nil {
		return fmt.Errorf("local index: delete passages of %s: %w", id, err)
	}
	return nil
}
