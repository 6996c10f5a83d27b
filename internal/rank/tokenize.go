// Package rank scores, diversifies and deduplicates passages for
// search-grounded answering: a small English tokenizer, textbook Okapi BM25
// over a candidate passage set, Maximal Marginal Relevance and
// near-duplicate removal. It is deterministic and uses only the standard
// library, so scores can be checked against hand-computed values.
package rank

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Tokenize splits s into lowercase Unicode words, drops English stopwords
// and single letters, and applies a light suffix-stripping stemmer. Numbers
// keep their inner separators ("3.5", "1,000" becomes "1000") so that
// figures still match across texts.
func Tokenize(s string) []string {
	var out []string
	for _, w := range words(s) {
		if t := Normalize(w); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// Normalize maps one lowercase word from Words to its index term, or ""
// when the word is a stopword or too short to carry meaning.
func Normalize(w string) string {
	if IsStopword(w) {
		return ""
	}
	if utf8.RuneCountInString(w) == 1 && !isDigitByte(w[0]) {
		return ""
	}
	return stem(w)
}

// Words splits s into lowercase words without removing stopwords or
// stemming. A possessive "'s" is dropped; digits joined by "." or "," stay
// one word (thousands separators removed).
func Words(s string) []string { return words(s) }

func words(s string) []string {
	var out []string
	var b strings.Builder
	flush := func() {
		if b.Len() == 0 {
			return
		}
		w := b.String()
		b.Reset()
		w = strings.TrimSuffix(w, "'s")
		w = strings.Trim(w, "'")
		if w != "" {
			out = append(out, w)
		}
	}
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
			b.WriteRune(unicode.ToLower(r))
		case (r == '.' || r == ',') && i > 0 && i+1 < len(rs) &&
			unicode.IsDigit(rs[i-1]) && unicode.IsDigit(rs[i+1]) && b.Len() > 0:
			if r == '.' {
				b.WriteRune('.')
			} // a thousands comma is dropped: "1,000" -> "1000"
		case (r == '\'' || r == '’') && i > 0 && i+1 < len(rs) &&
			unicode.IsLetter(rs[i-1]) && unicode.IsLetter(rs[i+1]) && b.Len() > 0:
			b.WriteRune('\'')
		default:
			flush()
		}
	}
	flush()
	return out
}

func isDigitByte(c byte) bool { return c >= '0' && c <= '9' }

// stem is a light English stemmer: plurals, -ed, -ing, a final -e and a
// final consonant-y, in the spirit of Porter's step 1 without its
// derivational rules. Words with digits or non-ASCII letters are returned
// unchanged, as are words of three letters or fewer.
func stem(w string) string {
	if len(w) <= 3 {
		return w
	}
	for i := 0; i < len(w); i++ {
		if w[i] < 'a' || w[i] > 'z' {
			return w
		}
	}
	// Plurals.
	switch {
	case strings.HasSuffix(w, "sses"):
		w = w[:len(w)-2]
	case strings.HasSuffix(w, "ies") && len(w) > 4:
		w = w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") &&
		!strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is"):
		w = w[:len(w)-1]
	}
	// Past tense and gerund, only when a syllable remains.
	switch {
	case strings.HasSuffix(w, "ied") && len(w) > 4:
		w = w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "eed"):
		// "agreed", "need": keep.
	case strings.HasSuffix(w, "ed") && len(w) >= 5 && hasVowel(w[:len(w)-2]):
		w = undouble(w[:len(w)-2])
	case strings.HasSuffix(w, "ing") && len(w) >= 6 && hasVowel(w[:len(w)-3]):
		w = undouble(w[:len(w)-3])
	}
	// A final silent e, so "create", "created" and "creating" meet.
	if len(w) > 3 && strings.HasSuffix(w, "e") && !strings.HasSuffix(w, "ee") {
		w = w[:len(w)-1]
	}
	// A final consonant-y becomes i, so "city" and "cities" meet.
	if len(w) > 3 && w[len(w)-1] == 'y' && !isVowel(w[len(w)-2]) {
		w = w[:len(w)-1] + "i"
	}
	return w
}

func isVowel(c byte) bool { return strings.IndexByte("aeiou", c) >= 0 }

func hasVowel(s string) bool { return strings.ContainsAny(s, "aeiouy") }

// undouble drops one of a doubled final consonant ("stopp" -> "stop"),
// except l, s and z, which English doubles in the stem itself.
func undouble(w string) string {
	n := len(w)
	if n >= 2 && w[n-1] == w[n-2] && !isVowel(w[n-1]) && strings.IndexByte("lsz", w[n-1]) < 0 {
		return w[:n-1]
	}
	return w
}
