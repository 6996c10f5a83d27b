// Package client is a small Go client for Tollgate's management API
// (/api/v1): the organization, API groups and API keys, usage, billing,
// spend caps, rate limits and prices. The CLI's commands use it; so can
// scripts and other programs.
//
// Every method takes a context first and returns typed values that mirror
// the API's JSON. Errors the server reports come back as *APIError; errors
// reaching the server say which address was tried and what to check.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultTimeout bounds each request when New is given no *http.Client.
const DefaultTimeout = 30 * time.Second

// maxResponse bounds how much of a response body is read.
const maxResponse = 16 << 20

// Client calls one Tollgate server's management API with one admin token.
// It is safe for concurrent use.
type Client struct {
	base  string // scheme://host[/prefix], no trailing slash
	err   error  // a malformed base URL, reported by every call
	token string
	hc    *http.Client
}

// New returns a client for the Tollgate server at baseURL, which may carry
// a path prefix (https://example.com/tollgate/) and may omit the scheme
// (127.0.0.1:8080 means http://127.0.0.1:8080). token is an admin token
// (tgadm-…). A nil hc means a client with DefaultTimeout that does not
// follow redirects, so the token is never re-sent elsewhere.
func New(baseURL, token string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{
			Timeout: DefaultTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	base, err := normalizeBase(baseURL)
	return &Client{base: base, err: err, token: token, hc: hc}
}

// BaseURL returns the server address requests go to, normalized.
func (c *Client) BaseURL() string { return c.base }

// normalizeBase checks baseURL and strips what would double up when paths
// are appended: trailing slashes and an /api/v1 suffix.
func normalizeBase(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", errors.New("no Tollgate URL given; want http://host:port, e.g. http://127.0.0.1:8080")
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return raw, fmt.Errorf("invalid Tollgate URL %q: %w; want http://host:port[/prefix]", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return raw, fmt.Errorf("invalid Tollgate URL %q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return raw, fmt.Errorf("invalid Tollgate URL %q: no host; want http://host:port[/prefix]", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return raw, fmt.Errorf("invalid Tollgate URL %q: remove the query or fragment", raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.Path = strings.TrimSuffix(u.Path, "/api/v1")
	u.RawPath = ""
	return strings.TrimRight(u.String(), "/"), nil
}

// Org is the organization the admin token belongs to.
type Org struct {
	ID        string    `json:"id"`
	Object    string    `json:"object"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Org returns the organization of the client's admin token; it is also a
// cheap check that the URL and token work.
func (c *Client) Org(ctx context.Context) (*Org, error) {
	var o Org
	if err := c.do(ctx, http.MethodGet, "/org", nil, &o); err != nil {
		return nil, err
	}
	return &o, nil
}

// list is the API's list envelope.
type list[T any] struct {
	Object     string `json:"object"`
	Data       []T    `json:"data"`
	HasMore    bool   `json:"has_more"`
	NextCursor string `json:"next_cursor"`
}

// pathID escapes an ID for use as one path segment.
func pathID(id string) string { return url.PathEscape(id) }

// do sends one request to /api/v1+path with body (if not nil) as JSON and
// decodes a successful response into out (if not nil).
func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	return c.doWith(ctx, method, path, nil, body, out)
}

// doWith is do with extra request headers.
func (c *Client) doWith(ctx context.Context, method, path string, hdr http.Header, body, out any) error {
	resp, data, err := c.roundTrip(ctx, method, path, hdr, body)
	if err != nil {
		return err
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	target := resp.Request.URL.Redacted()
	if !isJSON(resp.Header.Get("Content-Type")) {
		return fmt.Errorf("%s %s answered HTTP %d with %s, not JSON: %s (is %s the address of a Tollgate server?)",
			method, target, resp.StatusCode, contentType(resp), snippet(data), c.base)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode response of %s %s: %w: %s", method, target, err, snippet(data))
	}
	return nil
}

// getCSV fetches path, which answers text/csv, and returns the body as is.
func (c *Client) getCSV(ctx context.Context, path string) ([]byte, error) {
	hdr := http.Header{"Accept": {"text/csv"}}
	resp, data, err := c.roundTrip(ctx, http.MethodGet, path, hdr, nil)
	if err != nil {
		return nil, err
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "text/csv" {
		return nil, fmt.Errorf("GET %s answered HTTP %d with %s, not CSV: %s (is %s the address of a Tollgate server?)",
			resp.Request.URL.Redacted(), resp.StatusCode, contentType(resp), snippet(data), c.base)
	}
	return data, nil
}

// roundTrip sends one request to /api/v1+path with body (if not nil) as
// JSON and returns the response and its body; a status of 300 or more is
// an error.
func (c *Client) roundTrip(ctx context.Context, method, path string, hdr http.Header, body any) (*http.Response, []byte, error) {
	if c.err != nil {
		return nil, nil, c.err
	}
	target := c.base + "/api/v1" + path
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, nil, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, nil, fmt.Errorf("build request for %s: %w", target, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "tollgate-client")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range hdr {
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, c.transportError(ctx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, nil, fmt.Errorf("read response from %s %s: %w", method, target, err)
	}
	if resp.StatusCode >= 300 {
		return nil, nil, responseError(resp, data)
	}
	return resp, data, nil
}

// transportError explains a request that got no response.
func (c *Client) transportError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("request to Tollgate at %s: %w", c.base, ctxErr)
	}
	inner := err
	var ue *url.Error
	if errors.As(err, &ue) {
		inner = ue.Err
		if ue.Timeout() {
			return fmt.Errorf("no answer in time from Tollgate at %s: %w (is the server overloaded, or TOLLGATE_URL pointing at the wrong host?)", c.base, inner)
		}
	}
	return fmt.Errorf("cannot reach Tollgate at %s: %w (is `tollgate serve` running? set TOLLGATE_URL)", c.base, inner)
}

func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

func contentType(resp *http.Response) string {
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		return ct
	}
	return "no content type"
}

// snippet returns the start of a body as one printable line.
func snippet(b []byte) string {
	const max = 200
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "(empty body)"
	}
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max]) + "…"
	}
	return fmt.Sprintf("%q", s)
}
