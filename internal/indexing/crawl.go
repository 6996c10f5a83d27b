package indexing

import (
	"context"
	"time"

	"github.com/tollgate-dev/tollgate/internal/crawl"
	"github.com/tollgate-dev/tollgate/internal/extract"
	"github.com/tollgate-dev/tollgate/internal/fetch"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// CrawlOptions bound a crawl; zero values get crawl's defaults (depth 0,
// 100 pages, one second between requests).
type CrawlOptions struct {
	Depth    int
	MaxPages int
	Delay    time.Duration
}

// CrawlReport sums up a crawl.
type CrawlReport struct {
	Start   string         `json:"start"`
	Stats   crawl.Stats    `json:"-"`
	Counts  map[string]int `json:"counts"`
	Results []Result       `json:"results"`
}

// Crawl walks the site at start (same host, robots.txt obeyed, politely
// spaced) and puts every HTML page it reaches into the index, reporting
// each page through progress (which may be nil). Pages that fail do not stop
// the crawl; a start page that cannot be fetched, a cancelled ctx or an
// index that cannot be written does.
func (s *Service) Crawl(ctx context.Context, start string, o CrawlOptions, progress Progress) (CrawlReport, error) {
	rep := CrawlReport{Start: start, Counts: map[string]int{}}
	report := func(r Result) {
		rep.Results = append(rep.Results, r)
		rep.Counts[r.Status]++
		if progress != nil {
			progress(r)
		}
	}
	opts := crawl.Options{
		Fetcher:  s.fetcher,
		Depth:    o.Depth,
		MaxPages: o.MaxPages,
		Delay:    o.Delay,
		Progress: func(p crawl.Progress) {
			// Visited pages were reported by visit, with their status.
			if p.Err != nil {
				report(failed(p.URL, p.URL, p.Err))
			}
		},
	}
	st, err := crawl.Crawl(ctx, start, opts, func(page *fetch.Page, doc extract.Doc) error {
		r, err := s.put(ctx, page.URL, fromExtract(page.URL, doc, page.LastModified))
		report(r)
		if err != nil && platform.ErrorKind(err) != platform.KindInvalid {
			return err // the index itself failed: stop
		}
		return nil
	})
	rep.Stats = st
	return rep, err
}
