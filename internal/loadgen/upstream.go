package loadgen

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
)

// words is what the fake upstream answers, one streamed chunk per word.
var words = [...]string{"Hello", " benchmark,", " this", " is", " a", " twelve", " word", " answer",
	" from", " the", " fake", " upstream."}

// Upstream is a minimal OpenAI-compatible chat completions server whose
// answers are rendered once, so it costs as little CPU as an HTTP server
// can: POST /v1/chat/completions answers a fixed completion of len(words)
// words with usage, or, for "stream":true, one event per word, a finish
// event, a usage event (when "include_usage":true) and data: [DONE], each
// flushed on its own. It does not parse the request beyond finding those
// two flags.
type Upstream struct {
	reply  []byte
	length []string // reply's Content-Length
	events [][]byte
	usage  []byte
	served atomic.Int64
}

var _ http.Handler = (*Upstream)(nil)

// NewUpstream renders the answers.
func NewUpstream() *Upstream {
	const head = `{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1767225600,"model":"gpt-4o-mini","choices":[{"index":0,`
	var content bytes.Buffer
	for _, w := range words {
		content.WriteString(w)
	}
	usage := fmt.Sprintf(`"usage":{"prompt_tokens":19,"completion_tokens":%d,"total_tokens":%d}`, len(words), 19+len(words))
	u := &Upstream{reply: fmt.Appendf(nil, `{"id":"chatcmpl-bench","object":"chat.completion","created":1767225600,`+
		`"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":%q},`+
		`"finish_reason":"stop"}],%s}`+"\n", content.String(), usage)}
	u.length = []string{strconv.Itoa(len(u.reply))}
	u.events = append(u.events, []byte("data: "+head+`"delta":{"role":"assistant","content":""},"finish_reason":null}]}`+"\n\n"))
	for _, w := range words {
		u.events = append(u.events, fmt.Appendf(nil, "data: "+head+`"delta":{"content":%q},"finish_reason":null}]}`+"\n\n", w))
	}
	u.events = append(u.events, []byte("data: "+head+`"delta":{},"finish_reason":"stop"}]}`+"\n\n"))
	u.usage = []byte(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1767225600,"model":"gpt-4o-mini","choices":[],` + usage + "}\n\n")
	return u
}

// Served counts the chat completions answered so far.
func (u *Upstream) Served() int64 { return u.served.Load() }

var (
	ctJSON      = []string{"application/json"}
	ctSSE       = []string{"text/event-stream"}
	noCache     = []string{"no-cache"}
	streamFlag  = []byte(`"stream":true`)
	includeFlag = []byte(`"include_usage":true`)
	doneEvent   = []byte("data: [DONE]\n\n")
	bodies      = sync.Pool{New: func() any { return new(bytes.Buffer) }}
)

func (u *Upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		http.Error(w, `{"error":{"message":"not found","type":"invalid_request_error"}}`, http.StatusNotFound)
		return
	}
	body := bodies.Get().(*bytes.Buffer)
	defer bodies.Put(body)
	body.Reset()
	if _, err := io.Copy(body, io.LimitReader(r.Body, 1<<20)); err != nil {
		return
	}
	u.served.Add(1)
	h := w.Header()
	if !bytes.Contains(body.Bytes(), streamFlag) {
		h["Content-Type"] = ctJSON
		h["Content-Length"] = u.length
		_, _ = w.Write(u.reply)
		return
	}
	h["Content-Type"] = ctSSE
	h["Cache-Control"] = noCache
	fl := w.(http.Flusher)
	for _, ev := range u.events {
		if _, err := w.Write(ev); err != nil {
			return
		}
		fl.Flush()
	}
	if bytes.Contains(body.Bytes(), includeFlag) {
		_, _ = w.Write(u.usage)
		fl.Flush()
	}
	_, _ = w.Write(doneEvent)
}
