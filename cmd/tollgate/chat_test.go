package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/config"
	"github.com/tollgate-dev/tollgate/internal/upstream/upstreamtest"
)

// withUpstreams routes model "sonar" to the given fake upstreams, in order,
// with equal weights.
func withUpstreams(fakes ...*upstreamtest.Server) func(*config.Config) {
	return func(c *config.Config) {
		c.Routing.Backoff = 5 * time.Millisecond
		c.Routing.StreamKeepAlive = 200 * time.Millisecond
		for i, f := range fakes {
			name := []string{"alpha", "beta", "gamma"}[i]
			c.Upstreams = append(c.Upstreams, config.UpstreamConfig{Name: name, Provider: "openai", BaseURL: f.BaseURL()})
			c.Models[0].Routes = append(c.Models[0].Routes, config.RouteConfig{Upstream: name, Model: "llama-" + name, Weight: 1})
		}
	}
}

// chatKey sets up a group and key and returns the key.
func (h *apiHarness) chatKey() string {
	h.t.Helper()
	_, secret := h.key(h.group("chat"), "chat")
	return secret
}

func TestChatCompletion(t *testing.T) {
	fake := upstreamtest.New(t, upstreamtest.Behaviour{Reply: "Paris is the capital of France.",
		Extra: map[string]any{"citations": []string{"https://example.org/paris"}}})
	h := newAPIHarnessWith(t, "sqlite", withUpstreams(fake))
	key := h.chatKey()

	out := h.must(200, "POST", "/chat/completions", key, `{"model":"sonar","messages":[
		{"role":"system","content":"Be precise."},{"role":"user","content":"What is the capital of France?"}],
		"max_tokens":100,"temperature":0.2,"search_domain_filter":["example.org"],"stream_options":{"include_usage":true}}`)
	choice := out["choices"].([]any)[0].(map[string]any)
	msg := choice["message"].(map[string]any)
	if msg["role"] != "assistant" || msg["content"] != "Paris is the capital of France." || choice["finish_reason"] != "stop" {
		t.Fatalf("choice = %v", choice)
	}
	if out["object"] != "chat.completion" || out["model"] != "sonar" || out["id"] == "" || out["created"] == nil {
		t.Fatalf("envelope = %v", out)
	}
	if cits, _ := out["citations"].([]any); len(cits) != 1 {
		t.Fatalf("upstream citations not passed through: %v", out)
	}
	u := out["usage"].(map[string]any)
	if u["prompt_tokens"].(float64) <= 0 || u["completion_tokens"].(float64) <= 0 ||
		u["total_tokens"].(float64) != u["prompt_tokens"].(float64)+u["completion_tokens"].(float64) {
		t.Fatalf("usage = %v", u)
	}
	got := fake.Requests()[0]
	if got["model"] != "llama-alpha" || got["max_tokens"] != float64(100) || got["temperature"] != 0.2 {
		t.Fatalf("upstream received %v", got)
	}
	if _, leaked := got["search_domain_filter"]; leaked {
		t.Fatal("a Perplexity-only option reached an OpenAI upstream")
	}
	recs := h.usage()
	if len(recs) != 1 || recs[0]["outcome"] != "ok" || recs[0]["deployment"] != "alpha/llama-alpha" || recs[0]["tokens_estimated"] != false {
		t.Fatalf("usage records = %v", recs)
	}
}

func TestChatCountsTokensWhenUpstreamDoesNot(t *testing.T) {
	fake := upstreamtest.New(t, upstreamtest.Behaviour{Reply: "one two three four", NoUsage: true})
	h := newAPIHarnessWith(t, "sqlite", withUpstreams(fake))
	out := h.must(200, "POST", "/v1/chat/completions", h.chatKey(), `{"model":"sonar","messages":[{"role":"user","content":"count"}]}`)
	u := out["usage"].(map[string]any)
	if u["completion_tokens"] != float64(4) || u["prompt_tokens"].(float64) < 5 {
		t.Fatalf("usage = %v; want the tokenizer's count (4 completion tokens)", u)
	}
	if recs := h.usage(); recs[0]["tokens_estimated"] != true {
		t.Fatalf("record = %v, want tokens_estimated", recs[0])
	}
}

