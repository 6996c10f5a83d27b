package local

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	bolt "go.etcd.io/bbolt"

	"github.com/tollgate-dev/tollgate/internal/search"
)

// formatOneMapping is the passage mapping before format 2: English
// analysis, no stored title.
func formatOneMapping() *mapping.IndexMappingImpl {
	m := bleve.NewIndexMapping()
	doc := bleve.NewDocumentStaticMapping()
	kw := bleve.NewKeywordFieldMapping()
	kw.Store = true
	text := bleve.NewTextFieldMapping()
	text.Analyzer = en.AnalyzerName
	body := bleve.NewTextFieldMapping()
	body.Index = false
	body.Store = true
	doc.AddFieldMappingsAt(fieldDocID, kw)
	doc.AddFieldMappingsAt(fieldText, text)
	doc.AddFieldMappingsAt(fieldBody, body)
	m.DefaultMapping = doc
	m.ScoringModel = "bm25"
	return m
}

// TestUpgradeFromFormatOne opens an index written in format 1 (English
// analyzer, no token counts, no recorded format) and checks that it is
// rebuilt from its stored passages: same documents and passages, exact
// token total, searchable, and nothing left behind.
func TestUpgradeFromFormatOne(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	docs := []Document{
		{URL: "https://example.com/a", Title: "Rotating keys", Text: longText(4, 80) + "\n\nRotate a key with a grace period."},
		{URL: "https://example.com/b", Title: "Billing", Text: "Prepaid credits and monthly grants."},
	}

	// Write the documents in the current format to learn the expected
	// token total and passages, then rewrite the passage index and the
	// catalogue as format 1 had them.
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		if _, err := ix.Put(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	wantTokens := ix.tokens.Load()
	wantStats, err := ix.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type passage struct{ id, docID, title, body string }
	var ps []passage
	for _, d := range docs {
		rec, _, _ := ix.get(DocID(d.URL))
		bodies, err := storedBodies(ctx, ix.passage, rec.ID)
		if err != nil {
			t.Fatal(err)
		}
		for i, b := range bodies {
			ps = append(ps, passage{passageID(rec.ID, i), rec.ID, rec.Title, b})
		}
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, passagesDir)
	if err := os.RemoveAll(path); err != nil {
		t.Fatal(err)
	}
	old, err := bleve.NewUsing(path, formatOneMapping(), scorch.Name, scorch.Name, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		f := map[string]any{fieldDocID: p.docID, fieldText: indexedText(p.title, p.body), fieldBody: p.body}
		if err := old.Index(p.id, f); err != nil {
			t.Fatal(err)
		}
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(filepath.Join(dir, catalogFile), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketMeta); err != nil {
			return err
		}
		b := tx.Bucket(bucketDocs)
		return b.ForEach(func(k, v []byte) error {
			var d Document
			if err := json.Unmarshal(v, &d); err != nil {
				return err
			}
			d.Tokens = 0
			nv, _ := json.Marshal(d)
			return b.Put(k, nv)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	ix = openTest(t, dir)
	if got := ix.tokens.Load(); got != wantTokens {
		t.Errorf("token total after upgrade = %d, want %d", got, wantTokens)
	}
	st, err := ix.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Documents != wantStats.Documents || st.Passages != wantStats.Passages {
		t.Errorf("after upgrade: %d documents, %d passages; want %d, %d", st.Documents, st.Passages, wantStats.Documents, wantStats.Passages)
	}
	m, err := readMeta(ix.catalog)
	if err != nil || m.format != indexFormat {
		t.Errorf("format after upgrade = %d (%v), want %d", m.format, err, indexFormat)
	}
	got := mustSearch(t, ix, search.Query{Text: "grace period rotate"})
	if len(got) == 0 || got[0].URL != "https://example.com/a" || got[0].Title != "Rotating keys" {
		t.Errorf("search after upgrade: %+v", got)
	}
	for _, leftover := range []string{path + ".old", path + ".upgrade"} {
		if _, err := os.Stat(leftover); !os.IsNotExist(err) {
			t.Errorf("%s left behind (%v)", filepath.Base(leftover), err)
		}
	}
}

// TestRecoverInterruptedSwap: an upgrade that stopped after moving the old
// passages aside puts them back and clears the half-built index.
func TestRecoverInterruptedSwap(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Put(ctx, Document{URL: "https://example.com/x", Text: "Quokkas are marsupials."}); err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, passagesDir)
	if err := os.Rename(path, path+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(path+".upgrade", 0o750); err != nil {
		t.Fatal(err)
	}
	ix = openTest(t, dir)
	if got := mustSearch(t, ix, search.Query{Text: "quokka"}); len(got) != 1 {
		t.Fatalf("after recovery: %+v, want the document", got)
	}
	for _, leftover := range []string{path + ".old", path + ".upgrade"} {
		if _, err := os.Stat(leftover); !os.IsNotExist(err) {
			t.Errorf("%s left behind (%v)", filepath.Base(leftover), err)
		}
	}
}
