package webtest

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Brave is a fake Brave Search API: web search (GET /res/v1/web/search)
// and image search (GET /res/v1/images/search), with an
// X-Subscription-Token. A wrong or missing token gets Brave's 422
// SUBSCRIPTION_TOKEN_INVALID; bad parameters a 422 validation error; the
// rate limit a 429 RATE_LIMITED with the X-RateLimit-* headers (which
// every answer carries once a limit is set). Bodies are gzipped when the
// client accepts it, as Brave's are.
type Brave struct {
	server
	token string
}

// NewBrave starts a fake accepting the given subscription token; it stops
// when the test ends.
func NewBrave(t cleaner, token string) *Brave {
	f := &Brave{token: token}
	f.start(t, f.serve)
	return f
}

var braveFreshness = regexp.MustCompile(`^(pd|pw|pm|py|\d{4}-\d{2}-\d{2}to\d{4}-\d{2}-\d{2})$`)

// braveMonthQuota is the per-month window the fake reports beside the
// per-second one.
const braveMonthQuota = 15000

func (f *Brave) serve(w http.ResponseWriter, r *http.Request) {
	images := r.URL.Path == "/res/v1/images/search"
	if r.URL.Path != "/res/v1/web/search" && !images {
		f.fail(w, r, http.StatusNotFound, "NOT_FOUND", "Resource not found.", "routing")
		return
	}
	a, ok := f.admit(r)
	if !ok {
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		f.fail(w, r, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "Method not allowed.", "routing")
		return
	}
	if f.token == "" || r.Header.Get("X-Subscription-Token") != f.token {
		f.fail(w, r, http.StatusUnprocessableEntity, "SUBSCRIPTION_TOKEN_INVALID",
			"The provided subscription token is invalid.", "authentication")
		return
	}
	if a.remaining >= 0 {
		reset := max(int(a.retry/time.Second), 1)
		h := w.Header()
		h.Set("X-RateLimit-Limit", fmt.Sprintf("%d, %d", a.limit, braveMonthQuota))
		h.Set("X-RateLimit-Policy", fmt.Sprintf("%d;w=1, %d;w=2592000", a.limit, braveMonthQuota))
		h.Set("X-RateLimit-Remaining", fmt.Sprintf("%d, %d", a.remaining, braveMonthQuota-a.served))
		h.Set("X-RateLimit-Reset", fmt.Sprintf("%d, %d", reset, 1419704))
	}
	if a.limited {
		f.fail(w, r, http.StatusTooManyRequests, "RATE_LIMITED", "Request rate limit exceeded for plan.", "rate_limiter")
		return
	}
	p := r.URL.Query()
	if images {
		f.serveImages(w, r, p, a.images)
		return
	}
	q := p.Get("q")
	count := 20
	var bad string
	switch {
	case strings.TrimSpace(q) == "":
		bad = "q"
	case len(q) > 400 || len(strings.Fields(q)) > 50:
		bad = "q"
	case p.Has("count"):
		n, err := strconv.Atoi(p.Get("count"))
		if err != nil || n < 1 || n > 20 {
			bad = "count"
		}
		count = n
	}
	if fr := p.Get("freshness"); bad == "" && fr != "" && !braveFreshness.MatchString(fr) {
		bad = "freshness"
	}
	if bad != "" {
		f.fail(w, r, http.StatusUnprocessableEntity, "VALIDATION",
			fmt.Sprintf("Unable to validate request parameter(s): %s", bad), "validation")
		return
	}
	if len(a.docs) > count {
		a.docs = a.docs[:count]
	}
	results := make([]map[string]any, 0, len(a.docs))
	for _, d := range a.docs {
		u, _ := url.Parse(d.URL)
		host := ""
		if u != nil {
			host = u.Hostname()
		}
		res := map[string]any{
			"type": "search_result", "subtype": "generic", "is_source_local": false,
			"is_source_both": false, "is_live": false, "title": d.Title, "url": d.URL,
			"description": d.Content, "family_friendly": true,
			"profile":  map[string]any{"name": host, "url": d.URL, "long_name": host, "img": ""},
			"meta_url": map[string]any{"scheme": "https", "netloc": host, "hostname": host, "favicon": "", "path": ""},
		}
		if p.Get("text_decorations") != "false" && p.Get("text_decorations") != "0" {
			res["description"] = "<strong>" + d.Content + "</strong>"
		}
		if !d.Published.IsZero() {
			res["page_age"] = d.Published.UTC().Format("2006-01-02T15:04:05")
			res["age"] = d.Published.UTC().Format("January 2, 2006")
		}
		if d.Language != "" {
			res["language"] = d.Language
		}
		results = append(results, res)
	}
	country := strings.ToLower(p.Get("country"))
	if country == "" {
		country = "us"
	}
	f.write(w, r, http.StatusOK, map[string]any{
		"type": "search",
		"query": map[string]any{"original": q, "show_strict_warning": false, "is_navigational": false,
			"is_news_breaking": false, "spellcheck_off": true, "country": country, "bad_results": false,
			"should_fallback": false, "postal_code": "", "city": "", "header_country": "",
			"more_results_available": len(results) == count, "state": ""},
		"mixed": map[string]any{"type": "mixed", "main": []any{map[string]any{"type": "web", "index": 0, "all": true}},
			"top": []any{}, "side": []any{}},
		"web": map[string]any{"type": "search", "family_friendly": true, "results": results},
	})
}

