package web

import (
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/tollgate-dev/tollgate/internal/search"
)

// Image search: each adapter asks its API for images of the query and
// reports what the API says of each (file URL, page, title, and the size
// and type when it gives them). Filters and the size of images that come
// without one are the caller's (multi).

var (
	_ search.ImageSearcher = (*SearXNG)(nil)
	_ search.ImageSearcher = (*Brave)(nil)
	_ search.ImageSearcher = (*Tavily)(nil)
)

// braveMaxImages is the most images Brave returns per request.
const braveMaxImages = 200

// Images searches SearXNG's images category. Its image engines report a
// resolution ("1920 x 1080") and often a format; one language is passed on.
func (s *SearXNG) Images(ctx context.Context, q search.ImageQuery) ([]search.Image, error) {
	v := url.Values{}
	v.Set("q", q.Text)
	v.Set("format", "json")
	v.Set("pageno", "1")
	v.Set("categories", "images")
	if l := oneLanguage(q.Languages); l != "" {
		v.Set("language", l)
	}
	body, err := s.get(ctx, v)
	if err != nil {
		return nil, err
	}
	imgs, err := ParseSearXNGImages(body)
	if err != nil {
		return nil, err
	}
	if q.Max > 0 && len(imgs) > q.Max {
		imgs = imgs[:q.Max]
	}
	return imgs, nil
}

// searxngImagesResponse is the part of SearXNG's JSON we read for images:
// results of the images.html template (searx.result_types.Image).
type searxngImagesResponse struct {
	Results []struct {
		URL        string `json:"url"` // the page
		Title      string `json:"title"`
		ImgSrc     string `json:"img_src"`
		Resolution string `json:"resolution"`
		ImgFormat  string `json:"img_format"`
	} `json:"results"`
	UnresponsiveEngines [][]string `json:"unresponsive_engines"`
}

// ParseSearXNGImages decodes a SearXNG images response body. Results with
// no usable image URL are skipped; a page empty because every engine
// failed is an ErrUnavailable, as for web results.
func ParseSearXNGImages(body []byte) ([]search.Image, error) {
	var r searxngImagesResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, &Error{Provider: "searxng", Kind: ErrBadResponse, Cause: err,
			Hint: "is the base URL a SearXNG instance?"}
	}
	out := make([]search.Image, 0, len(r.Results))
	for _, x := range r.Results {
		src := searxngImageURL(x.ImgSrc)
		if src == "" {
			continue
		}
		img := search.Image{URL: src, OriginURL: absoluteURL(x.URL), Title: strings.TrimSpace(x.Title),
			Format: search.ImageFormat(x.ImgFormat), Source: "searxng"}
		img.Width, img.Height = parseResolution(x.Resolution)
		out = append(out, finishImage(img))
	}
	if len(out) == 0 && len(r.UnresponsiveEngines) > 0 {
		return nil, searxngUnresponsive(r.UnresponsiveEngines)
	}
	return out, nil
}

// searxngImageURL makes img_src an absolute http(s) URL: protocol-relative
// URLs get https, and an instance's image proxy (/image_proxy?url=…, which
// would point clients at the instance) is unwrapped. Anything else is "".
func searxngImageURL(src string) string {
	src = strings.TrimSpace(src)
	if strings.HasPrefix(src, "//") {
		src = "https:" + src
	}
	if u, err := url.Parse(src); err == nil && strings.HasSuffix(u.Path, "/image_proxy") {
		src = u.Query().Get("url")
	}
	return absoluteURL(src)
}

// Images searches the Brave Image Search API (GET /res/v1/images/search).
// Brave reports each image's size under properties for most images; its
// default safesearch for images (strict) is kept.
func (b *Brave) Images(ctx context.Context, q search.ImageQuery) ([]search.Image, error) {
	v := url.Values{}
	v.Set("q", q.Text)
	if q.Max > 0 {
		v.Set("count", strconv.Itoa(min(q.Max, braveMaxImages)))
	}
	if q.Country != "" {
		v.Set("country", strings.ToUpper(q.Country))
	}
	if l := oneLanguage(q.Languages); l != "" {
		v.Set("search_lang", l)
	}
	body, err := b.get(ctx, "/res/v1/images/search", v)
	if err != nil {
		return nil, err
	}
	return ParseBraveImages(body)
}

