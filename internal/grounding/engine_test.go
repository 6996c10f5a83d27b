package grounding

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/docs"
	"github.com/tollgate-dev/tollgate/internal/fetch"
	"github.com/tollgate-dev/tollgate/internal/search"
	"github.com/tollgate-dev/tollgate/internal/search/local"
)

var testNow = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)

func tp(t time.Time) *time.Time { return &t }

// corpus is a handful of pages about the same topic that differ in what
// the filters look at.
var corpus = []local.Document{
	{URL: "https://alpha.example/rotate", Title: "Rotating API keys at Alpha", Language: "en",
		Published: tp(testNow.Add(-2 * time.Hour)), Updated: tp(testNow.Add(-time.Hour)),
		Text: "To rotate an API key, create a new key, deploy it, then revoke the old key. Rotation limits the damage of a leaked key."},
	{URL: "https://beta.example/keys", Title: "Key rotation at Beta", Language: "en",
		Published: tp(date(2024, 6, 1)), Updated: tp(date(2025, 1, 10)),
		Text: "Beta rotates API keys every ninety days. A rotated key keeps working for a grace period of one day."},
	{URL: "https://gamma.example/cles", Title: "Rotation des clés API", Language: "fr",
		Published: tp(date(2025, 11, 20)), Updated: tp(date(2025, 11, 20)),
		Text: "Pour la rotation d'une API key, créez une nouvelle key puis révoquez l'ancienne key."},
	{URL: "https://delta.example/old", Title: "Rotating keys in 2019", Language: "en",
		Published: tp(date(2019, 3, 3)),
		Text:      "In 2019 rotating an API key meant emailing support to rotate the key by hand."},
	{URL: "https://news.alpha.example/post", Title: "Alpha news: key rotation reminders", Language: "en",
		Published: tp(testNow.AddDate(0, 0, -3)), Updated: tp(testNow.AddDate(0, 0, -3)),
		Text: "Alpha now emails a reminder to rotate an API key that is older than a year."},
}

