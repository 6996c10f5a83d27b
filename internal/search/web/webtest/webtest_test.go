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

// The Brave image search fake's validation, which the adapter never
// trips: count 1–200, safesearch off or strict (no moderate for images).
func TestBraveImagesValidation(t *testing.T) {
	f := webtest.NewBrave(t, "good")
	f.SetImages(webtest.Image{URL: "https://i.example/a.png", PageURL: "https://p.example/"})
	tests := []struct {
		query string
		want  int
	}{
		{"q=x", http.StatusOK},
		{"q=x&count=200&safesearch=off", http.StatusOK},
		{"q=x&count=201", http.StatusUnprocessableEntity},
		{"q=x&count=0", http.StatusUnprocessableEntity},
		{"q=x&safesearch=moderate", http.StatusUnprocessableEntity},
		{"q=", http.StatusUnprocessableEntity},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, f.URL()+"/res/v1/images/search?"+tt.query, nil)
			req.Header.Set("X-Subscription-Token", "good")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Type    string `json:"type"`
				Results []struct {
					Properties struct {
						Width *int `json:"width"`
					} `json:"properties"`
				} `json:"results"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != tt.want {
				t.Fatalf("status %d (want %d), decode %v", resp.StatusCode, tt.want, err)
			}
			if tt.want == http.StatusOK && (body.Type != "images" || len(body.Results) != 1 || body.Results[0].Properties.Width != nil) {
				t.Errorf("got %+v, want one image with a null width", body)
			}
		})
	}
}
