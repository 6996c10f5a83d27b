package search

import (
	"context"
	"net/url"
	"path"
	"strings"
)

// ImageFilters are Perplexity's image filters, validated: image_domain_filter
// (one list or the other) and image_format_filter.
type ImageFilters struct {
	// Domains keeps only images whose page or file is on these hosts (or
	// their subdomains); ExcludeDomains drops them.
	Domains        []string
	ExcludeDomains []string
	// Formats keeps only these file types, lower case, JPEG as "jpg".
	Formats []string
}

// ImageQuery is one image search.
type ImageQuery struct {
	Text    string
	Max     int // images wanted; 0 means the provider's default
	Filters ImageFilters
	// Country is an ISO 3166 alpha-2 code; Languages are ISO 639-1 codes.
	// Both are hints a provider may pass on.
	Country   string
	Languages []string
}

// Image is one image hit, in the shape of Perplexity's images[].
type Image struct {
	URL       string // the image file
	OriginURL string // the page it appears on
	Title     string
	// Width and Height are in pixels, 0 when the provider did not say.
	Width, Height int
	// Format is the file type, lower case, JPEG as "jpg"; "" when unknown.
	Format string
	// Source names the provider.
	Source string
}

// ImageSize is what can be learned from an image file's header.
type ImageSize struct {
	Width, Height int
	Format        string // as Image.Format
}

// ImageSearcher is implemented by the providers that can search for images
// (SearXNG, Brave, Tavily) and by the fan-out over them. The local index
// has no images.
type ImageSearcher interface {
	Images(ctx context.Context, q ImageQuery) ([]Image, error)
}

// ImageFormat normalizes a file type as providers and clients write it
// ("JPEG", ".jpg", "image/jpeg", "svg+xml", "TIF") to the lower-case
// extension Perplexity's image_format_filter uses ("jpg", "svg", "tiff");
// "" for an empty one.
func ImageFormat(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "image/")
	s = strings.TrimPrefix(s, ".")
	s, _, _ = strings.Cut(s, ";")
	switch s {
	case "jpeg", "jpe", "jfif", "pjpeg":
		return "jpg"
	case "tif":
		return "tiff"
	case "svg+xml":
		return "svg"
	case "x-icon", "vnd.microsoft.icon":
		return "ico"
	}
	return s
}

// ImageFormatOf guesses an image's file type from its URL's extension
// ("" when it has none that names an image type).
func ImageFormatOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	ext := ImageFormat(path.Ext(u.Path))
	switch ext {
	case "jpg", "png", "gif", "webp", "avif", "bmp", "svg", "tiff", "ico":
		return ext
	}
	return ""
}
