package auth

import (
	"context"
	"sync"
	"time"
)

// lastUsed coalesces "this credential was used at t" into one map, written
// to the store in batches.
type lastUsed struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func (l *lastUsed) record(id string, t time.Time) {
	l.mu.Lock()
	if prev, ok := l.seen[id]; !ok || t.After(prev) {
		if l.seen == nil {
			l.seen = make(map[string]time.Time)
		}
		l.seen[id] = t
	}
	l.mu.Unlock()
}

// take hands over the pending batch.
func (l *lastUsed) take() map[string]time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.seen
	l.seen = nil
	return b
}

// restore puts back a batch whose write failed, keeping newer times.
func (l *lastUsed) restore(b map[string]time.Time) {
	for id, t := range b {
		l.record(id, t)
	}
}

func (l *lastUsed) flush(ctx context.Context, write func(context.Context, map[string]time.Time) error) error {
	b := l.take()
	if len(b) == 0 {
		return nil
	}
	if err := write(ctx, b); err != nil {
		l.restore(b)
		return err
	}
	return nil
}
