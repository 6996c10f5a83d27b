package crawl

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/extract"
	"github.com/tollgate-dev/tollgate/internal/fetch"
)

// site is a loopback web site: pages maps a path to its links; every request is recorded.
type site struct {
	srv *httptest.Server

	mu   sync.Mutex
	hits []hit
}

type hit struct {
	path string
	at   time.Time
}

func newSite(t *testing.T, robots string, pages map[string][]string) *site {
	t.Helper()
	s := &site{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits = append(s.hits, hit{r.URL.RequestURI(), time.Now()})
		s.mu.Unlock()
		if r.URL.Path == "/robots.txt" {
			if robots == "" {
				http.NotFound(w, r)
				return
			}
			w.Write([]byte(robots))
			return
		}
		links, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if len(links) == 1 && strings.HasPrefix(links[0], "redirect:") {
			http.Redirect(w, r, strings.TrimPrefix(links[0], "redirect:"), http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<html><head><title>Page %s</title></head><body><main><p>Content of %s.</p>", r.URL.Path, r.URL.Path)
		for _, l := range links {
			if rest, ok := strings.CutPrefix(l, "nofollow:"); ok {
				fmt.Fprintf(w, `<a rel="nofollow" href="%s">x</a>`, rest)
				continue
			}
			fmt.Fprintf(w, `<a href="%s">link</a> `, l)
		}
		fmt.Fprint(w, "</main></body></html>")
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// paths returns the requested paths other than robots.txt, in order.
func (s *site) paths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, h := range s.hits {
		if h.path != "/robots.txt" {
			out = append(out, h.path)
		}
	}
	return out
}

func testOptions(o Options) Options {
	if o.Fetcher == nil {
		o.Fetcher = fetch.New(fetch.Options{AllowPrivate: true, Timeout: 5 * time.Second, AllowedTypes: []string{"text/html", "text/plain"}})
	}
	if o.Delay == 0 {
		o.Delay = time.Millisecond
	}
	return o
}

func crawlPaths(t *testing.T, s *site, opts Options) ([]string, Stats) {
	t.Helper()
	var visited []string
	st, err := Crawl(context.Background(), s.srv.URL+"/", testOptions(opts), func(p *fetch.Page, d extract.Doc) error {
		if !strings.Contains(d.Text, "Content of") {
			t.Errorf("%s: extracted text %q", p.URL, d.Text)
		}
		visited = append(visited, strings.TrimPrefix(p.URL, s.srv.URL))
		return nil
	})
	if err != nil {
		t.Fatalf("Crawl: %v", err)
	}
	return visited, st
}

func TestCrawlNeverLeavesHost(t *testing.T) {
	other := newSite(t, "", map[string][]string{"/": {"/x"}, "/x": nil, "/landing": nil})
	s := newSite(t, "", map[string][]string{
		"/":        {"/a", other.srv.URL + "/", other.srv.URL + "/x", "/go-away"},
		"/a":       {"/b", strings.Replace(other.srv.URL, "127.0.0.1", "localhost", 1) + "/"},
		"/b":       nil,
		"/go-away": {"redirect:" + other.srv.URL + "/landing"},
	})
	visited, st := crawlPaths(t, s, Options{Depth: 5})
	if got := other.paths(); len(got) != 0 {
		t.Errorf("other host received requests: %v", got)
	}
	if want := []string{"/", "/a", "/b"}; !slices.Equal(visited, want) {
		t.Errorf("visited %v, want %v", visited, want)
	}
	if st.Failed != 1 {
		t.Errorf("Failed = %d, want 1 (the off-host redirect)", st.Failed)
	}
}

func TestCrawlLimits(t *testing.T) {
	// A chain / -> /1 -> /2 -> ... plus fan-out at the root.
	pages := map[string][]string{"/": {"/1", "/f1", "/f2"}, "/f1": nil, "/f2": nil}
	for i := 1; i < 10; i++ {
		pages[fmt.Sprintf("/%d", i)] = []string{fmt.Sprintf("/%d", i+1)}
	}
	tests := []struct {
		name  string
		opts  Options
		want  []string
		stats Stats
	}{
		{"depth 0", Options{Depth: 0}, []string{"/"}, Stats{Visited: 1, Queued: 1}},
		{"depth 1", Options{Depth: 1}, []string{"/", "/1", "/f1", "/f2"}, Stats{Visited: 4, Queued: 4}},
		{"depth 2", Options{Depth: 2}, []string{"/", "/1", "/f1", "/f2", "/2"}, Stats{Visited: 5, Queued: 5}},
		{"max pages", Options{Depth: 100, MaxPages: 3}, []string{"/", "/1", "/f1"}, Stats{Visited: 3, Queued: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSite(t, "", pages)
			visited, st := crawlPaths(t, s, tt.opts)
			if !slices.Equal(visited, tt.want) {
				t.Errorf("visited %v, want %v", visited, tt.want)
			}
			if st != tt.stats {
				t.Errorf("stats %+v, want %+v", st, tt.stats)
			}
			if got := s.paths(); len(got) != len(tt.want) {
				t.Errorf("server saw %v", got)
			}
		})
	}
}

func TestCrawlRobotsAndLinks(t *testing.T) {
	robots := "User-agent: *\nDisallow: /private\nAllow: /private/ok\n"
	s := newSite(t, robots, map[string][]string{
		"/": {"/private/secret", "/private/ok", "/a#section", "/a", "/a#other", "/file.pdf", "/notes.txt",
			"mailto:x@example.com", "javascript:void(0)", "nofollow:/hidden", "/missing"},
		"/private/secret": nil,
		"/private/ok":     nil,
		"/a":              {"/"},
		"/hidden":         nil,
	})
	visited, st := crawlPaths(t, s, Options{Depth: 3})
	if want := []string{"/", "/private/ok", "/a"}; !slices.Equal(visited, want) {
		t.Errorf("visited %v, want %v", visited, want)
	}
	got := s.paths()
	for _, p := range []string{"/private/secret", "/hidden", "/file.pdf", "/notes.txt"} {
		if slices.Contains(got, p) {
			t.Errorf("requested %s; server saw %v", p, got)
		}
	}
	want := Stats{Visited: 3, Disallowed: 1, Failed: 1, Queued: 5}
	if st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
}

func TestCrawlStartDisallowed(t *testing.T) {
	s := newSite(t, "User-agent: *\nDisallow: /\n", map[string][]string{"/": nil})
	_, err := Crawl(context.Background(), s.srv.URL+"/", testOptions(Options{}), func(*fetch.Page, extract.Doc) error { return nil })
	if !errors.Is(err, fetch.ErrDisallowed) {
		t.Fatalf("err = %v, want ErrDisallowed", err)
	}
}

func TestCrawlPoliteness(t *testing.T) {
	pages := map[string][]string{"/": {"/1", "/2", "/3"}, "/1": nil, "/2": nil, "/3": nil}
	tests := []struct {
		name    string
		robots  string
		delay   time.Duration
		wantGap time.Duration
	}{
		{"minimum delay", "", 60 * time.Millisecond, 60 * time.Millisecond},
		{"Crawl-delay raises it", "User-agent: *\nCrawl-delay: 0.15\n", 10 * time.Millisecond, 150 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSite(t, tt.robots, pages)
			crawlPaths(t, s, Options{Depth: 1, Delay: tt.delay})
			s.mu.Lock()
			defer s.mu.Unlock()
			var prev time.Time
			n := 0
			for _, h := range s.hits {
				if h.path == "/robots.txt" {
					continue
				}
				if n > 0 {
					if gap := h.at.Sub(prev); gap < tt.wantGap {
						t.Errorf("gap before %s = %v, want >= %v", h.path, gap, tt.wantGap)
					}
				}
				prev = h.at
				n++
			}
			if n != 4 {
				t.Errorf("pages requested = %d, want 4", n)
			}
		})
	}
}

func TestCrawlVisitErrorStops(t *testing.T) {
	s := newSite(t, "", map[string][]string{"/": {"/a", "/b"}, "/a": nil, "/b": nil})
	stop := errors.New("stop")
	n := 0
	var progress []string
	opts := testOptions(Options{Depth: 1, Progress: func(p Progress) { progress = append(progress, p.URL) }})
	_, err := Crawl(context.Background(), s.srv.URL, opts, func(*fetch.Page, extract.Doc) error {
		if n++; n == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v, want %v", err, stop)
	}
	if want := []string{s.srv.URL + "/"}; !slices.Equal(progress, want) {
		t.Errorf("progress %v, want %v", progress, want)
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"HTTP://Example.COM", "http://example.com/"},
		{"http://example.com:80/a#x", "http://example.com/a"},
		{"https://example.com:443/a?b=1", "https://example.com/a?b=1"},
		{"https://example.com:8443/a", "https://example.com:8443/a"},
		{"http://[::1]:8080/", "http://[::1]:8080/"},
		{"http://[::1]/", "http://[::1]/"},
		{"ftp://example.com/", ""},
		{"mailto:a@b.c", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			u, err := parseURL(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if n, ok := normalize(u); ok {
				got = n.String()
			}
			if got != tt.want {
				t.Errorf("normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func parseURL(s string) (*url.URL, error) { return url.Parse(s) }
