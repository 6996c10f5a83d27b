package multi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/tollgate-dev/tollgate/internal/search"
)

// Sizer learns an image's pixel size and format from its file
// (imagesize.Prober implements it).
type Sizer interface {
	Size(ctx context.Context, imageURL string) (search.ImageSize, error)
}

// Image search knobs.
const (
	// DefaultImages is how many images Images returns when the query does
	// not say (Perplexity documents no default for num_images).
	DefaultImages = 5
	// imagesAsked is how many images each provider is asked for, whatever
	// the count wanted: filters and images whose size cannot be learned
	// thin the list, and a longer list costs no more.
	imagesAsked = 50
	// sizeParallel bounds the size probes in flight for one search.
	sizeParallel = 4
)

var _ search.ImageSearcher = (*Multi)(nil)

// Images asks every provider that can search for images, in parallel and
// each within the timeout, fuses their lists (reciprocal rank fusion,
// deduplicated by canonical image URL), applies q.Filters, learns the size
// of images that came without one (Options.Sizer) and returns at most
// q.Max (default DefaultImages) images, each with a width and a height.
// It fails only when every image provider failed; with none configured it
// returns no images.
func (m *Multi) Images(ctx context.Context, q search.ImageQuery) ([]search.Image, error) {
	var searchers []search.ImageSearcher
	var names []string
	for _, p := range m.providers {
		if s, ok := p.(search.ImageSearcher); ok {
			searchers = append(searchers, s)
			names = append(names, p.Name())
		}
	}
	if len(searchers) == 0 {
		return nil, nil
	}
	n := q.Max
	if n <= 0 {
		n = DefaultImages
	}
	key := imageCacheKey(q)
	merged, ok := m.images.get(key)
	if !ok {
		ask := q
		ask.Max, ask.Filters = imagesAsked, search.ImageFilters{}
		lists, err := gather(ctx, m, names, func(ctx context.Context, i int) ([]search.Image, error) {
			return searchers[i].Images(ctx, ask)
		})
		if err != nil {
			return nil, err
		}
		merged = FuseImages(lists)
		m.images.put(key, merged)
	}
	// Sizes are learned after the cache, for the filtered list only; the
	// Sizer remembers what it learned.
	return m.sized(ctx, ApplyImages(merged, q.Filters), q.Filters, n), nil
}

// gather calls call for every provider named in parallel, each within the
// timeout, and returns the lists of those that answered. It fails only
// when every one failed, with their errors joined; failures otherwise are
// logged.
func gather[T any](ctx context.Context, m *Multi, names []string, call func(ctx context.Context, i int) ([]T, error)) ([][]T, error) {
	type answer struct {
		list []T
		err  error
	}
	answers := make([]answer, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
			defer cancel()
			list, err := call(pctx, i)
			if err != nil && ctx.Err() == nil && errors.Is(pctx.Err(), context.DeadlineExceeded) {
				err = fmt.Errorf("%s: timed out after %s: %w", name, m.opts.Timeout, err)
			}
			answers[i] = answer{list, err}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("multi: %w", err)
	}
	var lists [][]T
	var errs []error
	for i, a := range answers {
		if a.err != nil {
			errs = append(errs, a.err)
			if m.opts.Logger != nil {
				m.opts.Logger.WarnContext(ctx, "search provider skipped", "provider", names[i], "error", a.err.Error())
			}
			continue
		}
		lists = append(lists, a.list)
	}
	if len(lists) == 0 {
		return nil, fmt.Errorf("multi: every search provider failed: %w", errors.Join(errs...))
	}
	return lists, nil
}

// FuseImages merges ranked image lists as Fuse merges results: reciprocal
// rank fusion, one entry per canonical image URL, the best-ranked copy
// kept with what it lacks (size, format, title, page) filled from the
// others.
func FuseImages(lists [][]search.Image) []search.Image {
	out := rrf(lists, func(img search.Image) string { return img.URL }, fillImage)
	imgs := make([]search.Image, len(out))
	for i, f := range out {
		imgs[i] = f.item
	}
	return imgs
}

