package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/search"
	"github.com/tollgate-dev/tollgate/internal/search/web"
	"github.com/tollgate-dev/tollgate/internal/search/web/webtest"
)

// images are served by every fake: two with a size, one without, one with
// no extension to guess the format from.
var images = []webtest.Image{
	{URL: "https://upload.example.org/ferris.png", PageURL: "https://example.org/ownership", Title: "Ferris",
		Width: 1280, Height: 720, Format: "png"},
	{URL: "https://cdn.example.com/crab.JPEG?w=800", PageURL: "https://docs.example.com/crab", Title: "A crab",
		Width: 800, Height: 600},
	{URL: "https://img.example.net/unsized.gif", PageURL: "https://example.net/gifs", Title: "Unsized"},
	{URL: "https://img.example.net/blob", PageURL: "https://example.net/blob", Title: "Blob", Width: 10, Height: 20},
}

func TestSearXNGImages(t *testing.T) {
	fake := webtest.NewSearXNG(t)
	fake.SetDocs(docs...) // web results must not come back as images
	fake.SetImages(images...)
	s := web.NewSearXNG(fake.URL(), nil)
	got, err := s.Images(context.Background(), search.ImageQuery{Text: "ferris", Languages: []string{"EN"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []search.Image{
		{URL: images[0].URL, OriginURL: images[0].PageURL, Title: "Ferris", Width: 1280, Height: 720, Format: "png", Source: "searxng"},
		{URL: images[1].URL, OriginURL: images[1].PageURL, Title: "A crab", Width: 800, Height: 600, Format: "jpg", Source: "searxng"},
		{URL: images[2].URL, OriginURL: images[2].PageURL, Title: "Unsized", Format: "gif", Source: "searxng"},
		{URL: images[3].URL, OriginURL: images[3].PageURL, Title: "Blob", Width: 10, Height: 20, Source: "searxng"},
	}
	checkImages(t, got, want)
	q := fake.Requests()[0].Query
	if q.Get("categories") != "images" || q.Get("format") != "json" || q.Get("language") != "en" || q.Get("q") != "ferris" {
		t.Errorf("query %v", q)
	}

	got, err = s.Images(context.Background(), search.ImageQuery{Text: "ferris", Max: 2})
	if err != nil || len(got) != 2 {
		t.Fatalf("Max 2: %d images, %v", len(got), err)
	}

	t.Run("json disabled", func(t *testing.T) {
		fake := webtest.NewSearXNG(t)
		fake.DisableJSON()
		_, err := web.NewSearXNG(fake.URL(), nil).Images(context.Background(), search.ImageQuery{Text: "x"})
		checkErr(t, err, web.ErrFormatDisabled, "searxng", "settings.yml")
	})
	t.Run("every engine unresponsive", func(t *testing.T) {
		fake := webtest.NewSearXNG(t)
		fake.SetUnresponsive([2]string{"bing images", "timeout"})
		_, err := web.NewSearXNG(fake.URL(), nil).Images(context.Background(), search.ImageQuery{Text: "x"})
		checkErr(t, err, web.ErrUnavailable, "searxng", "bing images: timeout")
	})
}

// What SearXNG's image engines write varies; the parser takes what it can
// and skips what is not an image URL.
func TestParseSearXNGImages(t *testing.T) {
	tests := []struct {
		name   string
		result map[string]any
		want   *search.Image // nil: skipped
	}{
		{"resolution with spaces", map[string]any{"img_src": "https://a.example/1.jpg", "url": "https://a.example/", "resolution": "1920 x 1080"},
			&search.Image{URL: "https://a.example/1.jpg", OriginURL: "https://a.example/", Width: 1920, Height: 1080, Format: "jpg"}},
		{"resolution without spaces", map[string]any{"img_src": "https://a.example/1", "resolution": "640x480", "img_format": "PNG"},
			&search.Image{URL: "https://a.example/1", OriginURL: "https://a.example/1", Width: 640, Height: 480, Format: "png"}},
		{"multiplication sign and px", map[string]any{"img_src": "https://a.example/1.webp", "resolution": "300 × 200 px"},
			&search.Image{URL: "https://a.example/1.webp", OriginURL: "https://a.example/1.webp", Width: 300, Height: 200, Format: "webp"}},
		{"no resolution", map[string]any{"img_src": "https://a.example/1.gif", "resolution": ""},
			&search.Image{URL: "https://a.example/1.gif", OriginURL: "https://a.example/1.gif", Format: "gif"}},
		{"nonsense resolution", map[string]any{"img_src": "https://a.example/1.gif", "resolution": "big"},
			&search.Image{URL: "https://a.example/1.gif", OriginURL: "https://a.example/1.gif", Format: "gif"}},
		{"zero resolution", map[string]any{"img_src": "https://a.example/1.gif", "resolution": "0 x 100"},
			&search.Image{URL: "https://a.example/1.gif", OriginURL: "https://a.example/1.gif", Format: "gif"}},
		{"protocol-relative", map[string]any{"img_src": "//a.example/x.png"},
			&search.Image{URL: "https://a.example/x.png", OriginURL: "https://a.example/x.png", Format: "png"}},
		{"image proxy unwrapped", map[string]any{"img_src": "/image_proxy?url=https%3A%2F%2Fb.example%2Fy.jpg&h=abc"},
			&search.Image{URL: "https://b.example/y.jpg", OriginURL: "https://b.example/y.jpg", Format: "jpg"}},
		{"relative path skipped", map[string]any{"img_src": "/static/x.png"}, nil},
		{"no img_src skipped", map[string]any{"url": "https://a.example/", "thumbnail_src": "https://t.example/x.jpg"}, nil},
		{"data URI skipped", map[string]any{"img_src": "data:image/png;base64,AAAA"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, _ := json.Marshal(map[string]any{"query": "q", "results": []any{tt.result}})
			got, err := web.ParseSearXNGImages(body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == nil {
				if len(got) != 0 {
					t.Fatalf("got %+v, want it skipped", got)
				}
				return
			}
			tt.want.Source = "searxng"
			checkImages(t, got, []search.Image{*tt.want})
		})
	}
}

func TestBraveImages(t *testing.T) {
	fake := webtest.NewBrave(t, "good")
	fake.SetImages(images...)
	b := web.NewBrave("good", web.WithBaseURL(fake.URL()))
	got, err := b.Images(context.Background(), search.ImageQuery{Text: "ferris", Max: 300, Country: "de", Languages: []string{"de"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []search.Image{
		{URL: images[0].URL, OriginURL: images[0].PageURL, Title: "Ferris", Width: 1280, Height: 720, Format: "png", Source: "brave"},
		{URL: images[1].URL, OriginURL: images[1].PageURL, Title: "A crab", Width: 800, Height: 600, Format: "jpg", Source: "brave"},
		{URL: images[2].URL, OriginURL: images[2].PageURL, Title: "Unsized", Format: "gif", Source: "brave"},
		{URL: images[3].URL, OriginURL: images[3].PageURL, Title: "Blob", Width: 10, Height: 20, Source: "brave"},
	}
	checkImages(t, got, want)
	r := fake.Requests()[0]
	if r.Path != "/res/v1/images/search" || r.Header.Get("X-Subscription-Token") != "good" {
		t.Errorf("request %s with token %q", r.Path, r.Header.Get("X-Subscription-Token"))
	}
	if q := r.Query; q.Get("count") != "200" || q.Get("country") != "DE" || q.Get("search_lang") != "de" || q.Has("safesearch") {
		t.Errorf("query %v: want count capped at 200, country DE, search_lang de, Brave's default safesearch", q)
	}

	got, err = b.Images(context.Background(), search.ImageQuery{Text: "ferris", Max: 1})
	if err != nil || len(got) != 1 || fake.Requests()[1].Query.Get("count") != "1" {
		t.Fatalf("Max 1: %d images, %v", len(got), err)
	}

	t.Run("bad token is 422 authentication", func(t *testing.T) {
		_, err := web.NewBrave("bad", web.WithBaseURL(fake.URL())).Images(context.Background(), search.ImageQuery{Text: "x"})
		checkErr(t, err, web.ErrBadKey, "brave", "SUBSCRIPTION_TOKEN_INVALID")
	})
	t.Run("empty query is a validation error", func(t *testing.T) {
		_, err := b.Images(context.Background(), search.ImageQuery{Text: " "})
		checkErr(t, err, web.ErrBadRequest, "brave", "VALIDATION")
	})
}

func TestParseBraveImages(t *testing.T) {
	body := `{"type":"images","results":[
		{"type":"image_result","title":"t","url":"https://p.example/","properties":{"url":"https://i.example/a.png","width":null,"height":null}},
		{"type":"image_result","title":"t","url":"https://p.example/","properties":{"url":"https://i.example/b.png","width":5}},
		{"type":"image_result","title":"t","url":"https://p.example/","properties":{"placeholder":"https://imgs.search.brave.com/x"},"thumbnail":{"src":"https://imgs.search.brave.com/y"}}
	]}`
	got, err := web.ParseBraveImages([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []search.Image{
		{URL: "https://i.example/a.png", OriginURL: "https://p.example/", Title: "t", Format: "png", Source: "brave"},
		{URL: "https://i.example/b.png", OriginURL: "https://p.example/", Title: "t", Format: "png", Source: "brave"},
	}
	checkImages(t, got, want) // null or half a size is no size; a thumbnail alone is no image
}

func TestTavilyImages(t *testing.T) {
	fake := webtest.NewTavily(t, "tvly-key")
	fake.SetDocs(docs...)
	fake.SetImages(images...)
	tv := web.NewTavily("tvly-key", web.WithBaseURL(fake.URL()))
	got, err := tv.Images(context.Background(), search.ImageQuery{Text: "ferris", Country: "FR"})
	if err != nil {
		t.Fatal(err)
	}
	// Tavily says nothing of pages or sizes: the image is its own origin.
	want := []search.Image{
		{URL: images[0].URL, OriginURL: images[0].URL, Title: "Ferris", Format: "png", Source: "tavily"},
		{URL: images[1].URL, OriginURL: images[1].URL, Title: "A crab", Format: "jpg", Source: "tavily"},
		{URL: images[2].URL, OriginURL: images[2].URL, Title: "Unsized", Format: "gif", Source: "tavily"},
		{URL: images[3].URL, OriginURL: images[3].URL, Title: "Blob", Source: "tavily"},
	}
	checkImages(t, got, want)
	var body map[string]any
	if err := json.Unmarshal(fake.Requests()[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if body["include_images"] != true || body["include_image_descriptions"] != true || body["query"] != "ferris" ||
		body["country"] != "france" {
		t.Errorf("request body %v", body)
	}

	got, err = tv.Images(context.Background(), search.ImageQuery{Text: "ferris", Max: 3})
	if err != nil || len(got) != 3 {
		t.Fatalf("Max 3: %d images, %v", len(got), err)
	}

	t.Run("plain URLs", func(t *testing.T) {
		got, err := web.ParseTavilyImages([]byte(`{"images":["https://i.example/a.jpg", 7, {"url":"ftp://x/y.png"}, "not a url"]}`))
		if err != nil {
			t.Fatal(err)
		}
		checkImages(t, got, []search.Image{{URL: "https://i.example/a.jpg", OriginURL: "https://i.example/a.jpg", Format: "jpg", Source: "tavily"}})
	})
	t.Run("bad key", func(t *testing.T) {
		_, err := web.NewTavily("wrong", web.WithBaseURL(fake.URL())).Images(context.Background(), search.ImageQuery{Text: "x"})
		checkErr(t, err, web.ErrBadKey, "tavily", "Tavily API key")
	})
	t.Run("plan limit", func(t *testing.T) {
		fake := webtest.NewTavily(t, "tvly-key")
		fake.Fail(432)
		_, err := web.NewTavily("tvly-key", web.WithBaseURL(fake.URL())).Images(context.Background(), search.ImageQuery{Text: "x"})
		checkErr(t, err, web.ErrQuotaExceeded, "tavily", "plan")
	})
	t.Run("server error", func(t *testing.T) {
		fake := webtest.NewTavily(t, "tvly-key")
		fake.Fail(http.StatusInternalServerError)
		_, err := web.NewTavily("tvly-key", web.WithBaseURL(fake.URL())).Images(context.Background(), search.ImageQuery{Text: "x"})
		checkErr(t, err, web.ErrUnavailable, "tavily", "500")
	})
}

func checkImages(t *testing.T, got, want []search.Image) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d images %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("image %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}
