package local

import (
	"strings"
	"unicode"
)

// Passage sizes in words. Passages are what BM25 scores and what an answer
// quotes, so they should hold one idea: long enough to carry context, short
// enough that a match in them means something.
const (
	minWords = 100
	maxWords = 250
)

// Chunk splits text into passages of about minWords to maxWords words,
// cutting at paragraph boundaries (blank lines) where it can, then at
// sentence ends, and only inside a sentence that is itself too long.
func Chunk(text string) []string {
	var units []string // paragraphs or sentences, each at most maxWords
	for _, p := range paragraphs(text) {
		if wordCount(p) <= maxWords {
			units = append(units, p)
			continue
		}
		for _, s := range sentences(p) {
			if wordCount(s) <= maxWords {
				units = append(units, s)
				continue
			}
			units = append(units, splitWords(s, maxWords)...)
		}
	}

	var (
		out     []string
		cur     []string
		curSize int
	)
	for _, u := range units {
		n := wordCount(u)
		if curSize > 0 && curSize+n > maxWords {
			out = append(out, strings.Join(cur, "\n\n"))
			cur, curSize = nil, 0
		}
		cur = append(cur, u)
		curSize += n
		// Stop at a paragraph end once the passage is big enough, rather than
		// filling it to the brim with the start of an unrelated section.
		if curSize >= (minWords+maxWords)/2 {
			out = append(out, strings.Join(cur, "\n\n"))
			cur, curSize = nil, 0
		}
	}
	if curSize > 0 {
		// A short tail joins the previous passage when that stays reasonable.
		if len(out) > 0 && curSize < minWords/2 && wordCount(out[len(out)-1])+curSize <= maxWords+minWords/2 {
			out[len(out)-1] += "\n\n" + strings.Join(cur, "\n\n")
		} else {
			out = append(out, strings.Join(cur, "\n\n"))
		}
	}
	return out
}

// paragraphs splits text at blank lines, folding the lines of each paragraph
// into one.
func paragraphs(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	var out []string
	for _, p := range strings.Split(text, "\n\n") {
		if p = strings.Join(strings.Fields(p), " "); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// sentences splits a paragraph after '.', '!' or '?' followed by a space and
// an upper-case letter, digit or opening quote. It is deliberately simple:
// a wrong cut only moves a passage boundary.
func sentences(p string) []string {
	var out []string
	rs := []rune(p)
	start := 0
	for i := 0; i < len(rs)-2; i++ {
		if (rs[i] == '.' || rs[i] == '!' || rs[i] == '?') && rs[i+1] == ' ' {
			next := rs[i+2]
			if unicode.IsUpper(next) || unicode.IsDigit(next) || next == '"' || next == '(' {
				out = append(out, strings.TrimSpace(string(rs[start:i+1])))
				start = i + 2
			}
		}
	}
	if s := strings.TrimSpace(string(rs[start:])); s != "" {
		out = append(out, s)
	}
	return out
}

// splitWords cuts s into pieces of at most n words.
func splitWords(s string, n int) []string {
	words := strings.Fields(s)
	var out []string
	for len(words) > 0 {
		k := min(n, len(words))
		out = append(out, strings.Join(words[:k], " "))
		words = words[k:]
	}
	return out
}

func wordCount(s string) int { return len(strings.Fields(s)) }
