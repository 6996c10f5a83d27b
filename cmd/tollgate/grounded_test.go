package main

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/config"
	"github.com/tollgate-dev/tollgate/internal/search/web/webtest"
	"github.com/tollgate-dev/tollgate/internal/upstream/upstreamtest"
)

// A fresh install with no LLM answers the quickstart question from its own
// documentation, with citations, streamed or not.
func TestOfflineGroundedAnswer(t *testing.T) {
	h := newAPIHarness(t, "sqlite")
	key := h.chatKey()
	body := `{"model":"sonar","messages":[{"role":"user","content":"How do I rotate an API key?"}]}`
	out := h.must(200, "POST", "/chat/completions", key, body)
	content := out["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)["content"].(string)
	citations, _ := out["citations"].([]any)
	results, _ := out["search_results"].([]any)
	usage := out["usage"].(map[string]any)
	if !strings.Contains(content, "[1]") || !strings.Contains(strings.ToLower(content), "rotat") ||
		len(citations) == 0 || citations[0] != "tollgate://docs/keys.md" || len(results) < len(citations) ||
		usage["num_search_queries"] != float64(1) || usage["search_context_size"] != "low" {
		t.Fatalf("answer = %q\ncitations %v\nresults %v\nusage %v", content, citations, results, usage)
	}
	first := results[0].(map[string]any)
	if first["url"] != citations[0] || first["title"] == "" || first["snippet"] == "" {
		t.Fatalf("search_results[0] = %v", first)
	}
	if _, ok := first["date"]; ok {
		t.Fatalf("an undated document has a date field: %v", first)
	}

	resp := h.post("/chat/completions", key, strings.Replace(body, `"messages"`, `"stream":true,"messages"`, 1))
	datas, _, _ := sseEvents(t, resp)
	if len(datas) < 3 || datas[len(datas)-1] != "[DONE]" || !strings.Contains(datas[len(datas)-2], `"citations":["tollgate://docs/keys.md"`) {
		t.Fatalf("stream = %v", datas)
	}

	// Bad search options are refused before anything runs.
	bad := h.post("/chat/completions", key, `{"model":"sonar","search_recency_filter":"fortnight","messages":[{"role":"user","content":"q"}]}`)
	bad.Body.Close()
	if bad.StatusCode != 400 {
		t.Fatalf("bad recency filter: %d", bad.StatusCode)
	}
}

// The wired server answers Perplexity's Search API from the local index,
// and the management API shows the index.
func TestSearchAndIndexAreWired(t *testing.T) {
	h := newAPIHarness(t, "sqlite")
	key := h.chatKey()
	out := h.must(200, "POST", "/search", key, `{"query":"rotate an API key with a grace period","max_results":3}`)
	results, _ := out["results"].([]any)
	if len(results) == 0 || len(results) > 3 || out["id"] == "" || out["server_time"] == nil {
		t.Fatalf("/search = %v", out)
	}
	if first := results[0].(map[string]any); first["url"] != "tollgate://docs/keys.md" || first["snippet"] == "" {
		t.Fatalf("first result = %v", first)
	}
	stats := h.must(200, "GET", "/api/v1/index/stats", h.owner, "")
	if n, _ := stats["documents"].(float64); n < 5 {
		t.Fatalf("index stats = %v; want the bundled docs", stats)
	}
	if code, _ := h.do("POST", "/api/v1/index/documents", h.token("viewer"),
		`{"url":"https://example.org/x","text":"hello","title":"x"}`); code != 403 {
		t.Fatalf("a viewer added to the index: %d", code)
	}
}

// A search model whose route grounds its LLM: the upstream receives the
// numbered sources, and the response cites only what the answer used,
// renumbered, the same streamed or not.
func TestGroundedLLMRoute(t *testing.T) {
	fake := upstreamtest.New(t, upstreamtest.Behaviour{Reply: "Rotate it with a grace period [2]. Nothing else matters [9]."})
	h := newAPIHarnessWith(t, "sqlite", func(c *config.Config) {
		withUpstreams(fake)(c)
		c.Models[0].Ground = true
	})
	key := h.chatKey()
	body := `{"model":"sonar","messages":[{"role":"user","content":"How do I rotate an API key?"}]}`
	out := h.must(200, "POST", "/chat/completions", key, body)
	reqs := fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d upstream requests", len(reqs))
	}
	msgs := reqs[0]["messages"].([]any)
	system := msgs[0].(map[string]any)
	if system["role"] != "system" || !strings.Contains(system["content"].(string), "[1]") ||
		!strings.Contains(system["content"].(string), "[2]") || !strings.Contains(system["content"].(string), "tollgate://docs/") {
		t.Fatalf("the upstream did not get numbered sources: %v", system)
	}
	content := out["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)["content"].(string)
	citations, _ := out["citations"].([]any)
	if content != "Rotate it with a grace period [1]. Nothing else matters." || len(citations) != 1 {
		t.Fatalf("content %q, citations %v", content, citations)
	}
	resp := h.post("/chat/completions", key, strings.Replace(body, `"messages"`, `"stream":true,"messages"`, 1))
	datas, _, _ := sseEvents(t, resp)
	var streamed strings.Builder
	for _, d := range datas[:len(datas)-1] {
		var c struct {
			Object    string
			Choices   []struct{ Delta struct{ Content string } }
			Citations []string
		}
		if err := json.Unmarshal([]byte(d), &c); err != nil {
			t.Fatal(err)
		}
		if len(c.Choices) > 0 {
			streamed.WriteString(c.Choices[0].Delta.Content)
		}
		if c.Object == "chat.completion.done" && (len(c.Citations) != 1 || c.Citations[0] != citations[0]) {
			t.Fatalf("final chunk citations %v, want %v", c.Citations, citations)
		}
	}
	if streamed.String() != content {
		t.Fatalf("streamed %q, want %q", streamed.String(), content)
	}
}

// POST /search is billed as Perplexity bills it: $5 per 1,000 requests,
// whatever the number of queries; a refused or invalid one is free.
func TestSearchIsBilled(t *testing.T) {
	h := newAPIHarnessWith(t, "sqlite", func(c *config.Config) { c.Billing.RequireCredits = true })
	key := h.chatKey()
	if code, _ := h.do("POST", "/search", key, `{"query":"spend caps"}`); code != 402 {
		t.Fatalf("search without credits: %d, want 402", code)
	}
	h.must(201, "POST", "/api/v1/billing/topups", h.owner, `{"amount":"1"}`)
	h.must(200, "POST", "/search", key, `{"query":["spend caps","rate limits"],"max_results":2}`)
	if code, _ := h.do("POST", "/search", key, `{"query":""}`); code != 400 {
		t.Fatalf("empty query: %d", code)
	}
	bal := h.must(200, "GET", "/api/v1/billing/balance", h.owner, "")
	if bal["balance_micros"] != float64(1_000_000-5_000) {
		t.Fatalf("balance after one two-query search = %v, want $0.995", bal["balance_micros"])
	}
}

// With a web provider that searches images (a fake SearXNG), return_images
// adds images[], each with its size, the same streamed or not; an image
// whose size neither SearXNG nor its file tells is left out. Without
// return_images, or from the local index alone, there is no images field.
func TestGroundedImages(t *testing.T) {
	fake := webtest.NewSearXNG(t)
	fake.SetDocs(webtest.Doc{Title: "Rotating keys at Omega", URL: "http://127.0.0.1:1/omega/keys",
		Content: "To rotate an API key at Omega, create a new key, then revoke the old key after its grace period."})
	fake.SetImages(
		webtest.Image{URL: "https://img.example/rotation.png", PageURL: "https://omega.example/keys", Title: "Key rotation",
			Width: 1280, Height: 720, Format: "png"},
		// No size, and its file is on a loopback address, which the
		// production prober refuses to fetch.
		webtest.Image{URL: "http://127.0.0.1:1/diagram.png", PageURL: "https://omega.example/diagram", Title: "Diagram"},
		webtest.Image{URL: "https://img.example/keys.jpg", PageURL: "https://other.example/keys", Title: "Keys",
			Width: 800, Height: 600, Format: "jpeg"},
	)
	h := newAPIHarnessWith(t, "sqlite", func(c *config.Config) {
		c.Search.Providers = []config.SearchProviderConfig{{Name: "searxng", BaseURL: fake.URL()}}
	})
	key := h.chatKey()
	want := []any{
		map[string]any{"image_url": "https://img.example/rotation.png", "origin_url": "https://omega.example/keys",
			"title": "Key rotation", "width": float64(1280), "height": float64(720)},
		map[string]any{"image_url": "https://img.example/keys.jpg", "origin_url": "https://other.example/keys",
			"title": "Keys", "width": float64(800), "height": float64(600)},
	}
	body := `{"model":"sonar","return_images":true,"messages":[{"role":"user","content":"How do I rotate an API key at Omega?"}]}`
	out := h.must(200, "POST", "/chat/completions", key, body)
	if !reflect.DeepEqual(out["images"], want) {
		t.Fatalf("images = %v\nwant %v", out["images"], want)
	}
	if u := out["usage"].(map[string]any); u["num_search_queries"] != float64(1) {
		t.Errorf("usage %v: images counted as search queries", u)
	}

	final := finalChunk(t, h.post("/chat/completions", key, strings.Replace(body, `"messages"`, `"stream":true,"messages"`, 1)))
	if !reflect.DeepEqual(final["images"], want) {
		t.Fatalf("streamed images = %v\nwant %v", final["images"], want)
	}

	three := h.must(200, "POST", "/chat/completions", key, strings.Replace(body, `"return_images":true`,
		`"return_images":true,"num_images":1,"image_format_filter":["jpg"]`, 1))
	if imgs, _ := three["images"].([]any); len(imgs) != 1 || !reflect.DeepEqual(imgs[0], want[1]) {
		t.Fatalf("num_images 1, jpg only: images = %v", three["images"])
	}

	off := strings.Replace(body, `"return_images":true,`, "", 1)
	if out := h.must(200, "POST", "/chat/completions", key, off); out["images"] != nil {
		t.Fatalf("images without return_images: %v", out["images"])
	}
	if final := finalChunk(t, h.post("/chat/completions", key, strings.Replace(off, `"messages"`, `"stream":true,"messages"`, 1))); final["images"] != nil {
		t.Fatalf("streamed images without return_images: %v", final["images"])
	}
	for _, bad := range []string{`"num_images":0`, `"image_format_filter":["tga"]`, `"image_domain_filter":["a.example","-b.example"]`} {
		if code, _ := h.do("POST", "/chat/completions", key, strings.Replace(body, `"return_images":true`, bad, 1)); code != 400 {
			t.Errorf("%s: status %d, want 400", bad, code)
		}
	}

	// The local index alone has no images: the field is absent, not empty.
	local := newAPIHarness(t, "sqlite")
	out = local.must(200, "POST", "/chat/completions", local.chatKey(), body)
	if _, ok := out["images"]; ok {
		t.Fatalf("local index only: images = %v, want no field", out["images"])
	}
}

// finalChunk reads a stream and returns its chat.completion.done chunk.
func finalChunk(t *testing.T, resp *http.Response) map[string]any {
	t.Helper()
	datas, _, _ := sseEvents(t, resp)
	for _, d := range datas {
		var c map[string]any
		if d == "[DONE]" || json.Unmarshal([]byte(d), &c) != nil {
			continue
		}
		if c["object"] == "chat.completion.done" {
			return c
		}
	}
	t.Fatalf("no chat.completion.done chunk in %v", datas)
	return nil
}
