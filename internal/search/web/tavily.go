package web

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/tollgate-dev/tollgate/internal/search"
)

// TavilyURL is the Tavily API's base URL.
const TavilyURL = "https://api.tavily.com"

// tavilyMaxResults is the most results Tavily returns per request.
const tavilyMaxResults = 20

// Tavily searches the Tavily Search API (POST /search with a bearer key).
type Tavily struct {
	key string
	cfg config
}

var _ search.Provider = (*Tavily)(nil)

// NewTavily returns an adapter using the given API key ("tvly-…").
func NewTavily(apiKey string, opts ...Option) *Tavily {
	return &Tavily{key: apiKey, cfg: newConfig(TavilyURL, opts)}
}

// Name returns "tavily".
func (t *Tavily) Name() string { return "tavily" }

// tavilyRequest is the body of POST /search, with only what we send.
type tavilyRequest struct {
	Query          string   `json:"query"`
	SearchDepth    string   `json:"search_depth"`
	Topic          string   `json:"topic"`
	MaxResults     int      `json:"max_results,omitempty"`
	IncludeDomains []string `json:"include_domains,omitempty"`
	ExcludeDomains []string `json:"exclude_domains,omitempty"`
	TimeRange      string   `json:"time_range,omitempty"`
	StartDate      string   `json:"start_date,omitempty"`
	EndDate        string   `json:"end_date,omitempty"`
	Country        string   `json:"country,omitempty"`
	// IncludeImages adds the query's images to the answer, as URLs, or as
	// {url, description} with IncludeImageDescriptions.
	IncludeImages            bool `json:"include_images,omitempty"`
	IncludeImageDescriptions bool `json:"include_image_descriptions,omitempty"`
}

// Search runs q. Tavily takes domain lists, a topic, a relative time range
// or start/end dates, a result count up to 20 and (for the general topic)
// a country by name; languages and the updated bounds are left to Apply.
func (t *Tavily) Search(ctx context.Context, q search.Query) ([]search.Result, error) {
	f := q.Filters
	body := tavilyRequest{
		Query:          q.Text,
		SearchDepth:    "basic",
		Topic:          "general",
		IncludeDomains: f.Domains,
		ExcludeDomains: f.ExcludeDomains,
	}
	if f.Mode == "sec" {
		// The nearest Tavily has to SEC filings; Apply cannot tell either.
		body.Topic = "finance"
	}
	if q.Max > 0 {
		body.MaxResults = min(q.Max, tavilyMaxResults)
	}
	if r := span(f.PublishedAfter, f.PublishedBefore, t.cfg.now()); r != "" {
		body.TimeRange = r
	} else {
		const day = "2006-01-02"
		if !f.PublishedAfter.IsZero() {
			body.StartDate = f.PublishedAfter.UTC().Format(day)
		}
		if !f.PublishedBefore.IsZero() {
			body.EndDate = f.PublishedBefore.UTC().Format(day)
		}
	}
	if body.Topic == "general" {
		body.Country = tavilyCountries[strings.ToUpper(q.Country)]
	}
	resp, err := t.post(ctx, body)
	if err != nil {
		return nil, err
	}
	return ParseTavily(resp)
}

// post sends body to POST /search and returns the body of a 200 answer.
func (t *Tavily) post(ctx context.Context, body tavilyRequest) ([]byte, error) {
	buf, err := json.Marshal(body)
	if err != nil {
		return nil, &Error{Provider: t.Name(), Kind: ErrBadRequest, Cause: err}
	}
	req, err := http.NewRequest(http.MethodPost, t.cfg.baseURL+"/search", bytes.NewReader(buf))
	if err != nil {
		return nil, &Error{Provider: t.Name(), Kind: ErrBadRequest, Cause: err, Hint: "check the Tavily base URL"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+t.key)
	status, h, resp, err := do(ctx, t.Name(), t.cfg.client, req)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, t.error(status, h, resp)
	}
	return resp, nil
}

