// Package answer composes answers from ranked passages. Extractive is the
// built-in answerer used when no LLM is configured: it picks 2–4 sentences
// from the passages, cites each with a [n] marker, and declines plainly
// when the passages do not answer the question. It is deterministic and
// invents nothing: every word of an answer is a sentence of a source.
package answer

import (
	"strconv"
	"strings"

	"github.com/tollgate-dev/tollgate/internal/rank"
	"github.com/tollgate-dev/tollgate/internal/search"
)

// Defaults for Options fields left zero.
const (
	DefaultMaxSentences = 3
	DefaultLambda       = 0.7
	// DefaultThreshold is the lowest best-sentence score that is answered
	// rather than declined, calibrated on the SQuAD 2.0 evaluation (see
	// eval_test.go): it declines questions whose terms the sources barely
	// mention while keeping answerable questions answered.
	DefaultThreshold = 0.35
	// followFloor: a sentence after the first is used only if it scores at
	// least this fraction of the best one, so weak filler is left out.
	followFloor = 0.5
)

// DeclineText is the whole answer when the sources do not answer the
// question.
const DeclineText = "The sources found do not answer this question."

// Options tunes Extractive. The zero value uses the defaults.
type Options struct {
	// MaxSentences caps the answer's length, clamped to 2–4 (default 3).
	MaxSentences int
	// Lambda is the MMR trade-off between relevance and novelty across
	// sentences, in (0, 1] (default 0.7).
	Lambda float64
	// Threshold is the lowest best-sentence score, in [0, 1], that is
	// answered; 0 means DefaultThreshold and a negative value never
	// declines.
	Threshold float64
}

func (o Options) withDefaults() Options {
	switch {
	case o.MaxSentences == 0:
		o.MaxSentences = DefaultMaxSentences
	case o.MaxSentences < 2:
		o.MaxSentences = 2
	case o.MaxSentences > 4:
		o.MaxSentences = 4
	}
	if o.Lambda <= 0 || o.Lambda > 1 {
		o.Lambda = DefaultLambda
	}
	if o.Threshold == 0 {
		o.Threshold = DefaultThreshold
	}
	return o
}

// Answer is an extractive answer.
type Answer struct {
	// Text is the answer: sentences from the sources, each followed by a
	// [n] marker, n being the 1-based index of its passage in Sources; or
	// DeclineText.
	Text string
	// Sources are the cited passages, in order of first citation. Empty
	// when Declined.
	Sources []search.Passage
	// Declined is true when nothing in the passages was relevant enough.
	Declined bool
}

// weights of the sentence score; they sum to 1 so that scores and the
// threshold live in [0, 1].
type weights struct {
	coverage  float64 // IDF-weighted share of query terms in the sentence
	context   float64 // share found only elsewhere in its passage or title
	proximity float64 // query terms close together
	cue       float64 // expected answer type present (who/when/where/how many)
	prior     float64 // the passage's retrieval score
}

var defaultWeights = weights{coverage: 0.45, context: 0.10, proximity: 0.15, cue: 0.15, prior: 0.15}

type sentence struct {
	passage int
	text    string
	set     rank.TokenSet
	cov     float64
	score   float64
}

// Extractive answers question from ps, which should be the best passages
// for it, best first, with their retrieval Score (as rank.BM25 returns
// them). Sentences are scored by IDF-weighted query-term coverage,
// proximity of the matched terms, whether they hold the kind of phrase the
// question asks for (a number for "how many", a date for "when", a name for
// "who" or "where"), and their passage's score; MMR then picks 2–4 that do
// not repeat each other. The same input always gives the same answer.
func Extractive(question string, ps []search.Passage, opts Options) Answer {
	return extractive(question, ps, opts, defaultWeights)
}

func extractive(question string, ps []search.Passage, opts Options, w weights) Answer {
	opts = opts.withDefaults()
	terms := distinct(rank.Tokenize(question))
	if len(terms) == 0 || len(ps) == 0 {
		return declined()
	}
	sents := score(question, terms, ps, w)
	if len(sents) == 0 {
		return declined()
	}
	best := 0
	for i, s := range sents {
		if s.score > sents[best].score {
			best = i
		}
	}
	top := sents[best].score
	if opts.Threshold > 0 && top < opts.Threshold {
		return declined()
	}

	rel := make([]float64, len(sents))
	for i, s := range sents {
		rel[i] = s.score / top
	}
	order := rank.Select(len(sents), len(sents), opts.Lambda, rel,
		func(i, j int) float64 { return rank.Jaccard(sents[i].set, sents[j].set) })
	var picked []int
	for _, i := range order {
		if len(picked) == opts.MaxSentences {
			break
		}
		if len(picked) > 0 && !follows(sents, picked, i, top) {
			continue
		}
		picked = append(picked, i)
	}
	return compose(sents, picked, ps)
}

// follows reports whether sentence i may join the picked ones: it shares
// a query term, is no near-copy of one already picked, and scores at least
// followFloor of the best, except that a second sentence needs only a query
// term, so an answer has 2 sentences whenever the sources offer them.
func follows(sents []sentence, picked []int, i int, top float64) bool {
	s := sents[i]
	if s.cov == 0 {
		return false
	}
	for _, j := range picked {
		if rank.Jaccard(s.set, sents[j].set) >= rank.DedupeThreshold {
			return false
		}
	}
	return len(picked) < 2 || s.score >= followFloor*top
}

