package local

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tollgate-dev/tollgate/internal/platform"
)

// PrefixDocument starts every document ID.
const PrefixDocument = "doc_"

// Document is one indexed source: a page, a file or a paragraph of a
// corpus. The index splits its Text into passages.
type Document struct {
	// ID is derived from URL by Put (DocID); callers need not set it.
	ID  string
	URL string
	// Title is indexed with every passage of the document.
	Title string
	// Text is plain text with paragraphs separated by blank lines. List
	// leaves it empty.
	Text string
	// Domain is the URL's host without "www." unless set.
	Domain             string
	Published, Updated *time.Time
	// Language is an ISO 639-1 code ("en"); a region suffix is dropped.
	Language string
	// Hash identifies the content; Put computes it when empty. Putting a
	// document whose hash is already stored changes nothing.
	Hash string
	// Passages is how many passages the document was split into (set by the
	// index; ignored by Put).
	Passages int
	// Tokens is the sum of its passages' lengths in index terms, kept so the
	// index's average passage length stays exact as documents come and go
	// (set by the index; ignored by Put).
	Tokens int `json:",omitempty"`
}

// DocID returns the stable ID of the document at rawURL: the same URL always
// gets the same ID, so re-adding a page updates it.
func DocID(rawURL string) string {
	sum := sha256.Sum256([]byte(strings.TrimSpace(rawURL)))
	return PrefixDocument + hex.EncodeToString(sum[:12])
}

// normalize validates d and fills in its derived fields.
func normalize(d Document) (Document, error) {
	d.URL = strings.TrimSpace(d.URL)
	if d.URL == "" {
		return d, platform.Invalid("url", "a document needs a URL")
	}
	u, err := url.Parse(d.URL)
	if err != nil || u.Scheme == "" {
		return d, platform.Invalid("url", "document URL %q is not an absolute URL", d.URL)
	}
	d.Title = strings.Join(strings.Fields(d.Title), " ")
	if strings.TrimSpace(d.Text) == "" && d.Title == "" {
		return d, platform.Invalid("text", "document %s has no text", d.URL)
	}
	if !utf8.ValidString(d.Text) || !utf8.ValidString(d.Title) {
		return d, platform.Invalid("text", "document %s is not valid UTF-8", d.URL)
	}
	d.ID = DocID(d.URL)
	if d.Domain == "" {
		d.Domain = u.Hostname()
	}
	d.Domain = normalizeDomain(d.Domain)
	d.Language = normalizeLanguage(d.Language)
	d.Published = utcDate(d.Published)
	d.Updated = utcDate(d.Updated)
	d.Passages = 0
	if d.Hash == "" {
		d.Hash = contentHash(d)
	}
	return d, nil
}

// contentHash covers everything that changes what the index stores for d.
func contentHash(d Document) string {
	h := sha256.New()
	date := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.Format(time.RFC3339Nano)
	}
	for _, s := range []string{d.URL, d.Title, d.Text, d.Domain, date(d.Published), date(d.Updated), d.Language} {
		fmt.Fprintf(h, "%d:%s;", len(s), s)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// normalizeDomain lower-cases a host and drops a "www." prefix, a scheme, a
// port or a path, so "https://www.Example.com/x" and "example.com" agree.
func normalizeDomain(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if h, _, ok := strings.Cut(s, ":"); ok {
		s = h
	}
	s = strings.TrimSuffix(s, ".")
	return strings.TrimPrefix(s, "www.")
}

// domainSuffixes lists d and every parent domain ("a.b.c" → a.b.c, b.c, c),
// which is what lets a domain filter on "b.c" match its subdomains with a
// single term lookup.
func domainSuffixes(d string) []string {
	if d == "" {
		return nil
	}
	out := []string{d}
	for {
		_, rest, ok := strings.Cut(d, ".")
		if !ok || rest == "" {
			return out
		}
		out = append(out, rest)
		d = rest
	}
}

// normalizeLanguage keeps the primary subtag of a language tag: "en-US" → "en".
func normalizeLanguage(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if i := strings.IndexAny(s, "-_"); i >= 0 {
		s = s[:i]
	}
	return s
}

func utcDate(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
