package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tollgate-dev/tollgate/internal/gate"
	"github.com/tollgate-dev/tollgate/internal/grounding"
	"github.com/tollgate-dev/tollgate/internal/httpjson"
	"github.com/tollgate-dev/tollgate/internal/metering"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/search"
	"github.com/tollgate-dev/tollgate/internal/search/multi"
)

// Limits of Perplexity's Search API.
const (
	maxSearchQueries     = 5
	defaultSearchResults = 10
	maxSearchResults     = 20
	defaultSearchTokens  = 10000
	defaultPageTokens    = 4096
	maxSearchTokens      = 1_000_000
	maxQueryChars        = 2000
	// charsPerToken turns token budgets into snippet lengths; English text
	// averages about four characters a token.
	charsPerToken = 4
)

// SearchDeps is what POST /search needs.
type SearchDeps struct {
	Auth KeyAuthenticator
	// Search answers the queries: the local index, a web provider, or a
	// multi.Multi over several. Nil answers 503.
	Search  search.Provider
	Log     *slog.Logger
	MaxBody int64
	Now     func() time.Time
	// Gate, when set, limits and bills searches (model "search" in the
	// price book: $5 per 1K requests by default).
	Gate *gate.Gate
}

// RegisterSearch adds Perplexity's Search API (POST /search and
// POST /v1/search) to mux, behind key authentication.
func RegisterSearch(mux *http.ServeMux, deps SearchDeps) {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	h := (&Deps{Auth: deps.Auth, Log: deps.Log}).RequireKey(searchHandler(deps))
	mux.Handle("POST /search", h)
	mux.Handle("POST /v1/search", h)
}

// searchRequest is Perplexity's ApiSearchRequest. Pointers tell absent
// fields from zero ones.
type searchRequest struct {
	Query                   json.RawMessage `json:"query"`
	MaxResults              *int            `json:"max_results"`
	MaxTokens               *int            `json:"max_tokens"`
	MaxTokensPerPage        *int            `json:"max_tokens_per_page"`
	SearchContextSize       *string         `json:"search_context_size"`
	SearchType              *string         `json:"search_type"`
	SearchMode              *string         `json:"search_mode"`
	Country                 *string         `json:"country"`
	SearchDomainFilter      []string        `json:"search_domain_filter"`
	SearchLanguageFilter    []string        `json:"search_language_filter"`
	SearchRecencyFilter     *string         `json:"search_recency_filter"`
	SearchAfterDateFilter   *string         `json:"search_after_date_filter"`
	SearchBeforeDateFilter  *string         `json:"search_before_date_filter"`
	LastUpdatedAfterFilter  *string         `json:"last_updated_after_filter"`
	LastUpdatedBeforeFilter *string         `json:"last_updated_before_filter"`
	DisplayServerTime       *bool           `json:"display_server_time"`
}

// searchResultJSON omits absent dates: MCP clients reject "date": null.
type searchResultJSON struct {
	Title       string `json:"title"`
	URL         string `json:"url"`
	Snippet     string `json:"snippet"`
	Date        string `json:"date,omitempty"`
	LastUpdated string `json:"last_updated,omitempty"`
}

type searchResponse struct {
	ID         string             `json:"id"`
	Results    []searchResultJSON `json:"results"`
	ServerTime string             `json:"server_time"`
}

// searchPlan is a validated request.
type searchPlan struct {
	queries                []string
	max                    int
	pageTokens, totalToken int
	filters                search.Filters
	country                string
}

