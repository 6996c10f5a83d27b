package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/tollgate-dev/tollgate/internal/chat"
	"github.com/tollgate-dev/tollgate/internal/httpjson"
	"github.com/tollgate-dev/tollgate/internal/metering"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// maxChatBody bounds a chat request: long conversations and inline images
// are large, but not unbounded.
const maxChatBody = 16 << 20

func (d *Deps) caller(r *http.Request) chat.Caller {
	k := KeyFrom(r.Context())
	return chat.Caller{RequestID: httpjson.RequestID(r.Context()), OrgID: k.OrgID, GroupID: k.GroupID, KeyID: k.ID}
}

// parseChat reads and validates a chat completion body.
func (d *Deps) parseChat(w http.ResponseWriter, r *http.Request) (*chat.Request, error) {
	var body map[string]json.RawMessage
	if err := httpjson.Decode(w, r, &body, httpjson.DecodeOptions{MaxBytes: d.chatBodyLimit()}); err != nil {
		return nil, err
	}
	return chat.Parse(body, d.Chat.Catalog())
}

func (d *Deps) chatBodyLimit() int64 {
	if d.MaxChatBody > 0 {
		return d.MaxChatBody
	}
	return maxChatBody
}

// chatCompletions is POST /chat/completions (and its aliases).
func (d *Deps) chatCompletions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := d.parseChat(w, r)
		if err != nil {
			httpjson.Error(w, r, d.Log, err)
			return
		}
		if req.Stream {
			d.stream(w, r, req)
			return
		}
		out, err := d.Chat.Complete(r.Context(), d.caller(r), "chat.completions", req)
		if err != nil {
			if r.Context().Err() == nil {
				httpjson.Error(w, r, d.Log, err)
			}
			return
		}
		copyHeaders(w.Header(), out.Headers)
		httpjson.Encode(w, http.StatusOK, out)
	})
}

func copyHeaders(dst, src http.Header) {
	for k, v := range src {
		dst[k] = v
	}
}

// sse writes server-sent events: data lines only, keep-alives as comments.
type sse struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (s sse) commit() {
	h := s.w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // tell nginx not to buffer the stream
	s.w.WriteHeader(http.StatusOK)
	_ = s.rc.Flush()
}

func (s sse) data(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.raw("data: " + string(b) + "\n\n")
}

func (s sse) raw(line string) error {
	if _, err := io.WriteString(s.w, line); err != nil {
		return err
	}
	return s.rc.Flush()
}

// errorEvent is a mid-stream error, as every SDK recognises one.
func (s sse) errorEvent(err error) error {
	status := httpjson.Status(err)
	b, _ := json.Marshal(map[string]any{"error": map[string]any{
		"message": platform.ErrorMessage(err), "type": string(platform.ErrorKind(err)), "code": status}})
	return s.raw("event: error\ndata: " + string(b) + "\n\n")
}

type started struct {
	ss  *chat.StreamSession
	err error
}

type next struct {
	c   *chat.Completion
	err error
}

// stream answers a streaming request. Until the upstream's first token the
// response is uncommitted, so an early failure gets its proper status; if
// the first token takes longer than the keep-alive interval, a 200 is sent
// with keep-alive comments, and later failures become error events.
func (d *Deps) stream(w http.ResponseWriter, r *http.Request, req *chat.Request) {
	ctx := r.Context()
	out := sse{w: w, rc: http.NewResponseController(w)}
	keepAlive := d.KeepAlive
	if keepAlive <= 0 {
		keepAlive = 10 * time.Second
	}
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()

	begun := make(chan started, 1)
	go func() {
		ss, err := d.Chat.Stream(ctx, d.caller(r), "chat.completions", req)
		begun <- started{ss, err}
	}()
	committed := false
	var ss *chat.StreamSession
	for ss == nil {
		select {
		case st := <-begun:
			if st.err != nil {
				if ctx.Err() != nil {
					return // the client left; the session recorded it
				}
				if !committed {
					httpjson.Error(w, r, d.Log, st.err)
				} else {
					_ = out.errorEvent(st.err)
				}
				return
			}
			ss = st.ss
		case <-tick.C:
			if !committed {
				out.commit()
				committed = true
			}
			_ = out.raw(": keep-alive\n\n")
		case <-ctx.Done():
			if st := <-begun; st.ss != nil {
				_ = st.ss.End(ctx, metering.OutcomeAborted, 499, "client disconnected")
			}
			return
		}
	}
	if !committed {
		copyHeaders(w.Header(), ss.Headers())
		out.commit()
	}

	chunks := make(chan next, 1)
	go func() {
		for {
			c, err := ss.Next()
			chunks <- next{c, err}
			if err != nil {
				return
			}
		}
	}()
	// abort stops the upstream, waits for the reader to see it, and
	// records the tokens streamed so far.
	abort := func(reason string) {
		ss.Cancel()
		for n := range chunks {
			if n.err != nil {
				break
			}
		}
		_ = ss.End(ctx, metering.OutcomeAborted, 499, reason)
	}
	for {
		select {
		case n := <-chunks:
			switch {
			case errors.Is(n.err, io.EOF):
				// The usage is durable (and priced, for the final chunk) before
				// the client gets its last byte.
				if err := ss.End(ctx, metering.OutcomeOK, http.StatusOK, ""); err != nil {
					_ = out.errorEvent(err)
					return
				}
				if err := out.data(ss.Final()); err != nil {
					return
				}
				_ = out.raw("data: [DONE]\n\n")
				return
			case n.err != nil && ctx.Err() != nil:
				// The upstream read failed because the client left and took
				// the request's context with it: an abort, not an upstream
				// failure, whichever of the two the select saw first.
				_ = ss.End(ctx, metering.OutcomeAborted, 499, "client disconnected")
				return
			case n.err != nil:
				d.Log.WarnContext(ctx, "stream failed midway", "request_id", httpjson.RequestID(ctx), "err", n.err)
				// Durable first, as for a stream that ends well.
				_ = ss.End(ctx, metering.OutcomeError, http.StatusOK, platform.ErrorMessage(n.err))
				_ = out.errorEvent(n.err)
				return
			}
			if err := out.data(n.c); err != nil {
				abort("client disconnected")
				return
			}
			tick.Reset(keepAlive)
		case <-tick.C:
			if err := out.raw(": keep-alive\n\n"); err != nil {
				abort("client disconnected")
				return
			}
		case <-ctx.Done():
			abort("client disconnected")
			return
		}
	}
}
