package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/auth"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/search/local"
)

// oneKey accepts a single bearer secret: the key store is not what these
// tests are about.
type oneKey struct{}

func (oneKey) Authenticate(_ context.Context, header string) (*auth.Key, error) {
	if header != "Bearer pplx-good" {
		return nil, platform.Errorf(platform.KindUnauthenticated, "invalid API key")
	}
	return &auth.Key{ID: "key_1", OrgID: "org_1", GroupID: "grp_1"}, nil
}

func day(s string) *time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return &t
}

// searchServer serves /search over loopback from a real local index.
func searchServer(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	ix, err := local.Open(filepath.Join(t.TempDir(), "index"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ix.Close() })
	docs := []local.Document{
		{URL: "https://zoo.example/okapi", Title: "Okapi", Text: "The okapi is a forest giraffe of the Congo.", Published: day("2025-01-10"), Updated: day("2025-02-01"), Language: "en"},
		{URL: "https://wiki.example/okapi", Title: "Okapi facts", Text: "Okapis have striped legs; the okapi eats leaves.", Published: day("2024-06-01"), Language: "en"},
		{URL: "https://blog.other.example/zebra", Title: "Zebra", Text: "Zebras have stripes all over. " + strings.Repeat("Zebra stripes confuse flies. ", 200)},
		{URL: "https://zoo.example/kiwi", Title: "Kiwi", Text: "The kiwi is a flightless bird of New Zealand.", Language: "en"},
	}
	for _, d := range docs {
		if _, err := ix.Put(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 25 {
		if _, err := ix.Put(ctx, local.Document{URL: "https://many.example/" + string(rune('a'+i)), Title: "Lemur note",
			Text: "Lemurs live on Madagascar."}); err != nil {
			t.Fatal(err)
		}
	}
	mux := http.NewServeMux()
	RegisterSearch(mux, SearchDeps{Auth: oneKey{}, Search: ix, Log: slog.New(slog.DiscardHandler), MaxBody: 1 << 20,
		Now: func() time.Time { return time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC) }})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

type searchReply struct {
	status int
	raw    string
	body   struct {
		ID      string           `json:"id"`
		Results []map[string]any `json:"results"`
		Server  string           `json:"server_time"`
		Error   struct {
			Message string `json:"message"`
			Type    string `json:"type"`
			Code    int    `json:"code"`
			Param   string `json:"param"`
		} `json:"error"`
	}
}

func postSearch(t *testing.T, base, path, token, body string) searchReply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := searchReply{status: resp.StatusCode, raw: string(raw)}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if err := json.Unmarshal(raw, &r.body); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return r
}

func urls(r searchReply) []string {
	var out []string
	for _, res := range r.body.Results {
		out = append(out, res["url"].(string))
	}
	return out
}

func TestSearchAPI(t *testing.T) {
	base := searchServer(t)
	tests := []struct {
		name string
		path string
		body string
		want []string // URLs, in order when ordered is set
		n    int      // or just a count
	}{
		{"single query", "/search", `{"query":"okapi"}`, []string{"https://zoo.example/okapi", "https://wiki.example/okapi"}, 0},
		{"v1 path", "/v1/search", `{"query":"kiwi bird"}`, []string{"https://zoo.example/kiwi"}, 0},
		{"multi query, deduplicated", "/search", `{"query":["okapi","kiwi","okapi forest"]}`, []string{"https://zoo.example/okapi", "https://wiki.example/okapi", "https://zoo.example/kiwi"}, 0},
		{"default max_results", "/search", `{"query":"lemurs"}`, nil, 10},
		{"max_results", "/search", `{"query":"lemurs","max_results":3}`, nil, 3},
		{"max_results 20", "/search", `{"query":"lemurs","max_results":20}`, nil, 20},
		{"domain allow", "/search", `{"query":"okapi","search_domain_filter":["wiki.example"]}`, []string{"https://wiki.example/okapi"}, 0},
		{"domain deny", "/search", `{"query":"okapi","search_domain_filter":["-wiki.example"]}`, []string{"https://zoo.example/okapi"}, 0},
		{"subdomain allow", "/search", `{"query":"stripes","search_domain_filter":["other.example"]}`, []string{"https://blog.other.example/zebra"}, 0},
		{"published after", "/search", `{"query":"okapi","search_after_date_filter":"01/01/2025"}`, []string{"https://zoo.example/okapi"}, 0},
		{"published before, inclusive", "/search", `{"query":"okapi","search_before_date_filter":"6/1/2024"}`, []string{"https://wiki.example/okapi"}, 0},
		{"recency month", "/search", `{"query":"okapi","search_recency_filter":"month"}`, nil, 0},
		{"recency year", "/search", `{"query":"okapi","search_recency_filter":"year"}`, []string{"https://zoo.example/okapi", "https://wiki.example/okapi"}, 0},
		{"updated after", "/search", `{"query":"okapi","last_updated_after_filter":"01/15/2025"}`, []string{"https://zoo.example/okapi"}, 0},
		{"language", "/search", `{"query":"stripes","search_language_filter":["en"]}`, []string{"https://wiki.example/okapi"}, 0},
		{"nothing found", "/search", `{"query":"xylophone"}`, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := postSearch(t, base, tt.path, "pplx-good", tt.body)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			if r.body.ID == "" || r.body.Server == "" || r.body.Results == nil {
				t.Errorf("missing id, server_time or results: %s", r.raw)
			}
			got := urls(r)
			if tt.want != nil || tt.n == 0 {
				if strings.Join(got, " ") != strings.Join(tt.want, " ") {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			} else if len(got) != tt.n {
				t.Errorf("got %d results, want %d", len(got), tt.n)
			}
		})
	}
}

func TestSearchResultShape(t *testing.T) {
	base := searchServer(t)
	r := postSearch(t, base, "/search", "pplx-good", `{"query":["okapi forest","kiwi"]}`)
	if r.status != http.StatusOK || len(r.body.Results) != 3 {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
	first := r.body.Results[0]
	if first["title"] != "Okapi" || first["date"] != "2025-01-10" || first["last_updated"] != "2025-02-01" {
		t.Errorf("first result %v", first)
	}
	if s, _ := first["snippet"].(string); !strings.Contains(s, "forest giraffe") {
		t.Errorf("snippet %q", s)
	}
	// Absent dates are omitted, never null.
	for _, res := range r.body.Results {
		for _, k := range []string{"date", "last_updated"} {
			if v, ok := res[k]; ok && v == nil {
				t.Errorf("%s is null in %v", k, res)
			}
		}
	}
	if strings.Contains(r.raw, "null") {
		t.Errorf("response has a null: %s", r.raw)
	}

	// max_tokens_per_page bounds the snippet (about four characters a token).
	r = postSearch(t, base, "/search", "pplx-good", `{"query":"zebra stripes","max_tokens_per_page":20}`)
	if len(r.body.Results) == 0 || r.body.Results[0]["title"] != "Zebra" {
		t.Fatalf("results %s", r.raw)
	}
	if s := r.body.Results[0]["snippet"].(string); len(s) > 20*4+len("…") || !strings.HasSuffix(s, "…") {
		t.Errorf("snippet of %d bytes for 20 tokens: %q", len(s), s)
	}
}

func TestSearchBadInput(t *testing.T) {
	base := searchServer(t)
	tests := []struct {
		name, body, param string
	}{
		{"no query", `{}`, "query"},
		{"empty query", `{"query":"  "}`, "query"},
		{"empty array", `{"query":[]}`, "query"},
		{"empty string in array", `{"query":["a",""]}`, "query"},
		{"six queries", `{"query":["a","b","c","d","e","f"]}`, "query"},
		{"query not a string", `{"query":42}`, "query"},
		{"max_results 0", `{"query":"a","max_results":0}`, "max_results"},
		{"max_results 21", `{"query":"a","max_results":21}`, "max_results"},
		{"max_results not a number", `{"query":"a","max_results":"5"}`, "max_results"},
		{"max_tokens_per_page 0", `{"query":"a","max_tokens_per_page":0}`, "max_tokens_per_page"},
		{"mixed domain filter", `{"query":"a","search_domain_filter":["a.com","-b.com"]}`, "search_domain_filter"},
		{"21 domains", `{"query":"a","search_domain_filter":["1","2","3","4","5","6","7","8","9","10","11","12","13","14","15","16","17","18","19","20","21"]}`, "search_domain_filter"},
		{"blank domain", `{"query":"a","search_domain_filter":["-"]}`, "search_domain_filter"},
		{"bad recency", `{"query":"a","search_recency_filter":"decade"}`, "search_recency_filter"},
		{"bad date", `{"query":"a","search_after_date_filter":"2025-01-01"}`, "search_after_date_filter"},
		{"before earlier than after", `{"query":"a","search_after_date_filter":"03/01/2025","search_before_date_filter":"02/01/2025"}`, "search_before_date_filter"},
		{"bad updated date", `{"query":"a","last_updated_before_filter":"13/40/2025"}`, "last_updated_before_filter"},
		{"bad language", `{"query":"a","search_language_filter":["english"]}`, "search_language_filter"},
		{"bad country", `{"query":"a","country":"USA"}`, "country"},
		{"bad mode", `{"query":"a","search_mode":"news"}`, "search_mode"},
		{"people search", `{"query":"a","search_type":"people"}`, "search_type"},
		{"bad context size", `{"query":"a","search_context_size":"huge"}`, "search_context_size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := postSearch(t, base, "/search", "pplx-good", tt.body)
			if r.status != http.StatusBadRequest || r.body.Error.Code != 400 || r.body.Error.Type != "invalid_request_error" {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			if r.body.Error.Param != tt.param || r.body.Error.Message == "" {
				t.Errorf("param %q (%s), want %q", r.body.Error.Param, r.body.Error.Message, tt.param)
			}
		})
	}

	t.Run("no key", func(t *testing.T) {
		r := postSearch(t, base, "/search", "", `{"query":"okapi"}`)
		if r.status != http.StatusUnauthorized || r.body.Error.Code != 401 {
			t.Errorf("status %d: %s", r.status, r.raw)
		}
	})
	t.Run("not configured", func(t *testing.T) {
		mux := http.NewServeMux()
		RegisterSearch(mux, SearchDeps{Auth: oneKey{}})
		srv := httptest.NewServer(mux)
		defer srv.Close()
		r := postSearch(t, srv.URL, "/search", "pplx-good", `{"query":"okapi"}`)
		if r.status != http.StatusServiceUnavailable {
			t.Errorf("status %d: %s", r.status, r.raw)
		}
	})
}
