package indexing

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/fetch"
	"github.com/tollgate-dev/tollgate/internal/search"
	"github.com/tollgate-dev/tollgate/internal/search/local"
)

func newService(t *testing.T) *Service {
	t.Helper()
	ix, err := local.Open(filepath.Join(t.TempDir(), "index"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ix.Close(); err != nil {
			t.Error(err)
		}
	})
	return New(ix, Options{Fetcher: fetch.New(fetch.Options{AllowPrivate: true})})
}

func write(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const markdownDoc = `---
title: Rotating keys
date: 2025-03-04
lang: en
---
# Ignored heading

Rotate a key with **tollgate keys rotate**; the old secret keeps working during the grace period.
`

const htmlDoc = `<!doctype html><html lang="en"><head><title>Zebra care</title></head>
<body><nav>Home | About</nav><main><h1>Zebra care</h1>
<p>Zebras need grass, water and a wide paddock. Their stripes confuse biting flies.</p></main>
<footer>copyright</footer></body></html>`

func TestAddFiles(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	dir := t.TempDir()
	md := write(t, filepath.Join(dir, "docs", "keys.md"), markdownDoc)
	html := write(t, filepath.Join(dir, "docs", "zebra.html"), htmlDoc)
	txt := write(t, filepath.Join(dir, "docs", "notes.txt"), "Field notes\n\nThe aardvark digs at night.")
	write(t, filepath.Join(dir, "docs", ".git", "x.md"), "# hidden\n\nnot indexed")
	write(t, filepath.Join(dir, "docs", "image.png"), "not text")

	var seen []Result
	got := s.Add(ctx, []string{filepath.Join(dir, "docs")}, func(r Result) { seen = append(seen, r) })
	if len(got) != 3 || len(seen) != 3 {
		t.Fatalf("Add reported %d results (%d via progress), want 3: %+v", len(got), len(seen), got)
	}
	byTitle := map[string]Result{}
	for _, r := range got {
		if r.Status != StatusAdded {
			t.Errorf("%s: status %q (%s), want added", r.Source, r.Status, r.Error)
		}
		byTitle[r.Title] = r
	}
	for _, title := range []string{"Rotating keys", "Zebra care", "Field notes"} {
		if _, ok := byTitle[title]; !ok {
			t.Errorf("no document titled %q in %+v", title, got)
		}
	}

	docs, total, err := s.List(ctx, 0, 0)
	if err != nil || total != 3 {
		t.Fatalf("List: %d docs, %v", total, err)
	}
	for _, d := range docs {
		if d.Title == "Rotating keys" {
			if d.Published == nil || d.Published.Format("2006-01-02") != "2025-03-04" || d.Language != "en" {
				t.Errorf("front matter not applied: %+v", d)
			}
			if d.Updated == nil {
				t.Errorf("no update date from the file time")
			}
		}
		if !strings.HasPrefix(d.URL, "file:///") {
			t.Errorf("URL %q is not a file URL", d.URL)
		}
	}
	res, err := s.Search(ctx, search.Query{Text: "stripes flies"})
	if err != nil || len(res) == 0 || res[0].Title != "Zebra care" {
		t.Fatalf("Search: %+v, %v", res, err)
	}
	if strings.Contains(res[0].Content, "copyright") {
		t.Errorf("HTML boilerplate indexed: %q", res[0].Content)
	}

	// Re-adding: unchanged files are skipped, even with a new file time; a
	// changed file is updated.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(md, later, later); err != nil {
		t.Fatal(err)
	}
	write(t, txt, "Field notes\n\nThe aardvark digs at night and sleeps by day.")
	tests := []struct {
		name, path, want string
	}{
		{"markdown touched", md, StatusUnchanged},
		{"html same", html, StatusUnchanged},
		{"text changed", txt, StatusUpdated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := s.AddFile(ctx, tt.path)
			if err != nil || r.Status != tt.want {
				t.Errorf("AddFile = %+v, %v; want %s", r, err, tt.want)
			}
		})
	}
}

func TestAddFailures(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	dir := t.TempDir()
	empty := write(t, filepath.Join(dir, "empty.md"), "   \n")
	png := write(t, filepath.Join(dir, "x.png"), "png")
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)

	tests := []struct {
		name, source, wantErr string
	}{
		{"missing file", filepath.Join(dir, "nope.md"), "no such file"},
		{"empty file", empty, "no text"},
		{"unsupported type", png, "unsupported file type"},
		{"empty directory", t.TempDir(), "holds no Markdown"},
		{"404 url", srv.URL + "/missing", "HTTP status 404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.Add(ctx, []string{tt.source}, nil)
			if len(got) != 1 || got[0].Status != StatusFailed || !strings.Contains(got[0].Error, tt.wantErr) {
				t.Errorf("Add(%s) = %+v, want one failure containing %q", tt.source, got, tt.wantErr)
			}
		})
	}
	// A private address is refused by a default fetcher.
	strict := New(s.ix, Options{})
	r, err := strict.AddURL(ctx, srv.URL+"/")
	if err == nil || r.Status != StatusFailed || !strings.Contains(r.Error, "private or loopback") {
		t.Errorf("AddURL to loopback with a default fetcher = %+v, %v", r, err)
	}
}

