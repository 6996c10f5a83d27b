// Package async runs Perplexity's async chat completions: a client submits
// a chat completion request, gets a job ID at once, and polls until the
// job is COMPLETED (with the whole completion) or FAILED (with a
// client-safe message).
//
// Jobs live in the database, not in memory, so they survive restarts and
// can be shared by several replicas on one PostgreSQL. A bounded pool of
// workers claims them one at a time; a claim is a lease that the running
// worker renews, so a job whose process died (kill -9, a lost node) is
// claimed again once its lease lapses, while a job interrupted by a clean
// shutdown is handed back at once. Every write that ends a run is fenced
// by the claim's token: a worker that lost its lease can never overwrite
// the result of the worker that took the job over.
package async

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"strings"
	"time"
)

// Status is where a job is in its life.
type Status string

// The statuses of Perplexity's AsyncApiChatCompletionsResponse.
const (
	StatusCreated    Status = "CREATED"
	StatusInProgress Status = "IN_PROGRESS"
	StatusCompleted  Status = "COMPLETED"
	StatusFailed     Status = "FAILED"
)

// PrefixJob starts every job ID.
const PrefixJob = "async_"

// NewID returns a fresh job ID (128 random bits).
func NewID() string { return PrefixJob + strings.ToLower(rand.Text()) }

// Caller is who submits and reads jobs: the organization, API group and
// key of the authenticated key. Jobs are visible to the whole group.
type Caller struct {
	OrgID   string
	GroupID string
	KeyID   string
}

// Job is one async chat completion.
type Job struct {
	ID      string
	OrgID   string
	GroupID string
	// KeyID is the key that submitted the job (its ID, never its secret);
	// the run is metered to it.
	KeyID string
	// Model is the catalog's ID of the requested model.
	Model string
	// Request is the validated chat completion request, as the client sent
	// it. List reads leave it empty.
	Request json.RawMessage
	// IdempotencyKey is empty when the client sent none.
	IdempotencyKey string
	Status         Status
	CreatedAt      time.Time
	// ExpiresAt is when the job (and its result) is forgotten.
	ExpiresAt   time.Time
	StartedAt   *time.Time
	CompletedAt *time.Time
	FailedAt    *time.Time
	// ErrorMessage is the client-safe reason of a FAILED job.
	ErrorMessage string
	// Response is the chat.completion JSON of a COMPLETED job. List reads
	// leave it empty.
	Response json.RawMessage
	// Attempts counts the runs begun and not handed back, the current one
	// included.
	Attempts int
}

// Cursor is a position in a group's job list, newest first: the list
// continues with jobs created before CreatedAt (or at it, with a smaller
// ID).
type Cursor struct {
	CreatedAt time.Time
	ID        string
}

// Outcome is how a run ended: COMPLETED with Response or FAILED with
// ErrorMessage, at At.
type Outcome struct {
	Status       Status
	At           time.Time
	Response     json.RawMessage
	ErrorMessage string
}

// Store keeps jobs. Implementations must be safe for concurrent use, also
// across processes sharing one database. Methods that read a job for a
// caller return an error wrapping platform.ErrNotFound for jobs that do not
// exist, have expired at now, or belong to another group.
type Store interface {
	// CreateAsyncJob inserts j, unless j has an idempotency key that a live
	// job of its group already holds: then it returns that job and false.
	// An expired job holding the key is replaced.
	CreateAsyncJob(ctx context.Context, j *Job, now time.Time) (*Job, bool, error)
	GetAsyncJob(ctx context.Context, orgID, groupID, id string, now time.Time) (*Job, error)
	// ListAsyncJobs lists a group's live jobs newest first, without request
	// and response, starting after the cursor when there is one.
	ListAsyncJobs(ctx context.Context, orgID, groupID string, after *Cursor, limit int, now time.Time) ([]*Job, error)
	Queue
}

// Queue is what the workers need of the store.
type Queue interface {
	// ClaimAsyncJob atomically takes the oldest job that is CREATED, or
	// IN_PROGRESS with a lease that ended before now, marks it IN_PROGRESS
	// under token until leaseUntil, counts the attempt and returns it. It
	// returns nil and no error when no job is waiting. No two calls, in any
	// process, get the same job while its lease runs.
	ClaimAsyncJob(ctx context.Context, token string, now, leaseUntil time.Time) (*Job, error)
	// ExtendAsyncLease renews the lease of a job still claimed under token;
	// it returns platform.ErrNotFound (wrapped) when the claim was lost.
	ExtendAsyncLease(ctx context.Context, id, token string, leaseUntil time.Time) error
	// FinishAsyncJob records the outcome of a run still claimed under token
	// (else platform.ErrNotFound).
	FinishAsyncJob(ctx context.Context, id, token string, o Outcome) error
	// ReleaseAsyncJob hands a job claimed under token back to the queue as
	// CREATED, uncounting the attempt (else platform.ErrNotFound).
	ReleaseAsyncJob(ctx context.Context, id, token string) error
	// DeleteExpiredAsyncJobs deletes up to limit jobs expired at now and
	// says how many it deleted.
	DeleteExpiredAsyncJobs(ctx context.Context, now time.Time, limit int) (int, error)
}

// Runner runs a job's request and returns the completion JSON. Its error
// must be a platform error with a client-safe message (anything else is
// reported to the client generically).
type Runner interface {
	Run(ctx context.Context, j *Job) (json.RawMessage, error)
}