func searchHandler(deps SearchDeps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if deps.Search == nil {
			httpjson.Error(w, r, deps.Log, platform.Errorf(platform.KindUnavailable, "search is not configured on this server"))
			return
		}
		var req searchRequest
		if err := httpjson.Decode(w, r, &req, httpjson.DecodeOptions{MaxBytes: deps.MaxBody}); err != nil {
			httpjson.Error(w, r, deps.Log, err)
			return
		}
		now := deps.Now().UTC()
		plan, err := planSearch(req, now)
		if err != nil {
			httpjson.Error(w, r, deps.Log, err)
			return
		}
		// Billed as Perplexity bills it: one request, however many queries;
		// refused, invalid and failed searches are free.
		k := KeyFrom(r.Context())
		rec := metering.Record{RequestID: httpjson.RequestID(r.Context()), OrgID: k.OrgID, GroupID: k.GroupID, KeyID: k.ID,
			Endpoint: "search", Model: "search", ServedBy: "search", Deployment: deps.Search.Name(),
			SearchQueries: len(plan.queries), StartedAt: now, Attempts: 1}
		var ticket *gate.Ticket
		if deps.Gate != nil {
			if ticket, err = deps.Gate.Admit(r.Context(), gate.Admission{RequestID: rec.RequestID, OrgID: k.OrgID,
				GroupID: k.GroupID, KeyID: k.ID, Model: "search"}); err != nil {
				httpjson.Error(w, r, deps.Log, err)
				return
			}
			for h, v := range ticket.Headers() {
				w.Header()[h] = v
			}
		}
		results, err := runSearch(r.Context(), deps.Search, plan)
		rec.Latency = deps.Now().Sub(now)
		rec.Status, rec.Outcome = http.StatusOK, metering.OutcomeOK
		if err != nil {
			rec.Status, rec.Outcome, rec.Error = httpjson.Status(err), metering.OutcomeError, platform.ErrorMessage(err)
		}
		if ticket != nil {
			if serr := ticket.Settle(context.WithoutCancel(r.Context()), &rec); serr != nil && err == nil {
				err = serr // not recorded: the results are withheld, unbilled
			}
		}
		if err != nil {
			httpjson.Error(w, r, deps.Log, err)
			return
		}
		httpjson.Encode(w, http.StatusOK, searchResponse{ID: newSearchID(), Results: results,
			ServerTime: now.Format(time.RFC3339)})
	})
}

// runSearch runs each query in order and concatenates their results,
// dropping pages an earlier query already returned, then trims snippets to
// the token budgets.
func runSearch(ctx context.Context, p search.Provider, plan searchPlan) ([]searchResultJSON, error) {
	var all []search.Result
	seen := map[string]bool{}
	for _, q := range plan.queries {
		rs, err := p.Search(ctx, search.Query{Text: q, Max: plan.max, Filters: plan.filters, Country: plan.country})
		if err != nil {
			if platform.ErrorKind(err) == platform.KindInternal {
				return nil, &platform.Error{Kind: platform.KindUnavailable,
					Message: "search failed; try again later", Err: err}
			}
			return nil, err
		}
		// Providers apply what filters they can; this applies the rest.
		rs = multi.Apply(rs, plan.filters)
		if len(rs) > plan.max {
			rs = rs[:plan.max]
		}
		for _, r := range rs {
			key := multi.Canonical(r.URL)
			if seen[key] {
				continue
			}
			seen[key] = true
			all = append(all, r)
		}
	}
	out := make([]searchResultJSON, 0, len(all))
	perPage := plan.pageTokens
	if len(all) > 0 {
		perPage = min(perPage, max(plan.totalToken/len(all), 1))
	}
	for _, r := range all {
		text := r.Content
		if strings.TrimSpace(text) == "" {
			text = r.Snippet
		}
		j := searchResultJSON{Title: r.Title, URL: r.URL, Snippet: truncateText(text, perPage*charsPerToken)}
		if r.Date != nil {
			j.Date = r.Date.UTC().Format("2006-01-02")
		}
		if r.LastUpdated != nil {
			j.LastUpdated = r.LastUpdated.UTC().Format("2006-01-02")
		}
		out = append(out, j)
	}
	return out, nil
}

// truncateText cuts s to at most n bytes at a word boundary, marking the cut.
func truncateText(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	cut := s[:n]
	for !utf8.ValidString(cut) {
		cut = cut[:len(cut)-1]
	}
	if i := strings.LastIndexAny(cut, " \n\t"); i > n/2 {
		cut = cut[:i]
	}
	return strings.TrimSpace(cut) + "…"
}

var countryCode = regexp.MustCompile(`^[A-Za-z]{2}$`)

