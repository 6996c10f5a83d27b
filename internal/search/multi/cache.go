package multi

import (
	"container/list"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tollgate-dev/tollgate/internal/search"
)

// cache is a size-bounded LRU of merged results (or images) with a time to
// live. A nil *cache caches nothing.
type cache[T any] struct {
	ttl  time.Duration
	size int
	now  func() time.Time

	mu           sync.Mutex
	ll           *list.List // front: most recently used
	items        map[string]*list.Element
	hits, misses int64
}

type cacheEntry[T any] struct {
	key     string
	results []T
	expires time.Time
}

func newCache[T any](size int, ttl time.Duration, now func() time.Time) *cache[T] {
	return &cache[T]{ttl: ttl, size: size, now: now, ll: list.New(), items: map[string]*list.Element{}}
}

func (c *cache[T]) get(key string) ([]T, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if ok && c.now().Before(el.Value.(*cacheEntry[T]).expires) {
		c.ll.MoveToFront(el)
		c.hits++
		return slices.Clone(el.Value.(*cacheEntry[T]).results), true
	}
	if ok {
		c.ll.Remove(el)
		delete(c.items, key)
	}
	c.misses++
	return nil, false
}

func (c *cache[T]) put(key string, rs []T) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := &cacheEntry[T]{key: key, results: slices.Clone(rs), expires: c.now().Add(c.ttl)}
	if el, ok := c.items[key]; ok {
		el.Value = e
		c.ll.MoveToFront(el)
		return
	}
	c.items[key] = c.ll.PushFront(e)
	for c.ll.Len() > c.size {
		old := c.ll.Back()
		c.ll.Remove(old)
		delete(c.items, old.Value.(*cacheEntry[T]).key)
	}
}

func (c *cache[T]) stats() Stats {
	if c == nil {
		return Stats{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{Hits: c.hits, Misses: c.misses, Entries: c.ll.Len()}
}

// cacheKey identifies what the providers were asked: the query text with
// case and spacing normalized, the count, the country and the filters.
// Date bounds count to the minute, so a recency filter (relative to now)
// still hits; Search applies the exact bounds to cached results.
func cacheKey(q search.Query) string {
	f := q.Filters
	norm := func(ss []string) string {
		c := make([]string, len(ss))
		for i, s := range ss {
			c[i] = strings.ToLower(strings.TrimSpace(s))
		}
		slices.Sort(c)
		return strings.Join(c, ",")
	}
	minute := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return strconv.FormatInt(t.Unix()/60, 10)
	}
	return strings.Join([]string{
		strings.ToLower(strings.Join(strings.Fields(q.Text), " ")),
		strconv.Itoa(q.Max), strings.ToUpper(q.Country),
		norm(f.Domains), norm(f.ExcludeDomains),
		minute(f.PublishedAfter), minute(f.PublishedBefore),
		minute(f.UpdatedAfter), minute(f.UpdatedBefore),
		strings.ToLower(f.Mode), norm(f.Languages),
	}, "\x00")
}

// imageCacheKey identifies what the providers were asked for images: the
// text, country and languages. The filters and the count are applied to
// the cached images, so they are not part of it.
func imageCacheKey(q search.ImageQuery) string {
	langs := make([]string, len(q.Languages))
	for i, l := range q.Languages {
		langs[i] = strings.ToLower(strings.TrimSpace(l))
	}
	slices.Sort(langs)
	return strings.Join([]string{"images",
		strings.ToLower(strings.Join(strings.Fields(q.Text), " ")),
		strings.ToUpper(q.Country), strings.Join(langs, ","),
	}, "\x00")
}
