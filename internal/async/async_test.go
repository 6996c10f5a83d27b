package async_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/async"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/store/sqlstore"
)

// The service runs on a real SQLite store (the store's SQL is tested on
// both backends in sqlstore); the runner is a fake the tests script.

var caller = async.Caller{OrgID: "org_a", GroupID: "grp_a", KeyID: "key_a"}

const request = `{"model":"sonar","messages":[{"role":"user","content":"hi"}]}`

func openStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(t.Context(), filepath.Join(t.TempDir(), "tollgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	return s
}

// runner is a scripted Runner.
type runner struct {
	// fn runs a job; nil answers {"ok":true} at once.
	fn      func(ctx context.Context, j *async.Job) (json.RawMessage, error)
	running atomic.Int32
	peak    atomic.Int32
	runs    atomic.Int32
}

func (r *runner) Run(ctx context.Context, j *async.Job) (json.RawMessage, error) {
	r.runs.Add(1)
	n := r.running.Add(1)
	defer r.running.Add(-1)
	for {
		p := r.peak.Load()
		if n <= p || r.peak.CompareAndSwap(p, n) {
			break
		}
	}
	if r.fn == nil {
		return json.RawMessage(`{"ok":true}`), nil
	}
	return r.fn(ctx, j)
}

// start runs the service's workers until the returned stop is called (or
// the test ends).
func start(t *testing.T, s *async.Service) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Error("Run did not return within 10s of cancellation")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func submit(t *testing.T, s *async.Service) *async.Job {
	t.Helper()
	j, created, err := s.Submit(t.Context(), caller, "sonar", []byte(request), "")
	if err != nil || !created {
		t.Fatalf("Submit = %v, created %v", err, created)
	}
	return j
}

// waitFor polls a job until cond holds.
func waitFor(t *testing.T, s *async.Service, id string, cond func(*async.Job) bool) *async.Job {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		j, err := s.Get(t.Context(), caller, id)
		if err != nil {
			t.Fatal(err)
		}
		if cond(j) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s stuck at %+v", id, j)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func is(st async.Status) func(*async.Job) bool {
	return func(j *async.Job) bool { return j.Status == st }
}

func TestAsyncRunsJobsWithBoundedWorkers(t *testing.T) {
	r := &runner{fn: func(ctx context.Context, j *async.Job) (json.RawMessage, error) {
		time.Sleep(20 * time.Millisecond)
		return json.RawMessage(`{"id":"` + j.ID + `"}`), nil
	}}
	// Poll is long: submissions must wake the workers themselves.
	s := async.New(openStore(t), r, async.Options{Workers: 2, Poll: time.Hour})
	start(t, s)
	var jobs []*async.Job
	for range 8 {
		jobs = append(jobs, submit(t, s))
	}
	for _, j := range jobs {
		got := waitFor(t, s, j.ID, is(async.StatusCompleted))
		if string(got.Response) != `{"id":"`+j.ID+`"}` || got.CompletedAt == nil || got.StartedAt == nil || got.Attempts != 1 {
			t.Fatalf("completed job = %+v", got)
		}
	}
	if p := r.peak.Load(); p > 2 || p < 1 {
		t.Fatalf("%d jobs ran at once, want at most 2 (Workers)", p)
	}
	if n := r.runs.Load(); n != 8 {
		t.Fatalf("%d runs for 8 jobs", n)
	}
}

func TestAsyncFailedJobs(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"client-safe error", platform.Invalid("messages", "The upstream rejected the request: too long"),
			"The upstream rejected the request: too long"},
		{"internal error", errors.New("dial tcp 10.0.0.7:8000: connection refused"),
			platform.ErrorMessage(errors.New("any"))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &runner{fn: func(context.Context, *async.Job) (json.RawMessage, error) { return nil, tc.err }}
			s := async.New(openStore(t), r, async.Options{Workers: 1})
			start(t, s)
			got := waitFor(t, s, submit(t, s).ID, is(async.StatusFailed))
			if got.ErrorMessage != tc.want || got.FailedAt == nil || got.Response != nil {
				t.Fatalf("failed job = %+v, want message %q", got, tc.want)
			}
		})
	}
}

