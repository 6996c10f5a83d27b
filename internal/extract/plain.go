package extract

import (
	"bufio"
	"bytes"
	"strings"
)

// maxTitle bounds a title taken from the first line of plain text.
const maxTitle = 200

// Plain extracts UTF-8 plain text: the first non-empty line is the title,
// the whole text (title included) the body.
func Plain(body []byte) Doc {
	text := paragraphs(string(bytes.TrimPrefix(body, []byte("\uFEFF"))))
	title, _, _ := strings.Cut(text, "\n")
	return Doc{Title: truncate(title, maxTitle), Text: text}
}

// Markdown extracts UTF-8 Markdown: YAML front matter supplies title, date
// and lang when present; otherwise the first heading is the title. Heading
// markers, emphasis, images and link targets are dropped from the text;
// code blocks are kept verbatim.
func Markdown(body []byte) Doc {
	src := strings.TrimPrefix(string(body), "\uFEFF")
	src = strings.ReplaceAll(src, "\r\n", "\n")
	var doc Doc
	if rest, ok := strings.CutPrefix(src, "---\n"); ok {
		if fm, after, ok := strings.Cut(rest, "\n---\n"); ok {
			src = after
			frontMatter(fm, &doc)
		}
	}
	var b strings.Builder
	fence := ""
	sc := bufio.NewScanner(strings.NewReader(src))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
				b.WriteString("\n")
				continue
			}
			b.WriteString(line + "\n")
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			b.WriteString("\n")
			continue
		}
		if h := strings.TrimLeft(trimmed, "#"); h != trimmed && (h == "" || h[0] == ' ') {
			h = strings.TrimSpace(strings.TrimRight(h, "# "))
			if doc.Title == "" && h != "" {
				doc.Title = inlineMarkdown(h)
			}
			// A heading is a paragraph of its own.
			b.WriteString("\n" + inlineMarkdown(h) + "\n\n")
			continue
		}
		if isRule(trimmed) {
			b.WriteString("\n")
			continue
		}
		b.WriteString(inlineMarkdown(line) + "\n")
	}
	doc.Text = paragraphs(b.String())
	if doc.Title == "" {
		first, _, _ := strings.Cut(doc.Text, "\n")
		doc.Title = truncate(first, maxTitle)
	}
	return doc
}

func frontMatter(fm string, doc *Doc) {
	for line := range strings.SplitSeq(fm, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "title":
			doc.Title = v
		case "date", "published":
			if doc.Published == nil {
				doc.Published = parseDate(v)
			}
		case "lang", "language":
			doc.Language = v
		}
	}
}

func isRule(s string) bool {
	if len(s) < 3 {
		return false
	}
	c := s[0]
	if c != '-' && c != '*' && c != '_' {
		return false
	}
	return strings.Trim(s, string(c)+" ") == ""
}

// inlineMarkdown reduces links and images to their text and drops emphasis markers.
func inlineMarkdown(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '!' && i+1 < len(s) && s[i+1] == '[':
			continue // the image's alt text follows
		case c == '[':
			end := strings.Index(s[i:], "](")
			if end < 0 {
				b.WriteByte(c)
				continue
			}
			close := strings.IndexByte(s[i+end:], ')')
			if close < 0 {
				b.WriteByte(c)
				continue
			}
			b.WriteString(s[i+1 : i+end])
			i += end + close
		case c == '_' && i+1 < len(s) && s[i+1] == '_':
			i++ // strong emphasis; single underscores stay (snake_case)
		case c == '*' || c == '`':
			// Drop emphasis and code markers.
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimSpace(string(r[:n])) + "…"
}
