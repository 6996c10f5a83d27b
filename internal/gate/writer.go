package gate

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// maxBatch bounds one group commit.
const maxBatch = 256

type pending struct {
	s    *billing.Settlement
	done chan error
}

// writer group-commits settlements: requests finishing together share one
// transaction, and each waits until its own record is durable. Batching
// is what lets SQLite, whose writes are serial, keep up with the gateway.
type writer struct {
	store   Store
	log     *slog.Logger
	in      chan pending
	workers int
	mu      sync.RWMutex
	closed  bool
	batch   prometheus.Histogram
	failed  prometheus.Counter
}

func newWriter(s Store, workers int, log *slog.Logger) *writer {
	return &writer{store: s, log: log, in: make(chan pending, 4096), workers: workers,
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tollgate_usage_settle_batch_size",
			Help:    "Usage records written per transaction (group commit).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tollgate_usage_settle_failures_total",
			Help: "Usage records that could not be written after retries; their answers were withheld.",
		})}
}

// ErrNotRecorded is returned when usage could not be made durable; the
// request's answer must not be delivered as if it had been billed.
var ErrNotRecorded = &platform.Error{Kind: platform.KindUnavailable, RetryAfter: time.Second,
	Message: "Tollgate could not record this request's usage, so it withheld the answer; nothing was billed. Retry shortly."}

func (w *writer) settle(ctx context.Context, s *billing.Settlement) error {
	p := pending{s: s, done: make(chan error, 1)}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return w.direct(ctx, []pending{p})
	}
	w.in <- p
	w.mu.RUnlock()
	// The record is written even if the client has gone: wait for it
	// regardless of ctx.
	return <-p.done
}

func (w *writer) run() {
	var wg sync.WaitGroup
	for range w.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range w.in {
				batch := []pending{p}
			fill:
				for len(batch) < maxBatch {
					select {
					case q, ok := <-w.in:
						if !ok {
							break fill
						}
						batch = append(batch, q)
					default:
						break fill
					}
				}
				_ = w.direct(context.Background(), batch)
			}
		}()
	}
	wg.Wait()
}

// close stops accepting batches once every queued one is written.
func (w *writer) close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.in)
	}
	w.mu.Unlock()
}

// direct writes a batch, retrying transient failures, and answers each
// waiter.
func (w *writer) direct(ctx context.Context, batch []pending) error {
	ss := make([]*billing.Settlement, len(batch))
	for i, p := range batch {
		ss[i] = p.s
	}
	var err error
	for attempt := range 4 {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt*attempt) * 50 * time.Millisecond)
		}
		if _, err = w.store.Settle(ctx, ss); err == nil {
			break
		}
	}
	w.batch.Observe(float64(len(batch)))
	if err != nil && len(batch) > 1 {
		// One bad record must not cost its neighbours their answers:
		// write them one by one.
		w.log.Warn("a usage batch failed; writing its records one by one", "records", len(batch), "err", err)
		for _, p := range batch {
			_ = w.direct(ctx, []pending{p})
		}
		return err
	}
	if err != nil {
		w.failed.Add(float64(len(batch)))
		w.log.Error("usage could not be recorded", "request_id", batch[0].s.Record.RequestID, "err", err)
		err = errors.Join(ErrNotRecorded, err)
	}
	for _, p := range batch {
		p.done <- err
	}
	return err
}
