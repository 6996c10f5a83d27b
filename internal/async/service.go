package async

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/platform"
)

// Options tune a Service. Zero values take the defaults.
type Options struct {
	// Workers bounds the jobs this process runs at once (default 4).
	Workers int
	// TTL is how long a job and its result are kept (default 7 days).
	TTL time.Duration
	// Lease is how long a claim lasts without renewal (default 15s, also
	// for values under 30ms): how long a job of a process that died waits
	// before another worker takes it. Running jobs renew it every Lease/3.
	Lease time.Duration
	// Poll is how often idle workers look for jobs submitted elsewhere
	// (another replica) or whose lease lapsed (default 1s). Jobs submitted
	// through this Service start at once.
	Poll time.Duration
	// JanitorEvery is how often expired jobs are deleted (default 1m).
	JanitorEvery time.Duration
	// MaxAttempts bounds the runs of a job that keeps dying with its
	// process (default 3); the next claim marks it FAILED.
	MaxAttempts int
	Now         func() time.Time
	Log         *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.TTL <= 0 {
		o.TTL = 7 * 24 * time.Hour
	}
	if o.Lease < 30*time.Millisecond {
		o.Lease = 15 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.JanitorEvery <= 0 {
		o.JanitorEvery = time.Minute
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 3
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// Service submits, reads and (in Run) executes async jobs.
type Service struct {
	store  Store
	runner Runner
	o      Options
	// wake tells idle workers a job was just submitted here.
	wake chan struct{}
}

// New returns a Service over st that runs jobs with r.
func New(st Store, r Runner, o Options) *Service {
	return &Service{store: st, runner: r, o: o.withDefaults(), wake: make(chan struct{}, 1)}
}

// MaxIdempotencyKey bounds the length of an idempotency key.
const MaxIdempotencyKey = 256

// Submit stores a validated request as a new CREATED job and wakes a
// worker. With an idempotency key that a live job of the caller's group
// already holds, it returns that job instead, and false.
func (s *Service) Submit(ctx context.Context, c Caller, model string, request json.RawMessage, idempotencyKey string) (*Job, bool, error) {
	if len(idempotencyKey) > MaxIdempotencyKey {
		return nil, false, platform.Invalid("idempotency_key", "idempotency_key is %d bytes; at most %d are allowed",
			len(idempotencyKey), MaxIdempotencyKey)
	}
	now := s.o.Now().UTC()
	j := &Job{ID: NewID(), OrgID: c.OrgID, GroupID: c.GroupID, KeyID: c.KeyID, Model: model, Request: request,
		IdempotencyKey: idempotencyKey, Status: StatusCreated, CreatedAt: now, ExpiresAt: now.Add(s.o.TTL)}
	got, created, err := s.store.CreateAsyncJob(ctx, j, now)
	if err != nil {
		return nil, false, fmt.Errorf("submit async job: %w", err)
	}
	if created {
		select {
		case s.wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
	return got, created, nil
}

// Get returns a job of the caller's group.
func (s *Service) Get(ctx context.Context, c Caller, id string) (*Job, error) {
	j, err := s.store.GetAsyncJob(ctx, c.OrgID, c.GroupID, id, s.o.Now().UTC())
	if errors.Is(err, platform.ErrNotFound) {
		return nil, &platform.Error{Kind: platform.KindNotFound, Err: err, Message: fmt.Sprintf(
			"No async chat completion %q: the ID is wrong or the job expired (jobs are kept for %s).", id, days(s.o.TTL))}
	}
	if err != nil {
		return nil, fmt.Errorf("get async job: %w", err)
	}
	return j, nil
}

func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		if n := int(d / (24 * time.Hour)); n != 1 {
			return fmt.Sprintf("%d days", n)
		}
		return "1 day"
	}
	return d.String()
}

// Page limits.
const (
	DefaultPageSize = 50
	MaxPageSize     = 100
)

// Page is one page of a group's jobs, newest first. NextToken, when not
// empty, fetches the next page.
type Page struct {
	Jobs      []*Job
	NextToken string
}

// List returns a page of the caller's group's jobs, newest first, without
// requests and responses. token is "" or a previous page's NextToken.
func (s *Service) List(ctx context.Context, c Caller, token string, limit int) (*Page, error) {
	switch {
	case limit == 0:
		limit = DefaultPageSize
	case limit < 1 || limit > MaxPageSize:
		return nil, platform.Invalid("limit", "limit must be from 1 to %d, not %d", MaxPageSize, limit)
	}
	var after *Cursor
	if token != "" {
		cur, err := decodeToken(token)
		if err != nil {
			return nil, platform.Invalid("next_token", "next_token is not a token this server issued")
		}
		after = cur
	}
	jobs, err := s.store.ListAsyncJobs(ctx, c.OrgID, c.GroupID, after, limit+1, s.o.Now().UTC())
	if err != nil {
		return nil, fmt.Errorf("list async jobs: %w", err)
	}
	p := &Page{Jobs: jobs}
	if len(jobs) > limit {
		p.Jobs = jobs[:limit]
		last := p.Jobs[limit-1]
		p.NextToken = encodeToken(Cursor{CreatedAt: last.CreatedAt, ID: last.ID})
	}
	return p, nil
}

// A page token is the last job's creation time (µs) and ID, opaque to
// clients.
func encodeToken(c Cursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.CreatedAt.UnixMicro(), 10) + "." + c.ID))
}

func decodeToken(tok string) (*Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return nil, err
	}
	us, id, ok := strings.Cut(string(b), ".")
	if !ok || !strings.HasPrefix(id, PrefixJob) {
		return nil, errors.New("malformed page token")
	}
	n, err := strconv.ParseInt(us, 10, 64)
	if err != nil {
		return nil, err
	}
	return &Cursor{CreatedAt: time.UnixMicro(n).UTC(), ID: id}, nil
}
