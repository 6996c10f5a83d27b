package imagesize_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/fetch"
	"github.com/tollgate-dev/tollgate/internal/search"
	"github.com/tollgate-dev/tollgate/internal/search/imagesize"
)

// noisy is a w×h image of random pixels, so that it compresses badly and
// its file is large.
func noisy(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = byte(r.UintN(256))
	}
	return img
}

// encodePNG and encodeJPEG cannot fail writing to memory; t is for
// symmetry with encodeGIF and may be nil.
func encodePNG(_ testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

func encodeJPEG(_ testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	_ = jpeg.Encode(&b, img, &jpeg.Options{Quality: 95})
	return b.Bytes()
}

func encodeGIF(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.Black, color.White})
	var b bytes.Buffer
	if err := gif.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// files serves real encoded images (and a few things that are not), each
// with its content type; hits counts requests per path.
type files struct {
	srv  *httptest.Server
	hits map[string]*atomic.Int32
}

// big are the large test files, encoded once: noise compresses badly, so
// both run far past the head a probe reads.
var big = sync.OnceValues(func() ([]byte, []byte) {
	return encodePNG(nil, noisy(400, 300)), encodeJPEG(nil, noisy(800, 450))
})

func serveFiles(t *testing.T) *files {
	t.Helper()
	bigPNG, bigJPEG := big()
	if len(bigPNG) < 4*imagesize.DefaultHead || len(bigJPEG) < 2*imagesize.DefaultHead {
		t.Fatalf("test images too small: %d, %d bytes", len(bigPNG), len(bigJPEG))
	}
	type file struct {
		ctype  string
		body   []byte
		ranged bool // honour Range (http.ServeContent)
	}
	routes := map[string]file{
		"/big.png":      {"image/png", bigPNG, true},
		"/whole.png":    {"image/png", bigPNG, false},
		"/photo.jpg":    {"image/jpeg", bigJPEG, true},
		"/anim.gif":     {"image/gif", encodeGIF(t, 320, 200), false},
		"/octet":        {"application/octet-stream", encodePNG(t, noisy(12, 34)), false},
		"/fake.webp":    {"image/webp", []byte("RIFF\x00\x00\x00\x00WEBPVP8 "), false},
		"/mislabel.png": {"image/png", []byte("<html>not an image</html>"), false},
		"/page":         {"text/html", []byte("<html></html>"), false},
	}
	f := &files{hits: map[string]*atomic.Int32{}}
	for p := range routes {
		f.hits[p] = &atomic.Int32{}
	}
	f.hits["/missing.png"] = &atomic.Int32{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c := f.hits[r.URL.Path]; c != nil {
			c.Add(1)
		}
		file, ok := routes[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", file.ctype)
		if file.ranged {
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(file.body))
			return
		}
		w.Write(file.body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func TestSize(t *testing.T) {
	f := serveFiles(t)
	p := imagesize.New(imagesize.Options{Fetch: fetch.Options{AllowPrivate: true}})
	tests := []struct {
		path    string
		want    search.ImageSize
		wantErr error
	}{
		{"/big.png", search.ImageSize{Width: 400, Height: 300, Format: "png"}, nil},
		{"/whole.png", search.ImageSize{Width: 400, Height: 300, Format: "png"}, nil},
		{"/photo.jpg", search.ImageSize{Width: 800, Height: 450, Format: "jpg"}, nil},
		{"/anim.gif", search.ImageSize{Width: 320, Height: 200, Format: "gif"}, nil},
		{"/octet", search.ImageSize{Width: 12, Height: 34, Format: "png"}, nil},
		{"/fake.webp", search.ImageSize{}, fetch.ErrContentType},
		{"/mislabel.png", search.ImageSize{}, imagesize.ErrUndecodable},
		{"/page", search.ImageSize{}, fetch.ErrContentType},
		{"/missing.png", search.ImageSize{}, nil}, // a *fetch.StatusError
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := p.Size(context.Background(), f.srv.URL+tt.path)
			switch {
			case tt.want == (search.ImageSize{}) && err == nil:
				t.Fatalf("got %+v, want an error", got)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			case tt.want != (search.ImageSize{}) && err != nil:
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	var se *fetch.StatusError
	if _, err := p.Size(context.Background(), f.srv.URL+"/missing.png"); !errors.As(err, &se) || se.Code != 404 {
		t.Errorf("missing image: %v, want a 404 StatusError", err)
	}
}

// Outcomes are remembered: a second probe of the same URL, good or bad,
// fetches nothing, until the outcome expires.
func TestSizeCache(t *testing.T) {
	f := serveFiles(t)
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	p := imagesize.New(imagesize.Options{Fetch: fetch.Options{AllowPrivate: true, IgnoreRobots: true},
		Now: func() time.Time { return now }})
	ctx := context.Background()
	for range 3 {
		if _, err := p.Size(ctx, f.srv.URL+"/anim.gif"); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Size(ctx, f.srv.URL+"/mislabel.png"); err == nil {
			t.Fatal("a mislabelled file got a size")
		}
	}
	if a, b := f.hits["/anim.gif"].Load(), f.hits["/mislabel.png"].Load(); a != 1 || b != 1 {
		t.Fatalf("fetched %d and %d times, want once each", a, b)
	}
	now = now.Add(imagesize.DefaultFailureTTL + time.Second)
	p.Size(ctx, f.srv.URL+"/anim.gif")
	p.Size(ctx, f.srv.URL+"/mislabel.png")
	if a, b := f.hits["/anim.gif"].Load(), f.hits["/mislabel.png"].Load(); a != 1 || b != 2 {
		t.Fatalf("after the failure TTL: fetched %d and %d times, want 1 and 2", a, b)
	}
}

// The fetcher's rules hold: private addresses are refused by default, and
// a cancelled probe is not remembered as a failure.
func TestSizeRefusals(t *testing.T) {
	f := serveFiles(t)
	strict := imagesize.New(imagesize.Options{})
	if _, err := strict.Size(context.Background(), f.srv.URL+"/anim.gif"); !errors.Is(err, fetch.ErrPrivateAddress) {
		t.Fatalf("loopback image: %v, want ErrPrivateAddress", err)
	}
	if n := f.hits["/anim.gif"].Load(); n != 0 {
		t.Fatalf("the loopback server was reached %d times", n)
	}

	p := imagesize.New(imagesize.Options{Fetch: fetch.Options{AllowPrivate: true, IgnoreRobots: true}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Size(ctx, f.srv.URL+"/anim.gif"); err == nil {
		t.Fatal("a cancelled probe succeeded")
	}
	if _, err := p.Size(context.Background(), f.srv.URL+"/anim.gif"); err != nil {
		t.Fatalf("the cancelled probe was remembered: %v", err)
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		head []byte
		want search.ImageSize
	}{
		{"png", encodePNG(t, noisy(3, 5)), search.ImageSize{Width: 3, Height: 5, Format: "png"}},
		{"jpeg", encodeJPEG(t, noisy(17, 9)), search.ImageSize{Width: 17, Height: 9, Format: "jpg"}},
		{"gif", encodeGIF(t, 8, 2), search.ImageSize{Width: 8, Height: 2, Format: "gif"}},
		{"png header only", encodePNG(t, noisy(100, 200))[:40], search.ImageSize{Width: 100, Height: 200, Format: "png"}},
		{"truncated before the jpeg frame", encodeJPEG(t, noisy(4, 4))[:20], search.ImageSize{}},
		{"empty", nil, search.ImageSize{}},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>`), search.ImageSize{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := imagesize.Decode(tt.head)
			if tt.want == (search.ImageSize{}) {
				if !errors.Is(err, imagesize.ErrUndecodable) {
					t.Fatalf("got %+v, %v; want ErrUndecodable", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// FuzzDecode: whatever bytes come back, Decode returns a positive size or
// ErrUndecodable, never a panic.
func FuzzDecode(f *testing.F) {
	f.Add(encodePNG(f, noisy(2, 3)))
	f.Add(encodeJPEG(f, noisy(5, 4)))
	f.Add(encodeGIF(f, 6, 1))
	f.Add([]byte("GIF89a"))
	f.Fuzz(func(t *testing.T, head []byte) {
		info, err := imagesize.Decode(head)
		if err != nil {
			if !errors.Is(err, imagesize.ErrUndecodable) {
				t.Fatalf("error %v is not ErrUndecodable", err)
			}
			return
		}
		if info.Width <= 0 || info.Height <= 0 || info.Format == "" {
			t.Fatalf("got %+v", info)
		}
	})
}