func declined() Answer { return Answer{Text: DeclineText, Declined: true} }

// compose writes the picked sentences in order, numbering their passages
// by first citation.
func compose(sents []sentence, picked []int, ps []search.Passage) Answer {
	var a Answer
	num := make(map[int]int) // passage index -> citation number
	var b strings.Builder
	for _, i := range picked {
		s := sents[i]
		n, ok := num[s.passage]
		if !ok {
			a.Sources = append(a.Sources, ps[s.passage])
			n = len(a.Sources)
			num[s.passage] = n
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s.text)
		b.WriteString("[" + strconv.Itoa(n) + "]")
	}
	a.Text = b.String()
	return a
}

// score splits every passage into sentences and scores each against the
// query terms; IDF comes from the sentences themselves, so a term that no
// sentence mentions weighs most and its absence counts most.
func score(question string, terms []string, ps []search.Passage, w weights) []sentence {
	qtype := questionType(question)
	qwords := make(map[string]bool)
	for _, w := range rank.Words(question) {
		qwords[w] = true
	}
	hi := 0.0
	for _, p := range ps {
		hi = max(hi, p.Score)
	}

	type raw struct {
		sentence
		toks []string
	}
	var all []raw
	ctx := make([]rank.TokenSet, len(ps)) // passage title + text terms
	for i, p := range ps {
		ctx[i] = rank.NewTokenSet(p.Title + "\n" + p.Text)
		for _, text := range splitSentences(p.Text) {
			if isQuestion(text) {
				continue // a question is never its own answer, however well it matches
			}
			toks := rank.Tokenize(text)
			set := make(rank.TokenSet, len(toks))
			for _, t := range toks {
				set[t] = struct{}{}
			}
			all = append(all, raw{sentence: sentence{passage: i, text: text, set: set}, toks: toks})
		}
	}

	n := len(all)
	idf := make([]float64, len(terms))
	total := 0.0
	for k, t := range terms {
		df := 0
		for _, r := range all {
			if _, ok := r.set[t]; ok {
				df++
			}
		}
		idf[k] = rank.IDF(n, df)
		total += idf[k]
	}

	out := make([]sentence, n)
	for j, r := range all {
		var in, near float64
		for k, t := range terms {
			if _, ok := r.set[t]; ok {
				in += idf[k]
			} else if _, ok := ctx[r.passage][t]; ok {
				near += idf[k]
			}
		}
		s := r.sentence
		s.cov = in / total
		prior := 1.0
		if hi > 0 {
			prior = max(ps[r.passage].Score, 0) / hi
		}
		cue := 0.0
		if hasCue(qtype, s.text, qwords) {
			cue = 1
		}
		s.score = w.coverage*s.cov + w.context*near/total + w.proximity*proximity(r.toks, terms) +
			w.cue*cue + w.prior*prior
		switch {
		case len(r.toks) < 3:
			s.score *= 0.5 // headings, captions, fragments
		case len(r.toks) > longSentence:
			s.score *= 0.6 // run-ons: a list or a table flattened into one "sentence"
		}
		if codeLike(s.text) {
			s.score *= 0.6 // JSON, YAML, shell: quotable as a fact only when nothing else says it
		}
		out[j] = s
	}
	return out
}

// isQuestion reports whether a sentence asks rather than tells, such as a
// FAQ's question, which matches the user's question best of all.
func isQuestion(s string) bool {
	return strings.HasSuffix(strings.TrimRight(s, `"')]”’»*`), "?")
}

// longSentence is the length in index terms beyond which a "sentence" is
// most likely not one.
const longSentence = 60

// codeLike reports whether s reads as code rather than prose: a fair share
// of its characters are the punctuation of JSON, YAML or shell. Slashes and
// underscores are left out: technical prose is full of paths and
// snake_case names.
func codeLike(s string) bool {
	sym, all := 0, 0
	for _, r := range s {
		if r == ' ' {
			continue
		}
		all++
		if strings.ContainsRune("{}[]<>=$|\\\"`#", r) {
			sym++
		}
	}
	return all > 0 && sym*100 >= all*6
}

// proximity is how tightly the query terms a sentence contains cluster:
// (m−1)/(w−1) for m distinct matched terms in a smallest window of w
// tokens, 0 when fewer than two match.
func proximity(toks, terms []string) float64 {
	want := make(map[string]bool, len(terms))
	for _, t := range terms {
		want[t] = true
	}
	present := make(map[string]bool)
	for _, t := range toks {
		if want[t] {
			present[t] = true
		}
	}
	m := len(present)
	if m < 2 {
		return 0
	}
	// Smallest window holding every present term (two pointers).
	best := len(toks)
	count := make(map[string]int)
	have, lo := 0, 0
	for hi, t := range toks {
		if !present[t] {
			continue
		}
		if count[t] == 0 {
			have++
		}
		count[t]++
		for have == m {
			if w := hi - lo + 1; w < best {
				best = w
			}
			if lt := toks[lo]; present[lt] {
				count[lt]--
				if count[lt] == 0 {
					have--
				}
			}
			lo++
		}
	}
	return float64(m-1) / float64(best-1)
}

func distinct(ts []string) []string {
	seen := make(map[string]bool, len(ts))
	out := ts[:0:0]
	for _, t := range ts {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}
