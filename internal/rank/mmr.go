package rank

import (
	"github.com/tollgate-dev/tollgate/internal/search"
)

// DedupeThreshold is the token-set Jaccard similarity at or above which
// Dedupe treats two passages as near-duplicates (mirrors, reposts, the
// same paragraph with different boilerplate).
const DedupeThreshold = 0.8

// TokenSet is the set of index terms of a text, for similarity.
type TokenSet map[string]struct{}

// NewTokenSet returns the set of Tokenize(s).
func NewTokenSet(s string) TokenSet {
	set := make(TokenSet)
	for _, t := range Tokenize(s) {
		set[t] = struct{}{}
	}
	return set
}

// Jaccard is |a ∩ b| / |a ∪ b|, 0 when both are empty.
func Jaccard(a, b TokenSet) float64 {
	if len(a) > len(b) {
		a, b = b, a
	}
	inter := 0
	for t := range a {
		if _, ok := b[t]; ok {
			inter++
		}
	}
	union := len(a) + len(b) - inter
	if union == 0 {
		return 0
	}
	return float64(inter) / float64(union)
}

// MMR selects up to k passages by Maximal Marginal Relevance (Carbonell
// and Goldstein, 1998): repeatedly the passage maximising
//
//	λ·rel(p) − (1−λ)·max_{s selected} sim(p, s)
//
// where rel is Score divided by the highest Score in ps (1 for all when no
// passage scores above 0) and sim is the Jaccard similarity of token sets.
// λ = 1 is plain ranking, λ = 0 pure novelty; 0.7 is a usual choice. The
// result is in selection order; ties go to the earlier passage.
func MMR(ps []search.Passage, k int, lambda float64) []search.Passage {
	if k <= 0 || k > len(ps) {
		k = len(ps)
	}
	sets := make([]TokenSet, len(ps))
	for i, p := range ps {
		sets[i] = NewTokenSet(passageText(p))
	}
	rel := relevance(ps)
	picked := Select(len(ps), k, lambda, rel, func(i, j int) float64 { return Jaccard(sets[i], sets[j]) })
	out := make([]search.Passage, len(picked))
	for i, j := range picked {
		out[i] = ps[j]
	}
	return out
}

func relevance(ps []search.Passage) []float64 {
	hi := 0.0
	for _, p := range ps {
		hi = max(hi, p.Score)
	}
	rel := make([]float64, len(ps))
	for i, p := range ps {
		if hi > 0 {
			rel[i] = max(p.Score, 0) / hi
		} else {
			rel[i] = 1
		}
	}
	return rel
}

// Select is MMR over n abstract items: rel[i] is item i's relevance in
// [0, 1] and sim(i, j) the similarity of two items. It returns the indexes
// of up to k items in selection order, so sentences and passages share one
// implementation.
func Select(n, k int, lambda float64, rel []float64, sim func(i, j int) float64) []int {
	if k > n {
		k = n
	}
	picked := make([]int, 0, k)
	used := make([]bool, n)
	maxSim := make([]float64, n) // max similarity to anything picked so far
	for len(picked) < k {
		best, bestVal := -1, 0.0
		for i := 0; i < n; i++ {
			if used[i] {
				continue
			}
			v := lambda*rel[i] - (1-lambda)*maxSim[i]
			if best < 0 || v > bestVal {
				best, bestVal = i, v
			}
		}
		used[best] = true
		picked = append(picked, best)
		for i := 0; i < n; i++ {
			if !used[i] {
				maxSim[i] = max(maxSim[i], sim(i, best))
			}
		}
	}
	return picked
}

// Dedupe drops every passage that is a near-duplicate (token-set Jaccard
// at least DedupeThreshold, or exactly the same text) of an earlier one,
// keeping the first, so callers should pass passages best first. Passages
// without index terms are compared by their exact text.
func Dedupe(ps []search.Passage) []search.Passage {
	type kept struct {
		set  TokenSet
		text string
	}
	var ks []kept
	out := make([]search.Passage, 0, len(ps))
next:
	for _, p := range ps {
		set := NewTokenSet(p.Text)
		for _, k := range ks {
			if k.text == p.Text {
				continue next
			}
			if len(set) > 0 && Jaccard(set, k.set) >= DedupeThreshold {
				continue next
			}
		}
		ks = append(ks, kept{set: set, text: p.Text})
		out = append(out, p)
	}
	return out
}
