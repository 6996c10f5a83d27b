package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/tollgate-dev/tollgate/internal/search"
)

// SearXNG searches a SearXNG instance through its JSON API
// (GET /search?format=json). The instance must list json in
// search.formats of its settings.yml; by default only html is enabled.
type SearXNG struct {
	cfg config
}

var _ search.Provider = (*SearXNG)(nil)

// NewSearXNG returns an adapter for the instance at baseURL (e.g.
// "http://localhost:8888"). A nil client gets a default with a timeout.
func NewSearXNG(baseURL string, client *http.Client, opts ...Option) *SearXNG {
	cfg := newConfig(baseURL, append([]Option{WithHTTPClient(client)}, opts...))
	return &SearXNG{cfg: cfg}
}

// Name returns "searxng".
func (s *SearXNG) Name() string { return "searxng" }

// searxngCategories maps Query.Filters.Mode to SearXNG categories. SearXNG
// has no category for SEC filings, so "sec" searches the default.
var searxngCategories = map[string]string{
	"web":      "general",
	"academic": "science",
}

// Search runs q. SearXNG takes one language and a relative time range;
// everything else (domains, exact dates, several languages) is left to
// the caller's Apply. SearXNG has no result count, so the page is cut to
// q.Max here.
func (s *SearXNG) Search(ctx context.Context, q search.Query) ([]search.Result, error) {
	v := url.Values{}
	v.Set("q", q.Text)
	v.Set("format", "json")
	v.Set("pageno", "1")
	if c := searxngCategories[q.Filters.Mode]; c != "" {
		v.Set("categories", c)
	}
	if l := oneLanguage(q.Filters.Languages); l != "" {
		v.Set("language", l)
	}
	if r := span(q.Filters.PublishedAfter, q.Filters.PublishedBefore, s.cfg.now()); r != "" {
		v.Set("time_range", r)
	}
	body, err := s.get(ctx, v)
	if err != nil {
		return nil, err
	}
	rs, err := ParseSearXNG(body)
	if err != nil {
		return nil, err
	}
	if q.Max > 0 && len(rs) > q.Max {
		rs = rs[:q.Max]
	}
	return rs, nil
}

// get sends GET /search with v and returns the body of a 200 answer.
func (s *SearXNG) get(ctx context.Context, v url.Values) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, s.cfg.baseURL+"/search?"+v.Encode(), nil)
	if err != nil {
		return nil, &Error{Provider: s.Name(), Kind: ErrBadRequest, Cause: err, Hint: "check the SearXNG base URL"}
	}
	req.Header.Set("Accept", "application/json")
	status, h, body, err := do(ctx, s.Name(), s.cfg.client, req)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, s.error(status, h, body)
	}
	return body, nil
}

func (s *SearXNG) error(status int, h http.Header, body []byte) error {
	var eb struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(body, &eb) // most SearXNG errors are HTML pages
	if status == http.StatusForbidden {
		return &Error{Provider: s.Name(), Status: status, Kind: ErrFormatDisabled,
			Hint: "enable json in search.formats of the instance's settings.yml and restart SearXNG"}
	}
	e := genericError(s.Name(), status, h, clip(eb.Error), s.cfg.now())
	if status == http.StatusTooManyRequests {
		e.Hint = "the instance's limiter refused us; exempt Tollgate's address (botdetection pass_ip) or disable the limiter"
	}
	return e
}

// searxngResponse is the part of SearXNG's JSON response we use. Of the
// many per-result fields, publishedDate is an ISO string or null, and
// number_of_results is gone since 2026 (so not read at all).
type searxngResponse struct {
	Query   string `json:"query"`
	Results []struct {
		URL           string  `json:"url"`
		Title         string  `json:"title"`
		Content       string  `json:"content"`
		PublishedDate *string `json:"publishedDate"`
		Score         float64 `json:"score"`
	} `json:"results"`
	UnresponsiveEngines [][]string `json:"unresponsive_engines"`
}

// ParseSearXNG decodes a SearXNG JSON response body. A page with no results
// because every engine failed is an ErrUnavailable naming the engines, so
// it shows up in logs rather than as an empty answer.
func ParseSearXNG(body []byte) ([]search.Result, error) {
	var r searxngResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, &Error{Provider: "searxng", Kind: ErrBadResponse, Cause: err,
			Hint: "is the base URL a SearXNG instance?"}
	}
	out := make([]search.Result, 0, len(r.Results))
	for _, x := range r.Results {
		if x.URL == "" {
			continue
		}
		res := search.Result{Title: x.Title, URL: x.URL, Snippet: x.Content, Source: "searxng", Score: x.Score}
		if x.PublishedDate != nil {
			res.Date = parseDate(*x.PublishedDate)
		}
		out = append(out, res)
	}
	if len(out) == 0 && len(r.UnresponsiveEngines) > 0 {
		return nil, searxngUnresponsive(r.UnresponsiveEngines)
	}
	return out, nil
}

// searxngUnresponsive is the error of a page that is empty because every
// engine failed.
func searxngUnresponsive(unresponsive [][]string) error {
	var engines []string
	for _, e := range unresponsive {
		engines = append(engines, strings.Join(e, ": "))
	}
	return &Error{Provider: "searxng", Kind: ErrUnavailable,
		Message: fmt.Sprintf("no results; unresponsive engines: %s", clip(strings.Join(engines, "; "))),
		Hint:    "check the engines in the instance's settings.yml"}
}