func TestAddURLAndText(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, htmlDoc)
	}))
	t.Cleanup(srv.Close)

	r, err := s.AddURL(ctx, srv.URL+"/zebra")
	if err != nil || r.Status != StatusAdded || r.Title != "Zebra care" || r.ID != local.DocID(srv.URL+"/zebra") {
		t.Fatalf("AddURL = %+v, %v", r, err)
	}
	if r, _ := s.AddURL(ctx, srv.URL+"/zebra"); r.Status != StatusUnchanged {
		t.Errorf("second AddURL status %q, want unchanged", r.Status)
	}
	tr, err := s.AddText(ctx, Text{URL: "https://notes.example/1", Title: "Note", Text: "Quokkas smile."})
	if err != nil || tr.Status != StatusAdded {
		t.Fatalf("AddText = %+v, %v", tr, err)
	}
	if _, err := s.AddText(ctx, Text{URL: "not a url", Text: "x"}); err == nil {
		t.Errorf("AddText with a relative URL succeeded")
	}
	if err := s.Delete(ctx, "https://notes.example/1"); err != nil {
		t.Fatal(err)
	}
	st, err := s.Stats(ctx)
	if err != nil || st.Documents != 1 {
		t.Errorf("Stats = %+v, %v; want 1 document", st, err)
	}
}

// site serves a small same-host site: / links to /a, /b, an off-host page
// and a robots-disallowed page; /a links to /c (depth 2).
func site(t *testing.T) *httptest.Server {
	t.Helper()
	var mu sync.Mutex
	pages := map[string]string{
		"/":          `<h1>Home</h1><p>Welcome to the okapi sanctuary.</p><a href="/a">a</a> <a href="/b">b</a> <a href="https://elsewhere.example/">x</a> <a href="/private/x">p</a>`,
		"/a":         `<h1>Page A</h1><p>Okapis eat leaves and fruit.</p><a href="/c">c</a>`,
		"/b":         `<h1>Page B</h1><p>Okapis are related to giraffes.</p>`,
		"/c":         `<h1>Page C</h1><p>Deep page about okapi calves.</p>`,
		"/private/x": `<h1>Secret</h1><p>never indexed</p>`,
	}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/robots.txt" {
			fmt.Fprint(w, "User-agent: *\nDisallow: /private/\n")
			return
		}
		body, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "<html><head><title>%s</title></head><body><main>%s</main></body></html>", r.URL.Path, body)
	}))
}

func TestCrawl(t *testing.T) {
	ctx := context.Background()
	srv := site(t)
	t.Cleanup(srv.Close)

	tests := []struct {
		name      string
		opts      CrawlOptions
		wantAdded int
	}{
		{"start page only", CrawlOptions{Depth: 0, Delay: time.Millisecond}, 1},
		{"depth 1", CrawlOptions{Depth: 1, Delay: time.Millisecond}, 3},
		{"depth 2", CrawlOptions{Depth: 2, Delay: time.Millisecond}, 4},
		{"page limit", CrawlOptions{Depth: 2, MaxPages: 2, Delay: time.Millisecond}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newService(t)
			var progressed int
			rep, err := s.Crawl(ctx, srv.URL+"/", tt.opts, func(Result) { progressed++ })
			if err != nil {
				t.Fatal(err)
			}
			if rep.Counts[StatusAdded] != tt.wantAdded {
				t.Errorf("added %d, want %d: %+v", rep.Counts[StatusAdded], tt.wantAdded, rep.Results)
			}
			if progressed != len(rep.Results) {
				t.Errorf("progress called %d times for %d results", progressed, len(rep.Results))
			}
			for _, r := range rep.Results {
				if strings.Contains(r.URL, "/private/") && r.Status != StatusFailed {
					t.Errorf("robots-disallowed page indexed: %+v", r)
				}
				if strings.Contains(r.URL, "elsewhere.example") {
					t.Errorf("crawl left the host: %+v", r)
				}
			}
			// Crawling again changes nothing.
			again, err := s.Crawl(ctx, srv.URL+"/", tt.opts, nil)
			if err != nil || again.Counts[StatusUnchanged] != tt.wantAdded || again.Counts[StatusAdded] != 0 {
				t.Errorf("second crawl counts %v, %v", again.Counts, err)
			}
		})
	}

	s := newService(t)
	if _, err := s.Crawl(ctx, srv.URL+"/missing", CrawlOptions{Delay: time.Millisecond}, nil); err == nil {
		t.Errorf("crawl of a missing start page succeeded")
	}
}
