package rank

import (
	"math"
	"slices"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/search"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"stopwords and possessives", "The Normans' conquests of England", []string{"norman", "conquest", "england"}},
		{"plurals and tenses", "Cities created; running boxes classes", []string{"citi", "creat", "run", "box", "class"}},
		{"same stem", "create creating created", []string{"creat", "creat", "creat"}},
		{"numbers", "1,000 soldiers in 1066, 3.5 km", []string{"1000", "soldier", "1066", "3.5", "km"}},
		{"contractions", "don't stop", []string{"stop"}},
		{"single letters dropped", "a b c 7", []string{"7"}},
		{"unicode", "Ünïcode Straße Москва", []string{"ünïcode", "straße", "москва"}},
		{"empty", " ,. ", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Tokenize(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("Tokenize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestBM25HandComputed(t *testing.T) {
	// Tokens: d0 [cat sat mat today] (4), d1 [dog sat] (2), d2 [cat cat dog] (3);
	// N = 3, avgdl = 3, n(cat) = n(dog) = 2, so IDF = ln(1 + 1.5/2.5) = ln 1.6.
	ps := []search.Passage{
		{DocID: "d0", Text: "The cat sat on the mat today"},
		{DocID: "d1", Text: "Dog sat"},
		{DocID: "d2", Text: "cat cat dog"},
	}
	idf := math.Log(1.6)
	// term weight = f·(k1+1) / (f + k1·(1 − b + b·|D|/avgdl)), k1 = 1.2, b = 0.75
	want := map[string]float64{
		"d0": idf * 2.2 / (1 + 1.2*(0.25+0.75*4.0/3)),           // cat: 2.2/2.5
		"d1": idf * 2.2 / (1 + 1.2*(0.25+0.75*2.0/3)),           // dog: 2.2/1.9
		"d2": idf*(2*2.2)/(2+1.2*(0.25+0.75)) + idf*2.2/(1+1.2), // cat: 4.4/3.2, dog: 1
	}
	got := BM25("cat dog", ps, 1.2, 0.75)
	if ids := []string{got[0].DocID, got[1].DocID, got[2].DocID}; !slices.Equal(ids, []string{"d2", "d1", "d0"}) {
		t.Fatalf("order = %v, want [d2 d1 d0]", ids)
	}
	for _, p := range got {
		if math.Abs(p.Score-want[p.DocID]) > 1e-12 {
			t.Errorf("score(%s) = %.12f, want %.12f", p.DocID, p.Score, want[p.DocID])
		}
	}
	if math.Abs(got[0].Score-1.116258619) > 1e-9 { // 0.470003629 · 2.375
		t.Errorf("score(d2) = %.9f, want 1.116258619", got[0].Score)
	}
	if ps[0].Score != 0 {
		t.Error("BM25 modified its input")
	}
}

func TestBM25Edges(t *testing.T) {
	ps := []search.Passage{{DocID: "a", Text: "alpha"}, {DocID: "b", Text: "beta"}}
	tests := []struct {
		name  string
		query string
		want  []string
	}{
		{"no match keeps input order", "gamma", []string{"a", "b"}},
		{"stopwords only", "the of and", []string{"a", "b"}},
		{"match first", "beta", []string{"b", "a"}},
		{"repeated term counts once", "beta beta beta", []string{"b", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := BM25(tt.query, ps, DefaultK1, DefaultB)
			var ids []string
			for _, p := range got {
				ids = append(ids, p.DocID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Errorf("got %v, want %v", ids, tt.want)
			}
		})
	}
	if got := BM25("x", nil, DefaultK1, DefaultB); len(got) != 0 {
		t.Errorf("BM25 over nothing = %v", got)
	}
	once := BM25("beta", ps, DefaultK1, DefaultB)[0].Score
	thrice := BM25("beta beta beta", ps, DefaultK1, DefaultB)[0].Score
	if once != thrice {
		t.Errorf("repeated query term changed the score: %v vs %v", once, thrice)
	}
}

func TestIndexSearchLimit(t *testing.T) {
	ps := []search.Passage{{DocID: "a", Text: "red fox"}, {DocID: "b", Text: "red red fox"}, {DocID: "c", Text: "blue"}}
	ix := NewIndex(ps, DefaultK1, DefaultB)
	got := ix.Search("red", 2)
	if len(got) != 2 || got[0].DocID != "b" || got[1].DocID != "a" {
		t.Errorf("Search(red, 2) = %+v", got)
	}
	if all := BM25("red", ps, DefaultK1, DefaultB); all[0].Score != got[0].Score {
		t.Errorf("Index and BM25 disagree: %v vs %v", all[0].Score, got[0].Score)
	}
}

func TestMMR(t *testing.T) {
	ps := []search.Passage{
		{DocID: "solar", Score: 1.0, Text: "Solar panels convert sunlight into electricity"},
		{DocID: "solar-copy", Score: 0.95, Text: "Solar panels convert sunlight into electricity efficiently"},
		{DocID: "wind", Score: 0.6, Text: "Wind turbines generate power from moving air"},
	}
	tests := []struct {
		name   string
		lambda float64
		want   []string
	}{
		{"diverse second pick", 0.5, []string{"solar", "wind"}},
		{"default lambda", 0.7, []string{"solar", "wind"}},
		{"pure relevance", 1, []string{"solar", "solar-copy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ids []string
			for _, p := range MMR(ps, 2, tt.lambda) {
				ids = append(ids, p.DocID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Errorf("MMR(λ=%v) = %v, want %v", tt.lambda, ids, tt.want)
			}
		})
	}
	if got := MMR(ps, 10, 0.7); len(got) != 3 {
		t.Errorf("MMR with k > len = %d passages, want 3", len(got))
	}
}

func TestDedupe(t *testing.T) {
	ps := []search.Passage{
		{DocID: "a", Text: "Solar panels convert sunlight into electricity"},
		{DocID: "b", Text: "Solar panels convert sunlight into electricity efficiently"},
		{DocID: "c", Text: "Wind turbines generate power from moving air"},
		{DocID: "d", Text: "Wind turbines generate power from moving air"},
		{DocID: "e", Text: "..."},
		{DocID: "f", Text: "!!!"},
	}
	var ids []string
	for _, p := range Dedupe(ps) {
		ids = append(ids, p.DocID)
	}
	if want := []string{"a", "c", "e", "f"}; !slices.Equal(ids, want) {
		t.Errorf("Dedupe = %v, want %v", ids, want)
	}
}

func TestContextBudget(t *testing.T) {
	tests := []struct {
		size            string
		passages, token int
	}{
		{"low", 3, 1500},
		{"medium", 6, 3000},
		{"high", 10, 6000},
		{"", 3, 1500},
	}
	for _, tt := range tests {
		t.Run(tt.size, func(t *testing.T) {
			p, tok := ContextBudget(tt.size)
			if p != tt.passages || tok != tt.token {
				t.Errorf("ContextBudget(%q) = %d, %d; want %d, %d", tt.size, p, tok, tt.passages, tt.token)
			}
		})
	}
}
