package multi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/fetch"
	"github.com/tollgate-dev/tollgate/internal/search"
	"github.com/tollgate-dev/tollgate/internal/search/imagesize"
	"github.com/tollgate-dev/tollgate/internal/search/local"
	"github.com/tollgate-dev/tollgate/internal/search/multi"
	"github.com/tollgate-dev/tollgate/internal/search/web"
	"github.com/tollgate-dev/tollgate/internal/search/web/webtest"
)

// imageHost serves real encoded images: /W/H.png, /W/H.jpg and /W/H.gif
// (or /W/H/png, …, a URL whose type only the file tells) are images of
// that size; anything else is a 404. It counts requests per
// path, so tests can see which images were probed.
type imageHost struct {
	srv  *httptest.Server
	mu   sync.Mutex
	hits map[string]int
}

func newImageHost(t *testing.T) *imageHost {
	t.Helper()
	h := &imageHost{hits: map[string]int{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.hits[r.URL.Path]++
		h.mu.Unlock()
		parts := strings.FieldsFunc(r.URL.Path, func(c rune) bool { return c == '/' || c == '.' })
		var wd, ht int
		if len(parts) == 3 {
			wd, _ = strconv.Atoi(parts[0])
			ht, _ = strconv.Atoi(parts[1])
		}
		if wd <= 0 || ht <= 0 {
			http.NotFound(w, r)
			return
		}
		img := image.NewGray(image.Rect(0, 0, wd, ht))
		var b bytes.Buffer
		switch parts[2] {
		case "png":
			w.Header().Set("Content-Type", "image/png")
			_ = png.Encode(&b, img)
		case "jpg":
			w.Header().Set("Content-Type", "image/jpeg")
			_ = jpeg.Encode(&b, img, nil)
		case "gif":
			w.Header().Set("Content-Type", "image/gif")
			_ = gif.Encode(&b, img, nil)
		default:
			http.NotFound(w, r)
			return
		}
		w.Write(b.Bytes())
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *imageHost) url(path string) string { return h.srv.URL + path }

func (h *imageHost) probed(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hits[path]
}

func prober() *imagesize.Prober {
	return imagesize.New(imagesize.Options{Fetch: fetch.Options{AllowPrivate: true, IgnoreRobots: true}})
}

// imageFakes serves, through the three provider fakes, images hosted on
// h: SearXNG and Brave report sizes (Brave not for every image), Tavily
// never does.
func imageFakes(t *testing.T, h *imageHost) *fakes {
	t.Helper()
	f := newFakes(t)
	f.searxng.SetImages(
		webtest.Image{URL: h.url("/640/480.png"), PageURL: "https://wiki.example/ferris", Title: "Ferris", Width: 640, Height: 480, Format: "png"},
		webtest.Image{URL: h.url("/300/200.jpg"), PageURL: "https://photos.example/crab", Title: "Crab", Width: 300, Height: 200, Format: "jpeg"},
	)
	f.brave.SetImages(
		webtest.Image{URL: h.url("/300/200.jpg"), PageURL: "https://photos.example/crab", Title: "Crab (Brave)", Width: 300, Height: 200},
		webtest.Image{URL: h.url("/120/90.gif"), PageURL: "https://gifs.example/wave", Title: "Wave"}, // null size
	)
	f.tavily.SetImages(
		webtest.Image{URL: h.url("/640/480.png"), Title: "Ferris the crab"},
		webtest.Image{URL: h.url("/50/40.png"), Title: "Small crab"},
		webtest.Image{URL: h.url("/missing.png"), Title: "Gone"},
	)
	return f
}

func imageURLs(imgs []search.Image) []string {
	var out []string
	for _, im := range imgs {
		out = append(out, im.URL)
	}
	return out
}

func TestImagesFanOut(t *testing.T) {
	h := newImageHost(t)
	f := imageFakes(t, h)
	m := multi.New(f.ps, multi.Options{Timeout: 5 * time.Second, Sizer: prober()})
	got, err := m.Images(context.Background(), search.ImageQuery{Text: "crab", Max: 10})
	if err != nil {
		t.Fatal(err)
	}
	// 640x480.png: SearXNG 1st, Tavily 1st; 300x200.jpg: SearXNG 2nd, Brave
	// 1st; then Brave's 2nd (gif), Tavily's 2nd and 3rd (the 404 is dropped).
	want := []search.Image{
		{URL: h.url("/640/480.png"), OriginURL: "https://wiki.example/ferris", Title: "Ferris", Width: 640, Height: 480, Format: "png", Source: "searxng"},
		{URL: h.url("/300/200.jpg"), OriginURL: "https://photos.example/crab", Title: "Crab (Brave)", Width: 300, Height: 200, Format: "jpg", Source: "brave"},
		{URL: h.url("/120/90.gif"), OriginURL: "https://gifs.example/wave", Title: "Wave", Width: 120, Height: 90, Format: "gif", Source: "brave"},
		{URL: h.url("/50/40.png"), OriginURL: h.url("/50/40.png"), Title: "Small crab", Width: 50, Height: 40, Format: "png", Source: "tavily"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %q\nwant %q", imageURLs(got), imageURLs(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("image %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	// Sizes the providers gave are not fetched again.
	if n := h.probed("/640/480.png") + h.probed("/300/200.jpg"); n != 0 {
		t.Errorf("images with a reported size were fetched %d times", n)
	}
	if h.probed("/120/90.gif") != 1 || h.probed("/missing.png") != 1 {
		t.Errorf("probes: %v", h.hits)
	}
	// Each provider was asked for a long list, whatever the count wanted.
	if q := f.brave.Requests()[0].Query; q.Get("count") != "50" {
		t.Errorf("Brave asked for %s images, want 50", q.Get("count"))
	}
}

// Only as many images are probed as could still be needed: when the first
// n are complete, nothing is fetched.
func TestImagesProbeOnlyWhatIsNeeded(t *testing.T) {
	h := newImageHost(t)
	f := imageFakes(t, h)
	m := multi.New(f.ps, multi.Options{Timeout: 5 * time.Second, Sizer: prober()})
	got, err := m.Images(context.Background(), search.ImageQuery{Text: "crab", Max: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Width != 640 || got[1].Width != 300 {
		t.Fatalf("got %+v", got)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.hits) != 0 {
		t.Errorf("probed %v for two images that had sizes", h.hits)
	}
}

func TestImagesFilters(t *testing.T) {
	h := newImageHost(t)
	tests := []struct {
		name    string
		filters search.ImageFilters
		want    []string // image paths on h
	}{
		{"no filter", search.ImageFilters{}, []string{"/640/480.png", "/300/200.jpg", "/120/90.gif", "/50/40.png"}},
		{"allow a page's domain", search.ImageFilters{Domains: []string{"photos.example"}}, []string{"/300/200.jpg"}},
		{"allow matches subdomains", search.ImageFilters{Domains: []string{"example"}},
			[]string{"/640/480.png", "/300/200.jpg", "/120/90.gif"}},
		{"allow the file's host", search.ImageFilters{Domains: []string{"127.0.0.1"}},
			[]string{"/640/480.png", "/300/200.jpg", "/120/90.gif", "/50/40.png"}},
		{"deny a page's domain", search.ImageFilters{ExcludeDomains: []string{"wiki.example", "gifs.example"}},
			[]string{"/300/200.jpg", "/50/40.png"}},
		{"format png", search.ImageFilters{Formats: []string{"png"}}, []string{"/640/480.png", "/50/40.png"}},
		{"format jpg and gif", search.ImageFilters{Formats: []string{"jpg", "gif"}}, []string{"/300/200.jpg", "/120/90.gif"}},
		{"format nobody has", search.ImageFilters{Formats: []string{"webp"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := imageFakes(t, h)
			m := multi.New(f.ps, multi.Options{Timeout: 5 * time.Second, Sizer: prober()})
			got, err := m.Images(context.Background(), search.ImageQuery{Text: "crab", Max: 10, Filters: tt.filters})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, p := range tt.want {
				want = append(want, h.url(p))
			}
			if g := imageURLs(got); strings.Join(g, " ") != strings.Join(want, " ") {
				t.Errorf("got %q\nwant %q", g, want)
			}
		})
	}
}

// A format filter learns the format of an image that has a size but no
// format from its file.
func TestImagesFormatFromFile(t *testing.T) {
	h := newImageHost(t)
	f := newFakes(t)
	// No extension, a size from SearXNG: only the file can say it is a GIF.
	f.searxng.SetImages(webtest.Image{URL: h.url("/30/20/gif"), PageURL: "https://a.example/", Width: 30, Height: 20})
	m := multi.New(f.ps[:1], multi.Options{Sizer: prober()})
	for _, tt := range []struct {
		formats []string
		want    int
	}{{nil, 1}, {[]string{"gif"}, 1}, {[]string{"png"}, 0}} {
		got, err := m.Images(context.Background(), search.ImageQuery{Text: "x", Filters: search.ImageFilters{Formats: tt.formats}})
		if err != nil || len(got) != tt.want {
			t.Errorf("formats %q: got %+v, %v; want %d images", tt.formats, got, err, tt.want)
		}
	}
}

func TestImagesCountAndNoSizer(t *testing.T) {
	h := newImageHost(t)
	f := imageFakes(t, h)
	var many []webtest.Image
	for i := range 12 {
		many = append(many, webtest.Image{URL: fmt.Sprintf("https://i.example/%d.png", i), PageURL: "https://p.example/",
			Width: 10 + i, Height: 10})
	}
	f.searxng.SetImages(many...)
	m := multi.New(f.ps[:1], multi.Options{})
	got, err := m.Images(context.Background(), search.ImageQuery{Text: "x"})
	if err != nil || len(got) != multi.DefaultImages {
		t.Fatalf("default count: %d images, %v; want %d", len(got), err, multi.DefaultImages)
	}
	got, _ = m.Images(context.Background(), search.ImageQuery{Text: "x", Max: 8})
	if len(got) != 8 || got[7].Width != 17 {
		t.Fatalf("Max 8: got %+v", got)
	}

	// Without a Sizer, images with no size are dropped, never sent bare.
	bare := multi.New(imageFakes(t, h).ps, multi.Options{})
	got, err = bare.Images(context.Background(), search.ImageQuery{Text: "crab", Max: 10})
	if err != nil {
		t.Fatal(err)
	}
	if g := imageURLs(got); len(g) != 2 || g[0] != h.url("/640/480.png") || g[1] != h.url("/300/200.jpg") {
		t.Errorf("got %q, want only the two images with reported sizes", g)
	}
}

func TestImagesFailures(t *testing.T) {
	h := newImageHost(t)
	t.Run("one provider failing does not fail the others", func(t *testing.T) {
		f := imageFakes(t, h)
		f.tavily.Fail(432)
		ps := []search.Provider{f.ps[0], web.NewBrave("wrong", web.WithBaseURL(f.brave.URL())), f.ps[2]}
		got, err := multi.New(ps, multi.Options{Sizer: prober()}).Images(context.Background(), search.ImageQuery{Text: "crab"})
		if err != nil || len(got) != 2 || got[0].Source != "searxng" {
			t.Fatalf("got %+v, %v; want SearXNG's two images", got, err)
		}
	})
	t.Run("a slow provider is skipped", func(t *testing.T) {
		f := imageFakes(t, h)
		f.searxng.SetDelay(3 * time.Second)
		var logs syncBuffer
		m := multi.New(f.ps, multi.Options{Timeout: 300 * time.Millisecond, Sizer: prober(),
			Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		start := time.Now()
		got, err := m.Images(context.Background(), search.ImageQuery{Text: "crab", Max: 10})
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Images took %v", d)
		}
		for _, im := range got {
			if im.Source == "searxng" {
				t.Errorf("got %+v from the provider that timed out", im)
			}
		}
		if len(got) == 0 || !strings.Contains(logs.String(), "provider=searxng") {
			t.Errorf("got %+v; log %q", got, logs.String())
		}
	})
	t.Run("every provider failing is an error", func(t *testing.T) {
		f := imageFakes(t, h)
		f.searxng.DisableJSON()
		f.tavily.Fail(433)
		ps := []search.Provider{f.ps[0], web.NewBrave("wrong", web.WithBaseURL(f.brave.URL())), f.ps[2]}
		_, err := multi.New(ps, multi.Options{}).Images(context.Background(), search.ImageQuery{Text: "crab"})
		for _, want := range []error{web.ErrFormatDisabled, web.ErrBadKey, web.ErrQuotaExceeded} {
			if !errors.Is(err, want) {
				t.Errorf("error %v does not wrap %v", err, want)
			}
		}
	})
	t.Run("no image provider, no images", func(t *testing.T) {
		ix, err := local.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer ix.Close()
		got, err := multi.New([]search.Provider{ix}, multi.Options{}).Images(context.Background(), search.ImageQuery{Text: "x"})
		if err != nil || got != nil {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
}

// Images are cached like results: a second search asks no provider, and
// its own filters and count still apply.
func TestImagesCache(t *testing.T) {
	h := newImageHost(t)
	f := imageFakes(t, h)
	m := multi.New(f.ps, multi.Options{CacheTTL: time.Minute, Sizer: prober()})
	ctx := context.Background()
	if _, err := m.Images(ctx, search.ImageQuery{Text: "Crab", Max: 10}); err != nil {
		t.Fatal(err)
	}
	got, err := m.Images(ctx, search.ImageQuery{Text: "crab ", Max: 1, Filters: search.ImageFilters{Formats: []string{"gif"}}})
	if err != nil || len(got) != 1 || got[0].Format != "gif" {
		t.Fatalf("cached search: %+v, %v", got, err)
	}
	if n := len(f.searxng.Requests()) + len(f.brave.Requests()) + len(f.tavily.Requests()); n != 3 {
		t.Errorf("providers got %d requests, want 3 (one each)", n)
	}
	if s := m.ImageStats(); s.Hits != 1 || s.Misses != 1 {
		t.Errorf("image cache stats %+v", s)
	}
	if s := m.Stats(); s.Hits != 0 || s.Misses != 0 {
		t.Errorf("results cache stats %+v: image searches counted there", s)
	}
}

func TestFuseImages(t *testing.T) {
	a := search.Image{URL: "https://i.example/a.png", OriginURL: "https://i.example/a.png", Source: "tavily"}
	a2 := search.Image{URL: "https://I.example/a.png#x", OriginURL: "https://page.example/", Title: "A", Width: 5, Height: 6, Format: "png", Source: "searxng"}
	b := search.Image{URL: "https://i.example/b.png", OriginURL: "https://page.example/b", Source: "brave"}
	got := multi.FuseImages([][]search.Image{{a, b}, {a2}})
	if len(got) != 2 || got[1].URL != b.URL {
		t.Fatalf("got %+v", got)
	}
	want := search.Image{URL: a.URL, OriginURL: "https://page.example/", Title: "A", Width: 5, Height: 6, Format: "png", Source: "tavily"}
	if got[0] != want {
		t.Errorf("merged %+v\nwant   %+v", got[0], want)
	}
}
