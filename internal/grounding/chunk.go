package grounding

import "strings"

// Passage sizes in words, like the local index's: one idea per passage,
// long enough to carry context.
const (
	chunkMin = 100
	chunkMax = 200
)

// chunk splits extracted text into passages of up to chunkMax words,
// joining short paragraphs and cutting long ones at sentence ends (or,
// for a sentence longer than a passage, between words).
func chunk(text string) []string {
	var units []string
	for _, para := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
		para = strings.TrimSpace(para)
		if para == "" {
			continue
		}
		if len(strings.Fields(para)) <= chunkMax {
			units = append(units, para)
			continue
		}
		units = append(units, splitLong(para)...)
	}
	var (
		out  []string
		cur  []string
		size int
	)
	flush := func() {
		if size > 0 {
			out = append(out, strings.Join(cur, "\n\n"))
		}
		cur, size = nil, 0
	}
	for _, u := range units {
		n := len(strings.Fields(u))
		if size > 0 && size+n > chunkMax {
			flush()
		}
		cur = append(cur, u)
		size += n
		if size >= (chunkMin+chunkMax)/2 {
			flush()
		}
	}
	flush()
	return out
}

// splitLong cuts a paragraph longer than chunkMax words into pieces of at
// most chunkMax words, preferring sentence ends.
func splitLong(para string) []string {
	words := strings.Fields(para)
	var out []string
	for len(words) > chunkMax {
		cut := chunkMax
		for i := chunkMax; i > chunkMin; i-- {
			if w := words[i-1]; strings.HasSuffix(w, ".") || strings.HasSuffix(w, "?") || strings.HasSuffix(w, "!") {
				cut = i
				break
			}
		}
		out = append(out, strings.Join(words[:cut], " "))
		words = words[cut:]
	}
	if len(words) > 0 {
		out = append(out, strings.Join(words, " "))
	}
	return out
}
