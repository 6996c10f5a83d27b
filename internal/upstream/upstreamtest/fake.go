// Package upstreamtest is a fake OpenAI-compatible chat completions server
// for tests and benchmarks. It speaks the wire format as OpenAI documents
// it (JSON bodies, SSE chunks with delta objects, a usage chunk when
// stream_options.include_usage is set, data: [DONE], {"error":{…}} bodies),
// and lets a test script failures, delays and streamed text, and observe
// what it received and when a client went away.
package upstreamtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Behaviour scripts the fake's answers.
type Behaviour struct {
	// Reply is the assistant's text; streamed split into Words.
	Reply string
	// FailStatus, when set, answers every request with that status and an
	// OpenAI error body (and Retry-After when RetryAfter is set).
	FailStatus int
	RetryAfter int
	// FailFirst fails only the first N requests with FailStatus (or 500).
	FailFirst int
	// Delay waits before answering (before the first chunk of a stream).
	Delay time.Duration
	// ChunkDelay waits between streamed chunks.
	ChunkDelay time.Duration
	// NoUsage omits usage from responses, as some servers do.
	NoUsage bool
	// FailMidStream sends this many chunks and then drops the connection.
	FailMidStream int
	// Extra top-level fields added to responses (Perplexity's citations…).
	Extra map[string]any
	// UsageExtra fields added to usage (Perplexity's num_search_queries…).
	UsageExtra map[string]any
}

// Server is a running fake upstream.
type Server struct {
	*httptest.Server
	mu       sync.Mutex
	b        Behaviour
	requests []map[string]any
	headers  []http.Header
	served   atomic.Int64
	// Cancelled receives the time a client abandoned a request.
	Cancelled chan time.Time
}

// New starts a fake with the given behaviour; it stops when the test ends.
func New(t interface{ Cleanup(func()) }, b Behaviour) *Server {
	s := &Server{b: b, Cancelled: make(chan time.Time, 64)}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// URL of the OpenAI-style base, e.g. http://127.0.0.1:1234/v1.
func (s *Server) BaseURL() string { return s.URL + "/v1" }

// Set replaces the behaviour.
func (s *Server) Set(b Behaviour) { s.mu.Lock(); s.b = b; s.mu.Unlock() }

// Requests returns the decoded bodies received so far.
func (s *Server) Requests() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.requests...)
}

// Headers returns the headers of the requests received so far.
func (s *Server) Headers() []http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]http.Header(nil), s.headers...)
}

// Served counts requests received.
func (s *Server) Served() int64 { return s.served.Load() }

func writeError(w http.ResponseWriter, status int, retryAfter int) {
	w.Header().Set("Content-Type", "application/json")
	if retryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(retryAfter))
	}
	w.WriteHeader(status)
	typ := map[int]string{400: "invalid_request_error", 401: "authentication_error", 429: "rate_limit_exceeded"}[status]
	if typ == "" {
		typ = "server_error"
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"message": fmt.Sprintf("fake upstream: status %d", status), "type": typ, "code": nil, "param": nil}})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	n := s.served.Add(1)
	s.mu.Lock()
	b := s.b
	s.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		writeError(w, http.StatusNotFound, 0)
		return
	}
	var req map[string]any
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, 0)
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.headers = append(s.headers, r.Header.Clone())
	s.mu.Unlock()

	if b.Delay > 0 {
		select {
		case <-time.After(b.Delay):
		case <-r.Context().Done():
			s.Cancelled <- time.Now()
			return
		}
	}
	if b.FailStatus != 0 && (b.FailFirst == 0 || n <= int64(b.FailFirst)) {
		writeError(w, b.FailStatus, b.RetryAfter)
		return
	}
	if b.FailFirst > 0 && b.FailStatus == 0 && n <= int64(b.FailFirst) {
		writeError(w, http.StatusInternalServerError, 0)
		return
	}
	model, _ := req["model"].(string)
	reply := b.Reply
	if reply == "" {
		reply = "Hello from the fake upstream."
	}
	prompt := 0
	if msgs, ok := req["messages"].([]any); ok {
		for _, m := range msgs {
			if mm, ok := m.(map[string]any); ok {
				if c, ok := mm["content"].(string); ok {
					prompt += len(strings.Fields(c)) + 4
				}
			}
		}
	}
	words := strings.SplitAfter(reply, " ")
	usage := map[string]any{"prompt_tokens": prompt, "completion_tokens": len(words), "total_tokens": prompt + len(words)}
	for k, v := range b.UsageExtra {
		usage[k] = v
	}
	id := fmt.Sprintf("chatcmpl-fake%d", n)
	if stream, _ := req["stream"].(bool); stream {
		s.stream(w, r, b, id, model, words, usage, req)
		return
	}
	body := map[string]any{"id": id, "object": "chat.completion", "created": time.Now().Unix(), "model": model,
		"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": reply}}}}
	if !b.NoUsage {
		body["usage"] = usage
	}
	for k, v := range b.Extra {
		body[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

func (s *Server) stream(w http.ResponseWriter, r *http.Request, b Behaviour, id, model string, words []string, usage map[string]any, req map[string]any) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl := w.(http.Flusher)
	send := func(v any) bool {
		bb, _ := json.Marshal(v)
		if _, err := fmt.Fprintf(w, "data: %s\n\n", bb); err != nil {
			return false
		}
		fl.Flush()
		return true
	}
	chunk := func(delta map[string]any, finish any) map[string]any {
		c := map[string]any{"id": id, "object": "chat.completion.chunk", "created": time.Now().Unix(), "model": model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
		for k, v := range b.Extra {
			c[k] = v
		}
		return c
	}
	if !send(chunk(map[string]any{"role": "assistant", "content": ""}, nil)) {
		return
	}
	for i, wd := range words {
		if b.FailMidStream > 0 && i == b.FailMidStream {
			// Drop the connection without a terminator.
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
				}
			}
			return
		}
		if b.ChunkDelay > 0 {
			select {
			case <-time.After(b.ChunkDelay):
			case <-r.Context().Done():
				s.Cancelled <- time.Now()
				return
			}
		}
		if !send(chunk(map[string]any{"content": wd}, nil)) {
			s.Cancelled <- time.Now()
			return
		}
	}
	send(chunk(map[string]any{}, "stop"))
	if opts, ok := req["stream_options"].(map[string]any); ok && opts["include_usage"] == true && !b.NoUsage {
		send(map[string]any{"id": id, "object": "chat.completion.chunk", "created": time.Now().Unix(), "model": model,
			"choices": []any{}, "usage": usage})
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	fl.Flush()
}
