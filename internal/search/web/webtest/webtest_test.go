package webtest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/search/web/webtest"
)

// The paths of the SearXNG fake no adapter takes: POST with form data,
// and / redirecting to /search when a format is given.
func TestSearXNGPostAndRedirect(t *testing.T) {
	f := webtest.NewSearXNG(t)
	f.SetDocs(webtest.Doc{Title: "A", URL: "https://a.example/"})
	tests := []struct {
		name string
		do   func() (*http.Response, error)
	}{
		{"post form", func() (*http.Response, error) {
			return http.PostForm(f.URL()+"/search", url.Values{"q": {"x"}, "format": {"json"}})
		}},
		{"root redirects", func() (*http.Response, error) { return http.Get(f.URL() + "/?q=x&format=json") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := tt.do()
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Query   string `json:"query"`
				Results []struct {
					URL string `json:"url"`
				} `json:"results"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, decode %v", resp.StatusCode, err)
			}
			if body.Query != "x" || len(body.Results) != 1 || !strings.HasPrefix(body.Results[0].URL, "https://a.example") {
				t.Errorf("got %+v", body)
			}
		})
	}
}
