// Package crawl walks one web site breadth-first for the local index: it stays
// on the start URL's host (redirects included), obeys robots.txt through
// fetch, waits between requests, and stops at a depth and a page limit.
package crawl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/tollgate-dev/tollgate/internal/extract"
	"github.com/tollgate-dev/tollgate/internal/fetch"
)

// Defaults applied to zero-valued Options fields.
const (
	DefaultMaxPages = 100
	DefaultDelay    = time.Second
	DefaultMaxDelay = time.Minute
)

// Options configures Crawl.
type Options struct {
	// Fetcher fetches pages; nil means fetch.New with HTML types only.
	Fetcher *fetch.Fetcher
	// Depth is how many links away from the start page to go; 0 fetches the start page only.
	Depth int
	// MaxPages caps the pages fetched (successfully or not).
	MaxPages int
	// Delay is the minimum wait between two requests to the host. robots.txt
	// Crawl-delay raises it, up to MaxDelay.
	Delay    time.Duration
	MaxDelay time.Duration
	// Progress, if set, is called after each page attempt.
	Progress func(Progress)
	// Sleep waits for d or until ctx is done; nil means a timer. Tests may record it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Progress describes one page attempt.
type Progress struct {
	URL   string
	Depth int
	Err   error // nil when the page was visited
	Stats Stats
}

// Stats counts what a crawl did.
type Stats struct {
	Visited    int // pages passed to visit
	Failed     int // fetch or extraction errors, including off-host redirects
	Disallowed int // refused by robots.txt
	Skipped    int // fetched but not HTML, or marked noindex
	Queued     int // distinct same-host URLs discovered, including the start
}

// Crawl fetches start and, breadth-first, the same-host pages it links to,
// calling visit for each HTML page. An error from visit stops the crawl and is
// returned. A failure to fetch the start page is returned too; later page
// failures are counted and reported through Progress.
func Crawl(ctx context.Context, start string, opts Options, visit func(*fetch.Page, extract.Doc) error) (Stats, error) {
	opts = withDefaults(opts)
	var st Stats
	su, err := url.Parse(start)
	if err != nil {
		return st, fmt.Errorf("crawl: %w", err)
	}
	startURL, ok := normalize(su)
	if !ok {
		return st, fmt.Errorf("crawl %s: not an http(s) URL", start)
	}
	host := fetch.HostKey(startURL)

	delay := opts.Delay
	if cd, err := opts.Fetcher.CrawlDelay(ctx, startURL.String()); err == nil && cd > delay {
		delay = min(cd, opts.MaxDelay)
	}

	type item struct {
		u     *url.URL
		depth int
	}
	seen := map[string]bool{startURL.String(): true}
	queue := []item{{startURL, 0}}
	st.Queued = 1
	attempts := 0
	for len(queue) > 0 && attempts < opts.MaxPages {
		it := queue[0]
		queue = queue[1:]
		if attempts > 0 {
			if err := opts.Sleep(ctx, delay); err != nil {
				return st, err
			}
		}
		attempts++
		page, doc, links, err := crawlOne(ctx, opts.Fetcher, it.u, host)
		if page != nil {
			// A same-host redirect lands on a URL that must not be fetched again.
			if fu, err := url.Parse(page.URL); err == nil {
				if n, ok := normalize(fu); ok {
					seen[n.String()] = true
				}
			}
		}
		switch {
		case ctx.Err() != nil:
			return st, ctx.Err()
		case errors.Is(err, fetch.ErrDisallowed):
			st.Disallowed++
		case errors.Is(err, errSkip):
			st.Skipped++
		case err != nil:
			st.Failed++
		default:
			if verr := visit(page, doc); verr != nil {
				return st, fmt.Errorf("crawl %s: visit: %w", page.URL, verr)
			}
			st.Visited++
		}
		if err != nil && it.depth == 0 && !errors.Is(err, errSkip) {
			report(opts, it.u.String(), it.depth, err, st)
			return st, fmt.Errorf("crawl: start page: %w", err)
		}
		report(opts, it.u.String(), it.depth, err, st)
		if it.depth >= opts.Depth {
			continue
		}
		for _, l := range links {
			n, ok := normalize(l)
			if !ok || fetch.HostKey(n) != host || seen[n.String()] || !looksHTML(n) {
				continue
			}
			seen[n.String()] = true
			st.Queued++
			queue = append(queue, item{n, it.depth + 1})
		}
	}
	return st, nil
}

// errSkip marks a page that was fetched but is not for the index.
var errSkip = errors.New("skipped")

func crawlOne(ctx context.Context, f *fetch.Fetcher, u *url.URL, host string) (*fetch.Page, extract.Doc, []*url.URL, error) {
	page, err := f.Fetch(ctx, u.String(), fetch.SameHost())
	if err != nil {
		return nil, extract.Doc{}, nil, err
	}
	final, err := url.Parse(page.URL)
	if err != nil || fetch.HostKey(final) != host {
		// fetch.SameHost makes this unreachable; checked again because leaving the host is the one thing a crawl must not do.
		return nil, extract.Doc{}, nil, fmt.Errorf("crawl %s: %w", page.URL, fetch.ErrOffHost)
	}
	if page.ContentType != "text/html" && page.ContentType != "application/xhtml+xml" {
		return page, extract.Doc{}, nil, fmt.Errorf("crawl %s: %w: %s", page.URL, errSkip, page.ContentType)
	}
	ct := page.ContentType
	if page.Charset != "" {
		ct += "; charset=" + page.Charset
	}
	doc, err := extract.Any(ct, page.Body, final)
	if err != nil {
		return page, doc, nil, err
	}
	links, robots := parseLinks(page.Body, final)
	if robots.nofollow {
		links = nil
	}
	if robots.noindex {
		return page, doc, links, fmt.Errorf("crawl %s: %w: noindex", page.URL, errSkip)
	}
	return page, doc, links, nil
}

func report(opts Options, u string, depth int, err error, st Stats) {
	if opts.Progress != nil {
		opts.Progress(Progress{URL: u, Depth: depth, Err: err, Stats: st})
	}
}

func withDefaults(o Options) Options {
	if o.Fetcher == nil {
		o.Fetcher = fetch.New(fetch.Options{AllowedTypes: []string{"text/html", "application/xhtml+xml"}})
	}
	if o.MaxPages <= 0 {
		o.MaxPages = DefaultMaxPages
	}
	if o.Delay <= 0 {
		o.Delay = DefaultDelay
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = DefaultMaxDelay
	}
	o.Depth = max(o.Depth, 0)
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	return o
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// normalize returns the canonical form used for deduplication: http(s) only,
// lower-case scheme and host, default port dropped, empty path as "/",
// fragment removed. The query is kept as is.
func normalize(u *url.URL) (*url.URL, bool) {
	n := *u
	n.Scheme = strings.ToLower(n.Scheme)
	if n.Scheme != "http" && n.Scheme != "https" || n.Hostname() == "" || n.User != nil {
		return nil, false
	}
	n.Host = fetch.HostKey(&n)
	if strings.Contains(n.Host, ":") && !strings.HasPrefix(n.Host, "[") && strings.Count(n.Host, ":") > 1 {
		n.Host = "[" + n.Host + "]" // bare IPv6 without a port
	}
	n.Fragment, n.RawFragment = "", ""
	if n.Path == "" {
		n.Path, n.RawPath = "/", ""
	}
	return &n, true
}

// nonHTML lists extensions whose links are not followed.
var nonHTML = map[string]bool{
	".pdf": true, ".jpg": true, ".jpeg": true, ".png": true, ".gif": true, ".webp": true, ".svg": true,
	".ico": true, ".css": true, ".js": true, ".json": true, ".xml": true, ".zip": true, ".gz": true,
	".tar": true, ".tgz": true, ".mp3": true, ".mp4": true, ".webm": true, ".avi": true, ".mov": true,
	".woff": true, ".woff2": true, ".ttf": true, ".exe": true, ".dmg": true, ".iso": true, ".txt": true,
	".md": true, ".csv": true, ".doc": true, ".docx": true, ".xls": true, ".xlsx": true, ".ppt": true,
}

func looksHTML(u *url.URL) bool {
	return !nonHTML[strings.ToLower(path.Ext(u.Path))]
}

type robotsMeta struct{ noindex, nofollow bool }

// parseLinks returns the targets of <a href> (not rel=nofollow), resolved
// against <base href> or base, and the page's <meta name="robots"> directives.
func parseLinks(body []byte, base *url.URL) ([]*url.URL, robotsMeta) {
	var links []*url.URL
	var rm robotsMeta
	root, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		return nil, rm
	}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.DataAtom {
			case atom.Base:
				if b, err := base.Parse(attr(n, "href")); err == nil && attr(n, "href") != "" {
					base = b
				}
			case atom.Meta:
				if name := strings.ToLower(attr(n, "name")); name == "robots" || name == "tollgatebot" {
					c := strings.ToLower(attr(n, "content"))
					rm.noindex = rm.noindex || strings.Contains(c, "noindex") || strings.Contains(c, "none")
					rm.nofollow = rm.nofollow || strings.Contains(c, "nofollow") || strings.Contains(c, "none")
				}
			case atom.A:
				href := strings.TrimSpace(attr(n, "href"))
				rel := " " + strings.ToLower(attr(n, "rel")) + " "
				if href != "" && !strings.Contains(rel, " nofollow ") {
					if l, err := base.Parse(href); err == nil {
						links = append(links, l)
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	return links, rm
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val
		}
	}
	return ""
}
