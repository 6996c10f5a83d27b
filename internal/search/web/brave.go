package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/search"
)

// BraveURL is the Brave Search API's base URL.
const BraveURL = "https://api.search.brave.com"

// braveMaxCount is the most results Brave returns per request.
const braveMaxCount = 20

// Brave searches the Brave Web Search API
// (GET /res/v1/web/search with an X-Subscription-Token).
type Brave struct {
	key string
	cfg config
}

var _ search.Provider = (*Brave)(nil)

// NewBrave returns an adapter using the given subscription token.
func NewBrave(apiKey string, opts ...Option) *Brave {
	return &Brave{key: apiKey, cfg: newConfig(BraveURL, opts)}
}

// Name returns "brave".
func (b *Brave) Name() string { return "brave" }

// Search runs q. Brave takes a freshness (pd/pw/pm/py, or a date range
// when both ends are known), a country, one search language and a count
// up to 20; domains, mode and the other bounds are left to Apply.
func (b *Brave) Search(ctx context.Context, q search.Query) ([]search.Result, error) {
	v := url.Values{}
	v.Set("q", q.Text)
	if q.Max > 0 {
		v.Set("count", strconv.Itoa(min(q.Max, braveMaxCount)))
	}
	if q.Country != "" {
		v.Set("country", strings.ToUpper(q.Country))
	}
	if l := oneLanguage(q.Filters.Languages); l != "" {
		v.Set("search_lang", l)
	}
	if f := braveFreshness(q.Filters, b.cfg.now()); f != "" {
		v.Set("freshness", f)
	}
	// Plain descriptions: the default wraps matches in <strong>.
	v.Set("text_decorations", "false")
	body, err := b.get(ctx, "/res/v1/web/search", v)
	if err != nil {
		return nil, err
	}
	return ParseBrave(body)
}

// get sends GET path?v with the subscription token and returns the body of
// a 200 answer.
func (b *Brave) get(ctx context.Context, path string, v url.Values) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, b.cfg.baseURL+path+"?"+v.Encode(), nil)
	if err != nil {
		return nil, &Error{Provider: b.Name(), Kind: ErrBadRequest, Cause: err, Hint: "check the Brave base URL"}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Subscription-Token", b.key)
	// Accept-Encoding: gzip is added (and undone) by net/http's transport.
	status, h, body, err := do(ctx, b.Name(), b.cfg.client, req)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, b.error(status, h, body)
	}
	return body, nil
}

// braveFreshness maps the published bounds: a lower bound alone becomes
// the smallest relative window covering it, both bounds (or a lower bound
// too old for a window) a YYYY-MM-DDtoYYYY-MM-DD range.
func braveFreshness(f search.Filters, now time.Time) string {
	after, before := f.PublishedAfter, f.PublishedBefore
	if r := span(after, before, now); r != "" {
		return map[string]string{"day": "pd", "week": "pw", "month": "pm", "year": "py"}[r]
	}
	if after.IsZero() {
		return ""
	}
	if before.IsZero() {
		before = now
	}
	const day = "2006-01-02"
	return after.UTC().Format(day) + "to" + before.UTC().Format(day)
}

// braveError is Brave's error body; one rendering of the API has an
// errors array instead of error, so both are read.
type braveError struct {
	Type  string           `json:"type"`
	Error *braveErrDetail  `json:"error"`
	Errs  []braveErrDetail `json:"errors"`
}

type braveErrDetail struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
	Meta   struct {
		Component string `json:"component"`
	} `json:"meta"`
}

func (b *Brave) error(status int, h http.Header, body []byte) error {
	var eb braveError
	_ = json.Unmarshal(body, &eb)
	d := eb.Error
	if d == nil && len(eb.Errs) > 0 {
		d = &eb.Errs[0]
	}
	if d == nil {
		d = &braveErrDetail{}
	}
	e := genericError(b.Name(), status, h, clip(d.Detail), b.cfg.now())
	e.Code = d.Code
	switch {
	case d.Meta.Component == "authentication" || strings.HasPrefix(d.Code, "SUBSCRIPTION_TOKEN"):
		// Brave answers a bad token with 422, which it also uses for bad
		// parameters; only the component tells them apart.
		e.Kind, e.Hint = ErrBadKey, "check the Brave subscription token (X-Subscription-Token) in the dashboard"
	case status == http.StatusTooManyRequests && strings.Contains(d.Code, "QUOTA"):
		e.Kind, e.Hint = ErrQuotaExceeded, "the monthly quota is used up; raise it in the Brave dashboard"
	case status == http.StatusTooManyRequests:
		if e.RetryAfter == 0 {
			e.RetryAfter = braveReset(h)
		}
		e.Hint = "slow down or raise the Brave plan's rate limit"
	}
	return e
}

// braveReset reads Brave's rate-limit headers, comma lists with one entry
// per window (per second, per month): the wait is the reset of the first
// window with nothing remaining, else the shortest reset.
func braveReset(h http.Header) time.Duration {
	resets := splitInts(h.Get("X-RateLimit-Reset"))
	remaining := splitInts(h.Get("X-RateLimit-Remaining"))
	for i, r := range resets {
		if i < len(remaining) && remaining[i] == 0 {
			return time.Duration(r) * time.Second
		}
	}
	if len(resets) > 0 {
		m := resets[0]
		for _, r := range resets[1:] {
			m = min(m, r)
		}
		return time.Duration(m) * time.Second
	}
	return 0
}

func splitInts(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n >= 0 {
			out = append(out, n)
		}
	}
	return out
}

// braveResponse is the part of Brave's WebSearchApiResponse we use.
type braveResponse struct {
	Type string `json:"type"`
	Web  *struct {
		Results []struct {
			Title       string `json:"title"`
			URL         string `json:"url"`
			Description string `json:"description"`
			PageAge     string `json:"page_age"`
			Language    string `json:"language"`
		} `json:"results"`
	} `json:"web"`
}

// ParseBrave decodes a Brave web search response body. A response with no
// web section (a query Brave answered only with other verticals) is an
// empty result list.
func ParseBrave(body []byte) ([]search.Result, error) {
	var r braveResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, &Error{Provider: "brave", Kind: ErrBadResponse, Cause: err}
	}
	if r.Web == nil {
		return []search.Result{}, nil
	}
	out := make([]search.Result, 0, len(r.Web.Results))
	for _, x := range r.Web.Results {
		if x.URL == "" {
			continue
		}
		out = append(out, search.Result{
			Title: x.Title, URL: x.URL, Snippet: x.Description,
			Date: parseDate(x.PageAge), Language: x.Language, Source: "brave",
		})
	}
	return out, nil
}