// TestAsyncShutdownRequeues stops the workers while a job runs: the run is
// cancelled and the job is queued again, not failed, and the next Run
// completes it.
func TestAsyncShutdownRequeues(t *testing.T) {
	st := openStore(t)
	started := make(chan struct{}, 1)
	blocking := &runner{fn: func(ctx context.Context, _ *async.Job) (json.RawMessage, error) {
		started <- struct{}{}
		<-ctx.Done()
		return nil, &platform.Error{Kind: platform.KindUnavailable, Message: "request cancelled", Err: ctx.Err()}
	}}
	s := async.New(st, blocking, async.Options{Workers: 1})
	stop := start(t, s)
	j := submit(t, s)
	<-started
	if got := waitFor(t, s, j.ID, is(async.StatusInProgress)); got.StartedAt == nil {
		t.Fatalf("running job = %+v", got)
	}
	stop()
	got := waitFor(t, s, j.ID, func(*async.Job) bool { return true })
	if got.Status != async.StatusCreated || got.Attempts != 0 || got.StartedAt != nil || got.ErrorMessage != "" {
		t.Fatalf("job after shutdown = %+v, want CREATED again", got)
	}

	s2 := async.New(st, &runner{}, async.Options{Workers: 1})
	start(t, s2)
	if done := waitFor(t, s2, j.ID, is(async.StatusCompleted)); done.Attempts != 1 {
		t.Fatalf("resumed job = %+v", done)
	}
}

// TestAsyncResumesDeadClaims leaves a job IN_PROGRESS under a claim whose
// process died (its lease lapsed): a new Run takes it over.
func TestAsyncResumesDeadClaims(t *testing.T) {
	st := openStore(t)
	s := async.New(st, &runner{}, async.Options{Workers: 1})
	j := submit(t, s)
	past := time.Now().Add(-time.Hour)
	if got, err := st.ClaimAsyncJob(t.Context(), "dead", past, past.Add(15*time.Second)); err != nil || got == nil {
		t.Fatalf("claim = %v, %v", got, err)
	}
	start(t, s)
	got := waitFor(t, s, j.ID, is(async.StatusCompleted))
	if got.Attempts != 2 {
		t.Fatalf("attempts = %d, want 2 (the dead run and this one)", got.Attempts)
	}
}

// TestAsyncGivesUpOnJobsThatKeepDying fails a job whose runs all died with
// their process, rather than run it forever.
func TestAsyncGivesUpOnJobsThatKeepDying(t *testing.T) {
	st := openStore(t)
	r := &runner{}
	s := async.New(st, r, async.Options{Workers: 1, MaxAttempts: 2})
	j := submit(t, s)
	past := time.Now().Add(-time.Hour)
	for i := range 2 {
		at := past.Add(time.Duration(i) * time.Minute)
		if got, err := st.ClaimAsyncJob(t.Context(), "dead", at, at.Add(15*time.Second)); err != nil || got == nil {
			t.Fatalf("claim %d = %v, %v", i, got, err)
		}
	}
	start(t, s)
	got := waitFor(t, s, j.ID, is(async.StatusFailed))
	if got.ErrorMessage != "The job was interrupted 2 times while running and was abandoned; submit it again." {
		t.Fatalf("error message = %q", got.ErrorMessage)
	}
	if r.runs.Load() != 0 {
		t.Fatal("the job ran again")
	}
}

