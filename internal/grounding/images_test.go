package grounding

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/fetch"
	"github.com/tollgate-dev/tollgate/internal/search"
	"github.com/tollgate-dev/tollgate/internal/search/imagesize"
	"github.com/tollgate-dev/tollgate/internal/search/multi"
	"github.com/tollgate-dev/tollgate/internal/search/web"
	"github.com/tollgate-dev/tollgate/internal/search/web/webtest"
)

// imageWeb is a SearXNG fake answering with pages about key rotation and
// three images: two with a reported size, one whose size only its file
// (served by files, after delay) tells.
func imageWeb(t *testing.T, delay time.Duration) (*webtest.SearXNG, *multi.Multi, string) {
	t.Helper()
	var b bytes.Buffer
	_ = png.Encode(&b, image.NewGray(image.Rect(0, 0, 64, 48)))
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Write(b.Bytes())
	}))
	t.Cleanup(files.Close)
	fake := webtest.NewSearXNG(t)
	fake.SetDocs(webtest.Doc{Title: "Key rotation", URL: "https://omega.example/keys",
		Content: "To rotate an API key at Omega, create a new key and revoke the old one after a grace period."})
	unsized := files.URL + "/diagram"
	fake.SetImages(
		webtest.Image{URL: "https://img.example/rotation.png", PageURL: "https://omega.example/keys", Title: "Rotation",
			Width: 1280, Height: 720, Format: "png"},
		webtest.Image{URL: unsized, PageURL: "https://omega.example/diagram", Title: "Diagram"},
		webtest.Image{URL: "https://img.example/keys.jpg", PageURL: "https://other.example/keys", Title: "Keys",
			Width: 800, Height: 600},
	)
	sizer := imagesize.New(imagesize.Options{Fetch: fetch.Options{AllowPrivate: true, IgnoreRobots: true}})
	m := multi.New([]search.Provider{web.NewSearXNG(fake.URL(), nil)}, multi.Options{Timeout: 5 * time.Second, Sizer: sizer})
	return fake, m, unsized
}

func TestRetrieveImages(t *testing.T) {
	const q = "how do I rotate an API key?"
	_, m, unsized := imageWeb(t, 0)
	rotation := Image{ImageURL: "https://img.example/rotation.png", OriginURL: "https://omega.example/keys", Title: "Rotation", Width: 1280, Height: 720}
	diagram := Image{ImageURL: unsized, OriginURL: "https://omega.example/diagram", Title: "Diagram", Width: 64, Height: 48}
	keys := Image{ImageURL: "https://img.example/keys.jpg", OriginURL: "https://other.example/keys", Title: "Keys", Width: 800, Height: 600}
	tests := []struct {
		name string
		opts Options
		want []Image
	}{
		{"not asked for", Options{}, nil},
		{"asked for", Options{ReturnImages: true}, []Image{rotation, diagram, keys}},
		{"num_images", Options{ReturnImages: true, NumImages: 2}, []Image{rotation, diagram}},
		{"format filter", Options{ReturnImages: true, Images: search.ImageFilters{Formats: []string{"jpg"}}}, []Image{keys}},
		{"domain filter", Options{ReturnImages: true, Images: search.ImageFilters{ExcludeDomains: []string{"omega.example"}}}, []Image{keys}},
		{"search filters do not filter images", Options{ReturnImages: true,
			Filters: search.Filters{ExcludeDomains: []string{"other.example"}}}, []Image{rotation, diagram, keys}},
		{"search disabled", Options{ReturnImages: true, DisableSearch: true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(m, nil, nil, nil).Retrieve(context.Background(), q, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s.Images, tt.want) {
				t.Errorf("images\n got %+v\nwant %+v", s.Images, tt.want)
			}
			if s.Searched && s.Queries != 1 {
				t.Errorf("num_search_queries = %d: images counted as a search", s.Queries)
			}
			if g := Cite("Rotate it [1].", s); !reflect.DeepEqual(g.Images, s.Images) {
				t.Errorf("the answer carries images %+v, want the sources' %+v", g.Images, s.Images)
			}
		})
	}

	t.Run("local index only", func(t *testing.T) {
		ix := openIndex(t, corpus)
		s, err := New(ix, ix, nil, nil).Retrieve(context.Background(), q, Options{ReturnImages: true})
		if err != nil || len(s.Passages) == 0 || s.Images != nil {
			t.Fatalf("got %d passages, images %+v, %v", len(s.Passages), s.Images, err)
		}
	})
	t.Run("no image search unless asked", func(t *testing.T) {
		fake, m, _ := imageWeb(t, 0)
		if _, err := New(m, nil, nil, nil).Retrieve(context.Background(), q, Options{}); err != nil {
			t.Fatal(err)
		}
		for _, r := range fake.Requests() {
			if r.Query.Get("categories") == "images" {
				t.Errorf("an image search ran without return_images: %v", r.Query)
			}
		}
	})
}

// An image search that runs late does not hold the answer back: past the
// grace the answer goes with the images that were ready.
func TestRetrieveImagesGrace(t *testing.T) {
	_, m, _ := imageWeb(t, 3*time.Second) // the unsized image's file is slow
	e := New(m, nil, nil, nil)
	e.imagesGrace = 200 * time.Millisecond
	start := time.Now()
	s, err := e.Retrieve(context.Background(), "how do I rotate an API key?", Options{ReturnImages: true})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Retrieve took %v waiting for images", d)
	}
	if len(s.Passages) == 0 || len(s.Images) != 2 || s.Images[0].Width != 1280 || s.Images[1].Width != 800 {
		t.Errorf("got %d passages and images %+v; want the answer with the two sized images", len(s.Passages), s.Images)
	}
}
