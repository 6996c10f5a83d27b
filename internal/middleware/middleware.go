// Package middleware holds the HTTP wrappers every Tollgate server shares:
// request IDs, panic recovery, access logs, path clean-up (duplicate
// slashes, a mount prefix) and the client's address.
package middleware

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/httpjson"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// RequestID gives every request a fresh ID (X-Request-ID). It is never
// taken from the client: usage is recorded once per request ID, so a
// client that could pick it could replay one and go unbilled. A sane ID
// the client or a proxy sent is echoed as X-Client-Request-ID (as OpenAI
// does) and logged beside ours, so logs and support tickets still meet.
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := "req_" + strings.ToLower(rand.Text())
		if sent := r.Header.Get("X-Request-ID"); validRequestID(sent) {
			w.Header().Set("X-Client-Request-ID", sent)
		}
		w.Header().Set("X-Request-ID", id)
		next.ServeHTTP(w, r.WithContext(httpjson.WithRequestID(r.Context(), id)))
	})
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c == '-' || c == '_' || c == '.' || c == ':' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')) {
			return false
		}
	}
	return true
}

// Recover turns a panic into a logged 500 in the API's error shape, so no
// panic reaches a client as a dropped connection.
func Recover(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					log.ErrorContext(r.Context(), "panic serving request", "path", r.URL.Path,
						"request_id", httpjson.RequestID(r.Context()), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
					httpjson.Error(w, r, log, fmt.Errorf("panic: %v", v))
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

// Flush lets streaming handlers flush through the wrapper.
func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap exposes the underlying writer to http.ResponseController.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// AccessLog logs one line per request. It never logs headers or bodies, so
// no credential can reach the logs.
func AccessLog(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			sw := &statusWriter{ResponseWriter: w}
			next.ServeHTTP(sw, r)
			if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
				return
			}
			log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", sw.status), slog.Int("bytes", sw.bytes),
				slog.Duration("took", time.Since(start)),
				slog.String("request_id", httpjson.RequestID(r.Context())))
		})
	}
}

// CleanPath collapses duplicate slashes (clients that join a base URL
// ending in '/' with a path starting with one send "//search") and strips
// a mount prefix such as "/tollgate".
func CleanPath(prefix string, log *slog.Logger) func(http.Handler) http.Handler {
	prefix = strings.TrimRight(prefix, "/")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p := r.URL.Path
			if strings.Contains(p, "//") {
				var b strings.Builder
				for i := 0; i < len(p); i++ {
					if p[i] == '/' && i > 0 && p[i-1] == '/' {
						continue
					}
					b.WriteByte(p[i])
				}
				p = b.String()
			}
			if prefix != "" {
				if p != prefix && !strings.HasPrefix(p, prefix+"/") {
					httpjson.Error(w, r, log, platform.Errorf(platform.KindNotFound,
						"Tollgate is mounted under %s; no route for %s", prefix, r.URL.Path))
					return
				}
				p = strings.TrimPrefix(p, prefix)
				if p == "" {
					p = "/"
				}
			}
			if p != r.URL.Path {
				r2 := r.Clone(r.Context())
				r2.URL.Path, r2.URL.RawPath = p, ""
				r = r2
			}
			next.ServeHTTP(w, r)
		})
	}
}

// ClientIP returns the caller's address: the peer address, or, when
// Tollgate runs behind one trusted proxy, the last X-Forwarded-For entry,
// the address that proxy saw. Earlier entries are whatever the client sent
// and would let it pick a new address for every request (and so dodge
// per-address sign-in throttling).
func ClientIP(r *http.Request, trustProxy bool) string {
	if trustProxy {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			last := xff[len(xff)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if ip := net.ParseIP(strings.TrimSpace(last)); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Chain applies middleware so the first listed runs first.
func Chain(h http.Handler, mw ...func(http.Handler) http.Handler) http.Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}
