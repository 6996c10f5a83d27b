package webtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Tavily is a fake Tavily Search API: POST /search with a JSON body and
// the key as "Authorization: Bearer …" (or, as older clients send it,
// api_key in the body). Errors are {"detail":{"error":"…"}} with Tavily's
// statuses: 400 bad request, 401 bad key, 429 rate limited (with
// Retry-After), 432 plan limit, 433 pay-as-you-go limit. It honours
// max_results, include_domains and exclude_domains, and include_images
// (with include_image_descriptions) adds the images, which Tavily reports
// without their page or size.
type Tavily struct {
	server
	key  string
	fail int
}

// NewTavily starts a fake accepting the given API key; it stops when the
// test ends.
func NewTavily(t cleaner, key string) *Tavily {
	f := &Tavily{key: key}
	f.start(t, f.serve)
	return f
}

// Fail answers every authorised request with status (403, 432, 433, 500…)
// and Tavily's message for it; 0 restores normal answers.
func (f *Tavily) Fail(status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = status
}

// tavilyMessages are the messages Tavily sends with each error status.
var tavilyMessages = map[int]string{
	http.StatusUnauthorized:        "Unauthorized: missing or invalid API key.",
	http.StatusForbidden:           "Forbidden: this key cannot use this endpoint.",
	http.StatusTooManyRequests:     "Your request has been blocked due to excessive requests. Please reduce the rate of requests.",
	432:                            "This request exceeds your plan's set usage limit. Please upgrade your plan or contact support@tavily.com",
	433:                            "This request exceeds the pay-as-you-go limit. You can increase your limit on the Tavily dashboard.",
	http.StatusInternalServerError: "Internal Server Error",
}

var (
	tavilyTopics     = map[string]bool{"": true, "general": true, "news": true, "finance": true}
	tavilyTimeRanges = map[string]bool{"": true, "day": true, "week": true, "month": true, "year": true,
		"d": true, "w": true, "m": true, "y": true}
	tavilyDepths = map[string]bool{"": true, "basic": true, "advanced": true, "fast": true, "ultra-fast": true}
)

type tavilyBody struct {
	APIKey         string   `json:"api_key"`
	Query          *string  `json:"query"`
	SearchDepth    string   `json:"search_depth"`
	Topic          string   `json:"topic"`
	MaxResults     *int     `json:"max_results"`
	TimeRange      string   `json:"time_range"`
	StartDate      string   `json:"start_date"`
	EndDate        string   `json:"end_date"`
	IncludeDomains []string `json:"include_domains"`
	ExcludeDomains []string `json:"exclude_domains"`
	Country        string   `json:"country"`
	// IncludeImages and IncludeImageDescriptions ask for the query's
	// images, as URLs or as {url, description}.
	IncludeImages            bool `json:"include_images"`
	IncludeImageDescriptions bool `json:"include_image_descriptions"`
}

func (f *Tavily) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/search" {
		tavilyError(w, http.StatusNotFound, "Not Found")
		return
	}
	a, ok := f.admit(r)
	if !ok {
		return
	}
	if r.Method != http.MethodPost {
		tavilyError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	var b tavilyBody
	jsonErr := json.Unmarshal(a.body, &b)
	key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if key == "" || r.Header.Get("Authorization") == "" {
		key = b.APIKey
	}
	if f.key == "" || key != f.key {
		tavilyError(w, http.StatusUnauthorized, tavilyMessages[http.StatusUnauthorized])
		return
	}
	if a.limited {
		w.Header().Set("Retry-After", strconv.Itoa(max(int(a.retry/time.Second), 1)))
		tavilyError(w, http.StatusTooManyRequests, tavilyMessages[http.StatusTooManyRequests])
		return
	}
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail != 0 {
		tavilyError(w, fail, tavilyMessages[fail])
		return
	}
	var bad string
	switch {
	case jsonErr != nil:
		bad = "Invalid JSON body."
	case b.Query == nil || strings.TrimSpace(*b.Query) == "":
		bad = "Query is missing."
	case len(*b.Query) > 400:
		bad = "Query is too long. Max query length is 400 characters."
	case b.MaxResults != nil && (*b.MaxResults < 0 || *b.MaxResults > 20):
		bad = "max_results must be between 0 and 20."
	case !tavilyTopics[b.Topic]:
		bad = "Invalid topic. Must be 'general', 'news' or 'finance'."
	case !tavilyTimeRanges[b.TimeRange]:
		bad = "Invalid time_range."
	case !tavilyDepths[b.SearchDepth]:
		bad = "Invalid search_depth."
	case !validDate(b.StartDate) || !validDate(b.EndDate):
		bad = "Invalid date format. Use YYYY-MM-DD."
	}
	if bad != "" {
		tavilyError(w, http.StatusBadRequest, bad)
		return
	}
	limit := 5
	if b.MaxResults != nil {
		limit = *b.MaxResults
	}
	results := make([]map[string]any, 0, limit)
	for _, d := range a.docs {
		if len(results) == limit {
			break
		}
		host := hostOf(d.URL)
		if len(b.IncludeDomains) > 0 && !matchesAny(host, b.IncludeDomains) || matchesAny(host, b.ExcludeDomains) {
			continue
		}
		score := d.Score
		if score == 0 {
			score = 0.9 / float64(len(results)+1)
		}
		res := map[string]any{"url": d.URL, "title": d.Title, "content": d.Content, "score": score,
			"raw_content": nil}
		if !d.Published.IsZero() {
			res["published_date"] = d.Published.UTC().Format(time.RFC1123)
		}
		results = append(results, res)
	}
	imgs := []any{}
	if b.IncludeImages {
		for _, im := range a.images {
			if b.IncludeImageDescriptions {
				imgs = append(imgs, map[string]any{"url": im.URL, "description": im.Title})
			} else {
				imgs = append(imgs, im.URL)
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"query": *b.Query, "follow_up_questions": nil, "answer": nil, "images": imgs,
		"results": results, "response_time": 0.42, "request_id": "123e4567-e89b-12d3-a456-426614174111",
	})
}

func tavilyError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"detail": map[string]any{"error": msg}})
}

func validDate(s string) bool {
	if s == "" {
		return true
	}
	_, err := time.Parse("2006-01-02", s)
	return err == nil
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

func matchesAny(host string, domains []string) bool {
	for _, d := range domains {
		d = strings.ToLower(strings.TrimPrefix(d, "www."))
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}