// fillImage copies into img what other has and img lacks. A page is
// preferred to the image standing in as its own origin (Tavily's).
func fillImage(img, other search.Image) search.Image {
	if (img.Width <= 0 || img.Height <= 0) && other.Width > 0 && other.Height > 0 {
		img.Width, img.Height = other.Width, other.Height
	}
	if img.Format == "" {
		img.Format = other.Format
	}
	if img.Title == "" {
		img.Title = other.Title
	}
	if (img.OriginURL == "" || img.OriginURL == img.URL) && other.OriginURL != "" && other.OriginURL != other.URL {
		img.OriginURL = other.OriginURL
	}
	return img
}

// ApplyImages returns the images that pass f, in order:
//   - Domains keeps, ExcludeDomains drops, an image whose page or file is
//     on a listed domain or a subdomain of one (an image of
//     commons.wikimedia.org is served from upload.wikimedia.org);
//   - Formats drops an image whose format is known and not listed. One
//     whose format is unknown stays, for its file to tell (sized).
func ApplyImages(imgs []search.Image, f search.ImageFilters) []search.Image {
	allow, deny := normDomains(f.Domains), normDomains(f.ExcludeDomains)
	out := make([]search.Image, 0, len(imgs))
	for _, img := range imgs {
		page, file := hostOf(img.OriginURL), hostOf(img.URL)
		if len(allow) > 0 && !inDomains(page, allow) && !inDomains(file, allow) {
			continue
		}
		if inDomains(page, deny) || inDomains(file, deny) {
			continue
		}
		if img.Format != "" && !formatOK(img.Format, f.Formats) {
			continue
		}
		out = append(out, img)
	}
	return out
}

func formatOK(format string, want []string) bool {
	return len(want) == 0 || slices.Contains(want, search.ImageFormat(format))
}

// sized returns the first n images of imgs that have a size (and, under a
// format filter, a format that passes it), learning what is missing from
// the files with m.opts.Sizer: in rounds, probing only as many of the
// earliest undecided images as could still be needed, so a list whose
// first images are complete fetches nothing. Images whose size cannot be
// learned are dropped. All probing is bounded by the provider timeout.
func (m *Multi) sized(ctx context.Context, imgs []search.Image, f search.ImageFilters, n int) []search.Image {
	ready := func(img search.Image) bool {
		return img.Width > 0 && img.Height > 0 && (len(f.Formats) == 0 || img.Format != "")
	}
	dead := make([]bool, len(imgs))
	if m.opts.Sizer != nil {
		ctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
		defer cancel()
		for ctx.Err() == nil {
			var pending []int
			good := 0
			for i, img := range imgs {
				if good+len(pending) >= n {
					break
				}
				switch {
				case dead[i]:
				case ready(img):
					good++
				default:
					pending = append(pending, i)
				}
			}
			if len(pending) == 0 {
				break
			}
			m.probe(ctx, imgs, pending, dead, f)
		}
	}
	out := make([]search.Image, 0, n)
	for i, img := range imgs {
		if len(out) == n {
			break
		}
		if !dead[i] && ready(img) {
			out = append(out, img)
		}
	}
	return out
}

// probe learns the size and format of imgs[i] for every i in pending,
// sizeParallel at a time, marking dead those it cannot learn or whose
// format fails the filter. Every pending image ends either ready or dead,
// so sized's rounds end.
func (m *Multi) probe(ctx context.Context, imgs []search.Image, pending []int, dead []bool, f search.ImageFilters) {
	sem := make(chan struct{}, sizeParallel)
	var wg sync.WaitGroup
	for _, i := range pending {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				dead[i] = true
				return
			}
			size, err := m.opts.Sizer.Size(ctx, imgs[i].URL)
			if err != nil || size.Width <= 0 || size.Height <= 0 {
				if m.opts.Logger != nil && err != nil {
					m.opts.Logger.DebugContext(ctx, "image size unknown; image dropped", "url", imgs[i].URL, "error", err.Error())
				}
				dead[i] = true
				return
			}
			img := &imgs[i]
			if img.Width <= 0 || img.Height <= 0 {
				img.Width, img.Height = size.Width, size.Height
			}
			if size.Format != "" {
				// The file's own header beats an extension or a label.
				img.Format = size.Format
			}
			if !formatOK(img.Format, f.Formats) || img.Format == "" && len(f.Formats) > 0 {
				dead[i] = true
			}
		})
	}
	wg.Wait()
}
