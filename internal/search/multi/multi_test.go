package multi_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/search"
	"github.com/tollgate-dev/tollgate/internal/search/multi"
	"github.com/tollgate-dev/tollgate/internal/search/web"
	"github.com/tollgate-dev/tollgate/internal/search/web/webtest"
)

// fakes starts the three provider fakes, each serving its own documents,
// and returns adapters pointed at them.
type fakes struct {
	searxng *webtest.SearXNG
	brave   *webtest.Brave
	tavily  *webtest.Tavily
	ps      []search.Provider
}

func newFakes(t *testing.T) *fakes {
	t.Helper()
	f := &fakes{
		searxng: webtest.NewSearXNG(t),
		brave:   webtest.NewBrave(t, "brave-key"),
		tavily:  webtest.NewTavily(t, "tvly-key"),
	}
	f.searxng.SetDocs(
		webtest.Doc{Title: "S1", URL: "https://s.example/1", Content: "searxng one"},
		webtest.Doc{Title: "Shared", URL: "https://shared.example/page/", Content: "from searxng"},
	)
	f.brave.SetDocs(
		webtest.Doc{Title: "Shared", URL: "https://shared.example/page?utm_source=brave", Content: "from brave",
			Published: time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC), Language: "en"},
		webtest.Doc{Title: "B1", URL: "https://b.example/1", Content: "brave one"},
	)
	f.tavily.SetDocs(
		webtest.Doc{Title: "T1", URL: "https://t.example/1", Content: "tavily one"},
		webtest.Doc{Title: "Shared", URL: "https://SHARED.example/page#top", Content: "from tavily"},
	)
	f.ps = []search.Provider{
		web.NewSearXNG(f.searxng.URL(), nil),
		web.NewBrave("brave-key", web.WithBaseURL(f.brave.URL())),
		web.NewTavily("tvly-key", web.WithBaseURL(f.tavily.URL())),
	}
	return f
}

func urls(rs []search.Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.URL)
	}
	return out
}

func TestFanOutOverHTTP(t *testing.T) {
	f := newFakes(t)
	got, err := multi.New(f.ps, multi.Options{Timeout: 5 * time.Second}).Search(context.Background(), search.Query{Text: "q"})
	if err != nil {
		t.Fatal(err)
	}
	// Shared is second in SearXNG and Tavily, first in Brave:
	// 1/62+1/61+1/62 beats every single-provider hit. The rest score 1/61
	// (S1, T1) or 1/62 (B1); ties keep provider order.
	want := []string{"https://shared.example/page?utm_source=brave", "https://s.example/1", "https://t.example/1", "https://b.example/1"}
	if !slices.Equal(urls(got), want) {
		t.Fatalf("got %q\nwant %q", urls(got), want)
	}
	if got[0].Source != "brave" || got[0].Date == nil || got[0].Language != "en" {
		t.Errorf("merged result %+v: want Brave's copy with its date and language", got[0])
	}
}

