package local

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	bsearch "github.com/blevesearch/bleve/v2/search"

	"github.com/tollgate-dev/tollgate/internal/search"
)

func day(s string) *time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return &t
}

func TestSearchFilters(t *testing.T) {
	ctx := context.Background()
	ix := openTest(t, t.TempDir())
	corpus := []Document{
		{URL: "https://www.example.com/a", Published: day("2024-01-10"), Updated: day("2024-06-01"), Language: "en"},
		{URL: "https://docs.example.com/b", Published: day("2025-03-01"), Updated: day("2025-03-02"), Language: "de-DE"},
		{URL: "https://other.org/c"}, // no dates, no language
		{URL: "https://notexample.com/d", Published: day("2023-05-05"), Updated: day("2023-05-06"), Language: "fr"},
	}
	for _, d := range corpus {
		d.Title = "Zebra " + d.URL
		d.Text = "Zebras have stripes."
		if _, err := ix.Put(ctx, d); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name string
		f    search.Filters
		want string // last letters of the URLs found, sorted
	}{
		{"none", search.Filters{}, "abcd"},
		{"domain and its subdomains", search.Filters{Domains: []string{"example.com"}}, "ab"},
		{"subdomain only", search.Filters{Domains: []string{"docs.example.com"}}, "b"},
		{"www is the bare domain", search.Filters{Domains: []string{"www.example.com"}}, "ab"},
		{"domain given as URL", search.Filters{Domains: []string{"https://Other.org/x"}}, "c"},
		{"several domains", search.Filters{Domains: []string{"other.org", "notexample.com"}}, "cd"},
		{"exclude domain", search.Filters{ExcludeDomains: []string{"example.com"}}, "cd"},
		{"exclude subdomain", search.Filters{ExcludeDomains: []string{"docs.example.com"}}, "acd"},
		{"published after", search.Filters{PublishedAfter: *day("2024-06-01")}, "b"},
		{"published after, inclusive", search.Filters{PublishedAfter: *day("2024-01-10")}, "ab"},
		{"published before", search.Filters{PublishedBefore: *day("2024-06-01")}, "ad"},
		{"published between", search.Filters{PublishedAfter: *day("2024-01-01"), PublishedBefore: *day("2024-12-31")}, "a"},
		{"updated after", search.Filters{UpdatedAfter: *day("2025-01-01")}, "b"},
		{"updated before", search.Filters{UpdatedBefore: *day("2025-01-01")}, "ad"},
		{"language", search.Filters{Languages: []string{"en"}}, "a"},
		{"language tag", search.Filters{Languages: []string{"EN-us"}}, "a"},
		{"languages", search.Filters{Languages: []string{"de", "fr"}}, "bd"},
		{"domain and language", search.Filters{Domains: []string{"example.com"}, Languages: []string{"en"}}, "a"},
		{"nothing passes", search.Filters{Domains: []string{"example.com"}, Languages: []string{"fr"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := search.Query{Text: "zebra stripes", Filters: tt.f}
			var got []string
			for _, r := range mustSearch(t, ix, q) {
				got = append(got, r.URL[len(r.URL)-1:])
			}
			slices.Sort(got)
			if g := strings.Join(got, ""); g != tt.want {
				t.Errorf("Search: got %q, want %q", g, tt.want)
			}
			ps, err := ix.Passages(ctx, q, 10)
			if err != nil {
				t.Fatal(err)
			}
			got = got[:0]
			for _, p := range ps {
				got = append(got, p.URL[len(p.URL)-1:])
			}
			slices.Sort(got)
			if g := strings.Join(got, ""); g != tt.want {
				t.Errorf("Passages: got %q, want %q", g, tt.want)
			}
		})
	}
}

// TestBM25 checks the two stages of ranking on a corpus where they
// disagree: a short document mentioning "zebra" once and a long one
// repeating it 16 times. bleve's BM25 (square-rooted term frequency, average
// length estimated from the dictionary) proposes the candidates and prefers
// the short one; the exact Okapi BM25 that orders them prefers the long one,
// with scores equal to hand-computed ones. A silent fallback of bleve to
// TF-IDF, or a re-ranker that did not run, would fail here.
func TestBM25(t *testing.T) {
	ctx := context.Background()
	words := func(from, to int) string {
		var ws []string
		for i := from; i <= to; i++ {
			ws = append(ws, fmt.Sprintf("w%02d", i))
		}
		return strings.Join(ws, " ")
	}
	corpus := []Document{
		{URL: "https://example.com/short", Text: "zebra " + words(1, 3)},                     // 4 tokens
		{URL: "https://example.com/long", Text: strings.Repeat("zebra ", 16) + words(4, 23)}, // 36 tokens
		{URL: "https://example.com/none", Text: words(24, 33)},                               // 10 tokens
	}
	ix := openTest(t, t.TempDir())
	for _, d := range corpus {
		if _, err := ix.Put(ctx, d); err != nil {
			t.Fatal(err)
		}
	}

	// Stage one, bleve (search/scorer/scorer_term.go): tf is sqrt(freq), idf
	// is ln(1 + (N-df+0.5)/(df+0.5)), and the average length is
	// ceil(distinct terms of the field / N) = ceil(34/3) = 12.
	const n, df = 3.0, 2.0
	idf := math.Log(1 + (n-df+0.5)/(df+0.5))
	bleveBM25 := func(freq, length float64) float64 {
		tf := math.Sqrt(freq)
		k1, b := bsearch.BM25_k1, bsearch.BM25_b
		return idf * tf * k1 / (tf + k1*(1-b+b*length/12))
	}
	hits, _, err := ix.searchPassages(ctx, search.Query{Text: "zebra"}, 2, true) // explain: no re-ranking
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 2 || math.Abs(hits[0].score-bleveBM25(1, 4)) > 1e-4 || math.Abs(hits[1].score-bleveBM25(16, 36)) > 1e-4 {
		t.Fatalf("bleve stage: %+v, want short (%.4f) then long (%.4f)", hits, bleveBM25(1, 4), bleveBM25(16, 36))
	}
	if !strings.Contains(hits[0].explanation, "as per bm25 model") {
		t.Errorf("explanation does not name BM25:\n%s", hits[0].explanation)
	}

	// Stage two, textbook Okapi BM25 over the whole index: avgdl is the
	// exact mean length, (4 + 36 + 10) / 3.
	const k1, b, avgdl = 1.2, 0.75, 50.0 / 3
	okapi := func(freq, length float64) float64 {
		return idf * freq * (k1 + 1) / (freq + k1*(1-b+b*length/avgdl))
	}
	want := map[string]float64{
		"https://example.com/long":  okapi(16, 36), // 1.9293 · idf
		"https://example.com/short": okapi(1, 4),   // 1.4509 · idf
	}
	got := mustSearch(t, ix, search.Query{Text: "zebra"})
	if len(got) != 2 || got[0].URL != "https://example.com/long" {
		t.Fatalf("Okapi ranking: %+v, want long first", got)
	}
	for _, r := range got {
		if math.Abs(r.Score-want[r.URL]) > 1e-9 {
			t.Errorf("%s: score %.6f, hand-computed Okapi BM25 %.6f", r.URL, r.Score, want[r.URL])
		}
	}

	// Deleting a document keeps the statistics exact: N = 2, df = 1, and
	// avgdl = (36 + 10) / 2.
	if err := ix.Delete(ctx, "https://example.com/short"); err != nil {
		t.Fatal(err)
	}
	if tok := ix.tokens.Load(); tok != 46 {
		t.Errorf("token total after delete = %d, want 46", tok)
	}
}

// Search returns one result per document, its best passage as the snippet;
// Passages may return several passages of one document.
func TestSearchGroupsPassages(t *testing.T) {
	ctx := context.Background()
	ix := openTest(t, t.TempDir())
	text := longText(12, 60)
	// Two paragraphs far apart mention the query; the second mentions it more.
	paras := strings.Split(text, "\n\n")
	paras[1] += " Ocelot."
	paras[9] += " Ocelot ocelot ocelot."
	d := Document{URL: "https://example.com/cats", Title: "Cats", Text: strings.Join(paras, "\n\n")}
	if _, err := ix.Put(ctx, d); err != nil {
		t.Fatal(err)
	}
	other := Document{URL: "https://example.com/other", Title: "Other", Text: "An ocelot was seen."}
	if _, err := ix.Put(ctx, other); err != nil {
		t.Fatal(err)
	}

	got := mustSearch(t, ix, search.Query{Text: "ocelot"})
	if len(got) != 2 {
		t.Fatalf("got %d results, want one per document (2)", len(got))
	}
	cats := got[slices.IndexFunc(got, func(r search.Result) bool { return r.URL == d.URL })]
	if !strings.Contains(cats.Snippet, "Ocelot ocelot ocelot") {
		t.Errorf("snippet is not the best passage: %q", cats.Snippet)
	}
	if !strings.Contains(cats.Content, "Ocelot ocelot ocelot") || strings.Count(cats.Content, "celot") != 4 {
		t.Errorf("content is not the matching passages: %q", cats.Content)
	}
	if cats.Source != "local" || cats.Title != "Cats" {
		t.Errorf("result %+v", cats)
	}

	ps, err := ix.Passages(ctx, search.Query{Text: "ocelot"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 3 {
		t.Fatalf("got %d passages, want 3", len(ps))
	}
	for i := 1; i < len(ps); i++ {
		if ps[i].Score > ps[i-1].Score {
			t.Errorf("passages not best first: %v", ps)
		}
	}
	if ps, _ := ix.Passages(ctx, search.Query{Text: "ocelot"}, 1); len(ps) != 1 {
		t.Errorf("k=1 gave %d passages", len(ps))
	}
	if got := mustSearch(t, ix, search.Query{Text: "ocelot", Max: 1}); len(got) != 1 {
		t.Errorf("Max 1 gave %d results", len(got))
	}
	if got := mustSearch(t, ix, search.Query{Text: "  "}); len(got) != 0 {
		t.Errorf("empty query gave %d results", len(got))
	}
}
