package loadgen

import (
	"slices"
	"time"
)

// Percentiles of a latency distribution, in milliseconds.
type Percentiles struct {
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

// Summary is a Result reduced to the figures a report shows.
type Summary struct {
	Requests int `json:"requests"`
	OK       int `json:"ok"`
	Errors   int `json:"errors"`
	Dropped  int `json:"dropped,omitempty"`
	// FirstError is the first failure's text, when there was one.
	FirstError string `json:"first_error,omitempty"`
	// RPS is successful requests per second of elapsed time.
	RPS float64 `json:"rps"`
	// Latency is from when a request was due (open loop) or sent (closed
	// loop) to its last byte; FirstByte to its first body byte.
	Latency   Percentiles `json:"latency"`
	FirstByte Percentiles `json:"first_byte"`
	// SendLag is how late the open-loop generator sent requests: the floor
	// under every latency it reports.
	SendLag *Percentiles `json:"send_lag,omitempty"`
	// Service is latency less send lag (open loop): what the target took
	// once the request was actually sent. The generator's timers fire more
	// precisely while the process is busier, so comparisons of Latency
	// between targets of different cost carry that bias and Service does not.
	Service *Percentiles `json:"service,omitempty"`
	// CPUPerRequest is the process's user+system CPU per successful
	// request, in microseconds; Cores is that CPU over wall time.
	CPUPerRequest float64 `json:"cpu_us_per_request"`
	Cores         float64 `json:"cores_busy"`
	// AllocsPerRequest and BytesPerRequest are the process's heap
	// allocations per successful request.
	AllocsPerRequest float64 `json:"allocs_per_request"`
	BytesPerRequest  float64 `json:"bytes_per_request"`
}

// Summarize sorts r's samples and reduces them.
func Summarize(r Result) Summary {
	s := Summary{Requests: r.OK + r.Errors + r.Dropped, OK: r.OK, Errors: r.Errors, Dropped: r.Dropped,
		FirstError: r.FirstError}
	if r.Elapsed > 0 {
		s.RPS = float64(r.OK) / r.Elapsed.Seconds()
		s.Cores = r.CPU.Seconds() / r.Elapsed.Seconds()
	}
	if r.OK > 0 {
		s.CPUPerRequest = float64(r.CPU.Microseconds()) / float64(r.OK)
		s.AllocsPerRequest = float64(r.Allocs) / float64(r.OK)
		s.BytesPerRequest = float64(r.AllocBytes) / float64(r.OK)
	}
	s.Latency = percentiles(r.Latency)
	s.FirstByte = percentiles(r.FirstByte)
	if len(r.Lag) > 0 {
		p := percentiles(r.Lag)
		s.SendLag = &p
	}
	if len(r.Service) > 0 {
		p := percentiles(r.Service)
		s.Service = &p
	}
	return s
}

// percentiles sorts d in place and reads the nearest-rank percentiles.
func percentiles(d []time.Duration) Percentiles {
	if len(d) == 0 {
		return Percentiles{}
	}
	slices.Sort(d)
	at := func(q float64) float64 {
		i := int(q*float64(len(d))+0.5) - 1
		i = max(0, min(i, len(d)-1))
		return ms(d[i])
	}
	return Percentiles{P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: ms(d[len(d)-1])}
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// Delta is what one target adds over another (its summary minus the
// other's): CPU per request in microseconds, latency percentiles in
// milliseconds.
type Delta struct {
	CPUPerRequest float64 `json:"cpu_us_per_request"`
	P50           float64 `json:"latency_p50_ms"`
	P90           float64 `json:"latency_p90_ms"`
	P99           float64 `json:"latency_p99_ms"`
	FirstByteP50  float64 `json:"first_byte_p50_ms"`
	FirstByteP99  float64 `json:"first_byte_p99_ms"`
	// ServiceP50 and ServiceP99 compare Service latencies (open loop).
	ServiceP50 float64 `json:"service_p50_ms,omitempty"`
	ServiceP99 float64 `json:"service_p99_ms,omitempty"`
	// RPSRatio is the target's throughput over the base's.
	RPSRatio         float64 `json:"rps_ratio"`
	AllocsPerRequest float64 `json:"allocs_per_request"`
	BytesPerRequest  float64 `json:"bytes_per_request"`
}

// Compare is s minus base.
func Compare(s, base Summary) Delta {
	d := Delta{CPUPerRequest: s.CPUPerRequest - base.CPUPerRequest,
		P50: s.Latency.P50 - base.Latency.P50, P90: s.Latency.P90 - base.Latency.P90,
		P99: s.Latency.P99 - base.Latency.P99, FirstByteP50: s.FirstByte.P50 - base.FirstByte.P50,
		FirstByteP99: s.FirstByte.P99 - base.FirstByte.P99, AllocsPerRequest: s.AllocsPerRequest - base.AllocsPerRequest,
		BytesPerRequest: s.BytesPerRequest - base.BytesPerRequest}
	if s.Service != nil && base.Service != nil {
		d.ServiceP50, d.ServiceP99 = s.Service.P50-base.Service.P50, s.Service.P99-base.Service.P99
	}
	if base.RPS > 0 {
		d.RPSRatio = s.RPS / base.RPS
	}
	return d
}