func TestFanOutSkipsSlowProvider(t *testing.T) {
	f := newFakes(t)
	f.searxng.SetDelay(3 * time.Second)
	var logs syncBuffer
	m := multi.New(f.ps, multi.Options{Timeout: 200 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	start := time.Now()
	got, err := m.Search(context.Background(), search.Query{Text: "q"})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Search took %v: it waited for the slow provider", d)
	}
	for _, r := range got {
		if r.Source == "searxng" || r.URL == "https://s.example/1" {
			t.Errorf("got %+v from the provider that timed out", r)
		}
	}
	if len(got) != 3 {
		t.Errorf("got %q, want Brave's and Tavily's three pages", urls(got))
	}
	if l := logs.String(); !strings.Contains(l, "provider=searxng") || !strings.Contains(l, "timed out after 200ms") {
		t.Errorf("log %q does not record the skipped provider", l)
	}
}

func TestFanOutAllFail(t *testing.T) {
	f := newFakes(t)
	f.searxng.DisableJSON()
	f.tavily.Fail(432)
	ps := []search.Provider{f.ps[0], web.NewBrave("wrong", web.WithBaseURL(f.brave.URL())), f.ps[2]}
	_, err := multi.New(ps, multi.Options{}).Search(context.Background(), search.Query{Text: "q"})
	if err == nil {
		t.Fatal("got no error")
	}
	for _, want := range []error{web.ErrFormatDisabled, web.ErrBadKey, web.ErrQuotaExceeded} {
		if !errors.Is(err, want) {
			t.Errorf("error %q does not wrap %v", err, want)
		}
	}
	for _, name := range []string{"searxng:", "brave:", "tavily:"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
	if _, err := multi.New(nil, multi.Options{}).Search(context.Background(), search.Query{Text: "q"}); err == nil {
		t.Error("no providers: got no error")
	}
}

func TestFanOutFiltersAndMax(t *testing.T) {
	f := newFakes(t)
	m := multi.New(f.ps, multi.Options{})
	got, err := m.Search(context.Background(), search.Query{Text: "q", Max: 2,
		Filters: search.Filters{ExcludeDomains: []string{"shared.example"}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"https://s.example/1", "https://t.example/1"}; !slices.Equal(urls(got), want) {
		t.Errorf("got %q, want %q", urls(got), want)
	}
}

// list is a provider answering a fixed list.
type list struct {
	name  string
	rs    []search.Result
	calls int
	mu    sync.Mutex
}

func (l *list) Name() string { return l.name }
func (l *list) Search(context.Context, search.Query) ([]search.Result, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	return slices.Clone(l.rs), nil
}

func TestFuseHandComputed(t *testing.T) {
	a := []search.Result{
		{URL: "https://a.test/x", Title: "A from 1", Source: "one"},
		{URL: "https://b.test/", Source: "one"},
		{URL: "https://c.test", Source: "one"},
		{URL: "https://a.test/x?utm_campaign=dup", Source: "one"}, // same page again: not ranked twice
	}
	b := []search.Result{
		{URL: "https://B.test", Source: "two"},
		{URL: "https://d.test", Source: "two"},
		{URL: "https://a.test/x#section", Title: "A from 2", Date: day(2025, 1, 2), Source: "two"},
	}
	// a: 1/61 + 1/63 = .0322664   b: 1/62 + 1/61 = .0325225
	// c: 1/63 = .0158730          d: 1/62 = .0161290
	got := multi.Fuse([][]search.Result{a, b})
	want := []struct {
		url   string
		score float64
	}{
		{"https://B.test", 1.0/62 + 1.0/61}, // list two ranks it higher, so its copy leads
		{"https://a.test/x", 1.0/61 + 1.0/63},
		{"https://d.test", 1.0 / 62},
		{"https://c.test", 1.0 / 63},
	}
	if len(got) != len(want) {
		t.Fatalf("got %q, want 4 results", urls(got))
	}
	for i, w := range want {
		if got[i].URL != w.url || math.Abs(got[i].Score-w.score) > 1e-12 {
			t.Errorf("%d: got %s %.7f, want %s %.7f", i, got[i].URL, got[i].Score, w.url, w.score)
		}
	}
	if got[1].Title != "A from 1" || got[1].Date == nil {
		t.Errorf("a = %+v: want list one's (better-ranked) copy with list two's date", got[1])
	}
}

func TestCache(t *testing.T) {
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }

	p := &list{name: "one", rs: []search.Result{
		{URL: "https://a.test", Date: new(time.Date(2025, 12, 31, 12, 0, 0, 0, time.UTC))},
		{URL: "https://b.test"},
	}}
	m := multi.New([]search.Provider{p}, multi.Options{CacheTTL: time.Minute, CacheSize: 2, Now: now})
	ctx := context.Background()
	search1 := func(q search.Query) []search.Result {
		t.Helper()
		rs, err := m.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	search1(search.Query{Text: "Rotate a key"})
	got := search1(search.Query{Text: "  rotate   A KEY "})
	if p.calls != 1 || m.Stats().Hits != 1 || len(got) != 2 {
		t.Fatalf("calls %d, stats %+v, %d results: want one call and a hit", p.calls, m.Stats(), len(got))
	}
	// A recency bound a few seconds later hits, and is applied exactly.
	search1(search.Query{Text: "rotate a key", Filters: search.Filters{PublishedAfter: now().Add(-24 * time.Hour)}})
	advance(10 * time.Second)
	got = search1(search.Query{Text: "rotate a key", Filters: search.Filters{PublishedAfter: now().Add(-24 * time.Hour)}})
	if p.calls != 2 || len(got) != 1 || got[0].URL != "https://a.test" {
		t.Errorf("calls %d, got %q: want the second bounded query from cache, filtered", p.calls, urls(got))
	}
	// Expiry.
	advance(2 * time.Minute)
	search1(search.Query{Text: "rotate a key"})
	if p.calls != 3 {
		t.Errorf("calls %d after expiry, want 3", p.calls)
	}
	// LRU eviction at size 2.
	search1(search.Query{Text: "other"})
	search1(search.Query{Text: "third"})
	if s := m.Stats(); s.Entries != 2 {
		t.Errorf("entries %d, want 2", s.Entries)
	}
	search1(search.Query{Text: "rotate a key"}) // evicted
	if p.calls != 6 {
		t.Errorf("calls %d, want 6: the least recently used entry should have been evicted", p.calls)
	}
	if s := m.Stats(); s.Hits != 2 || s.Misses != 6 {
		t.Errorf("stats %+v, want 2 hits, 6 misses", s)
	}
}

func TestCancelledContext(t *testing.T) {
	f := newFakes(t)
	f.searxng.SetDelay(time.Second)
	f.brave.SetDelay(time.Second)
	f.tavily.SetDelay(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := multi.New(f.ps, multi.Options{Timeout: 5 * time.Second}).Search(ctx, search.Query{Text: "q"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the caller's deadline", err)
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