// braveImagesResponse is the part of Brave's ImageSearchApiResponse we use.
// thumbnail and properties.placeholder are Brave-proxied previews, not the
// image; properties.width and height may be missing or null.
type braveImagesResponse struct {
	Type    string `json:"type"`
	Results []struct {
		Title      string `json:"title"`
		URL        string `json:"url"` // the page
		Properties struct {
			URL    string `json:"url"` // the image
			Width  *int   `json:"width"`
			Height *int   `json:"height"`
		} `json:"properties"`
	} `json:"results"`
}

// ParseBraveImages decodes a Brave image search response body.
func ParseBraveImages(body []byte) ([]search.Image, error) {
	var r braveImagesResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, &Error{Provider: "brave", Kind: ErrBadResponse, Cause: err}
	}
	out := make([]search.Image, 0, len(r.Results))
	for _, x := range r.Results {
		src := absoluteURL(x.Properties.URL)
		if src == "" {
			continue
		}
		img := search.Image{URL: src, OriginURL: absoluteURL(x.URL), Title: strings.TrimSpace(x.Title), Source: "brave"}
		if w, h := x.Properties.Width, x.Properties.Height; w != nil && h != nil && *w > 0 && *h > 0 {
			img.Width, img.Height = *w, *h
		}
		out = append(out, finishImage(img))
	}
	return out, nil
}

// Images asks Tavily for the query's images (include_images, with
// descriptions, which become titles). Tavily reports neither the page an
// image comes from nor its size: the image's own URL stands in as its
// origin, and the caller must learn the size. It costs a search credit.
func (t *Tavily) Images(ctx context.Context, q search.ImageQuery) ([]search.Image, error) {
	body := tavilyRequest{Query: q.Text, SearchDepth: "basic", Topic: "general",
		IncludeImages: true, IncludeImageDescriptions: true}
	body.Country = tavilyCountries[strings.ToUpper(q.Country)]
	resp, err := t.post(ctx, body)
	if err != nil {
		return nil, err
	}
	imgs, err := ParseTavilyImages(resp)
	if err != nil {
		return nil, err
	}
	if q.Max > 0 && len(imgs) > q.Max {
		imgs = imgs[:q.Max]
	}
	return imgs, nil
}

// ParseTavilyImages decodes the images of a Tavily search response body:
// URL strings, or {url, description} objects when descriptions were asked
// for. Entries of any other shape are skipped.
func ParseTavilyImages(body []byte) ([]search.Image, error) {
	var r struct {
		Images []json.RawMessage `json:"images"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, &Error{Provider: "tavily", Kind: ErrBadResponse, Cause: err}
	}
	out := make([]search.Image, 0, len(r.Images))
	for _, raw := range r.Images {
		var (
			src  string
			item struct {
				URL         string `json:"url"`
				Description string `json:"description"`
			}
		)
		if json.Unmarshal(raw, &src) != nil {
			if json.Unmarshal(raw, &item) != nil {
				continue
			}
			src = item.URL
		}
		src = absoluteURL(src)
		if src == "" {
			continue
		}
		out = append(out, finishImage(search.Image{URL: src, Title: clipTitle(item.Description), Source: "tavily"}))
	}
	return out, nil
}

// finishImage fills what can be told from the image itself: the format
// from the URL's extension, the origin (the image's own URL) when the
// provider named no page.
func finishImage(img search.Image) search.Image {
	if img.Format == "" {
		img.Format = search.ImageFormatOf(img.URL)
	}
	if img.OriginURL == "" {
		img.OriginURL = img.URL
	}
	return img
}

// resolutionRE reads SearXNG's resolution, "1920 x 1080" (some engines
// write "1920x1080" or "1920 × 1080", some add " px").
var resolutionRE = regexp.MustCompile(`^\s*(\d{1,6})\s*[x×X]\s*(\d{1,6})\b`)

// parseResolution returns the width and height of a resolution string, or
// zeros when it holds none.
func parseResolution(s string) (int, int) {
	m := resolutionRE.FindStringSubmatch(s)
	if m == nil {
		return 0, 0
	}
	w, _ := strconv.Atoi(m[1])
	h, _ := strconv.Atoi(m[2])
	if w <= 0 || h <= 0 {
		return 0, 0
	}
	return w, h
}

// absoluteURL returns s when it is an absolute http(s) URL, else "".
func absoluteURL(s string) string {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return s
}

// clipTitle shortens a description used as a title.
func clipTitle(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= 200 {
		return s
	}
	return strings.ToValidUTF8(s[:200], "") + "…"
}
