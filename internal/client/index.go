package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// IndexDocument is one document of the server's local search index.
type IndexDocument struct {
	ID        string     `json:"id"`
	Object    string     `json:"object"`
	URL       string     `json:"url"`
	Title     string     `json:"title"`
	Domain    string     `json:"domain,omitempty"`
	Published *time.Time `json:"published,omitempty"`
	Updated   *time.Time `json:"updated,omitempty"`
	Language  string     `json:"language,omitempty"`
	Passages  int        `json:"passages"`
	Hash      string     `json:"hash"`
}

// IndexPage is one page of IndexDocuments.
type IndexPage struct {
	Data       []IndexDocument `json:"data"`
	HasMore    bool            `json:"has_more"`
	NextCursor string          `json:"next_cursor"`
	Total      int             `json:"total"`
}

// IndexDocuments lists documents in URL order; cursor is "" for the first
// page, then the previous page's NextCursor. limit 0 takes the server's
// default.
func (c *Client) IndexDocuments(ctx context.Context, cursor string, limit int) (*IndexPage, error) {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/index/documents"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var p IndexPage
	if err := c.do(ctx, http.MethodGet, path, nil, &p); err != nil {
		return nil, err
	}
	if p.Data == nil {
		p.Data = []IndexDocument{}
	}
	return &p, nil
}

// IndexAdd is a document to add: a URL alone (the server fetches it), or a
// URL with the text to store under it.
type IndexAdd struct {
	URL       string     `json:"url"`
	Title     string     `json:"title,omitempty"`
	Text      string     `json:"text,omitempty"`
	Published *time.Time `json:"published,omitempty"`
	Language  string     `json:"language,omitempty"`
}

// IndexResult says what adding a document did: Status is added, updated
// or unchanged.
type IndexResult struct {
	ID     string `json:"id"`
	Object string `json:"object"`
	URL    string `json:"url"`
	Title  string `json:"title"`
	Status string `json:"status"`
}

// AddIndexDocument adds or updates one document.
func (c *Client) AddIndexDocument(ctx context.Context, a IndexAdd) (*IndexResult, error) {
	var r IndexResult
	if err := c.do(ctx, http.MethodPost, "/index/documents", a, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// DeleteIndexDocument removes a document by ID.
func (c *Client) DeleteIndexDocument(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/index/documents/"+pathID(id), nil, nil)
}

// IndexStats is the size of the index.
type IndexStats struct {
	Object    string `json:"object"`
	Documents int    `json:"documents"`
	Passages  int    `json:"passages"`
	DiskBytes int64  `json:"disk_bytes"`
}

// IndexStats returns the size of the index.
func (c *Client) IndexStats(ctx context.Context) (*IndexStats, error) {
	var s IndexStats
	if err := c.do(ctx, http.MethodGet, "/index/stats", nil, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// IndexHit is one search result from the index.
type IndexHit struct {
	Title       string     `json:"title"`
	URL         string     `json:"url"`
	Snippet     string     `json:"snippet"`
	Date        *time.Time `json:"date,omitempty"`
	LastUpdated *time.Time `json:"last_updated,omitempty"`
	Score       float64    `json:"score"`
}

// SearchIndex searches the index; limit 0 takes the server's default.
func (c *Client) SearchIndex(ctx context.Context, query string, limit int) ([]IndexHit, error) {
	q := url.Values{"q": {query}}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var l list[IndexHit]
	if err := c.do(ctx, http.MethodGet, "/index/search?"+q.Encode(), nil, &l); err != nil {
		return nil, err
	}
	if l.Data == nil {
		l.Data = []IndexHit{}
	}
	return l.Data, nil
}
