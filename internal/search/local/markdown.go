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
// separated by blank lines, headings and table rows become paragraphs of
// their own, and the first heading is returned as the title ("" if none).
func StripMarkdown(src string) (title, text string) {
	var (
		out   []string // paragraphs
		para  []string // lines of the current paragraph
		fence string   // the open code fence, if inside one
	)
	flush := func() {
		if len(para) > 0 {
			out = append(out, strings.Join(para, " "))
			para = para[:0]
		}
	}
	src = strings.ReplaceAll(src, "\r\n", "\n")
	src = mdComment.ReplaceAllString(src, "")
	for _, line := range strings.Split(src, "\n") {
		if fence != "" {
			// Inside a code block: keep each non-empty line, as its own line,
			// so commands are searchable but not glued into prose.
			if strings.HasPrefix(strings.TrimSpace(line), fence) {
				fence = ""
				flush()
				continue
			}
			if s := strings.TrimSpace(line); s != "" {
				para = append(para, s)
			}
			continue
		}
		if m := mdFence.FindStringSubmatch(line); m != nil {
			flush()
			fence = m[1]
			continue
		}
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
			flush()
		case mdRefDef.MatchString(line), mdRule.MatchString(line), mdTableSep.MatchString(line):
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
			if row := tableRow(trimmed); row != "" {
				out = append(out, row)
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

// tableRow renders one Markdown table row as a sentence-like line of cells.
func tableRow(line string) string {
	line = strings.TrimPrefix(strings.TrimSuffix(line, "|"), "|")
	var cells []string
	for _, c := range strings.Split(line, "|") {
		if s := inlineText(c); s != "" {
			cells = append(cells, s)
		}
	}
	return strings.Join(cells, "; ")
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
