// Package web adapts the web search APIs Tollgate can ground answers on
// (SearXNG's JSON API, Brave Web Search and Tavily) to search.Provider.
// Each adapter sends what it can of search.Filters natively; the caller
// applies the rest to the results (multi.Apply). Failures come back as
// *Error, classified by sentinel (ErrBadKey, ErrRateLimited, …) and worded
// so an operator knows which provider failed and what to do about it.
package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The kinds of provider failure, for errors.Is on an *Error.
var (
	ErrBadKey         = errors.New("API key rejected")
	ErrForbidden      = errors.New("access forbidden")
	ErrQuotaExceeded  = errors.New("usage limit exceeded")
	ErrRateLimited    = errors.New("rate limited")
	ErrFormatDisabled = errors.New("JSON format disabled")
	ErrBadRequest     = errors.New("request rejected")
	ErrUnavailable    = errors.New("provider unavailable")
	ErrBadResponse    = errors.New("unreadable response")
)

// Error is a failed call to a search provider.
type Error struct {
	Provider string // "searxng", "brave", "tavily"
	Status   int    // the provider's HTTP status; 0 when no response came
	Kind     error  // one of the Err… sentinels
	// Code and Message are the provider's own error code and text, if any.
	Code    string
	Message string
	// Hint says what the operator can do about it.
	Hint string
	// RetryAfter is how long the provider asked us to wait, if it said.
	RetryAfter time.Duration
	// Cause is the underlying transport or decoding error, if any.
	Cause error
}

// Error says which provider failed, how, and what to do about it.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Provider)
	b.WriteString(": ")
	b.WriteString(e.Kind.Error())
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d", e.Status)
		if e.Code != "" {
			b.WriteString(" " + e.Code)
		}
		b.WriteString(")")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Cause != nil {
		b.WriteString(": " + e.Cause.Error())
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, "; retry after %s", e.RetryAfter)
	}
	if e.Hint != "" {
		b.WriteString("; " + e.Hint)
	}
	return b.String()
}

// Unwrap lets errors.Is see both the kind and the cause (so a deadline
// stays context.DeadlineExceeded).
func (e *Error) Unwrap() []error {
	errs := []error{e.Kind}
	if e.Cause != nil {
		errs = append(errs, e.Cause)
	}
	return errs
}

// Size limits on what we read from a provider: a results page is a few
// hundred KiB at most; an error body only needs its message.
const (
	maxBody      = 8 << 20
	maxErrorBody = 64 << 10
)

const userAgent = "Tollgate (+https://github.com/tollgate-dev/tollgate)"

// Option configures an adapter.
type Option func(*config)

type config struct {
	baseURL string
	client  *http.Client
	now     func() time.Time
}

// WithBaseURL points the adapter at another endpoint (a fake in tests, a
// proxy in production).
func WithBaseURL(u string) Option { return func(c *config) { c.baseURL = u } }

// WithHTTPClient sets the HTTP client; the default has a 30 s timeout.
func WithHTTPClient(h *http.Client) Option { return func(c *config) { c.client = h } }

// WithNow sets the clock used to turn date bounds into relative ranges.
func WithNow(now func() time.Time) Option { return func(c *config) { c.now = now } }

