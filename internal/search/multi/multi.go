// Package multi searches several providers at once: it fans a query out in
// parallel with a per-provider timeout, merges the answers by reciprocal
// rank fusion, deduplicates them by canonical URL, applies the filters no
// provider could (Apply), and caches the merged results for a while. It
// does the same for image searches (Images), and learns the size of images
// that came without one.
package multi

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"time"

	"github.com/tollgate-dev/tollgate/internal/search"
)

// rrfK is reciprocal rank fusion's constant: a result at rank r in one
// provider's list scores 1/(rrfK+r). 60 is the value from Cormack et al.
// that everyone uses; it keeps one provider's top hit from drowning out
// agreement between several.
const rrfK = 60

// Options configure a Multi. Zero values get the defaults noted.
type Options struct {
	// Timeout bounds each provider's search (default 5 s); a provider that
	// takes longer is skipped.
	Timeout time.Duration
	// CacheTTL is how long merged results are reused; 0 disables the cache.
	CacheTTL time.Duration
	// CacheSize bounds the cache's entries (default 1024), least recently
	// used first out.
	CacheSize int
	// Logger, if set, records providers that failed or timed out.
	Logger *slog.Logger
	// Now is the cache's clock (default time.Now).
	Now func() time.Time
	// Sizer, if set, learns the size of images a provider returned without
	// one (and the format, when a format filter needs it); without it such
	// images are dropped.
	Sizer Sizer
}

// Multi is a search.Provider over several providers.
type Multi struct {
	providers []search.Provider
	opts      Options
	cache     *cache[search.Result]
	images    *cache[search.Image]
}

var _ search.Provider = (*Multi)(nil)

// New returns a Multi over providers, searched in parallel.
func New(providers []search.Provider, opts Options) *Multi {
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = 1024
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m := &Multi{providers: append([]search.Provider(nil), providers...), opts: opts}
	if opts.CacheTTL > 0 {
		m.cache = newCache[search.Result](opts.CacheSize, opts.CacheTTL, opts.Now)
		m.images = newCache[search.Image](opts.CacheSize, opts.CacheTTL, opts.Now)
	}
	return m
}

// Name returns "multi".
func (m *Multi) Name() string { return "multi" }

// Stats counts cache use.
type Stats struct {
	Hits, Misses int64
	Entries      int
}

// Stats returns the counters of the results cache (all zero without a
// cache); ImageStats those of the images cache.
func (m *Multi) Stats() Stats { return m.cache.stats() }

// ImageStats returns the counters of the images cache.
func (m *Multi) ImageStats() Stats { return m.images.stats() }

// Search asks every provider for q and returns the fused results, filtered
// by q.Filters and cut to q.Max (0: all). It fails only when every
// provider failed, with an error joining theirs.
func (m *Multi) Search(ctx context.Context, q search.Query) ([]search.Result, error) {
	if len(m.providers) == 0 {
		return nil, errors.New("multi: no search providers configured")
	}
	key := cacheKey(q)
	merged, ok := m.cache.get(key)
	if !ok {
		var err error
		merged, err = m.fanOut(ctx, q)
		if err != nil {
			return nil, err
		}
		m.cache.put(key, merged)
	}
	// The cache holds results before Apply, so a bound that moved since
	// (a recency filter is relative to now) is still applied exactly.
	out := Apply(merged, q.Filters)
	if q.Max > 0 && len(out) > q.Max {
		out = out[:q.Max]
	}
	return out, nil
}

// fanOut queries every provider in parallel and fuses what came back.
func (m *Multi) fanOut(ctx context.Context, q search.Query) ([]search.Result, error) {
	names := make([]string, len(m.providers))
	for i, p := range m.providers {
		names[i] = p.Name()
	}
	lists, err := gather(ctx, m, names, func(ctx context.Context, i int) ([]search.Result, error) {
		return m.providers[i].Search(ctx, q)
	})
	if err != nil {
		return nil, err
	}
	return Fuse(lists), nil
}

// Fuse merges ranked lists by reciprocal rank fusion: each result scores
// Σ 1/(60+rank) over the lists it appears in (rank from 1; only its best
// rank within one list counts), results with the same canonical URL are
// one. The kept copy is the best-ranked one, with dates, language, content
// and snippet filled from the others when it lacks them; Score becomes
// the fused score. Ties keep the earlier list's order.
func Fuse(lists [][]search.Result) []search.Result {
	out := rrf(lists, func(r search.Result) string { return r.URL }, fill)
	rs := make([]search.Result, len(out))
	for i, f := range out {
		rs[i] = f.item
		rs[i].Score = f.score
	}
	return rs
}

// fused is one item of a reciprocal rank fusion with its score.
type fused[T any] struct {
	item  T
	score float64
}

// rrf is reciprocal rank fusion over items identified by the canonical form
// of url(item): each scores Σ 1/(60+rank) over the lists it appears in (rank
// from 1, only its first appearance in a list counts), and the kept copy is
// the best-ranked one, completed by fill(kept, other) from the others. Ties
// go to the better best rank, then to the earlier list.
func rrf[T any](lists [][]T, url func(T) string, fill func(kept, other T) T) []fused[T] {
	type entry struct {
		item     T
		score    float64
		bestRank int
		first    int
	}
	byURL := map[string]*entry{}
	var order []*entry
	for li, list := range lists {
		seen := map[string]bool{}
		rank := 0
		for _, it := range list {
			c := Canonical(url(it))
			if c == "" || seen[c] {
				continue
			}
			seen[c] = true
			rank++
			e, ok := byURL[c]
			switch {
			case !ok:
				e = &entry{item: it, bestRank: rank, first: li}
				byURL[c] = e
				order = append(order, e)
			case rank < e.bestRank: // the better-ranked copy leads
				e.item = fill(it, e.item)
				e.bestRank = rank
			default:
				e.item = fill(e.item, it)
			}
			e.score += 1 / float64(rrfK+rank)
		}
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if a.score != b.score {
			return a.score > b.score
		}
		if a.bestRank != b.bestRank {
			return a.bestRank < b.bestRank
		}
		return a.first < b.first
	})
	out := make([]fused[T], len(order))
	for i, e := range order {
		out[i] = fused[T]{e.item, e.score}
	}
	return out
}

// fill copies into r what other has and r lacks.
func fill(r, other search.Result) search.Result {
	if r.Date == nil {
		r.Date = other.Date
	}
	if r.LastUpdated == nil {
		r.LastUpdated = other.LastUpdated
	}
	if r.Language == "" {
		r.Language = other.Language
	}
	if r.Content == "" {
		r.Content = other.Content
	}
	if r.Snippet == "" {
		r.Snippet = other.Snippet
	}
	if r.Title == "" {
		r.Title = other.Title
	}
	return r
}
