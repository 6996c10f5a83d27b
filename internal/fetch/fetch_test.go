package fetch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// limitsServer serves the routes the limit tests need; robots.txt is absent (allow all).
func limitsServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Last-Modified", "Tue, 03 Mar 2026 10:00:00 GMT")
		fmt.Fprint(w, "<title>t</title><p>hello</p>")
	})
	mux.HandleFunc("GET /big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte(strings.Repeat("x", 2000)))
	})
	mux.HandleFunc("GET /big-chunked", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		for range 20 {
			w.Write([]byte(strings.Repeat("x", 100)))
			w.(http.Flusher).Flush() // no Content-Length: only the read limit can catch it
		}
	})
	mux.HandleFunc("GET /image", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write([]byte("\x89PNG"))
	})
	mux.HandleFunc("GET /untyped", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = nil // suppress sniffing by net/http
		w.Write([]byte("<!DOCTYPE html><html><body><p>sniffed</p></body></html>"))
	})
	mux.HandleFunc("GET /redirect/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("n"))
		if n == 0 {
			http.Redirect(w, r, "/page", http.StatusFound)
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/redirect/%d", n-1), http.StatusFound)
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("GET /missing", http.NotFound)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestFetchLimits(t *testing.T) {
	srv := limitsServer(t)
	other := limitsServer(t)
	tests := []struct {
		name    string
		opts    Options
		path    string
		call    []CallOption
		wantErr error
	}{
		{"ok", Options{}, "/page", nil, nil},
		{"too large by Content-Length", Options{MaxBytes: 1000}, "/big", nil, ErrTooLarge},
		{"too large while reading", Options{MaxBytes: 1000}, "/big-chunked", nil, ErrTooLarge},
		{"exactly at the limit", Options{MaxBytes: 2000}, "/big", nil, nil},
		{"type not allowed", Options{}, "/image", nil, ErrContentType},
		{"type allowed by option", Options{AllowedTypes: []string{"image/png"}}, "/image", nil, nil},
		{"text/plain refused when only html allowed", Options{AllowedTypes: []string{"text/html"}}, "/big", nil, ErrContentType},
		{"missing type is sniffed", Options{}, "/untyped", nil, nil},
		{"redirects under the cap", Options{MaxRedirects: 5}, "/redirect/4", nil, nil},
		{"redirects at the cap", Options{MaxRedirects: 5}, "/redirect/5", nil, ErrTooManyRedirects},
		{"redirects off", Options{MaxRedirects: -1}, "/redirect/0", nil, ErrTooManyRedirects},
		{"timeout", Options{Timeout: 100 * time.Millisecond}, "/slow", nil, context.DeadlineExceeded},
		{"redirect to other host refused with SameHost", Options{}, "/redirect-other", []CallOption{SameHost()}, ErrOffHost},
		{"redirect to other host allowed without SameHost", Options{}, "/redirect-other", nil, nil},
	}
	// /redirect-other is registered here because it needs the other server's URL.
	srv.Config.Handler.(*http.ServeMux).HandleFunc("GET /redirect-other", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/page", http.StatusFound)
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := testFetcher(tt.opts)
			p, err := f.Fetch(context.Background(), srv.URL+tt.path, tt.call...)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Fetch: %v", err)
				}
				if len(p.Body) == 0 {
					t.Errorf("empty body")
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestFetchPage(t *testing.T) {
	srv := limitsServer(t)
	var gotUA atomic.Value
	srv.Config.Handler.(*http.ServeMux).HandleFunc("GET /ua", func(w http.ResponseWriter, r *http.Request) {
		gotUA.Store(r.UserAgent())
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok"))
	})
	f := testFetcher(Options{})
	p, err := f.Fetch(context.Background(), srv.URL+"/redirect/1#frag")
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if want := srv.URL + "/page"; p.URL != want {
		t.Errorf("URL = %q, want %q", p.URL, want)
	}
	if p.ContentType != "text/html" || p.Charset != "utf-8" || p.Status != 200 {
		t.Errorf("ContentType, Charset, Status = %q, %q, %d", p.ContentType, p.Charset, p.Status)
	}
	want := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	if p.LastModified == nil || !p.LastModified.Equal(want) {
		t.Errorf("LastModified = %v, want %v", p.LastModified, want)
	}
	if p.Fetched.IsZero() {
		t.Errorf("Fetched is zero")
	}
	if _, err := f.Fetch(context.Background(), srv.URL+"/ua"); err != nil {
		t.Fatal(err)
	}
	if got := gotUA.Load(); got != DefaultUserAgent {
		t.Errorf("User-Agent = %q, want %q", got, DefaultUserAgent)
	}
}

func TestFetchStatus(t *testing.T) {
	srv := limitsServer(t)
	_, err := testFetcher(Options{}).Fetch(context.Background(), srv.URL+"/missing")
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 404 {
		t.Fatalf("err = %v, want *StatusError 404", err)
	}
}

func TestFetchRefuses(t *testing.T) {
	srv := limitsServer(t)
	tests := []struct {
		name    string
		url     string
		wantErr error
	}{
		{"ftp", "ftp://example.com/x", ErrScheme},
		{"file", "file:///etc/passwd", ErrScheme},
		{"no host", "http:///x", ErrInvalidURL},
		{"credentials", "http://user:pw@example.com/", ErrInvalidURL},
		{"loopback literal", srv.URL + "/page", ErrPrivateAddress},
		{"localhost", "http://localhost:1/", ErrPrivateAddress},
		{"private literal", "http://10.1.2.3/", ErrPrivateAddress},
		{"link-local metadata", "http://169.254.169.254/latest/meta-data/", ErrPrivateAddress},
		{"ipv6 loopback", "http://[::1]:1/", ErrPrivateAddress},
		{"ipv4-mapped loopback", "http://[::ffff:127.0.0.1]:1/", ErrPrivateAddress},
	}
	f := New(Options{Timeout: 2 * time.Second}) // production default: private refused
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.Fetch(context.Background(), tt.url)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestRefusePrivateDialer(t *testing.T) {
	// The dialer check catches names that resolve to private addresses,
	// which the literal check cannot see.
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:80", true},
		{"[::1]:443", true},
		{"192.168.1.1:80", true},
		{"100.64.0.1:80", true},
		{"0.0.0.0:80", true},
		{"93.184.215.14:443", false},
		{"[2606:4700::1111]:443", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			err := refusePrivate("tcp", tt.addr, nil)
			if got := errors.Is(err, ErrPrivateAddress); got != tt.want {
				t.Errorf("refused = %v, want %v (err %v)", got, tt.want, err)
			}
		})
	}
}

func TestFetchPerHostConcurrency(t *testing.T) {
	var mu sync.Mutex
	var cur, peak int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		cur++
		peak = max(peak, cur)
		mu.Unlock()
		time.Sleep(30 * time.Millisecond)
		mu.Lock()
		cur--
		mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	f := testFetcher(Options{PerHost: 2, Concurrency: 8})
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			if _, err := f.Fetch(context.Background(), fmt.Sprintf("%s/%d", srv.URL, i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if peak > 2 {
		t.Errorf("peak concurrent requests to one host = %d, want <= 2", peak)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.hosts) != 0 {
		t.Errorf("%d host slots left after all fetches finished", len(f.hosts))
	}
}
