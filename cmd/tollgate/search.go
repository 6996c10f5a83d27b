package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/tollgate-dev/tollgate/docs"
	"github.com/tollgate-dev/tollgate/internal/config"
	"github.com/tollgate-dev/tollgate/internal/fetch"
	"github.com/tollgate-dev/tollgate/internal/grounding"
	"github.com/tollgate-dev/tollgate/internal/search"
	"github.com/tollgate-dev/tollgate/internal/search/imagesize"
	"github.com/tollgate-dev/tollgate/internal/search/local"
	"github.com/tollgate-dev/tollgate/internal/search/multi"
	"github.com/tollgate-dev/tollgate/internal/search/web"
)

// searchStack is the wired search: the local index (nil when off), the
// provider /search answers from (local and web, fused), and the engine
// that grounds chat answers.
type searchStack struct {
	index    *local.Index
	provider search.Provider
	engine   *grounding.Engine
}

func (s *searchStack) close() {
	if s != nil && s.index != nil {
		_ = s.index.Close()
	}
}

// indexDir is where the local search index lives.
func indexDir(c config.Config) string { return filepath.Join(c.DataDir, "index") }

// newSearch opens the local index (seeding an empty one with Tollgate's
// own documentation, so a fresh install answers offline) and the
// configured web providers.
func newSearch(ctx context.Context, c config.Config, log *slog.Logger) (*searchStack, error) {
	s := &searchStack{}
	var all, webs []search.Provider
	if c.Search.LocalIndex {
		ix, err := local.Open(indexDir(c))
		if err != nil {
			return nil, fmt.Errorf("open the local search index in %s: %w", indexDir(c), err)
		}
		n, err := local.SeedDocs(ctx, ix, docs.FS)
		if err != nil {
			ix.Close()
			return nil, fmt.Errorf("seed the local search index: %w", err)
		}
		if n > 0 {
			log.Info("indexed Tollgate's documentation into the local search index", "documents", n)
		}
		s.index = ix
		all = append(all, ix)
	}
	for _, p := range c.Search.Providers {
		var sp search.Provider
		switch p.Name {
		case "searxng":
			sp = web.NewSearXNG(p.BaseURL, nil)
		case "brave":
			opts := []web.Option{}
			if p.BaseURL != "" {
				opts = append(opts, web.WithBaseURL(p.BaseURL))
			}
			sp = web.NewBrave(p.APIKey, opts...)
		case "tavily":
			opts := []web.Option{}
			if p.BaseURL != "" {
				opts = append(opts, web.WithBaseURL(p.BaseURL))
			}
			sp = web.NewTavily(p.APIKey, opts...)
		}
		webs = append(webs, sp)
		all = append(all, sp)
	}
	mo := multi.Options{Timeout: c.Search.Timeout, CacheTTL: c.Search.CacheTTL, Logger: log}
	if c.Search.FetchPages && len(webs) > 0 {
		// Images whose provider gave no size (Tavily's, some of Brave's)
		// have it read from their first bytes, with the same politeness as
		// page fetches; without it they are left out of images[].
		mo.Sizer = imagesize.New(imagesize.Options{})
	}
	switch len(all) {
	case 0:
	case 1:
		s.provider = all[0]
	default:
		s.provider = multi.New(all, mo)
	}
	var webProvider search.Provider
	if len(webs) > 0 {
		webProvider = multi.New(webs, mo)
	}
	var passages grounding.PassageSource
	if s.index != nil {
		passages = s.index
	}
	var fetcher *fetch.Fetcher
	if c.Search.FetchPages && len(webs) > 0 {
		fetcher = fetch.New(fetch.Options{})
	}
	if webProvider != nil || passages != nil {
		s.engine = grounding.New(webProvider, passages, fetcher, log)
	}
	return s, nil
}
