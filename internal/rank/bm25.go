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
	return IDF(ix.numDoc, len(ix.post[term]))
}

// IDF is BM25's inverse document frequency of a term found in df of n
// passages. It is never negative, even for a term in every passage.
func IDF(n, df int) float64 {
	return math.Log(1 + (float64(n)-float64(df)+0.5)/(float64(df)+0.5))
}

// TermWeight is BM25's saturated, length-normalized weight of a term that
// occurs tf times in a passage of dl tokens, where passages average avgdl
// tokens. A term's score in the passage is IDF · TermWeight.
func TermWeight(tf, dl int, avgdl, k1, b float64) float64 {
	f := float64(tf)
	norm := 1 - b
	if avgdl > 0 {
		norm += b * float64(dl) / avgdl
	}
	return f * (k1 + 1) / (f + k1*norm)
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
		w := IDF(ix.numDoc, len(plist))
		for _, p := range plist {
			scores[p.doc] += w * TermWeight(p.tf, ix.lens[p.doc], ix.avgdl, ix.k1, ix.b)
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