func (t *Tavily) error(status int, h http.Header, body []byte) error {
	e := genericError(t.Name(), status, h, clip(tavilyMessage(body)), t.cfg.now())
	switch status {
	case http.StatusUnauthorized:
		e.Hint = "check the Tavily API key (tvly-…)"
	case http.StatusTooManyRequests:
		e.Hint = "slow down; Tavily limits requests per minute by plan"
	case 432:
		e.Kind, e.Hint = ErrQuotaExceeded, "the key's plan credit limit is reached; upgrade the plan or wait for the next cycle"
	case 433:
		e.Kind, e.Hint = ErrQuotaExceeded, "the pay-as-you-go spending limit is reached; raise it in the Tavily dashboard"
	}
	return e
}

// tavilyMessage reads Tavily's {"detail":{"error":"…"}}, or FastAPI's
// plain {"detail":"…"}.
func tavilyMessage(body []byte) string {
	var eb struct {
		Detail json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &eb) != nil || len(eb.Detail) == 0 {
		return ""
	}
	var d struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(eb.Detail, &d) == nil && d.Error != "" {
		return d.Error
	}
	var s string
	if json.Unmarshal(eb.Detail, &s) == nil {
		return s
	}
	return ""
}

// tavilyResponse is the part of Tavily's search response we use.
// raw_content is present only when requested, published_date mostly for
// the news topic.
type tavilyResponse struct {
	Results []struct {
		URL           string  `json:"url"`
		Title         string  `json:"title"`
		Content       string  `json:"content"`
		RawContent    *string `json:"raw_content"`
		Score         float64 `json:"score"`
		PublishedDate string  `json:"published_date"`
	} `json:"results"`
}

// ParseTavily decodes a Tavily search response body.
func ParseTavily(body []byte) ([]search.Result, error) {
	var r tavilyResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, &Error{Provider: "tavily", Kind: ErrBadResponse, Cause: err}
	}
	out := make([]search.Result, 0, len(r.Results))
	for _, x := range r.Results {
		if x.URL == "" {
			continue
		}
		res := search.Result{Title: x.Title, URL: x.URL, Snippet: x.Content, Score: x.Score,
			Date: parseDate(x.PublishedDate), Source: "tavily"}
		if x.RawContent != nil {
			res.Content = *x.RawContent
		}
		out = append(out, res)
	}
	return out, nil
}

// tavilyCountries maps ISO 3166 alpha-2 codes to the lowercase English
// names Tavily's country parameter takes. Codes not listed are not sent.
var tavilyCountries = map[string]string{
	"AE": "united arab emirates", "AR": "argentina", "AT": "austria", "AU": "australia",
	"BD": "bangladesh", "BE": "belgium", "BG": "bulgaria", "BR": "brazil", "CA": "canada",
	"CH": "switzerland", "CL": "chile", "CN": "china", "CO": "colombia", "CZ": "czech republic",
	"DE": "germany", "DK": "denmark", "EG": "egypt", "ES": "spain", "FI": "finland",
	"FR": "france", "GB": "united kingdom", "GR": "greece", "HR": "croatia", "HU": "hungary",
	"ID": "indonesia", "IE": "ireland", "IL": "israel", "IN": "india", "IT": "italy",
	"JP": "japan", "KE": "kenya", "KR": "south korea", "MA": "morocco", "MX": "mexico",
	"MY": "malaysia", "NG": "nigeria", "NL": "netherlands", "NO": "norway", "NZ": "new zealand",
	"PE": "peru", "PH": "philippines", "PK": "pakistan", "PL": "poland", "PT": "portugal",
	"RO": "romania", "RS": "serbia", "RU": "russia", "SA": "saudi arabia", "SE": "sweden",
	"SG": "singapore", "SK": "slovakia", "TH": "thailand", "TR": "turkey", "TW": "taiwan",
	"UA": "ukraine", "US": "united states", "VN": "vietnam", "ZA": "south africa",
}
