// Package loadgen drives HTTP load for benchmarks: an open-loop generator
// that sends at a fixed arrival rate and times each request from the moment
// it was due (so a slow server cannot hide its queueing by slowing the
// generator down: no coordinated omission), a closed-loop generator that
// finds the maximum throughput, the process CPU consumed while either runs,
// and a minimal OpenAI-compatible upstream fast enough to serve as the
// floor of a comparison.
package loadgen

import (
	"context"
	"runtime"
	"sync"
	"time"
)

// Shot sends one request and waits for the whole answer. It returns when
// the first byte of the response body arrived; an error marks the request
// failed. Shots run concurrently.
type Shot func(ctx context.Context) (firstByte time.Time, err error)

// Result is what one or more runs against one target measured. Durations
// in the sample slices are unsorted until Summarize sorts them.
type Result struct {
	// Planned counts the requests an open-loop schedule called for.
	Planned int
	// OK and Errors count finished requests; Dropped counts open-loop
	// requests not sent because MaxInFlight were already outstanding.
	OK, Errors, Dropped int
	// FirstError is the first failure, for the report.
	FirstError string
	// Elapsed is the wall time of the runs: for open loop the span of the
	// schedule, for closed loop until the last worker stopped.
	Elapsed time.Duration
	// CPU is the user+system time of the whole process during the runs.
	CPU time.Duration
	// Allocs and AllocBytes count the process's heap allocations during
	// the runs.
	Allocs, AllocBytes uint64
	// Latency is, per successful request, the time from when it was due
	// (open loop) or sent (closed loop) to its last byte; FirstByte to its
	// first body byte; Lag how late the generator sent it and Service the
	// time from then to the last byte (open loop).
	Latency, FirstByte, Lag, Service []time.Duration
}

// Add merges another run's measurements into r.
func (r *Result) Add(o Result) {
	r.Planned += o.Planned
	r.OK += o.OK
	r.Errors += o.Errors
	r.Dropped += o.Dropped
	if r.FirstError == "" {
		r.FirstError = o.FirstError
	}
	r.Elapsed += o.Elapsed
	r.CPU += o.CPU
	r.Allocs += o.Allocs
	r.AllocBytes += o.AllocBytes
	r.Latency = append(r.Latency, o.Latency...)
	r.FirstByte = append(r.FirstByte, o.FirstByte...)
	r.Lag = append(r.Lag, o.Lag...)
	r.Service = append(r.Service, o.Service...)
}

// slot is one open-loop request's outcome; each request owns its slot, so
// recording needs no lock.
type slot struct {
	latency, firstByte, lag time.Duration
	state                   uint8 // 0 not sent, 1 ok, 2 failed
	err                     error
}

// OpenLoop sends rate requests per second for d: request i is due at
// t0 + i/rate, whatever happened to earlier ones, and its latency counts
// from then. At most maxInFlight requests are outstanding; a request due
// while that many are is dropped and counted. It returns when every sent
// request has finished (each shot must be bounded by its own timeout).
func OpenLoop(ctx context.Context, rate float64, d time.Duration, maxInFlight int, shot Shot) Result {
	n := int(rate * d.Seconds())
	if n < 1 {
		n = 1
	}
	interval := time.Duration(float64(time.Second) / rate)
	slots := make([]slot, n)
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup

	m := startMeter()
	t0 := time.Now()
	sent := 0
	for i := range slots {
		due := t0.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		if ctx.Err() != nil {
			break
		}
		sent++
		select {
		case sem <- struct{}{}:
		default:
			continue // slot stays "not sent": dropped
		}
		wg.Add(1)
		go func(s *slot, due time.Time) {
			defer wg.Done()
			defer func() { <-sem }()
			s.lag = time.Since(due)
			fb, err := shot(ctx)
			if err != nil {
				s.state, s.err = 2, err
				return
			}
			s.latency, s.firstByte, s.state = time.Since(due), fb.Sub(due), 1
		}(&slots[i], due)
	}
	// The schedule spans sent intervals, or longer if the generator fell
	// behind it.
	span := max(time.Since(t0), time.Duration(sent)*interval)
	wg.Wait()
	r := Result{Planned: sent, Elapsed: span}
	m.stop(&r)
	r.Latency = make([]time.Duration, 0, sent)
	r.FirstByte = make([]time.Duration, 0, sent)
	r.Lag = make([]time.Duration, 0, sent)
	r.Service = make([]time.Duration, 0, sent)
	for i := range slots[:sent] {
		s := &slots[i]
		switch s.state {
		case 0:
			r.Dropped++
		case 1:
			r.OK++
			r.Latency = append(r.Latency, s.latency)
			r.FirstByte = append(r.FirstByte, s.firstByte)
			r.Lag = append(r.Lag, s.lag)
			r.Service = append(r.Service, s.latency-s.lag)
		case 2:
			r.Errors++
			if r.FirstError == "" {
				r.FirstError = s.err.Error()
			}
		}
	}
	return r
}

// ClosedLoop runs workers that each send a request, wait for the answer and
// send the next, for d: the throughput it reaches is the target's maximum
// at that concurrency (latency then includes queueing, by design).
func ClosedLoop(ctx context.Context, workers int, d time.Duration, shot Shot) Result {
	type worker struct {
		ok, errs           int
		firstErr           string
		latency, firstByte []time.Duration
	}
	ws := make([]worker, workers)
	var wg sync.WaitGroup

	m := startMeter()
	t0 := time.Now()
	deadline := t0.Add(d)
	for i := range ws {
		w := &ws[i]
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				start := time.Now()
				fb, err := shot(ctx)
				if err != nil {
					w.errs++
					if w.firstErr == "" {
						w.firstErr = err.Error()
					}
					continue
				}
				w.ok++
				w.latency = append(w.latency, time.Since(start))
				w.firstByte = append(w.firstByte, fb.Sub(start))
			}
		})
	}
	wg.Wait()
	r := Result{Elapsed: time.Since(t0)}
	m.stop(&r)
	for _, w := range ws {
		r.OK += w.ok
		r.Errors += w.errs
		if r.FirstError == "" {
			r.FirstError = w.firstErr
		}
		r.Latency = append(r.Latency, w.latency...)
		r.FirstByte = append(r.FirstByte, w.firstByte...)
	}
	return r
}

// meter reads the process's CPU time and allocation counters around a run.
type meter struct {
	cpu time.Duration
	mem runtime.MemStats
}

// startMeter collects garbage first, so earlier runs' garbage is not this
// run's CPU, then reads the counters.
func startMeter() *meter {
	runtime.GC()
	m := &meter{}
	runtime.ReadMemStats(&m.mem)
	m.cpu = ProcessCPU()
	return m
}

func (m *meter) stop(r *Result) {
	r.CPU = ProcessCPU() - m.cpu
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	r.Allocs, r.AllocBytes = after.Mallocs-m.mem.Mallocs, after.TotalAlloc-m.mem.TotalAlloc
}
