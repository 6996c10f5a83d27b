package local

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/search"
)

func TestPutUpdateUnchangedDelete(t *testing.T) {
	ctx := context.Background()
	ix := openTest(t, t.TempDir())
	doc := Document{URL: "https://example.com/guide", Title: "Guide", Text: "The aardvark digs burrows at night."}

	steps := []struct {
		name   string
		text   string
		want   string
		finds  string // a query that must find the document afterwards
		misses string // a query that must not
	}{
		{"add", doc.Text, StatusAdded, "aardvark", "pangolin"},
		{"same again", doc.Text, StatusUnchanged, "aardvark", "pangolin"},
		{"changed", "The pangolin rolls into a ball.", StatusUpdated, "pangolin", "aardvark"},
		{"changed back", doc.Text, StatusUpdated, "aardvark", "pangolin"},
	}
	for _, st := range steps {
		d := doc
		d.Text = st.text
		got, err := ix.Put(ctx, d)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got != st.want {
			t.Errorf("%s: status %q, want %q", st.name, got, st.want)
		}
		if n := len(mustSearch(t, ix, search.Query{Text: st.finds})); n != 1 {
			t.Errorf("%s: %q found %d results, want 1", st.name, st.finds, n)
		}
		if n := len(mustSearch(t, ix, search.Query{Text: st.misses})); n != 0 {
			t.Errorf("%s: %q found %d results, want 0", st.name, st.misses, n)
		}
	}

	docs, total, err := ix.List(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if total != 1 || len(docs) != 1 {
		t.Fatalf("List: %d of %d, want 1 of 1", len(docs), total)
	}
	id := docs[0].ID
	if id != DocID(doc.URL) || !strings.HasPrefix(id, PrefixDocument) {
		t.Errorf("ID %q, want %q", id, DocID(doc.URL))
	}

	tests := []struct {
		name  string
		key   func() string
		put   bool
		wantE error
	}{
		{"by id", func() string { return id }, false, nil},
		{"by url", func() string { return doc.URL }, true, nil},
		{"unknown id", func() string { return "doc_000000000000000000000000" }, false, platform.ErrNotFound},
		{"unknown url", func() string { return "https://example.com/none" }, false, platform.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.put {
				if _, err := ix.Put(ctx, doc); err != nil {
					t.Fatal(err)
				}
			}
			err := ix.Delete(ctx, tt.key())
			if !errors.Is(err, tt.wantE) {
				t.Fatalf("Delete: %v, want %v", err, tt.wantE)
			}
			if n := len(mustSearch(t, ix, search.Query{Text: "aardvark"})); n != 0 {
				t.Errorf("found %d results after delete", n)
			}
			st, err := ix.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st.Documents != 0 || st.Passages != 0 {
				t.Errorf("Stats after delete: %+v", st)
			}
		})
	}
}

func TestPutInvalid(t *testing.T) {
	ix := openTest(t, t.TempDir())
	tests := []struct {
		name string
		doc  Document
	}{
		{"no url", Document{Text: "x"}},
		{"relative url", Document{URL: "guide.md", Text: "x"}},
		{"no text", Document{URL: "https://example.com/", Text: " \n "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ix.Put(context.Background(), tt.doc)
			if platform.ErrorKind(err) != platform.KindInvalid {
				t.Errorf("Put: %v, want an invalid error", err)
			}
		})
	}
}

// An update that shortens a document must remove the passages it no longer has.
func TestUpdateRemovesStalePassages(t *testing.T) {
	ctx := context.Background()
	ix := openTest(t, t.TempDir())
	d := Document{URL: "https://example.com/long", Title: "Long", Text: longText(40, 60)}
	if _, err := ix.Put(ctx, d); err != nil {
		t.Fatal(err)
	}
	st := mustStats(t, ix)
	if st.Passages < 5 {
		t.Fatalf("long document has %d passages, want several", st.Passages)
	}
	d.Text = "Short now."
	if _, err := ix.Put(ctx, d); err != nil {
		t.Fatal(err)
	}
	if st := mustStats(t, ix); st.Passages != 1 || st.Documents != 1 {
		t.Errorf("after shortening: %+v, want 1 document, 1 passage", st)
	}
}

