package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/tollgate-dev/tollgate/internal/async"
	"github.com/tollgate-dev/tollgate/internal/chat"
	"github.com/tollgate-dev/tollgate/internal/httpjson"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// asyncJobJSON is Perplexity's AsyncApiChatCompletionsResponse. Absent
// times, error and response are omitted rather than null, as the wire notes
// recommend for optional fields.
type asyncJobJSON struct {
	ID           string          `json:"id"`
	Model        string          `json:"model"`
	CreatedAt    int64           `json:"created_at"`
	Status       async.Status    `json:"status"`
	StartedAt    *int64          `json:"started_at,omitempty"`
	CompletedAt  *int64          `json:"completed_at,omitempty"`
	FailedAt     *int64          `json:"failed_at,omitempty"`
	ErrorMessage string          `json:"error_message,omitempty"`
	Response     json.RawMessage `json:"response,omitempty"`
}

func toAsyncJob(j *async.Job, summary bool) asyncJobJSON {
	unix := func(t time.Time) *int64 { v := t.Unix(); return &v }
	out := asyncJobJSON{ID: j.ID, Model: j.Model, CreatedAt: j.CreatedAt.Unix(), Status: j.Status}
	if j.StartedAt != nil {
		out.StartedAt = unix(*j.StartedAt)
	}
	if j.CompletedAt != nil {
		out.CompletedAt = unix(*j.CompletedAt)
	}
	if j.FailedAt != nil {
		out.FailedAt = unix(*j.FailedAt)
	}
	if !summary {
		out.ErrorMessage = j.ErrorMessage
		if j.Status == async.StatusCompleted {
			out.Response = j.Response
		}
	}
	return out
}

func (d *Deps) asyncCaller(r *http.Request) async.Caller {
	k := KeyFrom(r.Context())
	return async.Caller{OrgID: k.OrgID, GroupID: k.GroupID, KeyID: k.ID}
}

// createAsync is POST /async/chat/completions (and /v1/async/sonar): the
// inner request is validated exactly as POST /chat/completions validates
// it, then stored as a job; the answer comes at once, status CREATED.
func (d *Deps) createAsync() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Request        json.RawMessage `json:"request"`
			IdempotencyKey *string         `json:"idempotency_key"`
		}
		if err := httpjson.Decode(w, r, &body, httpjson.DecodeOptions{MaxBytes: d.chatBodyLimit()}); err != nil {
			httpjson.Error(w, r, d.Log, err)
			return
		}
		stored, model, err := d.parseAsyncRequest(body.Request)
		if err != nil {
			httpjson.Error(w, r, d.Log, err)
			return
		}
		idem := ""
		if body.IdempotencyKey != nil {
			idem = *body.IdempotencyKey
		}
		j, _, err := d.Async.Submit(r.Context(), d.asyncCaller(r), model, stored, idem)
		if err != nil {
			httpjson.Error(w, r, d.Log, err)
			return
		}
		httpjson.Encode(w, http.StatusOK, toAsyncJob(j, false))
	})
}

// parseAsyncRequest validates the inner chat request and returns it
// compacted for storage, with the catalog's ID of its model.
func (d *Deps) parseAsyncRequest(raw json.RawMessage) (json.RawMessage, string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, "", platform.Invalid("request", `request is required: the chat completion request to run, `+
			`e.g. {"request":{"model":"sonar","messages":[{"role":"user","content":"…"}]}}`)
	}
	var inner map[string]json.RawMessage
	if raw[0] != '{' || json.Unmarshal(raw, &inner) != nil {
		return nil, "", platform.Invalid("request", "request must be a JSON object: a chat completion request with model and messages")
	}
	req, err := chat.Parse(inner, d.Chat.Catalog())
	if err != nil {
		return nil, "", inRequest(err)
	}
	if req.Stream {
		return nil, "", platform.Invalid("request.stream", "stream is not supported for async chat completions: "+
			"the result is fetched with GET /async/chat/completions/{id}; use POST /chat/completions to stream")
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, "", platform.Invalid("request", "request is not valid JSON")
	}
	return b.Bytes(), req.Model.ID, nil
}

// inRequest points a validation error's param inside the request field;
// the message stays the one /chat/completions gives.
func inRequest(err error) error {
	var pe *platform.Error
	if !errors.As(err, &pe) || pe.Param == "" {
		return err
	}
	cp := *pe
	cp.Param = "request." + pe.Param
	return &cp
}

// getAsync is GET /async/chat/completions/{api_request}. Jobs of other
// groups are not found, like unknown and expired ones.
func (d *Deps) getAsync() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j, err := d.Async.Get(r.Context(), d.asyncCaller(r), r.PathValue("api_request"))
		if err != nil {
			httpjson.Error(w, r, d.Log, err)
			return
		}
		httpjson.Encode(w, http.StatusOK, toAsyncJob(j, false))
	})
}

// listAsync is GET /async/chat/completions: the group's jobs, newest
// first, as summaries (no response, no error message); ?limit= and
// ?next_token= page through them.
func (d *Deps) listAsync() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		limit := 0
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > async.MaxPageSize {
				httpjson.Error(w, r, d.Log, platform.Invalid("limit", "limit must be an integer from 1 to %d, not %q",
					async.MaxPageSize, v))
				return
			}
			limit = n
		}
		p, err := d.Async.List(r.Context(), d.asyncCaller(r), q.Get("next_token"), limit)
		if err != nil {
			httpjson.Error(w, r, d.Log, err)
			return
		}
		out := struct {
			Requests  []asyncJobJSON `json:"requests"`
			NextToken string         `json:"next_token,omitempty"`
		}{Requests: make([]asyncJobJSON, 0, len(p.Jobs)), NextToken: p.NextToken}
		for _, j := range p.Jobs {
			out.Requests = append(out.Requests, toAsyncJob(j, true))
		}
		httpjson.Encode(w, http.StatusOK, out)
	})
}
