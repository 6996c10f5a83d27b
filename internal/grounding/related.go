package grounding

import (
	"slices"
	"strings"
	"unicode"

	"github.com/tollgate-dev/tollgate/internal/rank"
	"github.com/tollgate-dev/tollgate/internal/search"
)

// relatedCount is how many related questions are suggested.
const relatedCount = 3

// related suggests follow-up questions from the context without an LLM:
// one about each of the first two pages (by title), then questions about
// the words the passages use most that the question did not. The same
// passages always give the same questions.
func related(question string, ps []search.Passage) []string {
	if len(ps) == 0 {
		return nil
	}
	var titles []string
	for _, p := range ps {
		t := strings.TrimSpace(p.Title)
		if t != "" && !strings.Contains(t, "://") && !slices.Contains(titles, t) {
			titles = append(titles, t)
		}
	}
	var out []string
	add := func(q string) {
		if len(out) < relatedCount && !slices.Contains(out, q) {
			out = append(out, q)
		}
	}
	for _, t := range titles[:min(len(titles), 2)] {
		add("What else should I know about " + t + "?")
	}
	for _, term := range topTerms(question, ps, relatedCount) {
		if len(titles) > 0 {
			add("What does " + titles[0] + " say about " + term + "?")
		} else {
			add("What is " + term + "?")
		}
	}
	return out
}

// topTerms returns the k words the passages use most (ties
// alphabetically) that are not stopwords, not in the question, and at
// least four letters long.
func topTerms(question string, ps []search.Passage, k int) []string {
	asked := map[string]bool{}
	for _, w := range rank.Words(question) {
		asked[w] = true
		asked[rank.Normalize(w)] = true
	}
	count := map[string]int{}
	for _, p := range ps {
		for _, w := range rank.Words(p.Text) {
			if len(w) < 4 || rank.IsStopword(w) || asked[w] || asked[rank.Normalize(w)] || !allLetters(w) {
				continue
			}
			count[w]++
		}
	}
	terms := make([]string, 0, len(count))
	for w := range count {
		terms = append(terms, w)
	}
	slices.SortFunc(terms, func(a, b string) int {
		if count[a] != count[b] {
			return count[b] - count[a]
		}
		return strings.Compare(a, b)
	})
	return terms[:min(len(terms), k)]
}

func allLetters(w string) bool {
	for _, r := range w {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	return true
}
