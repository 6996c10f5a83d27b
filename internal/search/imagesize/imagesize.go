// Package imagesize learns an image's pixel size and file type from the
// first bytes of its file, for image search results whose provider did not
// report them: Perplexity's clients (the Vercel AI SDK among them) need a
// width and a height on every image, so an image whose size cannot be
// learned is better dropped than sent without one.
//
// PNG, JPEG and GIF headers are read with the standard library; other
// types (WebP, AVIF, SVG) are reported as undecodable.
package imagesize

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/tollgate-dev/tollgate/internal/fetch"
	"github.com/tollgate-dev/tollgate/internal/search"
)

// Defaults of Options.
const (
	// DefaultHead is how much of a file is read: a PNG or GIF header is in
	// its first bytes, a JPEG's frame header after its metadata segments,
	// which rarely pass 64 KiB.
	DefaultHead    = 64 << 10
	DefaultTimeout = 3 * time.Second
	// Outcomes are remembered, so a question asked again does not fetch
	// the same images again; a failure for less time, as it may pass.
	DefaultCacheSize  = 4096
	DefaultSuccessTTL = 24 * time.Hour
	DefaultFailureTTL = 10 * time.Minute
)

// ImageTypes are the media types a probe accepts: the decodable ones, and
// the generic binary type some storage services serve everything as.
var ImageTypes = []string{"image/png", "image/jpeg", "image/pjpeg", "image/gif",
	"application/octet-stream", "binary/octet-stream"}

// ErrUndecodable means the bytes read are not the start of a PNG, JPEG or
// GIF file that states its size.
var ErrUndecodable = errors.New("image size not readable")

// Options configure a Prober. Zero values get the defaults.
type Options struct {
	// Fetch configures the fetcher (user agent, robots.txt, concurrency,
	// private addresses, …); its AllowedTypes default to ImageTypes and its
	// Timeout to DefaultTimeout.
	Fetch fetch.Options
	// Head is how many bytes of a file are read (default DefaultHead).
	Head int64
	// CacheSize bounds the remembered outcomes (default DefaultCacheSize).
	CacheSize int
	// Now is the cache's clock (default time.Now).
	Now func() time.Time
}

// Prober fetches the head of image files and reads their size. It is safe
// for concurrent use; the fetcher bounds concurrency per host and overall.
type Prober struct {
	f     *fetch.Fetcher
	head  int64
	now   func() time.Time
	cache *lru.Cache[string, outcome]
}

type outcome struct {
	info    search.ImageSize
	err     error
	expires time.Time
}

// New returns a Prober.
func New(o Options) *Prober {
	if len(o.Fetch.AllowedTypes) == 0 {
		o.Fetch.AllowedTypes = ImageTypes
	}
	if o.Fetch.Timeout <= 0 {
		o.Fetch.Timeout = DefaultTimeout
	}
	if o.Head <= 0 {
		o.Head = DefaultHead
	}
	if o.Fetch.MaxBytes <= 0 {
		o.Fetch.MaxBytes = o.Head
	}
	if o.CacheSize <= 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c, _ := lru.New[string, outcome](o.CacheSize) // only fails for a size ≤ 0
	return &Prober{f: fetch.New(o.Fetch), head: o.Head, now: o.Now, cache: c}
}

// Size fetches the head of the image at rawURL and returns its width,
// height and format ("png", "jpg" or "gif"), or an error (ErrUndecodable, or the fetch's).
func (p *Prober) Size(ctx context.Context, rawURL string) (search.ImageSize, error) {
	if o, ok := p.cache.Get(rawURL); ok && p.now().Before(o.expires) {
		return o.info, o.err
	}
	info, err := p.probe(ctx, rawURL)
	if err != nil && ctx.Err() != nil {
		return search.ImageSize{}, err // the caller gave up; that says nothing of the image
	}
	ttl := DefaultSuccessTTL
	if err != nil {
		ttl = DefaultFailureTTL
	}
	p.cache.Add(rawURL, outcome{info: info, err: err, expires: p.now().Add(ttl)})
	return info, err
}

func (p *Prober) probe(ctx context.Context, rawURL string) (search.ImageSize, error) {
	page, err := p.f.Fetch(ctx, rawURL, fetch.Prefix(p.head))
	if err != nil {
		return search.ImageSize{}, err
	}
	info, err := Decode(page.Body)
	if err != nil {
		return search.ImageSize{}, fmt.Errorf("image %s: %w", page.URL, err)
	}
	return info, nil
}

// Decode reads the size and format from the first bytes of a PNG, JPEG or
// GIF file; the rest of the file is not needed.
func Decode(head []byte) (search.ImageSize, error) {
	// The magic numbers pick the decoder, so nothing depends on which
	// formats happen to be registered with package image.
	var (
		decode func(r io.Reader) (image.Config, error)
		format string
	)
	switch {
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		decode, format = png.DecodeConfig, "png"
	case bytes.HasPrefix(head, []byte("\xff\xd8")):
		decode, format = jpeg.DecodeConfig, "jpg"
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		decode, format = gif.DecodeConfig, "gif"
	default:
		return search.ImageSize{}, fmt.Errorf("%w: not a PNG, JPEG or GIF file", ErrUndecodable)
	}
	cfg, err := decode(bytes.NewReader(head))
	if err != nil {
		return search.ImageSize{}, fmt.Errorf("%w: %w", ErrUndecodable, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return search.ImageSize{}, fmt.Errorf("%w: %d×%d pixels", ErrUndecodable, cfg.Width, cfg.Height)
	}
	return search.ImageSize{Width: cfg.Width, Height: cfg.Height, Format: format}, nil
}