// sseEvents reads a stream into its data payloads and event names.
func sseEvents(t *testing.T, resp *http.Response) (datas []string, events []string, comments int) {
	t.Helper()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "data: "):
			datas = append(datas, strings.TrimPrefix(line, "data: "))
		case strings.HasPrefix(line, "event: "):
			events = append(events, strings.TrimPrefix(line, "event: "))
		case strings.HasPrefix(line, ":"):
			comments++
		}
	}
	return datas, events, comments
}

func (h *apiHarness) post(path, key, body string) *http.Response {
	h.t.Helper()
	req, _ := http.NewRequest("POST", h.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json") // the TS SDK sends this even for streams
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp
}

func TestChatStream(t *testing.T) {
	fake := upstreamtest.New(t, upstreamtest.Behaviour{Reply: "The sky is blue because of Rayleigh scattering."})
	h := newAPIHarnessWith(t, "sqlite", withUpstreams(fake))
	resp := h.post("/chat/completions", h.chatKey(), `{"model":"sonar","stream":true,"messages":[{"role":"user","content":"Why is the sky blue?"}]}`)
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	datas, events, _ := sseEvents(t, resp)
	if len(events) != 0 {
		t.Fatalf("unexpected named events %v", events)
	}
	if n := len(datas); n < 3 || datas[n-1] != "[DONE]" {
		t.Fatalf("stream = %v", datas)
	}
	var text strings.Builder
	var id string
	for i, d := range datas[:len(datas)-1] {
		var c struct {
			ID      string `json:"id"`
			Object  string `json:"object"`
			Model   string `json:"model"`
			Created int64  `json:"created"`
			Choices []struct {
				Index        int             `json:"index"`
				Delta        *map[string]any `json:"delta"`
				FinishReason *string         `json:"finish_reason"`
			} `json:"choices"`
			Usage *struct {
				PromptTokens     int `json:"prompt_tokens"`
				CompletionTokens int `json:"completion_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal([]byte(d), &c); err != nil {
			t.Fatalf("chunk %d is not JSON: %s", i, d)
		}
		if c.ID == "" || c.Model != "sonar" || c.Created == 0 || len(c.Choices) != 1 || c.Choices[0].Delta == nil || c.Usage == nil {
			t.Fatalf("chunk %d lacks a required field: %s", i, d)
		}
		if id == "" {
			id = c.ID
		} else if c.ID != id {
			t.Fatalf("chunk ids differ: %s vs %s", c.ID, id)
		}
		last := i == len(datas)-2
		if !last && (*c.Choices[0].Delta)["role"] != "assistant" {
			t.Fatalf("delta role = %v", (*c.Choices[0].Delta)["role"])
		}
		if last && len(*c.Choices[0].Delta) != 0 {
			t.Fatalf("closing delta = %v, want {} as OpenAI sends it", *c.Choices[0].Delta)
		}
		switch {
		case last && (c.Object != "chat.completion.done" || c.Choices[0].FinishReason == nil || *c.Choices[0].FinishReason != "stop"):
			t.Fatalf("final chunk = %s", d)
		case !last && (c.Object != "chat.completion.chunk" || c.Choices[0].FinishReason != nil):
			t.Fatalf("interim chunk = %s", d)
		}
		if s, ok := (*c.Choices[0].Delta)["content"].(string); ok {
			text.WriteString(s)
		}
		if last && (c.Usage.CompletionTokens == 0 || c.Usage.PromptTokens == 0) {
			t.Fatalf("final usage = %+v", c.Usage)
		}
	}
	if text.String() != "The sky is blue because of Rayleigh scattering." {
		t.Fatalf("streamed text = %q", text.String())
	}
	if got := fake.Requests()[0]["stream_options"]; got == nil {
		t.Fatal("Tollgate did not ask the upstream for usage in the stream")
	}
	if recs := h.usage(); len(recs) != 1 || recs[0]["outcome"] != "ok" || recs[0]["stream"] != true {
		t.Fatalf("usage records = %v", recs)
	}
}

func TestChatClientAbortCancelsUpstream(t *testing.T) {
	fake := upstreamtest.New(t, upstreamtest.Behaviour{
		Reply: strings.Repeat("word ", 200), ChunkDelay: 20 * time.Millisecond})
	h := newAPIHarnessWith(t, "sqlite", withUpstreams(fake))
	key := h.chatKey()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", h.url+"/chat/completions",
		strings.NewReader(`{"model":"sonar","stream":true,"messages":[{"role":"user","content":"talk"}]}`))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := h.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	// Read a few chunks, then hang up.
	sc := bufio.NewScanner(resp.Body)
	chunks := 0
	for chunks < 5 && sc.Scan() {
		if strings.HasPrefix(sc.Text(), "data: ") {
			chunks++
		}
	}
	killed := time.Now()
	cancel()
	resp.Body.Close()
	select {
	case at := <-fake.Cancelled:
		if d := at.Sub(killed); d > 100*time.Millisecond {
			t.Errorf("upstream saw the cancellation after %s, want within 100ms", d)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the upstream request was not cancelled")
	}
	deadline := time.Now().Add(2 * time.Second)
	var recs []map[string]any
	for time.Now().Before(deadline) {
		if recs = h.usage(); len(recs) > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(recs) != 1 {
		t.Fatalf("%d usage records, want exactly 1", len(recs))
	}
	r := recs[0]
	if r["outcome"] != "aborted" || r["completion_tokens"].(float64) < 4 || r["completion_tokens"].(float64) > 100 {
		t.Fatalf("record = %v; want aborted with the few tokens actually streamed", r)
	}
}

func TestChatFailoverAndBreaker(t *testing.T) {
	broken := upstreamtest.New(t, upstreamtest.Behaviour{FailStatus: 500})
	good := upstreamtest.New(t, upstreamtest.Behaviour{Reply: "fine"})
	h := newAPIHarnessWith(t, "sqlite", withUpstreams(broken, good))
	key := h.chatKey()
	for i := range 20 {
		body := `{"model":"sonar","messages":[{"role":"user","content":"hi"}]}`
		if i%2 == 1 {
			body = `{"model":"sonar","stream":true,"messages":[{"role":"user","content":"hi"}]}`
		}
		resp := h.post("/chat/completions", key, body)
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: status %d", i, resp.StatusCode)
		}
		resp.Body.Close()
	}
	if state := h.app.router.Breakers()["alpha/llama-alpha"]; state != "open" {
		t.Fatalf("breaker of the failing deployment = %s, want open", state)
	}
	if good.Served() != 20 {
		t.Fatalf("good deployment served %d, want 20", good.Served())
	}
	if n := broken.Served(); n < 1 || n > 6 {
		t.Fatalf("broken deployment tried %d times; the breaker should stop traffic after 5 failures", n)
	}
}

func TestChatUpstreamErrors(t *testing.T) {
	limited := upstreamtest.New(t, upstreamtest.Behaviour{FailStatus: 429, RetryAfter: 7})
	h := newAPIHarnessWith(t, "sqlite", func(c *config.Config) {
		withUpstreams(limited)(c)
		// Without search, an unrouted search model has nothing to answer
		// with (with it, the extractive engine answers: grounded_test.go).
		c.Search.LocalIndex = false
	})
	key := h.chatKey()
	resp := h.post("/chat/completions", key, `{"model":"sonar","messages":[{"role":"user","content":"hi"}]}`)
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("rate-limited upstream → %d (retry-after %q), want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// A model with no route answers 503 and says what to do.
	code, body := h.do("POST", "/chat/completions", key, `{"model":"sonar-pro","messages":[{"role":"user","content":"hi"}]}`)
	if code != 503 || !strings.Contains(errorOf(t, code, body), "no upstream configured") {
		t.Fatalf("unrouted model → %d %v", code, body)
	}
	code, body = h.do("POST", "/chat/completions", key, `{"model":"gpt-9","messages":[{"role":"user","content":"hi"}]}`)
	if code != 400 || !strings.Contains(errorOf(t, code, body), "Invalid model 'gpt-9'") {
		t.Fatalf("unknown model → %d %v", code, body)
	}
}

func TestChatStreamMidwayFailureIsAnErrorEvent(t *testing.T) {
	fake := upstreamtest.New(t, upstreamtest.Behaviour{Reply: "a b c d e f g h", FailMidStream: 3})
	h := newAPIHarnessWith(t, "sqlite", withUpstreams(fake))
	resp := h.post("/chat/completions", h.chatKey(), `{"model":"sonar","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	defer resp.Body.Close()
	datas, events, _ := sseEvents(t, resp)
	if resp.StatusCode != 200 || len(events) != 1 || events[0] != "error" {
		t.Fatalf("status %d events %v data %v", resp.StatusCode, events, datas)
	}
	var e struct {
		Error struct {
			Message string `json:"message"`
			Code    int    `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(datas[len(datas)-1]), &e); err != nil || e.Error.Code == 0 || e.Error.Message == "" {
		t.Fatalf("error event data = %s", datas[len(datas)-1])
	}
	if fake.Served() != 1 {
		t.Fatalf("upstream called %d times: a stream must never be retried after bytes reached the client", fake.Served())
	}
	if recs := h.usage(); len(recs) != 1 || recs[0]["outcome"] != "error" {
		t.Fatalf("usage = %v", recs)
	}
}

func TestChatStreamKeepAlive(t *testing.T) {
	fake := upstreamtest.New(t, upstreamtest.Behaviour{Reply: "late", Delay: 700 * time.Millisecond})
	h := newAPIHarnessWith(t, "sqlite", withUpstreams(fake))
	resp := h.post("/chat/completions", h.chatKey(), `{"model":"sonar","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	defer resp.Body.Close()
	datas, _, comments := sseEvents(t, resp)
	if comments < 2 || datas[len(datas)-1] != "[DONE]" {
		t.Fatalf("comments %d, data %v: want keep-alive comments while the upstream thinks", comments, datas)
	}
}

func TestMetricsShowBreakersAndRequests(t *testing.T) {
	broken := upstreamtest.New(t, upstreamtest.Behaviour{FailStatus: 503})
	h := newAPIHarnessWith(t, "sqlite", func(c *config.Config) {
		withUpstreams(broken)(c)
		c.Routing.BreakerFailures = 1
	})
	resp := h.post("/chat/completions", h.chatKey(), `{"model":"sonar","messages":[{"role":"user","content":"hi"}]}`)
	resp.Body.Close()
	if resp.StatusCode != 502 && resp.StatusCode != 503 {
		t.Fatalf("failing upstream → %d, want 502 or 503", resp.StatusCode)
	}
	mresp, err := h.client.Get(h.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer mresp.Body.Close()
	b, _ := io.ReadAll(mresp.Body)
	for _, want := range []string{
		`tollgate_upstream_breaker_open{deployment="alpha/llama-alpha"} 1`,
		`tollgate_inference_requests_total{deployment="alpha/llama-alpha",endpoint="chat.completions",model="sonar",outcome="error"} 1`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestChatPassesPerplexityUsageExtras(t *testing.T) {
	fake := upstreamtest.New(t, upstreamtest.Behaviour{Reply: "cited", UsageExtra: map[string]any{
		"num_search_queries": 2, "search_context_size": "medium", "citation_tokens": 40,
		"cost": map[string]any{"total_cost": 0.01}, // Tollgate prices requests itself
	}})
	h := newAPIHarnessWith(t, "sqlite", withUpstreams(fake))
	u := h.must(200, "POST", "/chat/completions", h.chatKey(), `{"model":"sonar","messages":[{"role":"user","content":"q"}]}`)["usage"].(map[string]any)
	if u["num_search_queries"] != float64(2) || u["search_context_size"] != "medium" || u["citation_tokens"] != float64(40) {
		t.Fatalf("usage = %v: Perplexity's extras were dropped", u)
	}
	// The cost is Tollgate's own price of the usage (sonar: $1/1M tokens
	// each way, $5 per 1K requests at the requested low context size), not
	// the upstream's.
	cost, _ := u["cost"].(map[string]any)
	want := (u["prompt_tokens"].(float64) + u["completion_tokens"].(float64) + 5000) / 1e6
	if got, _ := cost["total_cost"].(float64); cost == nil || math.Abs(got-want) > 1e-12 || cost["request_cost"] != 0.005 {
		t.Fatalf("usage = %v: want Tollgate's cost %.6f, not the upstream's", u, want)
	}
}
