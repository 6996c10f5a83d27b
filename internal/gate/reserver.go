package gate

import (
	"context"
	"sync"

	"github.com/tollgate-dev/tollgate/internal/billing"
)

// BatchReserver is a store that can place many holds in one transaction,
// each all or nothing on its own.
type BatchReserver interface {
	ReserveBatch(ctx context.Context, hs []*billing.Hold, requireCredits bool) ([]error, error)
}

type reservation struct {
	h    *billing.Hold
	done chan error
}

// reserver group-commits reservations as writer does settlements: on
// SQLite, where writers take turns, admissions arriving together share one
// transaction (and one commit) instead of queueing for one each.
type reserver struct {
	store   BatchReserver
	require bool
	in      chan reservation
	mu      sync.RWMutex
	closed  bool
	done    chan struct{}
}

func newReserver(s BatchReserver, require bool) *reserver {
	r := &reserver{store: s, require: require, in: make(chan reservation, 4096), done: make(chan struct{})}
	go r.run()
	return r
}

// reserve places h; ok is false when the reserver is closed and the
// caller must reserve on its own.
func (r *reserver) reserve(h *billing.Hold) (err error, ok bool) {
	res := reservation{h: h, done: make(chan error, 1)}
	r.mu.RLock()
	if r.closed {
		r.mu.RUnlock()
		return nil, false
	}
	r.in <- res
	r.mu.RUnlock()
	return <-res.done, true
}

func (r *reserver) run() {
	defer close(r.done)
	for first := range r.in {
		batch := []reservation{first}
	fill:
		for len(batch) < maxBatch {
			select {
			case q, ok := <-r.in:
				if !ok {
					break fill
				}
				batch = append(batch, q)
			default:
				break fill
			}
		}
		hs := make([]*billing.Hold, len(batch))
		for i, q := range batch {
			hs[i] = q.h
		}
		errs, err := r.store.ReserveBatch(context.Background(), hs, r.require)
		for i, q := range batch {
			if err != nil {
				q.done <- err
			} else {
				q.done <- errs[i]
			}
		}
	}
}

func (r *reserver) close() {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.in)
	}
	r.mu.Unlock()
	<-r.done
}
