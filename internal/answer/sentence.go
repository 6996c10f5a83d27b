package answer

import (
	"strings"
	"unicode"
)

// abbreviations end in a period that does not end a sentence. Keys are
// lowercase and without the final period.
var abbreviations = map[string]bool{
	"mr": true, "mrs": true, "ms": true, "dr": true, "st": true, "jr": true, "sr": true, "prof": true,
	"gen": true, "col": true, "lt": true, "sgt": true, "capt": true, "gov": true, "sen": true, "rep": true,
	"rev": true, "hon": true, "vs": true, "etc": true, "e.g": true, "i.e": true, "no": true, "nos": true,
	"fig": true, "inc": true, "ltd": true, "co": true, "corp": true, "mt": true, "ft": true, "u.s": true,
	"u.k": true, "u.n": true, "jan": true, "feb": true, "mar": true, "apr": true, "jun": true, "jul": true,
	"aug": true, "sep": true, "sept": true, "oct": true, "nov": true, "dec": true, "c": true, "ca": true,
	"approx": true, "est": true, "vol": true, "pp": true, "ed": true, "al": true, "cf": true,
}

// splitSentences splits text into sentences: a '.', '!' or '?' (with any
// closing quotes or brackets) followed by space and then an uppercase
// letter, digit or opening quote ends one, unless the word before the
// period is a known abbreviation or a single initial. A blank line always
// ends one. Whitespace inside a sentence is collapsed.
func splitSentences(text string) []string {
	var out []string
	for _, para := range splitParagraphs(text) {
		rs := []rune(para)
		start := 0
		for i := 0; i < len(rs); i++ {
			r := rs[i]
			if r != '.' && r != '!' && r != '?' {
				continue
			}
			end := i + 1
			for end < len(rs) && strings.ContainsRune(`"')]”’»`, rs[end]) {
				end++
			}
			if end >= len(rs) || !unicode.IsSpace(rs[end]) {
				continue
			}
			next := end
			for next < len(rs) && unicode.IsSpace(rs[next]) {
				next++
			}
			if next >= len(rs) {
				continue
			}
			if n := rs[next]; !(unicode.IsUpper(n) || unicode.IsDigit(n) || strings.ContainsRune(`"'(“‘«[`, n)) {
				continue
			}
			if r == '.' && isAbbreviation(rs[start:i]) {
				continue
			}
			out = appendSentence(out, string(rs[start:end]))
			start = next
			i = next - 1
		}
		out = appendSentence(out, string(rs[start:]))
	}
	return out
}

func splitParagraphs(text string) []string {
	var paras []string
	var cur []string
	for _, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" {
			if len(cur) > 0 {
				paras = append(paras, strings.Join(cur, " "))
				cur = cur[:0]
			}
			continue
		}
		cur = append(cur, line)
	}
	if len(cur) > 0 {
		paras = append(paras, strings.Join(cur, " "))
	}
	return paras
}

func appendSentence(out []string, s string) []string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return out
	}
	return append(out, s)
}

// isAbbreviation reports whether the text before a period ends in an
// abbreviation or an initial ("J.", "U.S.").
func isAbbreviation(before []rune) bool {
	j := len(before)
	for j > 0 && !unicode.IsSpace(before[j-1]) && before[j-1] != '(' {
		j--
	}
	w := string(before[j:])
	if w == "" {
		return false
	}
	if rs := []rune(w); len(rs) == 1 && unicode.IsUpper(rs[0]) {
		return true
	}
	return abbreviations[strings.ToLower(w)]
}
