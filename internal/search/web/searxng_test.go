package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/search"
	"github.com/tollgate-dev/tollgate/internal/search/web"
	"github.com/tollgate-dev/tollgate/internal/search/web/webtest"
)

// now is the fixed clock of these tests.
var now = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

var docs = []webtest.Doc{
	{Title: "Ownership", URL: "https://example.org/ownership", Content: "The borrow checker checks borrows.",
		Published: time.Date(2025, 6, 30, 5, 41, 0, 0, time.UTC), Language: "en"},
	{Title: "Lifetimes", URL: "https://docs.example.com/lifetimes", Content: "Lifetimes name scopes."},
	{Title: "Rust book", URL: "https://rust.example.net/book", Content: "The book.",
		Published: date(2026, 3, 9), Language: "en"},
}

func TestSearXNGRequest(t *testing.T) {
	tests := []struct {
		name string
		q    search.Query
		want map[string]string // "" means the parameter must be absent
	}{
		{"plain", search.Query{Text: "borrow checker"},
			map[string]string{"q": "borrow checker", "format": "json", "pageno": "1",
				"categories": "", "language": "", "time_range": ""}},
		{"academic mode", search.Query{Text: "x", Filters: search.Filters{Mode: "academic"}},
			map[string]string{"categories": "science"}},
		{"web mode", search.Query{Text: "x", Filters: search.Filters{Mode: "web"}},
			map[string]string{"categories": "general"}},
		{"sec mode has no category", search.Query{Text: "x", Filters: search.Filters{Mode: "sec"}},
			map[string]string{"categories": ""}},
		{"one language", search.Query{Text: "x", Filters: search.Filters{Languages: []string{"DE"}}},
			map[string]string{"language": "de"}},
		{"two languages left to Apply", search.Query{Text: "x", Filters: search.Filters{Languages: []string{"de", "fr"}}},
			map[string]string{"language": ""}},
		{"recency day", search.Query{Text: "x", Filters: search.Filters{PublishedAfter: now.Add(-24*time.Hour - time.Second)}},
			map[string]string{"time_range": "day"}},
		{"recency week", search.Query{Text: "x", Filters: search.Filters{PublishedAfter: now.AddDate(0, 0, -7)}},
			map[string]string{"time_range": "week"}},
		{"three days widens to week", search.Query{Text: "x", Filters: search.Filters{PublishedAfter: now.AddDate(0, 0, -3)}},
			map[string]string{"time_range": "week"}},
		{"recency month", search.Query{Text: "x", Filters: search.Filters{PublishedAfter: now.AddDate(0, -1, 0)}},
			map[string]string{"time_range": "month"}},
		{"recency year", search.Query{Text: "x", Filters: search.Filters{PublishedAfter: now.AddDate(-1, 0, 0)}},
			map[string]string{"time_range": "year"}},
		{"older than a year", search.Query{Text: "x", Filters: search.Filters{PublishedAfter: now.AddDate(-3, 0, 0)}},
			map[string]string{"time_range": ""}},
		{"closed range is not relative", search.Query{Text: "x", Filters: search.Filters{
			PublishedAfter: now.AddDate(0, 0, -1), PublishedBefore: now}},
			map[string]string{"time_range": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := webtest.NewSearXNG(t)
			s := web.NewSearXNG(fake.URL(), nil, web.WithNow(clock))
			if _, err := s.Search(context.Background(), tt.q); err != nil {
				t.Fatal(err)
			}
			reqs := fake.Requests()
			if len(reqs) != 1 {
				t.Fatalf("got %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != http.MethodGet || r.Path != "/search" {
				t.Errorf("got %s %s, want GET /search", r.Method, r.Path)
			}
			if got := r.Header.Get("Accept"); got != "application/json" {
				t.Errorf("Accept = %q", got)
			}
			for k, want := range tt.want {
				if got := r.Query.Get(k); got != want || (want == "" && r.Query.Has(k)) {
					t.Errorf("%s = %q (present %v), want %q", k, got, r.Query.Has(k), want)
				}
			}
		})
	}
}

func TestSearXNGResults(t *testing.T) {
	fake := webtest.NewSearXNG(t)
	fake.SetDocs(docs...)
	fake.SetLegacyCount(true)
	s := web.NewSearXNG(fake.URL(), nil)
	got, err := s.Search(context.Background(), search.Query{Text: "borrow", Max: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d results, want 2 (Max)", len(got))
	}
	if got[0].URL != docs[0].URL || got[0].Title != "Ownership" || got[0].Snippet != docs[0].Content || got[0].Source != "searxng" {
		t.Errorf("got %+v", got[0])
	}
	if got[0].Date == nil || !got[0].Date.Equal(docs[0].Published) {
		t.Errorf("Date = %v, want %v", got[0].Date, docs[0].Published)
	}
	if got[1].Date != nil {
		t.Errorf("null publishedDate became %v", got[1].Date)
	}
	if got[0].Score <= got[1].Score {
		t.Errorf("scores %v, %v: want the engine's order", got[0].Score, got[1].Score)
	}
}

func TestSearXNGErrors(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(*webtest.SearXNG)
		q        string
		want     error
		contains string
	}{
		{"json disabled", func(f *webtest.SearXNG) { f.DisableJSON() }, "x", web.ErrFormatDisabled, "search.formats"},
		{"no query", func(*webtest.SearXNG) {}, "", web.ErrBadRequest, "No query"},
		{"every engine unresponsive", func(f *webtest.SearXNG) {
			f.SetUnresponsive([2]string{"google", "Suspended: too many requests"})
		}, "x", web.ErrUnavailable, "google: Suspended: too many requests"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := webtest.NewSearXNG(t)
			tt.setup(fake)
			_, err := web.NewSearXNG(fake.URL(), nil).Search(context.Background(), search.Query{Text: tt.q})
			checkErr(t, err, tt.want, "searxng", tt.contains)
		})
	}
}