// planSearch validates req against Perplexity's documented limits; every
// violation is a 400 naming the field.
func planSearch(req searchRequest, now time.Time) (searchPlan, error) {
	p := searchPlan{max: defaultSearchResults, pageTokens: defaultPageTokens, totalToken: defaultSearchTokens}
	var err error
	if p.queries, err = parseQueries(req.Query); err != nil {
		return p, err
	}
	if req.MaxResults != nil {
		if *req.MaxResults < 1 || *req.MaxResults > maxSearchResults {
			return p, platform.Invalid("max_results", "max_results must be from 1 to %d", maxSearchResults)
		}
		p.max = *req.MaxResults
	}
	for _, t := range []struct {
		name string
		v    *int
		dst  *int
	}{{"max_tokens", req.MaxTokens, &p.totalToken}, {"max_tokens_per_page", req.MaxTokensPerPage, &p.pageTokens}} {
		if t.v == nil {
			continue
		}
		if *t.v < 1 || *t.v > maxSearchTokens {
			return p, platform.Invalid(t.name, "%s must be from 1 to %d", t.name, maxSearchTokens)
		}
		*t.dst = *t.v
	}
	if err := oneOf("search_context_size", req.SearchContextSize, "low", "medium", "high"); err != nil {
		return p, err
	}
	if req.SearchType != nil && *req.SearchType == "people" {
		return p, platform.Invalid("search_type", "search_type \"people\" is not supported by this server; use \"web\"")
	}
	if err := oneOf("search_type", req.SearchType, "web"); err != nil {
		return p, err
	}
	if req.Country != nil && *req.Country != "" {
		if !countryCode.MatchString(*req.Country) {
			return p, platform.Invalid("country", "country must be an ISO 3166-1 alpha-2 code such as \"US\"")
		}
		p.country = strings.ToUpper(*req.Country)
	}
	// The filters are the chat completions' own, parsed by the same code.
	o, err := grounding.ParseOptions(req.filterOptions(), now)
	if err != nil {
		return p, err
	}
	p.filters = o.Filters
	return p, nil
}

// filterOptions hands the request's search filters to
// grounding.ParseOptions under their wire names.
func (r searchRequest) filterOptions() map[string]json.RawMessage {
	m := map[string]json.RawMessage{}
	put := func(name string, v any, present bool) {
		if present {
			m[name], _ = json.Marshal(v)
		}
	}
	put("search_mode", r.SearchMode, r.SearchMode != nil)
	put("search_domain_filter", r.SearchDomainFilter, r.SearchDomainFilter != nil)
	put("search_language_filter", r.SearchLanguageFilter, r.SearchLanguageFilter != nil)
	put("search_recency_filter", r.SearchRecencyFilter, r.SearchRecencyFilter != nil && *r.SearchRecencyFilter != "")
	put("search_after_date_filter", r.SearchAfterDateFilter, r.SearchAfterDateFilter != nil && *r.SearchAfterDateFilter != "")
	put("search_before_date_filter", r.SearchBeforeDateFilter, r.SearchBeforeDateFilter != nil && *r.SearchBeforeDateFilter != "")
	put("last_updated_after_filter", r.LastUpdatedAfterFilter, r.LastUpdatedAfterFilter != nil && *r.LastUpdatedAfterFilter != "")
	put("last_updated_before_filter", r.LastUpdatedBeforeFilter, r.LastUpdatedBeforeFilter != nil && *r.LastUpdatedBeforeFilter != "")
	return m
}

func parseQueries(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, platform.Invalid("query", "query is required: a string or an array of up to %d strings", maxSearchQueries)
	}
	var qs []string
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		qs = []string{one}
	} else if err := json.Unmarshal(raw, &qs); err != nil {
		return nil, platform.Invalid("query", "query must be a string or an array of strings")
	}
	if len(qs) == 0 {
		return nil, platform.Invalid("query", "query must not be an empty array")
	}
	if len(qs) > maxSearchQueries {
		return nil, platform.Invalid("query", "query takes at most %d queries, not %d", maxSearchQueries, len(qs))
	}
	for i, q := range qs {
		qs[i] = strings.TrimSpace(q)
		if qs[i] == "" {
			return nil, platform.Invalid("query", "query must not be empty")
		}
		if utf8.RuneCountInString(qs[i]) > maxQueryChars {
			return nil, platform.Invalid("query", "a query may be at most %d characters", maxQueryChars)
		}
	}
	return qs, nil
}

func oneOf(name string, v *string, allowed ...string) error {
	if v == nil {
		return nil
	}
	for _, a := range allowed {
		if *v == a {
			return nil
		}
	}
	return platform.Invalid(name, "%s must be one of %s, not %q", name, strings.Join(allowed, ", "), *v)
}

func newSearchID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b[:4]) + "-" + hex.EncodeToString(b[4:6]) + "-" + hex.EncodeToString(b[6:8]) +
		"-" + hex.EncodeToString(b[8:10]) + "-" + hex.EncodeToString(b[10:])
}
