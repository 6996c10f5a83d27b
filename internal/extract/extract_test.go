package extract

import (
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestHTMLArticle(t *testing.T) {
	doc, err := HTML(readTestdata(t, "article.html"), mustURL(t, "https://blog.example.com/rotate"))
	if err != nil {
		t.Fatalf("HTML: %v", err)
	}
	if want := "Rotating API keys without downtime"; doc.Title != want {
		t.Errorf("Title = %q, want %q", doc.Title, want)
	}
	for _, want := range []string{
		"Every long-lived credential eventually leaks.",
		"The safe procedure has three steps.",
		"Keeping both keys valid for an overlap window",
		"When the old key has not been seen for a full overlap window, it is safe to revoke.",
	} {
		if !strings.Contains(doc.Text, want) {
			t.Errorf("Text lacks %q", want)
		}
	}
	for _, noise := range []string{"Careers", "Popular posts", "Ten tips for YAML", "newsletter", "All rights reserved", "console.log", "analytics", "font-family"} {
		if strings.Contains(doc.Text, noise) {
			t.Errorf("Text contains noise %q", noise)
		}
	}
	// Paragraphs are separated by a blank line.
	if !strings.Contains(doc.Text, "do it.\n\nThe safe procedure") {
		t.Errorf("paragraphs not separated by a blank line:\n%s", doc.Text)
	}
	want := time.Date(2026, 2, 14, 9, 30, 0, 0, time.UTC)
	if doc.Published == nil || !doc.Published.Equal(want) {
		t.Errorf("Published = %v, want %v", doc.Published, want)
	}
	if doc.Language != "en" {
		t.Errorf("Language = %q, want en", doc.Language)
	}
}

func TestHTMLFallback(t *testing.T) {
	// A short index page: readability finds no article, so the visible
	// text of <main> is used.
	doc, err := HTML(readTestdata(t, "listing.html"), nil)
	if err != nil {
		t.Fatalf("HTML: %v", err)
	}
	want := "Documentation index\n\nKeys\n\nRate limits\n\nBilling\n\nGateway version 2.4 released."
	if doc.Text != want {
		t.Errorf("Text = %q, want %q", doc.Text, want)
	}
	if doc.Title != "Example Docs — Index" {
		t.Errorf("Title = %q", doc.Title)
	}
}

// TestVisibleText checks the fallback extraction on its own.
func TestVisibleText(t *testing.T) {
	tests := []struct {
		name, html, want string
	}{
		{"body minus furniture", `<body><header>H</header><nav>N</nav><p>one</p><aside>A</aside><form>F</form><footer>Fo</footer></body>`, "one"},
		{"main preferred", `<body><p>outside</p><main><p>inside</p></main></body>`, "inside"},
		{"single article", `<body><p>outside</p><article><p>inside</p></article></body>`, "inside"},
		{"two articles: body", `<body><p>a</p><article>b</article><article>c</article></body>`, "a\n\nb\n\nc"},
		{"br and inline", `<p>one <b>bold</b><br>two</p>`, "one bold\ntwo"},
		{"hidden", `<p>seen</p><p hidden>not</p><div style="display: none">not</div><span aria-hidden="true">not</span>`, "seen"},
		{"table cells", `<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>`, "a b\n\nc"},
		{"scripts", `<p>x<script>var y</script><style>.z{}</style><noscript>n</noscript></p>`, "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := html.Parse(strings.NewReader(tt.html))
			if err != nil {
				t.Fatal(err)
			}
			if got := visibleText(contentRoot(root)); got != tt.want {
				t.Errorf("fallback text = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHTMLCharset(t *testing.T) {
	tests := []struct {
		name, contentType string
		body              []byte
		wantTitle         string
		wantText          string
	}{
		{"meta charset latin1", "text/html", readTestdata(t, "latin1.html"), "Café crème", "Le café coûte 3 € à Paris."},
		{"header charset wins", "text/html; charset=windows-1251", []byte("<title>\xcf\xf0\xe8\xe2\xe5\xf2</title><p>\xcc\xe8\xf0</p>"), "Привет", "Мир"},
		{"undeclared non-UTF-8", "text/html", []byte("<title>na\xefve</title><p>r\xe9sum\xe9</p>"), "naïve", "résumé"},
		{"undeclared UTF-8", "text/html", []byte("<title>naïve</title><p>résumé 日本</p>"), "naïve", "résumé 日本"},
		{"BOM", "text/html", []byte("\xef\xbb\xbf<title>t</title><p>ünï</p>"), "t", "ünï"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := Any(tt.contentType, tt.body, nil)
			if err != nil {
				t.Fatal(err)
			}
			if doc.Title != tt.wantTitle || doc.Text != tt.wantText {
				t.Errorf("Title, Text = %q, %q; want %q, %q", doc.Title, doc.Text, tt.wantTitle, tt.wantText)
			}
		})
	}
}

func TestHTMLPublished(t *testing.T) {
	tests := []struct {
		name, html string
		want       string // RFC 3339, empty for none
	}{
		{"meta property", `<meta property="article:published_time" content="2025-05-06T07:08:09+02:00"><p>x</p>`, "2025-05-06T07:08:09+02:00"},
		{"itemprop", `<meta itemprop="datePublished" content="2024-01-02"><p>x</p>`, "2024-01-02T00:00:00Z"},
		{"time element", `<p>Posted <time datetime="2023-03-04T05:06:07Z">March</time></p>`, "2023-03-04T05:06:07Z"},
		{"meta beats time", `<meta property="article:published_time" content="2025-01-01"><time datetime="2020-01-01">x</time>`, "2025-01-01T00:00:00Z"},
		{"unparsable", `<time datetime="last tuesday">x</time>`, ""},
		{"none", `<p>x</p>`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := HTML([]byte(tt.html), nil)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if doc.Published != nil {
				got = doc.Published.Format(time.RFC3339)
			}
			if got != tt.want {
				t.Errorf("Published = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMarkdown(t *testing.T) {
	src := "---\ntitle: \"Keys\"\ndate: 2026-01-05\nlang: en\n---\n# Rotating keys\n\nUse **two** keys and a [dashboard](https://x/y) to watch\nthe old one.\n\n```\ntollgate keys rotate\n```\n\n## Revoke\n\n![diagram](d.png) Then revoke.\n"
	doc := Markdown([]byte(src))
	if doc.Title != "Keys" || doc.Language != "en" {
		t.Errorf("Title, Language = %q, %q", doc.Title, doc.Language)
	}
	if doc.Published == nil || doc.Published.Format("2006-01-02") != "2026-01-05" {
		t.Errorf("Published = %v", doc.Published)
	}
	want := "Rotating keys\n\nUse two keys and a dashboard to watch\nthe old one.\n\ntollgate keys rotate\n\nRevoke\n\ndiagram Then revoke."
	if doc.Text != want {
		t.Errorf("Text = %q, want %q", doc.Text, want)
	}
	if got := Markdown([]byte("intro\n\n# Heading\ntext")).Title; got != "Heading" {
		t.Errorf("title from first heading = %q", got)
	}
}

func TestPlain(t *testing.T) {
	doc := Plain([]byte("  Release notes  \r\n\r\n\r\nFixed   a bug.\nAdded a flag.\n"))
	if doc.Title != "Release notes" {
		t.Errorf("Title = %q", doc.Title)
	}
	if want := "Release notes\n\nFixed a bug.\nAdded a flag."; doc.Text != want {
		t.Errorf("Text = %q, want %q", doc.Text, want)
	}
}

func TestAny(t *testing.T) {
	tests := []struct {
		name, contentType, url string
		body                   string
		wantTitle              string
		wantErr                error
	}{
		{"html", "text/html; charset=utf-8", "https://a/", "<title>H</title><p>x</p>", "H", nil},
		{"xhtml", "application/xhtml+xml", "https://a/", "<title>X</title><p>x</p>", "X", nil},
		{"markdown", "text/markdown", "https://a/", "# M\n\nx", "M", nil},
		{"plain .md is markdown", "text/plain", "https://a/README.md", "# R\n\nx", "R", nil},
		{"plain", "text/plain", "https://a/notes.txt", "# not a heading here\nx", "# not a heading here", nil},
		{"latin1 plain", "text/plain; charset=iso-8859-1", "https://a/x.txt", "caf\xe9", "café", nil},
		{"pdf", "application/pdf", "https://a/x.pdf", "%PDF", "", ErrUnsupported},
		{"garbage type", "///", "https://a/", "", "", ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := Any(tt.contentType, []byte(tt.body), mustURL(t, tt.url))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if doc.Title != tt.wantTitle {
				t.Errorf("Title = %q, want %q", doc.Title, tt.wantTitle)
			}
		})
	}
}
