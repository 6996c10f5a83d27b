package sqlstore_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/async"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/store/pgtest"
	"github.com/tollgate-dev/tollgate/internal/store/sqlstore"
)

// asyncT0 is where the async tests' clock starts: whole seconds, so stored
// microseconds read back equal.
var asyncT0 = time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)

const asyncTTL = 7 * 24 * time.Hour

// TestAsyncStore runs the async job queue's tests on SQLite and PostgreSQL.
// Each subtest gets an empty database; open returns a store on it, and
// calling open again returns another pool on the same database, as a
// second replica would have.
func TestAsyncStore(t *testing.T) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open func() *sqlstore.Store)
	}{
		{"CreateAndGet", testAsyncCreateAndGet},
		{"Idempotency", testAsyncIdempotency},
		{"IdempotencyConcurrent", testAsyncIdempotencyConcurrent},
		{"ClaimOnce", testAsyncClaimOnce},
		{"ClaimOnceAcrossPools", testAsyncClaimOnceAcrossPools},
		{"LeaseLapseAndFencing", testAsyncLeaseLapse},
		{"Release", testAsyncRelease},
		{"Finish", testAsyncFinish},
		{"ListPaging", testAsyncListPaging},
		{"Expiry", testAsyncExpiry},
	}
	backends := []struct {
		name string
		db   func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "tollgate.db") }},
		{"postgres", func(t *testing.T) string { pgtest.AdminURL(t); return pgtest.URL(t) }},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					url := b.db(t)
					tc.fn(t, func() *sqlstore.Store { return openStore(t, url) })
				})
			}
		})
	}
}

var (
	acme   = async.Caller{OrgID: "org_acme", GroupID: "grp_prod", KeyID: "key_1"}
	acmeQA = async.Caller{OrgID: "org_acme", GroupID: "grp_qa", KeyID: "key_2"}
	other  = async.Caller{OrgID: "org_other", GroupID: "grp_other", KeyID: "key_3"}
)

func newJob(c async.Caller, at time.Time, idem string) *async.Job {
	return &async.Job{ID: async.NewID(), OrgID: c.OrgID, GroupID: c.GroupID, KeyID: c.KeyID, Model: "sonar",
		Request: []byte(`{"model":"sonar","messages":[{"role":"user","content":"hi"}]}`), IdempotencyKey: idem,
		Status: async.StatusCreated, CreatedAt: at, ExpiresAt: at.Add(asyncTTL)}
}

func mustCreate(t *testing.T, s *sqlstore.Store, j *async.Job) *async.Job {
	t.Helper()
	got, created, err := s.CreateAsyncJob(t.Context(), j, j.CreatedAt)
	if err != nil || !created {
		t.Fatalf("CreateAsyncJob = %v, created %v", err, created)
	}
	return got
}

func mustClaim(t *testing.T, s *sqlstore.Store, token string, now time.Time) *async.Job {
	t.Helper()
	j, err := s.ClaimAsyncJob(t.Context(), token, now, now.Add(15*time.Second))
	if err != nil || j == nil {
		t.Fatalf("ClaimAsyncJob = %v, %v; want a job", j, err)
	}
	return j
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, platform.ErrNotFound) {
		t.Fatalf("%s: err = %v, want not_found", what, err)
	}
}

func testAsyncCreateAndGet(t *testing.T, open func() *sqlstore.Store) {
	s, ctx := open(), t.Context()
	j := mustCreate(t, s, newJob(acme, asyncT0, ""))
	if j.Status != async.StatusCreated || j.Attempts != 0 || j.StartedAt != nil || !j.CreatedAt.Equal(asyncT0) ||
		!j.ExpiresAt.Equal(asyncT0.Add(asyncTTL)) || string(j.Request) == "" || j.IdempotencyKey != "" {
		t.Fatalf("created job = %+v", j)
	}
	got, err := s.GetAsyncJob(ctx, acme.OrgID, acme.GroupID, j.ID, asyncT0)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != j.ID || got.KeyID != acme.KeyID || got.Model != "sonar" || string(got.Request) != string(j.Request) {
		t.Fatalf("GetAsyncJob = %+v", got)
	}
	for _, c := range []struct {
		name       string
		org, group string
		id         string
	}{
		{"another group of the org", acmeQA.OrgID, acmeQA.GroupID, j.ID},
		{"another org", other.OrgID, other.GroupID, j.ID},
		{"the group under another org", other.OrgID, acme.GroupID, j.ID},
		{"an unknown ID", acme.OrgID, acme.GroupID, async.NewID()},
	} {
		_, err := s.GetAsyncJob(ctx, c.org, c.group, c.id, asyncT0)
		wantNotFound(t, c.name, err)
	}
}

