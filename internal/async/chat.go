package async

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tollgate-dev/tollgate/internal/chat"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// Endpoint names async runs in usage records.
const Endpoint = "async.chat.completions"

// ChatRunner runs jobs through the chat service, as the job's caller.
type ChatRunner struct {
	chat *chat.Service
}

var _ Runner = (*ChatRunner)(nil)

// NewChatRunner returns a Runner over svc.
func NewChatRunner(svc *chat.Service) *ChatRunner { return &ChatRunner{chat: svc} }

// Run validates the stored request again (the catalog may have changed
// since submission: a model removed now fails the job with the usual
// message) and completes it, metered to the job's key with the job's ID as
// the request ID.
func (r *ChatRunner) Run(ctx context.Context, j *Job) (json.RawMessage, error) {
	var body map[string]json.RawMessage
	if err := json.Unmarshal(j.Request, &body); err != nil {
		return nil, fmt.Errorf("job %s: stored request: %w", j.ID, err)
	}
	req, err := chat.Parse(body, r.chat.Catalog())
	if err != nil {
		return nil, err
	}
	req.Stream = false
	// Each run is its own metered request, under an ID no other run
	// shares: a run cut short (by a crash, or handed back at shutdown, which
	// gives its attempt number back) is recorded or released on its own,
	// and the next run is billed in full.
	rid := j.ID + "." + strings.ToLower(rand.Text()[:8])
	out, err := r.chat.Complete(ctx, chat.Caller{RequestID: rid, OrgID: j.OrgID, GroupID: j.GroupID, KeyID: j.KeyID},
		Endpoint, req)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, &platform.Error{Kind: platform.KindInternal, Message: "encoding the completion failed", Err: err}
	}
	return b, nil
}