func TestSearXNGRateLimited(t *testing.T) {
	fake := webtest.NewSearXNG(t)
	fake.LimitAfter(1, 0)
	s := web.NewSearXNG(fake.URL(), nil)
	if _, err := s.Search(context.Background(), search.Query{Text: "x"}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Search(context.Background(), search.Query{Text: "x"})
	checkErr(t, err, web.ErrRateLimited, "searxng", "limiter")
}

func TestSearXNGHTMLInsteadOfJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html>not searxng</html>"))
	}))
	defer srv.Close()
	_, err := web.NewSearXNG(srv.URL, srv.Client()).Search(context.Background(), search.Query{Text: "x"})
	checkErr(t, err, web.ErrBadResponse, "searxng", "SearXNG instance")
}

func TestOversizedBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"results":[],"pad":"`))
		_, _ = w.Write([]byte(strings.Repeat("a", 9<<20)))
		_, _ = w.Write([]byte(`"}`))
	}))
	defer srv.Close()
	_, err := web.NewSearXNG(srv.URL, srv.Client()).Search(context.Background(), search.Query{Text: "x"})
	checkErr(t, err, web.ErrBadResponse, "searxng", "larger than")
}

func TestUnreachableAndTimeout(t *testing.T) {
	fake := webtest.NewSearXNG(t)
	fake.SetDelay(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := web.NewSearXNG(fake.URL(), nil).Search(ctx, search.Query{Text: "x"})
	checkErr(t, err, web.ErrUnavailable, "searxng", "")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v does not wrap context.DeadlineExceeded", err)
	}

	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	_, err = web.NewBrave("k", web.WithBaseURL(base)).Search(context.Background(), search.Query{Text: "x"})
	checkErr(t, err, web.ErrUnavailable, "brave", "reachable")
}

// checkErr asserts err is an *web.Error of the given kind (any kind when
// want is nil), from provider, whose text contains contains.
func checkErr(t *testing.T, err, want error, provider, contains string) {
	t.Helper()
	if err == nil {
		if want != nil {
			t.Fatalf("got no error, want %v", want)
		}
		return
	}
	t.Logf("error: %v", err)
	var we *web.Error
	if !errors.As(err, &we) {
		t.Fatalf("error %v (%T) is not a *web.Error", err, err)
	}
	if want != nil && !errors.Is(err, want) {
		t.Errorf("error %q is not %v", err, want)
	}
	if we.Provider != provider || !strings.HasPrefix(err.Error(), provider+": ") {
		t.Errorf("error %q does not name provider %s", err, provider)
	}
	if !strings.Contains(err.Error(), contains) {
		t.Errorf("error %q does not contain %q", err, contains)
	}
}