func openIndex(t *testing.T, docsToAdd []local.Document) *local.Index {
	t.Helper()
	ix, err := local.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ix.Close(); err != nil {
			t.Error(err)
		}
	})
	for _, d := range docsToAdd {
		if _, err := ix.Put(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
	return ix
}

func urls(s *Sources) []string {
	var out []string
	for _, r := range s.Results {
		out = append(out, r.URL)
	}
	slices.Sort(out)
	return out
}

func TestRetrieveLocalFilters(t *testing.T) {
	ix := openIndex(t, corpus)
	e := New(ix, ix, nil, nil)
	const q = "how do I rotate an API key?"
	all := []string{"https://alpha.example/rotate", "https://beta.example/keys", "https://delta.example/old",
		"https://gamma.example/cles", "https://news.alpha.example/post"}
	tests := []struct {
		name string
		opts map[string]string
		want []string
	}{
		{"no filter", nil, all},
		{"allow domain and its subdomains", map[string]string{"search_domain_filter": `["alpha.example"]`},
			[]string{"https://alpha.example/rotate", "https://news.alpha.example/post"}},
		{"deny domains", map[string]string{"search_domain_filter": `["-alpha.example", "-https://beta.example/"]`},
			[]string{"https://delta.example/old", "https://gamma.example/cles"}},
		{"recency day", map[string]string{"search_recency_filter": `"day"`}, []string{"https://alpha.example/rotate"}},
		{"recency week", map[string]string{"search_recency_filter": `"week"`},
			[]string{"https://alpha.example/rotate", "https://news.alpha.example/post"}},
		{"published after", map[string]string{"search_after_date_filter": `"01/01/2025"`},
			[]string{"https://alpha.example/rotate", "https://gamma.example/cles", "https://news.alpha.example/post"}},
		{"published before", map[string]string{"search_before_date_filter": `"1/1/2025"`},
			[]string{"https://beta.example/keys", "https://delta.example/old"}},
		{"updated after", map[string]string{"last_updated_after_filter": `"03/01/2026"`},
			[]string{"https://alpha.example/rotate", "https://news.alpha.example/post"}},
		{"updated before", map[string]string{"last_updated_before_filter": `"02/01/2025"`},
			[]string{"https://beta.example/keys"}},
		{"language", map[string]string{"search_language_filter": `["fr"]`}, []string{"https://gamma.example/cles"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := map[string]string{"web_search_options": `{"search_context_size":"high"}`}
			for k, v := range tt.opts {
				in[k] = v
			}
			o, err := ParseOptions(raw(t, in), testNow)
			if err != nil {
				t.Fatal(err)
			}
			s, err := e.Retrieve(context.Background(), q, o)
			if err != nil {
				t.Fatal(err)
			}
			if got := urls(s); !slices.Equal(got, tt.want) {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
			if !s.Searched || s.Queries != 1 || s.ContextSize != "high" {
				t.Errorf("searched %v queries %d context %q", s.Searched, s.Queries, s.ContextSize)
			}
		})
	}
}

func TestRetrieveContextBudget(t *testing.T) {
	ix := openIndex(t, corpus)
	e := New(ix, ix, nil, nil)
	for size, want := range map[string]int{"": 3, "low": 3, "medium": 5, "high": 5} {
		s, err := e.Retrieve(context.Background(), "rotate an API key", Options{ContextSize: size})
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Passages) != want {
			t.Errorf("context %q: %d passages, want %d", size, len(s.Passages), want)
		}
	}
}

func TestRetrieveSkipsSearch(t *testing.T) {
	ix := openIndex(t, corpus)
	e := New(ix, ix, nil, nil)
	tests := []struct {
		name     string
		question string
		opts     Options
		searched bool
	}{
		{"disabled", "how do I rotate an API key?", Options{DisableSearch: true}, false},
		{"classifier: greeting", "hello", Options{EnableClassifier: true}, false},
		{"classifier: arithmetic", "what is 2+2", Options{EnableClassifier: true}, false},
		{"classifier: real question", "how do I rotate an API key?", Options{EnableClassifier: true}, true},
		{"no classifier: greeting searched", "hello", Options{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := e.Retrieve(context.Background(), tt.question, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if s.Searched != tt.searched {
				t.Errorf("searched = %v, want %v", s.Searched, tt.searched)
			}
			if !tt.searched && (s.Queries != 0 || len(s.Passages) != 0) {
				t.Errorf("skipped search has %d queries, %d passages", s.Queries, len(s.Passages))
			}
		})
	}
}

func TestNeedsSearch(t *testing.T) {
	tests := []struct {
		question string
		want     bool
	}{
		{"hello", false},
		{"Hello!", false},
		{"hi there", false},
		{"thanks", false},
		{"how are you?", false},
		{"what is 2+2", false},
		{"What is 12 * (3 - 1)?", false},
		{"2+2", false},
		{"translate 'good morning' into French", false},
		{"Rewrite this paragraph to be shorter: the cat sat on the mat.", false},
		{"", false},
		{"how do I rotate an API key?", true},
		{"what is the capital of France?", true},
		{"who won the 2022 world cup", true},
		{"hello, how do I rotate an API key in Tollgate?", true},
		{"what is 2+2 in the Peano axioms", true},
	}
	for _, tt := range tests {
		t.Run(tt.question, func(t *testing.T) {
			if got := NeedsSearch(tt.question); got != tt.want {
				t.Errorf("NeedsSearch(%q) = %v, want %v", tt.question, got, tt.want)
			}
		})
	}
}

// fakeWeb is a web search provider whose results point at a test server.
type fakeWeb struct {
	results []search.Result
	err     error
}

func (f *fakeWeb) Name() string { return "fake" }
func (f *fakeWeb) Search(ctx context.Context, q search.Query) ([]search.Result, error) {
	return slices.Clone(f.results), f.err
}

func TestRetrieveWebFetchesPages(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /robots.txt", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "User-agent: *\nAllow: /\n") })
	mux.HandleFunc("GET /page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<html><head><title>Fetched page</title></head><body><nav>Menu</nav><article>
<h1>Fetched page</h1><p>The grace period for a rotated key at Omega is exactly seventeen hours, after which the old key stops working.</p>
<p>Omega recommends rotating every key twice a year.</p></article></body></html>`)
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	web := &fakeWeb{results: []search.Result{
		{Title: "Fetched page", URL: srv.URL + "/page", Snippet: "Omega key rotation", Source: "fake",
			Date: tp(date(2025, 5, 1))},
		{Title: "Slow page", URL: srv.URL + "/slow", Snippet: "Notes on Omega keys, slow to load", Source: "fake"},
		{Title: "With content", URL: "https://content.example/a", Source: "fake",
			Content: "Omega keys are rotated from the dashboard under Settings, then Keys."},
		{Title: "Local copy", URL: "https://local.example/x", Source: "local", Content: "Omega key rotation local copy"},
	}}
	ix := openIndex(t, corpus)
	e := New(web, ix, fetch.New(fetch.Options{AllowPrivate: true}), nil)
	e.fetchTimeout = 500 * time.Millisecond

	s, err := e.Retrieve(context.Background(), "what is the grace period for a rotated key at Omega?",
		Options{ContextSize: "high"})
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, p := range s.Passages {
		texts = append(texts, p.URL+": "+p.Text)
	}
	joined := strings.Join(texts, "\n")
	if !strings.Contains(joined, srv.URL+"/page: ") || !strings.Contains(joined, "seventeen hours") {
		t.Errorf("the fetched page's text is missing:\n%s", joined)
	}
	if strings.Contains(joined, "Menu") {
		t.Errorf("navigation was not extracted away:\n%s", joined)
	}
	if !strings.Contains(joined, "Notes on Omega keys, slow to load") {
		t.Errorf("the slow page's snippet did not stand in:\n%s", joined)
	}
	if strings.Contains(joined, "local.example") {
		t.Errorf("a local result came through the provider when the index supplies passages:\n%s", joined)
	}
	if s.Passages[0].URL != srv.URL+"/page" {
		t.Errorf("best passage is %s, want the fetched page", s.Passages[0].URL)
	}
	for _, r := range s.Results {
		if r.URL == srv.URL+"/page" && (r.Date != "2025-05-01" || r.Snippet != "Omega key rotation" || r.Source != "web") {
			t.Errorf("result %+v", r)
		}
	}

	g := e.Extractive("what is the grace period for a rotated key at Omega?", s)
	if g.Declined || !strings.Contains(g.Text, "seventeen hours") || g.Citations[0] != srv.URL+"/page" {
		t.Errorf("answer %+v", g)
	}
}

func TestRetrieveErrors(t *testing.T) {
	ix := openIndex(t, corpus)
	down := &fakeWeb{err: fmt.Errorf("connection refused")}

	// One source down: the other answers.
	s, err := New(down, ix, nil, nil).Retrieve(context.Background(), "rotate an API key", Options{})
	if err != nil || len(s.Passages) == 0 {
		t.Fatalf("with the local index up: %v, %d passages", err, len(s.Passages))
	}
	// Every source down: unavailable.
	_, err = New(down, nil, nil, nil).Retrieve(context.Background(), "rotate an API key", Options{})
	if err == nil || !strings.Contains(err.Error(), "unavailable") {
		t.Fatalf("err = %v, want unavailable", err)
	}
}

func TestRetrieveSeededDocs(t *testing.T) {
	ix := openIndex(t, nil)
	if _, err := local.SeedDocs(context.Background(), ix, docs.FS); err != nil {
		t.Fatal(err)
	}
	e := New(ix, ix, nil, nil)
	const q = "How do I rotate a key?"
	s, err := e.Retrieve(context.Background(), q, Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := e.Extractive(q, s)
	if g.Declined || len(g.Citations) == 0 || !strings.Contains(g.Text, "[1]") {
		t.Fatalf("answer %+v", g)
	}
	if g.Citations[0] != local.SeedScheme+"keys.md" {
		t.Errorf("first citation %s, want the keys page", g.Citations[0])
	}
	t.Logf("%s\n%q", g.Text, g.Citations)
}
