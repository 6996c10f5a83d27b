package main

import (
	"strings"
	"testing"
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
