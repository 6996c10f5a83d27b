package local

import (
	"regexp"
	"strings"
)

// Markdown syntax that StripMarkdown rewrites. Links keep their text and lose
// their URL; code spans keep their words, since commands and config keys are
// what people search the docs for.
var (
	mdImage     = regexp.MustCompile(`!\[([^\]]*)\]\([^)]*\)`)
	mdLink      = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
	mdRefLink   = regexp.MustCompile(`\[([^\]]+)\]\[[^\]]*\]`)
	mdRefDef    = regexp.MustCompile(`^\s{0,3}\[[^\]]+\]:\s+\S+.*$`)
	mdAutolink  = regexp.MustCompile(`<(?:https?|mailto|ftp):[^>\s]*>`)
	mdComment   = regexp.MustCompile(`<!--.*?-->`)
	mdCode      = regexp.MustCompile("`+([^`]*)`+")
	mdStrong    = regexp.MustCompile(`(\*\*|__)(\S(?:.*?\S)?)(\*\*|__)`)
	mdEmphStar  = regexp.MustCompile(`(^|[^\w*])\*(\S(?:[^*]*?\S)?)\*`)
	mdEmphUnder = regexp.MustCompile(`(^|[^\w_])_(\S(?:[^_]*?\S)?)_([^\w_]|$)`)
	mdStrike    = regexp.MustCompile(`~~(\S(?:.*?\S)?)~~`)
	mdHeading   = regexp.MustCompile(`^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$`)
	mdListItem  = regexp.MustCompile(`^\s*(?:[-*+]|\d{1,9}[.)])\s+`)
	mdQuote     = regexp.MustCompile(`^\s*(?:>\s?)+`)
	mdRule      = regexp.MustCompile(`^\s{0,3}(?:[-*_]\s*){3,}$`)
	mdTableSep  = regexp.MustCompile(`^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$`)
	mdFence     = regexp.MustCompile("^\\s{0,3}(```+|~~~+)")
)

// StripMarkdown turns Markdown into plain text for indexing: paragraphs stay
// separated by blank lines, headings, table rows and code lines become
// paragraphs of their own, and the first heading is returned as the title
// ("" if none).
func StripMarkdown(src string) (title, text string) {
	var (
		out    []string // paragraphs
		para   []string // lines of the current paragraph
		fence  string   // the open code fence, if inside one
		header []string // the cells of the current table's header row
	)
	flush := func() {
		if len(para) > 0 {
			out = append(out, strings.Join(para, " "))
			para = para[:0]
		}
	}
	var lastRow, lastRowLine string // the last table row, rendered and as written
	src = strings.ReplaceAll(src, "\r\n", "\n")
	src = mdComment.ReplaceAllString(src, "")
	for _, line := range strings.Split(src, "\n") {
		if fence != "" {
			// Inside a code block: each non-empty line is a paragraph of its
			// own, so commands are searchable and quotable one at a time but
			// never glued into prose or into each other.
			if strings.HasPrefix(strings.TrimSpace(line), fence) {
				fence = ""
				flush()
				continue
			}
			if s := strings.TrimSpace(line); s != "" {
				out = append(out, strings.Join(strings.Fields(s), " "))
			}
			continue
		}
		if m := mdFence.FindStringSubmatch(line); m != nil {
			flush()
			fence = m[1]
			continue
		}
		trimmed := strings.TrimSpace(line)
		if !strings.HasPrefix(trimmed, "|") {
			header, lastRow = nil, ""
		}
		switch {
		case trimmed == "":
			flush()
		case mdTableSep.MatchString(line):
			// The row above was the header: its cells label the rows below
			// rather than standing as a paragraph of their own.
			flush()
			if len(out) > 0 && header == nil && lastRow != "" && out[len(out)-1] == lastRow {
				out = out[:len(out)-1]
				header = tableCells(lastRowLine)
			}
		case mdRefDef.MatchString(line), mdRule.MatchString(line):
			flush()
		case mdHeading.MatchString(line):
			flush()
			h := inlineText(mdHeading.FindStringSubmatch(line)[2])
			if title == "" {
				title = h
			}
			out = append(out, h)
		case strings.HasPrefix(trimmed, "|"):
			flush()
			lastRow, lastRowLine = tableRow(tableCells(trimmed), header), trimmed
			if lastRow != "" {
				out = append(out, lastRow)
			}
		default:
			l := mdQuote.ReplaceAllString(line, "")
			if mdListItem.MatchString(l) {
				// Each list item starts a paragraph of its own.
				flush()
				l = mdListItem.ReplaceAllString(l, "")
			}
			if s := inlineText(l); s != "" {
				para = append(para, s)
			}
		}
	}
	flush()
	return title, strings.Join(out, "\n\n")
}

// tableCells splits a Markdown table row into its cells' plain text, empty
// cells included so that columns line up with the header's.
func tableCells(line string) []string {
	line = strings.TrimPrefix(strings.TrimSuffix(strings.TrimSpace(line), "|"), "|")
	var cells []string
	for _, c := range strings.Split(line, "|") {
		cells = append(cells, inlineText(c))
	}
	return cells
}

// tableRow renders a table row as a sentence-like line: the first cell names
// the row and every other cell follows with its column's header, so that
// "| Rotate | tollgate keys rotate |" under "| Action | CLI |" reads
// "Rotate — CLI: tollgate keys rotate". Without a header the cells are
// joined with semicolons.
func tableRow(cells, header []string) string {
	var parts []string
	for i, c := range cells {
		if c == "" {
			continue
		}
		if i > 0 && i < len(header) && header[i] != "" {
			c = header[i] + ": " + c
		}
		parts = append(parts, c)
	}
	if len(parts) == 0 {
		return ""
	}
	if header == nil || cells[0] == "" {
		return strings.Join(parts, "; ")
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return parts[0] + " — " + strings.Join(parts[1:], "; ")
}

// inlineText removes inline Markdown from one line.
func inlineText(s string) string {
	s = mdImage.ReplaceAllString(s, "$1")
	s = mdLink.ReplaceAllString(s, "$1")
	s = mdRefLink.ReplaceAllString(s, "$1")
	s = mdAutolink.ReplaceAllString(s, "")
	s = mdCode.ReplaceAllString(s, "$1")
	s = mdStrong.ReplaceAllString(s, "$2")
	s = mdStrike.ReplaceAllString(s, "$1")
	s = mdEmphStar.ReplaceAllString(s, "$1$2")
	s = mdEmphUnder.ReplaceAllString(s, "$1$2$3")
	s = strings.ReplaceAll(s, `\`, "")
	return strings.Join(strings.Fields(s), " ")
}