// serveImages answers an image search: count 1–200 (default 50),
// safesearch off or strict (the default; images have no moderate), and
// the ImageSearchApiResponse, with null width and height for images whose
// size the fake was not given.
func (f *Brave) serveImages(w http.ResponseWriter, r *http.Request, p url.Values, images []Image) {
	q := p.Get("q")
	count := 50
	var bad string
	switch {
	case strings.TrimSpace(q) == "" || len(q) > 400 || len(strings.Fields(q)) > 50:
		bad = "q"
	case p.Has("count"):
		n, err := strconv.Atoi(p.Get("count"))
		if err != nil || n < 1 || n > 200 {
			bad = "count"
		}
		count = n
	}
	if s := p.Get("safesearch"); bad == "" && s != "" && s != "off" && s != "strict" {
		bad = "safesearch"
	}
	if bad != "" {
		f.fail(w, r, http.StatusUnprocessableEntity, "VALIDATION",
			fmt.Sprintf("Unable to validate request parameter(s): %s", bad), "validation")
		return
	}
	if len(images) > count {
		images = images[:count]
	}
	results := make([]map[string]any, 0, len(images))
	for i, im := range images {
		host := hostOf(im.PageURL)
		var width, height any
		if im.Width > 0 && im.Height > 0 {
			width, height = im.Width, im.Height
		}
		results = append(results, map[string]any{
			"type": "image_result", "title": im.Title, "url": im.PageURL, "source": host,
			"page_fetched": "2025-09-15T10:30:00Z",
			"thumbnail": map[string]any{"src": fmt.Sprintf("https://imgs.search.brave.com/thumb/%d", i),
				"width": 500, "height": 281},
			"properties": map[string]any{"url": im.URL,
				"placeholder": fmt.Sprintf("https://imgs.search.brave.com/placeholder/%d", i),
				"width":       width, "height": height},
			"meta_url":   map[string]any{"scheme": "https", "netloc": host, "hostname": host, "favicon": "", "path": ""},
			"confidence": "high",
		})
	}
	f.write(w, r, http.StatusOK, map[string]any{
		"type":    "images",
		"query":   map[string]any{"original": q, "altered": nil, "spellcheck_off": false, "show_strict_warning": false},
		"results": results,
		"extra":   map[string]any{"might_be_offensive": false},
	})
}

// fail writes Brave's ErrorResponse.
func (f *Brave) fail(w http.ResponseWriter, r *http.Request, status int, code, detail, component string) {
	f.write(w, r, status, map[string]any{
		"type": "ErrorResponse",
		"error": map[string]any{"id": "c8f1c4f0-6c5a-4f39-9a4e-3f1d2b7e8a10", "status": status, "code": code,
			"detail": detail, "meta": map[string]any{"component": component}},
		"time": time.Now().Unix(),
	})
}

func (f *Brave) write(w http.ResponseWriter, r *http.Request, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
		return
	}
	w.Header().Set("Content-Encoding", "gzip")
	w.WriteHeader(status)
	gz := gzip.NewWriter(w)
	_ = json.NewEncoder(gz).Encode(v)
	_ = gz.Close()
}
