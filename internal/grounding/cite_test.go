package grounding

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/answer"
	"github.com/tollgate-dev/tollgate/internal/search"
)

// threeSources has passages 1 and 4 from the same page.
func threeSources() *Sources {
	ps := []search.Passage{
		{URL: "https://a.example/", Title: "A", Text: "Alpha text."},
		{URL: "https://b.example/", Title: "B", Text: "Beta text."},
		{URL: "https://c.example/", Title: "C", Text: "Gamma text."},
		{URL: "https://a.example/", Title: "A", Text: "More alpha text."},
	}
	return &Sources{Passages: ps, Results: resultsFor(ps, nil), Searched: true, Queries: 1, ContextSize: "low"}
}

func TestCite(t *testing.T) {
	tests := []struct {
		name      string
		text      string
		want      string
		citations []string
	}{
		{"renumber in first-use order", "First [3]. Second [1]. Third [3].", "First [1]. Second [2]. Third [1].",
			[]string{"https://c.example/", "https://a.example/"}},
		{"out of range removed with its blank", "One [9]. Two [0] and [2].", "One. Two and [1].",
			[]string{"https://b.example/"}},
		{"passages of one page share a number", "X [1][4]. Y [4].", "X [1]. Y [1].", []string{"https://a.example/"}},
		{"list marker split", "Both [2, 3].", "Both [1][2].", []string{"https://b.example/", "https://c.example/"}},
		{"code left alone", "Use `a[1]` here [2].\n```\nx[3] = 1\n```\nDone [3].", "Use `a[1]` here [1].\n```\nx[3] = 1\n```\nDone [2].",
			[]string{"https://b.example/", "https://c.example/"}},
		{"no markers", "Nothing cited.", "Nothing cited.", nil},
		{"not markers", "An array [a] and [1-2] and [].", "An array [a] and [1-2] and [].", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := Cite(tt.text, threeSources())
			if g.Text != tt.want {
				t.Errorf("text %q, want %q", g.Text, tt.want)
			}
			if !slices.Equal(g.Citations, tt.citations) {
				t.Errorf("citations %q, want %q", g.Citations, tt.citations)
			}
			// search_results: the cited pages in citation order, then the rest.
			if len(g.SearchResults) != 3 {
				t.Fatalf("%d search results, want 3", len(g.SearchResults))
			}
			for i, c := range g.Citations {
				if g.SearchResults[i].URL != c {
					t.Errorf("search_results[%d] = %s, want %s", i, g.SearchResults[i].URL, c)
				}
			}
			checkMarkers(t, g)
		})
	}
}

// checkMarkers verifies that the text's markers are exactly 1..len(Citations).
func checkMarkers(t *testing.T, g *Grounded) {
	t.Helper()
	seen := map[int]bool{}
	for _, m := range regexp.MustCompile(`\[(\d+)\]`).FindAllStringSubmatch(stripCode(g.Text), -1) {
		n, _ := strconv.Atoi(m[1])
		if n < 1 || n > len(g.Citations) {
			t.Errorf("marker [%d] outside 1..%d in %q", n, len(g.Citations), g.Text)
		}
		seen[n] = true
	}
	if len(seen) != len(g.Citations) {
		t.Errorf("%d distinct markers for %d citations in %q", len(seen), len(g.Citations), g.Text)
	}
}

func stripCode(s string) string {
	return regexp.MustCompile("(?s)```.*?```|`[^`]*`").ReplaceAllString(s, "")
}

// TestCiterStreaming checks that any split of the text into deltas gives
// what Cite gives for the whole.
func TestCiterStreaming(t *testing.T) {
	texts := []string{
		"First [3]. Second [1]. Third [3].",
		"One [9]. Two [0] and [2].",
		"Both [2, 3] and `x[1]`, ```\nx[3]\n``` then [4][1] end [12",
		"Trailing blank [7] ",
	}
	for _, text := range texts {
		want := Cite(text, threeSources())
		for size := 1; size <= len(text); size++ {
			c := NewCiter(threeSources())
			var b strings.Builder
			for i := 0; i < len(text); i += size {
				b.WriteString(c.Write(text[i:min(i+size, len(text))]))
			}
			b.WriteString(c.Flush())
			got := c.Grounded(b.String())
			if got.Text != want.Text || !slices.Equal(got.Citations, want.Citations) {
				t.Fatalf("deltas of %d bytes of %q: got %q %q, want %q %q", size, text, got.Text, got.Citations, want.Text, want.Citations)
			}
		}
	}
}

