package rank

import (
	"math"
	"sort"

	"github.com/tollgate-dev/tollgate/internal/search"
)

// Default BM25 parameters (Robertson and Zaragoza; Lucene's defaults).
const (
	DefaultK1 = 1.2
	DefaultB  = 0.75
)

// BM25 scores every passage against query with textbook Okapi BM25 and
// returns scored copies sorted by score, highest first (ties keep input
// order). A passage's text is its Title and Text, tokenized with Tokenize;
// the collection statistics (N, document frequencies, average length) are
// those of ps itself. Each distinct query term counts once:
//
//	score(D) = Σ_q IDF(q) · f(q,D)·(k1+1) / (f(q,D) + k1·(1 − b + b·|D|/avgdl))
//	IDF(q)   = ln(1 + (N − n(q) + 0.5) / (n(q) + 0.5))
//
// For repeated queries over the same passages build an Index once.
func BM25(query string, ps []search.Passage, k1, b float64) []search.Passage {
	return NewIndex(ps, k1, b).Search(query, len(ps))
}

// Index holds tokenized passages and their BM25 statistics so that many
// queries can be scored without tokenizing the passages again. It is
// immutable after NewIndex and safe for concurrent use.
type Index struct {
	ps     []search.Passage
	k1, b  float64
	avgdl  float64
	lens   []int
	post   map[string][]posting // term -> passages containing it, ascending
	numDoc int
}

type posting struct {
	doc int
	tf  int
}

// NewIndex tokenizes ps (Title and Text) and computes the statistics BM25
// needs. k1 and b are the usual parameters; see DefaultK1 and DefaultB.
func NewIndex(ps []search.Passage, k1, b float64) *Index {
	ix := &Index{
		ps:     ps,
		k1:     k1,
		b:      b,
		lens:   make([]int, len(ps)),
		post:   make(map[string][]posting),
		numDoc: len(ps),
	}
	total := 0
	tf := make(map[string]int)
	for i, p := range ps {
		clear(tf)
		toks := Tokenize(passageText(p))
		for _, t := range toks {
			tf[t]++
		}
		for t, n := range tf {
			ix.post[t] = append(ix.post[t], posting{doc: i, tf: n})
		}
		ix.lens[i] = len(toks)
		total += len(toks)
	}
	if len(ps) > 0 {
		ix.avgdl = float64(total) / float64(len(ps))
	}
	return ix
}

func passageText(p search.Passage) string {
	if p.Title == "" {
		return p.Text
	}
	return p.Title + "\n" + p.Text
}

// Len reports the number of passages in the index.
func (ix *Index) Len() int { return ix.numDoc }

// IDF is the BM25 inverse document frequency of an index term (a token
// from Tokenize) in this index.
func (ix *Index) IDF(term string) float64 {
	return idf(ix.numDoc, len(ix.post[term]))
}

func idf(n, df int) float64 {
	return math.Log(1 + (float64(n)-float64(df)+0.5)/(float64(df)+0.5))
}

// Search returns at most k scored copies of the indexed passages, highest
// BM25 score first; ties keep index order. Passages that match no query
// term score 0 and come last; k <= 0 means all.
func (ix *Index) Search(query string, k int) []search.Passage {
	if k <= 0 || k > ix.numDoc {
		k = ix.numDoc
	}
	scores := make([]float64, ix.numDoc)
	seen := make(map[string]bool)
	for _, q := range Tokenize(query) {
		if seen[q] {
			continue
		}
		seen[q] = true
		plist := ix.post[q]
		if len(plist) == 0 {
			continue
		}
		w := idf(ix.numDoc, len(plist))
		for _, p := range plist {
			f := float64(p.tf)
			norm := 1 - ix.b
			if ix.avgdl > 0 {
				norm += ix.b * float64(ix.lens[p.doc]) / ix.avgdl
			}
			scores[p.doc] += w * f * (ix.k1 + 1) / (f + ix.k1*norm)
		}
	}
	order := make([]int, ix.numDoc)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return scores[order[i]] > scores[order[j]] })
	out := make([]search.Passage, k)
	for i := range out {
		out[i] = ix.ps[order[i]]
		out[i].Score = scores[order[i]]
	}
	return out
}
