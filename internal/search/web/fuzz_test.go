package web_test

import (
	"errors"
	"net/url"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/search"
	"github.com/tollgate-dev/tollgate/internal/search/web"
)

// The Fuzz… targets feed arbitrary bodies to the response parsers (seeds
// in testdata/fuzz): whatever a provider or a man in the middle sends,
// a parser returns results with URLs or an *web.Error, never a panic.

func FuzzParseSearXNG(f *testing.F) { fuzzParser(f, "searxng", web.ParseSearXNG) }
func FuzzParseBrave(f *testing.F)   { fuzzParser(f, "brave", web.ParseBrave) }
func FuzzParseTavily(f *testing.F)  { fuzzParser(f, "tavily", web.ParseTavily) }

func fuzzParser(f *testing.F, provider string, parse func([]byte) ([]search.Result, error)) {
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		rs, err := parse(body)
		if err != nil {
			var we *web.Error
			if !errors.As(err, &we) || we.Provider != provider {
				t.Fatalf("error %v is not a *web.Error from %s", err, provider)
			}
			return
		}
		for _, r := range rs {
			if r.URL == "" || r.Source != provider {
				t.Fatalf("result %+v has no URL or the wrong source", r)
			}
			if r.Date != nil && (r.Date.Year() < 1 || r.Date.Year() > 9999) {
				t.Fatalf("date %v out of range", r.Date)
			}
		}
	})
}

func FuzzParseSearXNGImages(f *testing.F) { fuzzImageParser(f, "searxng", web.ParseSearXNGImages) }
func FuzzParseBraveImages(f *testing.F)   { fuzzImageParser(f, "brave", web.ParseBraveImages) }
func FuzzParseTavilyImages(f *testing.F)  { fuzzImageParser(f, "tavily", web.ParseTavilyImages) }

// fuzzImageParser: an image parser returns images with absolute http(s)
// image and origin URLs, and a size that is either whole or absent.
func fuzzImageParser(f *testing.F, provider string, parse func([]byte) ([]search.Image, error)) {
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		imgs, err := parse(body)
		if err != nil {
			var we *web.Error
			if !errors.As(err, &we) || we.Provider != provider {
				t.Fatalf("error %v is not a *web.Error from %s", err, provider)
			}
			return
		}
		for _, im := range imgs {
			if !httpURL(im.URL) || !httpURL(im.OriginURL) || im.Source != provider {
				t.Fatalf("image %+v has a bad URL or the wrong source", im)
			}
			if (im.Width > 0) != (im.Height > 0) || im.Width < 0 || im.Height < 0 {
				t.Fatalf("image %+v has half a size", im)
			}
		}
	})
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
