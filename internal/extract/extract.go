// Package extract turns fetched documents (HTML, Markdown, plain text) into a
// title, the main text as paragraphs, a publication date and a language, ready
// for chunking and indexing.
package extract

import (
	"errors"
	"fmt"
	"mime"
	"net/url"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// ErrUnsupported is returned by Any for a content type it cannot extract.
var ErrUnsupported = errors.New("unsupported content type")

// Doc is the extracted content of one document.
type Doc struct {
	Title string
	// Text is the main content: paragraphs separated by one blank line, no
	// leading or trailing white space.
	Text      string
	Published *time.Time
	Language  string
}

// Any extracts body according to contentType (a Content-Type header value,
// parameters allowed). Plain text whose URL ends in .md is treated as
// Markdown, since many servers label Markdown text/plain.
func Any(contentType string, body []byte, pageURL *url.URL) (Doc, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil && contentType != "" {
		return Doc{}, fmt.Errorf("extract: %w: %q", ErrUnsupported, contentType)
	}
	switch strings.ToLower(mt) {
	case "text/html", "application/xhtml+xml":
		return htmlDoc(body, params["charset"], pageURL)
	case "text/markdown", "text/x-markdown":
		return Markdown(decodeText(body, params["charset"])), nil
	case "text/plain", "":
		if pageURL != nil && isMarkdownPath(pageURL.Path) {
			return Markdown(decodeText(body, params["charset"])), nil
		}
		return Plain(decodeText(body, params["charset"])), nil
	}
	return Doc{}, fmt.Errorf("extract: %w: %q", ErrUnsupported, mt)
}

func isMarkdownPath(p string) bool {
	switch strings.ToLower(path.Ext(p)) {
	case ".md", ".markdown", ".mdown":
		return true
	}
	return false
}

// decodeText returns body as UTF-8. A declared charset other than UTF-8 is
// honoured for the common single-byte Latin encodings; undeclared bytes that
// are not valid UTF-8 are read as Windows-1252, the usual culprit.
func decodeText(body []byte, charset string) []byte {
	switch strings.ToLower(strings.TrimSpace(charset)) {
	case "iso-8859-1", "latin1", "windows-1252", "cp1252":
		if out, err := charmap.Windows1252.NewDecoder().Bytes(body); err == nil {
			return out
		}
	case "iso-8859-15", "latin-9":
		if out, err := charmap.ISO8859_15.NewDecoder().Bytes(body); err == nil {
			return out
		}
	}
	if utf8.Valid(body) {
		return body
	}
	if out, err := charmap.Windows1252.NewDecoder().Bytes(body); err == nil {
		return out
	}
	return []byte(strings.ToValidUTF8(string(body), "\uFFFD"))
}

// paragraphs normalises text into paragraphs: lines are trimmed, runs of
// blank lines become one, and white space inside a line is collapsed.
func paragraphs(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	var b strings.Builder
	blank := false
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.Join(strings.Fields(line), " ")
		if line == "" {
			blank = b.Len() > 0
			continue
		}
		if b.Len() > 0 {
			if blank {
				b.WriteString("\n\n")
			} else {
				b.WriteByte('\n')
			}
		}
		blank = false
		b.WriteString(line)
	}
	return b.String()
}

// parseDate accepts the date formats seen in article metadata and time elements.
func parseDate(s string) *time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	for _, layout := range []string{
		time.RFC3339Nano, time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04Z07:00", "2006-01-02T15:04",
		"2006-01-02 15:04:05", "2006-01-02", time.RFC1123Z, time.RFC1123, "January 2, 2006", "2 January 2006",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			return &t
		}
	}
	return nil
}