func testAsyncIdempotency(t *testing.T, open func() *sqlstore.Store) {
	s, ctx := open(), t.Context()
	first := mustCreate(t, s, newJob(acme, asyncT0, "order-42"))
	if first.IdempotencyKey != "order-42" {
		t.Fatalf("idempotency key = %q", first.IdempotencyKey)
	}
	again := newJob(acme, asyncT0.Add(time.Minute), "order-42")
	got, created, err := s.CreateAsyncJob(ctx, again, again.CreatedAt)
	if err != nil || created || got.ID != first.ID {
		t.Fatalf("resubmission = %v (created %v, err %v), want job %s", got, created, err, first.ID)
	}
	if _, err := s.GetAsyncJob(ctx, acme.OrgID, acme.GroupID, again.ID, asyncT0); err == nil {
		t.Fatal("the duplicate was stored")
	}
	// Keys are per group.
	qa := mustCreate(t, s, newJob(acmeQA, asyncT0, "order-42"))
	if qa.ID == first.ID {
		t.Fatal("another group got the first group's job")
	}
	// Without a key, every submission is a new job.
	a, b := mustCreate(t, s, newJob(acme, asyncT0, "")), mustCreate(t, s, newJob(acme, asyncT0, ""))
	if a.ID == b.ID {
		t.Fatal("two keyless submissions share a job")
	}
	// Once the job expired, the key starts a new one.
	late := asyncT0.Add(asyncTTL)
	fresh := newJob(acme, late, "order-42")
	got, created, err = s.CreateAsyncJob(ctx, fresh, late)
	if err != nil || !created || got.ID != fresh.ID {
		t.Fatalf("submission after expiry = %v (created %v, err %v), want a new job", got, created, err)
	}
}

func testAsyncIdempotencyConcurrent(t *testing.T, open func() *sqlstore.Store) {
	pools := []*sqlstore.Store{open(), open()}
	const n = 16
	var (
		wg      sync.WaitGroup
		ids     = make([]string, n)
		created = make([]bool, n)
		errs    = make([]error, n)
	)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			j := newJob(acme, asyncT0, "same")
			var got *async.Job
			got, created[i], errs[i] = pools[i%2].CreateAsyncJob(t.Context(), j, asyncT0)
			if got != nil {
				ids[i] = got.ID
			}
		})
	}
	close(start)
	wg.Wait()
	nCreated := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("submission %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("submission %d got job %s, submission 0 got %s", i, ids[i], ids[0])
		}
		if created[i] {
			nCreated++
		}
	}
	if nCreated != 1 {
		t.Fatalf("%d submissions created a job, want 1", nCreated)
	}
}