func TestPersistence(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	d := Document{URL: "https://example.com/p", Title: "Persistence", Text: "Quokkas live on Rottnest Island."}
	if _, err := ix.Put(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}

	ix = openTest(t, dir)
	got := mustSearch(t, ix, search.Query{Text: "quokka island"})
	if len(got) != 1 || got[0].URL != d.URL || got[0].Title != d.Title {
		t.Fatalf("after reopen: %+v", got)
	}
	if status, err := ix.Put(ctx, d); err != nil || status != StatusUnchanged {
		t.Errorf("Put after reopen: %q, %v; want unchanged", status, err)
	}
	// BM25 must survive the reopen: the scoring model is part of the stored mapping.
	hits, _, err := ix.searchPassages(ctx, search.Query{Text: "quokka"}, 1, true)
	if err != nil || len(hits) != 1 || !strings.Contains(hits[0].explanation, "bm25") {
		t.Errorf("after reopen, scoring is not BM25: %v %+v", err, hits)
	}
}

func TestOpenTwiceFails(t *testing.T) {
	dir := t.TempDir()
	openTest(t, dir)
	if ix, err := Open(dir); err == nil {
		ix.Close()
		t.Fatal("a second Open of the same directory succeeded")
	}
}

func TestListAndStats(t *testing.T) {
	ctx := context.Background()
	ix := openTest(t, t.TempDir())
	for _, name := range []string{"e", "c", "a", "d", "b"} {
		d := Document{URL: "https://example.com/" + name, Title: "Page " + name, Text: "Text of page " + name + "."}
		if _, err := ix.Put(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name          string
		offset, limit int
		want          string
	}{
		{"all", 0, 0, "a b c d e"},
		{"first page", 0, 2, "a b"},
		{"middle page", 2, 2, "c d"},
		{"last page", 4, 2, "e"},
		{"past the end", 9, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, total, err := ix.List(ctx, tt.offset, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if total != 5 {
				t.Errorf("total %d, want 5", total)
			}
			var names []string
			for _, d := range docs {
				names = append(names, strings.TrimPrefix(d.URL, "https://example.com/"))
				if d.Text != "" || d.Hash == "" || d.Domain != "example.com" || d.Passages != 1 {
					t.Errorf("listed document %+v", d)
				}
			}
			if got := strings.Join(names, " "); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	st := mustStats(t, ix)
	if st.Documents != 5 || st.Passages != 5 || st.DiskBytes <= 0 {
		t.Errorf("Stats %+v, want 5 documents, 5 passages, some bytes", st)
	}
}

func mustSearch(t *testing.T, ix *Index, q search.Query) []search.Result {
	t.Helper()
	got, err := ix.Search(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func mustStats(t *testing.T, ix *Index) Stats {
	t.Helper()
	st, err := ix.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// longText makes paragraphs of sentences of distinct words.
func longText(paragraphs, wordsPerParagraph int) string {
	var b strings.Builder
	w := 0
	for p := range paragraphs {
		if p > 0 {
			b.WriteString("\n\n")
		}
		for i := range wordsPerParagraph {
			fmt.Fprintf(&b, "Word%d", w)
			w++
			if i%10 == 9 {
				b.WriteString(". ")
			} else {
				b.WriteString(" ")
			}
		}
	}
	return b.String()
}

// Concurrent writers and readers, for the race detector.
func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	ix := openTest(t, t.TempDir())
	const writers, docsEach = 4, 10
	errs := make(chan error, writers*2)
	for w := range writers {
		go func() {
			for i := range docsEach {
				d := Document{URL: fmt.Sprintf("https://example.com/%d/%d", w, i), Text: "Concurrent capybara text."}
				if _, err := ix.Put(ctx, d); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
		go func() {
			for range docsEach {
				if _, err := ix.Search(ctx, search.Query{Text: "capybara"}); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range writers * 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if st := mustStats(t, ix); st.Documents != writers*docsEach || st.Passages != writers*docsEach {
		t.Errorf("Stats %+v, want %d documents and passages", st, writers*docsEach)
	}
}
