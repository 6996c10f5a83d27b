package extract

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"codeberg.org/readeck/go-readability/v2"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/net/html/charset"
)

// Readability's output is preferred unless it is short both in absolute terms
// and relative to the page's visible text: then it most likely picked a
// fragment of a listing or home page, and the fallback text is better.
const (
	minReadableChars = 500
	minReadableShare = 4 // readability text shorter than 1/4 of the fallback text is suspect
)

// HTML extracts the main content of an HTML page. Its charset is taken from a
// byte-order mark or <meta charset>, else UTF-8 if the bytes are valid UTF-8,
// else Windows-1252. Readability picks the main content; when it fails or
// finds too little, the visible text of <main>, <article> or <body> minus
// navigation, headers, footers, asides, forms and scripts is used instead.
// pageURL may be nil.
func HTML(body []byte, pageURL *url.URL) (Doc, error) {
	return htmlDoc(body, "", pageURL)
}

func htmlDoc(body []byte, declaredCharset string, pageURL *url.URL) (Doc, error) {
	root, err := html.Parse(bytes.NewReader(decodeHTML(body, declaredCharset)))
	if err != nil {
		return Doc{}, fmt.Errorf("extract: parse HTML: %w", err)
	}
	if pageURL == nil {
		pageURL = &url.URL{}
	}
	m := readMeta(root)
	fallback := visibleText(contentRoot(root))
	article, readable := readable(root, pageURL)

	doc := Doc{Title: m.title, Text: readable, Published: m.published, Language: m.lang}
	if len(readable) < minReadableChars && len(readable)*minReadableShare < len(fallback) {
		doc.Text = fallback
	}
	if article != nil {
		if t := strings.TrimSpace(article.Title()); t != "" {
			doc.Title = t
		}
		if doc.Published == nil {
			if t, err := article.PublishedTime(); err == nil {
				doc.Published = &t
			}
		}
		if doc.Language == "" {
			doc.Language = article.Language()
		}
	}
	if doc.Title == "" {
		doc.Title = m.h1
	}
	doc.Title = strings.Join(strings.Fields(doc.Title), " ")
	return doc, nil
}

// readable runs readability on a copy of root. Readability is third-party
// code fed hostile input, so a panic is turned into "no article".
func readable(root *html.Node, pageURL *url.URL) (a *readability.Article, text string) {
	defer func() {
		if recover() != nil {
			a, text = nil, ""
		}
	}()
	art, err := readability.FromDocument(root, pageURL)
	if err != nil {
		return nil, ""
	}
	if art.Node == nil {
		return &art, ""
	}
	return &art, visibleText(art.Node)
}

// decodeHTML converts body to UTF-8.
func decodeHTML(body []byte, declared string) []byte {
	ct := "text/html"
	if declared != "" {
		ct += "; charset=" + declared
	}
	enc, name, certain := charset.DetermineEncoding(body, ct)
	if (!certain && utf8.Valid(body)) || name == "utf-8" {
		return []byte(strings.ToValidUTF8(string(bytes.TrimPrefix(body, []byte("\uFEFF"))), "\uFFFD"))
	}
	out, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return []byte(strings.ToValidUTF8(string(body), "\uFFFD"))
	}
	return out
}

type meta struct {
	title, h1, lang string
	published       *time.Time
}

// readMeta collects the document's <title>, first <h1>, language and
// publication date (article:published_time and similar metadata first, then
// the first <time datetime>).
func readMeta(root *html.Node) meta {
	var m meta
	var timeEl *time.Time
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.DataAtom {
			case atom.Html:
				m.lang = strings.TrimSpace(attr(n, "lang"))
			case atom.Title:
				if m.title == "" {
					m.title = textOf(n)
				}
			case atom.H1:
				if m.h1 == "" {
					m.h1 = textOf(n)
				}
			case atom.Meta:
				key := strings.ToLower(attr(n, "property") + attr(n, "name") + attr(n, "itemprop"))
				switch key {
				case "article:published_time", "datepublished", "date", "dc.date", "dc.date.issued",
					"dcterms.created", "og:published_time", "publish-date", "pubdate":
					if m.published == nil {
						m.published = parseDate(attr(n, "content"))
					}
				}
				if strings.EqualFold(attr(n, "http-equiv"), "content-language") && m.lang == "" {
					m.lang = strings.TrimSpace(attr(n, "content"))
				}
			case atom.Time:
				if timeEl == nil {
					timeEl = parseDate(attr(n, "datetime"))
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	if m.published == nil {
		m.published = timeEl
	}
	return m
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val
		}
	}
	return ""
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}
