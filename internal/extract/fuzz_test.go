package extract

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzHTML checks that extraction never panics and always returns valid
// UTF-8 in normalised paragraph form, whatever the bytes.
func FuzzHTML(f *testing.F) {
	f.Add([]byte("<html><body><p>hello</p></body></html>"))
	f.Add([]byte("<meta charset=shift_jis><p>\x82\xa0</p>"))
	u, _ := url.Parse("https://example.com/a/b")
	f.Fuzz(func(t *testing.T, body []byte) {
		doc, err := HTML(body, u)
		if err != nil {
			return
		}
		for _, s := range []string{doc.Title, doc.Text, doc.Language} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 in %q", s)
			}
		}
		if doc.Text != strings.TrimSpace(doc.Text) || strings.Contains(doc.Text, "\n\n\n") {
			t.Fatalf("text not normalised: %q", doc.Text)
		}
	})
}
