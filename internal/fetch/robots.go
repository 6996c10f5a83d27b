package fetch

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/temoto/robotstxt"
	"golang.org/x/sync/singleflight"
)

// maxRobotsBytes is how much of a robots.txt is read; RFC 9309 §2.5 asks
// crawlers to parse at least 500 KiB.
const maxRobotsBytes = 512 << 10

// errorTTL bounds how long a robots.txt outcome caused by an error (5xx,
// unreachable host) is cached, so that a transient failure does not block a
// host for the full RobotsTTL.
const errorTTL = time.Minute

// robots is the parsed policy of one origin.
type robots struct {
	data    *robotstxt.RobotsData // nil means disallow all
	reason  string                // set when data is nil or when robots.txt was unusable
	expires time.Time
}

func (r *robots) allow(agent, path string) bool {
	if r.data == nil {
		return false
	}
	return r.data.TestAgent(path, agent)
}

func (r *robots) crawlDelay(agent string) time.Duration {
	if r.data == nil {
		return 0
	}
	return r.data.FindGroup(agent).CrawlDelay
}

// robotsCache holds one robots per origin (scheme, host and port, as RFC 9309
// scopes them) and fetches each at most once at a time.
type robotsCache struct {
	f     *Fetcher
	ttl   time.Duration
	group singleflight.Group

	mu      sync.Mutex
	entries map[string]*robots
}

func newRobotsCache(f *Fetcher, ttl time.Duration) *robotsCache {
	return &robotsCache{f: f, ttl: ttl, entries: make(map[string]*robots)}
}

func (c *robotsCache) get(ctx context.Context, u *url.URL) (*robots, error) {
	origin := u.Scheme + "://" + HostKey(u)
	c.mu.Lock()
	r, ok := c.entries[origin]
	c.mu.Unlock()
	if ok && time.Now().Before(r.expires) {
		return r, nil
	}
	// The shared fetch must not die with whichever caller started it, so it
	// runs detached with its own timeout; each caller still waits only as
	// long as its own context allows.
	ch := c.group.DoChan(origin, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.f.opts.Timeout)
		defer cancel()
		r, err := c.fetch(fctx, origin)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.entries[origin] = r
		c.mu.Unlock()
		return r, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*robots), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("fetch robots.txt for %s: %w", origin, ctx.Err())
	}
}

func (c *robotsCache) fetch(ctx context.Context, origin string) (*robots, error) {
	now := time.Now()
	ctx = context.WithValue(ctx, callKey{}, &call{skipRobots: true})
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, origin+"/robots.txt", nil)
	if err != nil {
		return nil, fmt.Errorf("fetch robots.txt: %w", err)
	}
	req.Header.Set("User-Agent", c.f.opts.UserAgent)
	resp, err := c.f.client.Do(req)
	if err != nil {
		switch {
		case errors.Is(err, ErrTooManyRedirects):
			// RFC 9309 §2.3.1.2: past the redirect limit, robots.txt may be
			// treated as unavailable, which means no restrictions.
			return &robots{data: allowAll(), reason: "robots.txt redirects too often", expires: now.Add(c.ttl)}, nil
		case errors.Is(err, ErrPrivateAddress), ctx.Err() != nil && errors.Is(err, ctx.Err()):
			return nil, fmt.Errorf("fetch robots.txt for %s: %w", origin, err)
		}
		// RFC 9309 §2.3.1.4: an unreachable server means complete disallow.
		return &robots{reason: "robots.txt unreachable: " + err.Error(), expires: now.Add(min(c.ttl, errorTTL))}, nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRobotsBytes))
	if err != nil {
		return &robots{reason: "reading robots.txt: " + err.Error(), expires: now.Add(min(c.ttl, errorTTL))}, nil
	}
	if len(body) == maxRobotsBytes {
		// Keep whole lines only.
		if i := bytes.LastIndexByte(body, '\n'); i >= 0 {
			body = body[:i+1]
		}
	}
	return parseRobots(resp.StatusCode, body, now, c.ttl), nil
}

// parseRobots turns a robots.txt response into a policy. Following temoto
// (and Google and RFC 9309), 4xx means allow all and 5xx disallow all.
func parseRobots(status int, body []byte, now time.Time, ttl time.Duration) *robots {
	switch {
	case status >= 500 && status <= 599:
		return &robots{reason: fmt.Sprintf("robots.txt returned %d", status), expires: now.Add(min(ttl, errorTTL))}
	case status >= 400 && status <= 499:
		return &robots{data: allowAll(), expires: now.Add(ttl)}
	case status < 200 || status > 299:
		// Unfollowed redirects and other oddities: treat as unavailable.
		return &robots{data: allowAll(), reason: fmt.Sprintf("robots.txt returned %d", status), expires: now.Add(ttl)}
	}
	data, err := robotstxt.FromBytes(body)
	if err != nil {
		// temoto rejects the whole file for one bad line (a rule before any
		// User-agent, an unparsable Crawl-delay). RFC 9309 says to use the
		// lines that parse, so drop those and try again.
		data, err = robotstxt.FromBytes(sanitizeRobots(body))
	}
	if err != nil {
		return &robots{reason: "unparsable robots.txt", expires: now.Add(ttl)}
	}
	return &robots{data: data, expires: now.Add(ttl)}
}

// sanitizeRobots drops the lines temoto reports as errors: group rules that
// precede the first User-agent line and Crawl-delay values that are not
// non-negative numbers.
func sanitizeRobots(body []byte) []byte {
	var out bytes.Buffer
	seenAgent := false
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), maxRobotsBytes)
	for sc.Scan() {
		line := sc.Text()
		content, _, _ := strings.Cut(line, "#")
		key, val, ok := strings.Cut(content, ":")
		key = strings.ToLower(strings.TrimSpace(key))
		val = strings.TrimSpace(val)
		if ok {
			switch key {
			case "user-agent", "useragent":
				seenAgent = true
			case "allow", "disallow":
				if !seenAgent {
					continue
				}
			case "crawl-delay", "crawldelay":
				if d, err := strconv.ParseFloat(val, 64); !seenAgent || err != nil || d < 0 || d != d || d > 1e9 {
					continue
				}
			}
		}
		out.WriteString(line)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

func allowAll() *robotstxt.RobotsData {
	// FromStatusAndBytes(404) is temoto's shared allow-all value.
	d, _ := robotstxt.FromStatusAndBytes(http.StatusNotFound, nil)
	return d
}