// TestAsyncLostClaimIsFenced lets another worker take a running job over
// (as after a lease lapse): the first run is cancelled and its result
// never overwrites the new worker's.
func TestAsyncLostClaimIsFenced(t *testing.T) {
	st := openStore(t)
	started := make(chan struct{}, 1)
	var cancelled atomic.Bool
	r := &runner{fn: func(ctx context.Context, _ *async.Job) (json.RawMessage, error) {
		started <- struct{}{}
		<-ctx.Done()
		cancelled.Store(true)
		return json.RawMessage(`{"from":"first"}`), nil
	}}
	s := async.New(st, r, async.Options{Workers: 1, Lease: 150 * time.Millisecond})
	start(t, s)
	j := submit(t, s)
	<-started
	future := time.Now().Add(time.Hour) // the first claim's lease has lapsed by then
	taken, err := st.ClaimAsyncJob(t.Context(), "second", future, future.Add(time.Hour))
	if err != nil || taken == nil || taken.ID != j.ID {
		t.Fatalf("takeover claim = %v, %v", taken, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !cancelled.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the first run was not cancelled after losing its claim")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := st.FinishAsyncJob(t.Context(), j.ID, "second", async.Outcome{Status: async.StatusCompleted,
		At: time.Now(), Response: []byte(`{"from":"second"}`)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	got := waitFor(t, s, j.ID, is(async.StatusCompleted))
	if string(got.Response) != `{"from":"second"}` {
		t.Fatalf("response = %s, want the second worker's", got.Response)
	}
}

func TestAsyncJanitorDeletesExpiredJobs(t *testing.T) {
	st := openStore(t)
	clock := time.Now().Add(-8 * 24 * time.Hour)
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	s := async.New(st, &runner{}, async.Options{Workers: 1, JanitorEvery: 10 * time.Millisecond, Now: now,
		Poll: time.Hour})
	j, _, err := s.Submit(t.Context(), caller, "sonar", []byte(request), "k")
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	clock = time.Now() // a week and a day later
	mu.Unlock()
	if _, err := s.Get(t.Context(), caller, j.ID); platform.ErrorKind(err) != platform.KindNotFound {
		t.Fatalf("Get of an expired job = %v, want not_found", err)
	}
	start(t, s)
	deadline := time.Now().Add(5 * time.Second)
	for {
		var n int
		if err := st.DB().QueryRow(`SELECT COUNT(*) FROM async_jobs`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the janitor left the expired job")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAsyncIdempotentSubmit(t *testing.T) {
	s := async.New(openStore(t), &runner{}, async.Options{})
	a, created, err := s.Submit(t.Context(), caller, "sonar", []byte(request), "order-1")
	if err != nil || !created {
		t.Fatal(err, created)
	}
	b, created, err := s.Submit(t.Context(), caller, "sonar", []byte(request), "order-1")
	if err != nil || created || b.ID != a.ID {
		t.Fatalf("resubmission = %+v, created %v, err %v", b, created, err)
	}
	long := make([]byte, async.MaxIdempotencyKey+1)
	for i := range long {
		long[i] = 'k'
	}
	if _, _, err := s.Submit(t.Context(), caller, "sonar", []byte(request), string(long)); platform.ErrorParam(err) != "idempotency_key" {
		t.Fatalf("overlong key: %v", err)
	}
}

func TestAsyncListPages(t *testing.T) {
	s := async.New(openStore(t), &runner{}, async.Options{})
	var ids []string
	for range 5 {
		ids = append(ids, submit(t, s).ID)
	}
	var got []string
	token := ""
	for range 5 {
		p, err := s.List(t.Context(), caller, token, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range p.Jobs {
			got = append(got, j.ID)
		}
		if token = p.NextToken; token == "" {
			break
		}
	}
	if len(got) != 5 {
		t.Fatalf("paged through %d jobs, want 5", len(got))
	}
	seen := map[string]bool{}
	for _, id := range got {
		seen[id] = true
	}
	for _, id := range ids {
		if !seen[id] {
			t.Fatalf("job %s missing from the pages", id)
		}
	}
	for _, tc := range []struct {
		name  string
		token string
		limit int
		param string
	}{
		{"garbage token", "not-a-token!", 0, "next_token"},
		{"foreign token", "MTIzLmtleV94eXo", 0, "next_token"},
		{"zero-or-less limit", "", -1, "limit"},
		{"limit too large", "", async.MaxPageSize + 1, "limit"},
	} {
		if _, err := s.List(t.Context(), caller, tc.token, tc.limit); platform.ErrorParam(err) != tc.param {
			t.Errorf("%s: err = %v, want invalid %s", tc.name, err, tc.param)
		}
	}
	other := async.Caller{OrgID: "org_a", GroupID: "grp_b", KeyID: "key_b"}
	if p, err := s.List(t.Context(), other, "", 0); err != nil || len(p.Jobs) != 0 {
		t.Fatalf("another group lists %d jobs (%v)", len(p.Jobs), err)
	}
	if _, err := s.Get(t.Context(), other, ids[0]); platform.ErrorKind(err) != platform.KindNotFound {
		t.Fatalf("another group reads a job: %v", err)
	}
}
