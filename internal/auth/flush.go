package auth

import (
	"context"
	"log/slog"
	"time"
)

// Flusher writes buffered last-used times.
type Flusher interface {
	Flush(ctx context.Context) error
}

// RunFlusher flushes every interval until ctx ends, then once more with a
// short deadline so a clean shutdown loses nothing.
func RunFlusher(ctx context.Context, every time.Duration, log *slog.Logger, fs ...Flusher) {
	t := time.NewTicker(every)
	defer t.Stop()
	flushAll := func(ctx context.Context) {
		for _, f := range fs {
			if err := f.Flush(ctx); err != nil {
				log.Error("flush last-used times; will retry", "err", err)
			}
		}
	}
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			flushAll(final)
			cancel()
			return
		case <-t.C:
			flushAll(ctx)
		}
	}
}