func newConfig(baseURL string, opts []Option) config {
	c := config{baseURL: baseURL}
	for _, o := range opts {
		o(&c)
	}
	if c.client == nil {
		c.client = &http.Client{Timeout: 30 * time.Second}
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.baseURL = strings.TrimRight(c.baseURL, "/")
	return c
}

// do sends req and returns the status, headers and body (read with a size
// limit), or an *Error for transport failures and oversized bodies.
func do(ctx context.Context, provider string, c *http.Client, req *http.Request) (int, http.Header, []byte, error) {
	req.Header.Set("User-Agent", userAgent)
	resp, err := c.Do(req.WithContext(ctx))
	if err != nil {
		// Drop the *url.Error's URL: it holds the user's query.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = fmt.Errorf("%s %s: %w", ue.Op, req.URL.Host, ue.Err)
		}
		return 0, nil, nil, &Error{Provider: provider, Kind: ErrUnavailable, Cause: err,
			Hint: "check that the endpoint is reachable"}
	}
	defer resp.Body.Close()
	limit := int64(maxBody)
	if resp.StatusCode >= 300 {
		limit = maxErrorBody
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return 0, nil, nil, &Error{Provider: provider, Status: resp.StatusCode, Kind: ErrUnavailable, Cause: err}
	}
	if int64(len(body)) > limit {
		if resp.StatusCode < 300 {
			return 0, nil, nil, &Error{Provider: provider, Status: resp.StatusCode, Kind: ErrBadResponse,
				Message: fmt.Sprintf("response larger than %d bytes", limit)}
		}
		body = body[:limit]
	}
	return resp.StatusCode, resp.Header, body, nil
}

// genericError classifies a status no adapter-specific rule matched.
func genericError(provider string, status int, h http.Header, msg string, now time.Time) *Error {
	e := &Error{Provider: provider, Status: status, Message: msg}
	switch {
	case status == http.StatusUnauthorized:
		e.Kind, e.Hint = ErrBadKey, "check the configured API key"
	case status == http.StatusForbidden:
		e.Kind, e.Hint = ErrForbidden, "check the API key's plan and permissions"
	case status == http.StatusTooManyRequests:
		e.Kind, e.RetryAfter = ErrRateLimited, retryAfter(h, now)
		e.Hint = "slow down or raise the plan's rate limit"
	case status >= 500:
		e.Kind, e.Hint = ErrUnavailable, "the provider failed; try again later"
	case status >= 400:
		e.Kind = ErrBadRequest
	default:
		e.Kind = ErrBadResponse
		e.Message = strings.TrimSpace(fmt.Sprintf("unexpected HTTP status %d %s", status, msg))
	}
	return e
}

// retryAfter reads Retry-After (seconds or an HTTP date); 0 when absent.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now).Round(time.Second)
	}
	return 0
}

// clip shortens a provider message for an error string.
func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 300 {
		s = strings.ToValidUTF8(s[:300], "") + "…"
	}
	return strings.TrimSuffix(s, ".")
}

// parseDate reads the date formats the providers use: ISO 8601 with or
// without a zone (SearXNG, Brave's page_age), a bare date, and RFC 1123
// (Tavily's news published_date). A date without a zone is taken as UTC.
func parseDate(s string) *time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	for _, layout := range []string{
		time.RFC3339Nano,
		"2006-01-02T15:04:05.999999999",
		"2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999",
		"2006-01-02",
		time.RFC1123,
		time.RFC1123Z,
		"Mon, 2 Jan 2006 15:04:05 MST",
		"Mon, 2 Jan 2006 15:04:05 -0700",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Year() < 1 || t.Year() > 9999 {
				return nil
			}
			t = t.UTC()
			return &t
		}
	}
	return nil
}

// span maps a lower date bound (with no upper bound) to the smallest of
// the relative ranges providers know that still covers it: "day", "week",
// "month" or "year"; "" when none does. A wider range fetches a superset,
// which the caller's Apply then trims to the exact bound.
func span(after, before, now time.Time) string {
	if after.IsZero() || !before.IsZero() {
		return ""
	}
	age := now.Sub(after)
	const slack = time.Minute // the bound was computed a moment before now
	switch {
	case age <= 24*time.Hour+slack:
		return "day"
	case age <= 7*24*time.Hour+slack:
		return "week"
	case age <= 31*24*time.Hour+slack:
		return "month"
	case age <= 366*24*time.Hour+slack:
		return "year"
	}
	return ""
}

// oneLanguage returns the ISO 639-1 code when exactly one is wanted:
// providers take a single language, so several are left to Apply.
func oneLanguage(langs []string) string {
	if len(langs) != 1 {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(langs[0]))
}
