package async

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/tollgate-dev/tollgate/internal/platform"
)

// storeTimeout bounds the writes that end a run, which use a context
// detached from the workers' so that a shutdown cannot lose a result.
const storeTimeout = 10 * time.Second

// Run executes jobs with at most Options.Workers at once, and deletes
// expired jobs, until ctx is cancelled. It returns once every goroutine it
// started has stopped; jobs still running then are cancelled and handed
// back to the queue (CREATED), for this or another process to run again.
func (s *Service) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { s.janitor(ctx) })
	s.dispatch(ctx, &wg)
	wg.Wait()
}

// dispatch claims a job whenever a worker slot is free and runs it in a
// goroutine of wg; with no job waiting it sleeps until a submission here,
// the poll interval, or ctx's end.
func (s *Service) dispatch(ctx context.Context, wg *sync.WaitGroup) {
	slots := make(chan struct{}, s.o.Workers)
	idle := time.NewTimer(0)
	defer idle.Stop()
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		token := newToken()
		now := s.o.Now().UTC()
		j, err := s.store.ClaimAsyncJob(ctx, token, now, now.Add(s.o.Lease))
		if err == nil && j != nil {
			wg.Go(func() {
				defer func() { <-slots }()
				s.run(ctx, j, token)
			})
			continue
		}
		<-slots
		if err != nil && ctx.Err() == nil {
			s.o.Log.Error("async: claiming a job failed", "err", err)
		}
		idle.Reset(s.o.Poll)
		select {
		case <-s.wake:
		case <-idle.C:
		case <-ctx.Done():
			return
		}
	}
}

func newToken() string { return "claim_" + strings.ToLower(rand.Text()) }

// run executes one claimed job, renewing its lease meanwhile, and records
// how it ended: COMPLETED, FAILED, or handed back when ctx ended first.
func (s *Service) run(ctx context.Context, j *Job, token string) {
	log := s.o.Log.With("job_id", j.ID, "group_id", j.GroupID, "attempt", j.Attempts)
	if j.Attempts > s.o.MaxAttempts {
		// Every earlier run died with its process (a crash, an OOM kill):
		// running it again would likely kill this one too.
		log.Warn("async: giving up on a job whose runs keep dying", "max_attempts", s.o.MaxAttempts)
		s.finish(ctx, log, j, token, Outcome{Status: StatusFailed, At: s.o.Now().UTC(), ErrorMessage: fmt.Sprintf(
			"The job was interrupted %d times while running and was abandoned; submit it again.", j.Attempts-1)})
		return
	}
	jctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lost := make(chan struct{})
	var hb sync.WaitGroup
	hbctx, stopHB := context.WithCancel(jctx)
	hb.Go(func() { s.heartbeat(hbctx, log, j, token, cancel, lost) })

	out, err := s.runner.Run(jctx, j)
	stopHB()
	hb.Wait()

	select {
	case <-lost:
		// Another worker has taken the job over; its result is the one kept.
		log.Warn("async: lost the claim on a job while running it")
		return
	default:
	}
	switch {
	case err == nil:
		s.finish(ctx, log, j, token, Outcome{Status: StatusCompleted, At: s.o.Now().UTC(), Response: out})
	case ctx.Err() != nil:
		// Shutdown: hand the job back rather than fail it.
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
		defer rcancel()
		if err := s.store.ReleaseAsyncJob(rctx, j.ID, token); err != nil {
			log.Error("async: handing back an interrupted job failed; it runs again when its lease ends", "err", err)
			return
		}
		log.Info("async: interrupted by shutdown; the job is queued again")
	default:
		if platform.ErrorKind(err) == platform.KindInternal {
			log.Error("async: job failed", "err", err)
		} else {
			log.Info("async: job failed", "err", err)
		}
		s.finish(ctx, log, j, token, Outcome{Status: StatusFailed, At: s.o.Now().UTC(), ErrorMessage: platform.ErrorMessage(err)})
	}
}

func (s *Service) finish(ctx context.Context, log *slog.Logger, j *Job, token string, o Outcome) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	if err := s.store.FinishAsyncJob(fctx, j.ID, token, o); err != nil {
		// The lease lapses and the job runs again; nothing is lost but work.
		log.Error("async: recording a job's outcome failed", "status", o.Status, "err", err)
	}
}

// heartbeat renews the job's lease every Lease/3 until ctx ends. When the
// claim is gone (another worker took the job after a lapse) it closes lost
// and cancels the run.
func (s *Service) heartbeat(ctx context.Context, log *slog.Logger, j *Job, token string, cancelRun context.CancelFunc, lost chan<- struct{}) {
	t := time.NewTicker(s.o.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := s.store.ExtendAsyncLease(ctx, j.ID, token, s.o.Now().UTC().Add(s.o.Lease))
		switch {
		case errors.Is(err, platform.ErrNotFound):
			close(lost)
			cancelRun()
			return
		case err != nil && ctx.Err() == nil:
			// Keep running: the next renewal may succeed before the lease ends.
			log.Warn("async: renewing a job's lease failed", "err", err)
		}
	}
}

// janitorBatch bounds one delete of expired jobs.
const janitorBatch = 500

// janitor deletes expired jobs now and every JanitorEvery until ctx ends.
func (s *Service) janitor(ctx context.Context) {
	t := time.NewTicker(s.o.JanitorEvery)
	defer t.Stop()
	for {
		s.sweep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sweep deletes every job expired now, a batch at a time.
func (s *Service) sweep(ctx context.Context) {
	total := 0
	for ctx.Err() == nil {
		n, err := s.store.DeleteExpiredAsyncJobs(ctx, s.o.Now().UTC(), janitorBatch)
		if err != nil {
			if ctx.Err() == nil {
				s.o.Log.Error("async: deleting expired jobs failed", "err", err)
			}
			return
		}
		total += n
		if n < janitorBatch {
			break
		}
	}
	if total > 0 {
		s.o.Log.Info("async: deleted expired jobs", "count", total)
	}
}
