package fetch

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Prefix reads the head of a body larger than the size cap instead of
// failing, whether or not the server honours Range.
func TestFetchPrefix(t *testing.T) {
	body := []byte(strings.Repeat("0123456789", 300)) // 3000 bytes
	var mu sync.Mutex
	var ranges []string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ranged", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ranges = append(ranges, r.Header.Get("Range"))
		mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		http.ServeContent(w, r, "f.txt", time.Time{}, bytes.NewReader(body)) // honours Range
	})
	mux.HandleFunc("GET /whole", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body) // ignores Range
	})
	mux.HandleFunc("GET /small", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		http.ServeContent(w, r, "s.txt", time.Time{}, strings.NewReader("tiny"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	f := New(Options{AllowPrivate: true, MaxBytes: 1000})

	tests := []struct {
		name        string
		path        string
		opts        []CallOption
		wantLen     int
		wantPartial bool
		wantErr     error
	}{
		{"ranged server", "/ranged", []CallOption{Prefix(100)}, 100, true, nil},
		{"server ignoring Range", "/whole", []CallOption{Prefix(100)}, 100, true, nil},
		{"prefix above the size cap is capped", "/whole", []CallOption{Prefix(5000)}, 1000, true, nil},
		{"body shorter than the prefix", "/small", []CallOption{Prefix(100)}, 4, false, nil},
		{"without Prefix a large body fails", "/whole", nil, 0, false, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := f.Fetch(context.Background(), srv.URL+tt.path, tt.opts...)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Body) != tt.wantLen || p.Partial != tt.wantPartial {
				t.Errorf("got %d bytes, partial %v; want %d, %v", len(p.Body), p.Partial, tt.wantLen, tt.wantPartial)
			}
			if !bytes.Equal(p.Body, body[:min(len(p.Body), len(body))]) && tt.path != "/small" {
				t.Errorf("body is not the file's head")
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ranges) == 0 || ranges[0] != "bytes=0-99" {
		t.Errorf("Range headers sent: %q, want bytes=0-99 first", ranges)
	}
}