// claimAll has workers on the given pools claim until the queue is empty
// and returns how many times each job was claimed.
func claimAll(t *testing.T, pools []*sqlstore.Store, workers int) map[string]int {
	t.Helper()
	var (
		mu     sync.Mutex
		claims = map[string]int{}
		wg     sync.WaitGroup
		errs   = make(chan error, workers)
	)
	start := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			<-start
			s := pools[w%len(pools)]
			for {
				j, err := s.ClaimAsyncJob(t.Context(), fmt.Sprintf("tok-%d", w), asyncT0, asyncT0.Add(time.Minute))
				if err != nil {
					errs <- err
					return
				}
				if j == nil {
					return
				}
				if j.Status != async.StatusInProgress || j.Attempts != 1 || j.StartedAt == nil {
					errs <- fmt.Errorf("claimed job = %+v", j)
					return
				}
				mu.Lock()
				claims[j.ID]++
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return claims
}

func createMany(t *testing.T, s *sqlstore.Store, n int) map[string]bool {
	t.Helper()
	want := map[string]bool{}
	for i := range n {
		j := mustCreate(t, s, newJob(acme, asyncT0.Add(time.Duration(i)*time.Millisecond), ""))
		want[j.ID] = true
	}
	return want
}

func checkClaims(t *testing.T, want map[string]bool, claims map[string]int) {
	t.Helper()
	for id, n := range claims {
		if n != 1 {
			t.Errorf("job %s claimed %d times", id, n)
		}
		if !want[id] {
			t.Errorf("claimed unknown job %s", id)
		}
	}
	if len(claims) != len(want) {
		t.Errorf("%d of %d jobs claimed", len(claims), len(want))
	}
}

func testAsyncClaimOnce(t *testing.T, open func() *sqlstore.Store) {
	s := open()
	if j, err := s.ClaimAsyncJob(t.Context(), "tok", asyncT0, asyncT0.Add(time.Minute)); j != nil || err != nil {
		t.Fatalf("claim on an empty queue = %v, %v", j, err)
	}
	want := createMany(t, s, 60)
	checkClaims(t, want, claimAll(t, []*sqlstore.Store{s}, 8))
}

func testAsyncClaimOnceAcrossPools(t *testing.T, open func() *sqlstore.Store) {
	pools := []*sqlstore.Store{open(), open(), open()}
	want := createMany(t, pools[0], 60)
	checkClaims(t, want, claimAll(t, pools, 9))
}

func testAsyncLeaseLapse(t *testing.T, open func() *sqlstore.Store) {
	s, ctx := open(), t.Context()
	j := mustCreate(t, s, newJob(acme, asyncT0, ""))
	first := mustClaim(t, s, "dead-worker", asyncT0)
	if first.ID != j.ID {
		t.Fatalf("claimed %s, want %s", first.ID, j.ID)
	}
	// While the lease runs, nobody else gets the job.
	if got, err := s.ClaimAsyncJob(ctx, "other", asyncT0.Add(10*time.Second), asyncT0.Add(25*time.Second)); got != nil || err != nil {
		t.Fatalf("claim during the lease = %v, %v", got, err)
	}
	// A renewal keeps it.
	if err := s.ExtendAsyncLease(ctx, j.ID, "dead-worker", asyncT0.Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ClaimAsyncJob(ctx, "other", asyncT0.Add(20*time.Second), asyncT0.Add(35*time.Second)); got != nil {
		t.Fatal("a renewed lease was taken")
	}
	// Once it lapses, the job is taken over and the attempt counted.
	second := mustClaim(t, s, "new-worker", asyncT0.Add(31*time.Second))
	if second.ID != j.ID || second.Attempts != 2 || !second.StartedAt.Equal(asyncT0.Add(31*time.Second)) {
		t.Fatalf("reclaimed job = %+v", second)
	}
	// The old claim is fenced off from every write.
	wantNotFound(t, "extend by the old claim", s.ExtendAsyncLease(ctx, j.ID, "dead-worker", asyncT0.Add(time.Hour)))
	wantNotFound(t, "finish by the old claim", s.FinishAsyncJob(ctx, j.ID, "dead-worker",
		async.Outcome{Status: async.StatusFailed, At: asyncT0, ErrorMessage: "stale"}))
	wantNotFound(t, "release by the old claim", s.ReleaseAsyncJob(ctx, j.ID, "dead-worker"))
	if err := s.FinishAsyncJob(ctx, j.ID, "new-worker", async.Outcome{Status: async.StatusCompleted,
		At: asyncT0.Add(40 * time.Second), Response: []byte(`{"id":"x"}`)}); err != nil {
		t.Fatal(err)
	}
}

func testAsyncRelease(t *testing.T, open func() *sqlstore.Store) {
	s, ctx := open(), t.Context()
	j := mustCreate(t, s, newJob(acme, asyncT0, ""))
	mustClaim(t, s, "w1", asyncT0)
	if err := s.ReleaseAsyncJob(ctx, j.ID, "w1"); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAsyncJob(ctx, acme.OrgID, acme.GroupID, j.ID, asyncT0)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != async.StatusCreated || got.Attempts != 0 || got.StartedAt != nil {
		t.Fatalf("released job = %+v", got)
	}
	// It is claimable again at once, not after the lease.
	again := mustClaim(t, s, "w2", asyncT0.Add(time.Second))
	if again.ID != j.ID || again.Attempts != 1 {
		t.Fatalf("claim after release = %+v", again)
	}
}

func testAsyncFinish(t *testing.T, open func() *sqlstore.Store) {
	s, ctx := open(), t.Context()
	ok := mustCreate(t, s, newJob(acme, asyncT0, ""))
	bad := mustCreate(t, s, newJob(acme, asyncT0.Add(time.Second), ""))
	mustClaim(t, s, "w1", asyncT0)
	mustClaim(t, s, "w2", asyncT0)
	done := asyncT0.Add(5 * time.Second)
	resp := `{"id":"chatcmpl-1","object":"chat.completion","citations":["https://example.org"]}`
	if err := s.FinishAsyncJob(ctx, ok.ID, "w1", async.Outcome{Status: async.StatusCompleted, At: done, Response: []byte(resp)}); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishAsyncJob(ctx, bad.ID, "w2", async.Outcome{Status: async.StatusFailed, At: done, ErrorMessage: "upstream said no"}); err != nil {
		t.Fatal(err)
	}
	// A finished job cannot be finished again, nor claimed.
	wantNotFound(t, "second finish", s.FinishAsyncJob(ctx, ok.ID, "w1", async.Outcome{Status: async.StatusFailed, At: done}))
	if j, err := s.ClaimAsyncJob(ctx, "w3", done.Add(time.Hour), done.Add(2*time.Hour)); j != nil || err != nil {
		t.Fatalf("claim of finished jobs = %v, %v", j, err)
	}
	got, _ := s.GetAsyncJob(ctx, acme.OrgID, acme.GroupID, ok.ID, done)
	if got.Status != async.StatusCompleted || string(got.Response) != resp || !got.CompletedAt.Equal(done) ||
		got.FailedAt != nil || got.ErrorMessage != "" {
		t.Fatalf("completed job = %+v", got)
	}
	got, _ = s.GetAsyncJob(ctx, acme.OrgID, acme.GroupID, bad.ID, done)
	if got.Status != async.StatusFailed || got.ErrorMessage != "upstream said no" || !got.FailedAt.Equal(done) ||
		got.CompletedAt != nil || got.Response != nil {
		t.Fatalf("failed job = %+v", got)
	}
}

func testAsyncListPaging(t *testing.T, open func() *sqlstore.Store) {
	s, ctx := open(), t.Context()
	var want []string
	for i := range 7 {
		// Pairs share a creation time, so paging must order by ID too.
		j := mustCreate(t, s, newJob(acme, asyncT0.Add(time.Duration(i/2)*time.Second), ""))
		want = append(want, j.ID)
	}
	mustCreate(t, s, newJob(acmeQA, asyncT0, ""))
	mustCreate(t, s, newJob(other, asyncT0, ""))
	expired := newJob(acme, asyncT0.Add(-asyncTTL), "")
	mustCreate(t, s, expired)

	now := asyncT0.Add(time.Hour)
	all, err := s.ListAsyncJobs(ctx, acme.OrgID, acme.GroupID, nil, 100, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(want) {
		t.Fatalf("listed %d jobs, want %d (not another group's, not expired)", len(all), len(want))
	}
	for i := 1; i < len(all); i++ {
		if all[i].CreatedAt.After(all[i-1].CreatedAt) {
			t.Fatalf("list is not newest first at %d", i)
		}
		if all[i].Request != nil || all[i].Response != nil {
			t.Fatal("list items carry the request or response")
		}
	}
	var paged []string
	var after *async.Cursor
	for range 10 {
		page, err := s.ListAsyncJobs(ctx, acme.OrgID, acme.GroupID, after, 3, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range page {
			paged = append(paged, j.ID)
		}
		if len(page) < 3 {
			break
		}
		last := page[len(page)-1]
		after = &async.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	if len(paged) != len(all) {
		t.Fatalf("paging gave %d jobs, want %d", len(paged), len(all))
	}
	for i := range all {
		if paged[i] != all[i].ID {
			t.Fatalf("paging order differs at %d: %v vs one-page list", i, paged)
		}
	}
	seen := map[string]bool{}
	for _, id := range want {
		seen[id] = true
	}
	for _, id := range paged {
		if !seen[id] {
			t.Fatalf("listed a job not of the group: %s", id)
		}
	}
}

func testAsyncExpiry(t *testing.T, open func() *sqlstore.Store) {
	s, ctx := open(), t.Context()
	old := mustCreate(t, s, newJob(acme, asyncT0, ""))
	young := mustCreate(t, s, newJob(acme, asyncT0.Add(time.Hour), ""))
	at := asyncT0.Add(asyncTTL) // old expires exactly now
	_, err := s.GetAsyncJob(ctx, acme.OrgID, acme.GroupID, old.ID, at)
	wantNotFound(t, "get of an expired job", err)
	if j, err := s.ClaimAsyncJob(ctx, "w", at, at.Add(time.Minute)); err != nil || j == nil || j.ID != young.ID {
		t.Fatalf("claim = %v, %v; want the live job only", j, err)
	}
	n, err := s.DeleteExpiredAsyncJobs(ctx, at, 100)
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpiredAsyncJobs = %d, %v; want 1", n, err)
	}
	var left int
	if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM async_jobs`).Scan(&left); err != nil || left != 1 {
		t.Fatalf("%d jobs left (%v), want 1", left, err)
	}
	// Batches: deleting 5 with a limit of 2 takes three calls.
	for i := range 5 {
		mustCreate(t, s, newJob(acme, asyncT0.Add(-time.Duration(i+1)*time.Minute), ""))
	}
	var counts []int
	for {
		n, err := s.DeleteExpiredAsyncJobs(ctx, at, 2)
		if err != nil {
			t.Fatal(err)
		}
		counts = append(counts, n)
		if n < 2 {
			break
		}
	}
	if fmt.Sprint(counts) != "[2 2 1]" {
		t.Fatalf("batches deleted %v, want [2 2 1]", counts)
	}
}