func TestExtractive(t *testing.T) {
	// The answering passages are the 3rd and 4th, and two of them are one
	// page, so the answer's citations must be renumbered by page.
	ps := []search.Passage{
		{URL: "https://x.example/", Title: "Unrelated", Text: "Bananas are yellow fruit grown in the tropics."},
		{URL: "https://y.example/", Title: "Also unrelated", Text: "The river flows north through the valley."},
		{URL: "https://keys.example/", Title: "Keys", Text: "To rotate an API key, create a new key and revoke the old one."},
		{URL: "https://keys.example/", Title: "Keys", Text: "Rotating a key every ninety days limits the damage of a leak [12]."},
		{URL: "https://other.example/", Title: "Key policy", Text: "An API key that is rotated keeps working for one day."},
	}
	e := New(nil, nil, nil, nil)
	const q = "how do I rotate an API key?"
	scored := rankFor(q, ps)
	s := &Sources{Passages: scored, Results: resultsFor(scored, nil), Searched: true, Queries: 1,
		RelatedQuestions: []string{"r?"}}
	g := e.Extractive(q, s)
	if g.Declined {
		t.Fatalf("declined: %+v", g)
	}
	t.Logf("%s %q", g.Text, g.Citations)
	checkMarkers(t, g)
	if strings.Contains(g.Text, "[12]") {
		t.Errorf("a source's footnote survived: %q", g.Text)
	}
	if g.Citations[0] != "https://keys.example/" {
		t.Errorf("citations %q, want the keys page first", g.Citations)
	}
	if n := strings.Count(strings.Join(g.Citations, " "), "keys.example"); n != 1 {
		t.Errorf("the keys page is cited %d times in %q, want once", n, g.Citations)
	}
	if !slices.Equal(g.RelatedQuestions, []string{"r?"}) {
		t.Errorf("related %q", g.RelatedQuestions)
	}
	// Same input, same answer.
	if again := e.Extractive(q, s); again.Text != g.Text {
		t.Errorf("not deterministic: %q vs %q", again.Text, g.Text)
	}

	t.Run("declined", func(t *testing.T) {
		g := e.Extractive("what is the boiling point of mercury?", s)
		if !g.Declined || g.Text != answer.DeclineText || g.Citations != nil || len(g.SearchResults) != len(s.Results) {
			t.Errorf("got %+v", g)
		}
	})
	t.Run("no search", func(t *testing.T) {
		g := e.Extractive("hello", &Sources{})
		if !g.Declined || g.Text != NoSearchText {
			t.Errorf("got %+v", g)
		}
	})
}

func rankFor(q string, ps []search.Passage) []search.Passage {
	return selectContext(q, slices.Clone(ps), 10, 10000)
}

func TestBuildPrompt(t *testing.T) {
	s := threeSources()
	got := BuildPrompt(s, "Be brief.")
	for _, want := range []string{
		"Be brief.\n\n",
		"[1] A — https://a.example/\nAlpha text.",
		"[2] B — https://b.example/\nBeta text.",
		"[3] C — https://c.example/\nGamma text.",
		"[4] A — https://a.example/\nMore alpha text.",
		"square brackets",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("prompt lacks %q:\n%s", want, got)
		}
	}
	if strings.Index(got, "[1] A") > strings.Index(got, "[2] B") {
		t.Errorf("sources out of order:\n%s", got)
	}
	if got := BuildPrompt(&Sources{}, "sys"); got != "sys" {
		t.Errorf("no search: %q, want the system prompt alone", got)
	}
	if got := BuildPrompt(&Sources{Searched: true}, ""); !strings.Contains(got, "no sources") {
		t.Errorf("nothing found: %q", got)
	}
}

func TestSearchResultJSON(t *testing.T) {
	b, err := json.Marshal([]SearchResult{{Title: "T", URL: "u", Snippet: "s", Source: "web"}, {Title: "T", URL: "u", Date: "2025-01-02", LastUpdated: "2025-02-03", Source: "web"}})
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"title":"T","url":"u","snippet":"s","source":"web"},{"title":"T","url":"u","date":"2025-01-02","last_updated":"2025-02-03","snippet":"","source":"web"}]`
	if string(b) != want {
		t.Errorf("got %s\nwant %s", b, want)
	}
}

func TestRelatedQuestions(t *testing.T) {
	ix := openIndex(t, corpus)
	e := New(ix, ix, nil, nil)
	o := Options{ReturnRelatedQuestions: true, ContextSize: "medium"}
	s, err := e.Retrieve(context.Background(), "how do I rotate an API key?", o)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.RelatedQuestions) != 3 {
		t.Fatalf("related %q, want 3", s.RelatedQuestions)
	}
	for _, q := range s.RelatedQuestions {
		if !strings.HasSuffix(q, "?") {
			t.Errorf("%q is not a question", q)
		}
	}
	again, err := e.Retrieve(context.Background(), "how do I rotate an API key?", o)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again.RelatedQuestions, s.RelatedQuestions) {
		t.Errorf("not deterministic: %q vs %q", again.RelatedQuestions, s.RelatedQuestions)
	}
	t.Log(s.RelatedQuestions)
	if s, _ := e.Retrieve(context.Background(), "how do I rotate an API key?", Options{}); s.RelatedQuestions != nil {
		t.Errorf("related questions not asked for: %q", s.RelatedQuestions)
	}
}
