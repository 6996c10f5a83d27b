package dashboard_test

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// EnvBenchUsageRecords sets how many usage records BenchmarkUsagePage
// seeds; the default keeps an ordinary benchmark run short. Issue 6's
// target is measured with 1000000.
const EnvBenchUsageRecords = "TOLLGATE_BENCH_USAGE_RECORDS"

// BenchmarkUsagePage times the dashboard's usage page on a store holding
// TOLLGATE_BENCH_USAGE_RECORDS usage records (default 20,000) spread over 30
// days, 20 keys in 5 groups and 4 models, seeded once per backend through
// the real settlement path (Store.Settle, 1,000 requests a transaction).
//
// One iteration is one round: every view of the page (scaleVariants) is
// fetched once over loopback HTTP with a signed-in session, in an order
// that rotates each round, so noise on the machine lands on all of them.
// For each view it reports the time from sending the request to reading
// the last byte (p50 and p99, nearest rank, in ms) and the part of it
// spent in the rollup queries the page makes through billing.Service
// (queries-ms, p50). A first round warms the caches and is not reported.
//
//	TOLLGATE_BENCH_USAGE_RECORDS=1000000 go test -v -run '^$' -bench BenchmarkUsagePage -benchtime 30x -timeout 60m ./internal/dashboard
func BenchmarkUsagePage(b *testing.B) {
	records := 20_000
	if s := os.Getenv(EnvBenchUsageRecords); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("%s=%q: want a positive number of records", EnvBenchUsageRecords, s)
		}
		records = n
	}
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			start := time.Now()
			e := newScaleEnv(b, backend, records)
			b.Logf("%s: seeded %d usage records in %s (%.0f records/s settled; tenant, sign-in and all: %s)",
				backend, e.usage.Settled, e.usage.Elapsed.Round(100*time.Millisecond),
				float64(e.usage.Settled)/e.usage.Elapsed.Seconds(), time.Since(start).Round(100*time.Millisecond))
			variants := scaleVariants(e.ten)
			type sample struct {
				took, queries time.Duration
				calls, bytes  int
			}
			var samples map[string][]sample
			b.Run("pages", func(b *testing.B) {
				// A warm-up round, not reported: b.Loop runs this function
				// once, so nothing else would warm the caches.
				for _, v := range variants {
					if status, _, _ := e.get(b, "/dashboard/usage?"+v.query); status != http.StatusOK {
						b.Fatalf("GET %s = %d", v.query, status)
					}
				}
				samples = map[string][]sample{}
				round := 0
				for b.Loop() {
					for i := range variants {
						v := variants[(i+round)%len(variants)]
						e.timer.take()
						status, body, took := e.get(b, "/dashboard/usage?"+v.query)
						if status != http.StatusOK {
							b.Fatalf("GET %s = %d", v.query, status)
						}
						calls, spent := e.timer.take()
						samples[v.name] = append(samples[v.name], sample{took, spent, calls, len(body)})
					}
					round++
				}
				for _, v := range variants {
					s := samples[v.name]
					took, queries := make([]time.Duration, len(s)), make([]time.Duration, len(s))
					for i, x := range s {
						took[i], queries[i] = x.took, x.queries
					}
					b.ReportMetric(ms(rank(took, 0.50)), v.name+"-p50-ms")
					b.ReportMetric(ms(rank(took, 0.99)), v.name+"-p99-ms")
					b.ReportMetric(ms(rank(queries, 0.50)), v.name+"-queries-ms")
				}
			})
			var out strings.Builder
			fmt.Fprintf(&out, "%s, %d records, %d rounds:\n%s  p50 ms   p99 ms   queries p50 ms  queries/page  page KiB\n",
				backend, records, len(samples[variants[0].name]), scaleLabel("view"))
			for _, v := range variants {
				s := samples[v.name]
				took, queries := make([]time.Duration, len(s)), make([]time.Duration, len(s))
				for i, x := range s {
					took[i], queries[i] = x.took, x.queries
				}
				fmt.Fprintf(&out, "%s %7.1f  %7.1f  %14.1f  %12d  %8.0f\n", scaleLabel(v.name), ms(rank(took, 0.50)),
					ms(rank(took, 0.99)), ms(rank(queries, 0.50)), s[len(s)-1].calls, float64(s[len(s)-1].bytes)/1024)
			}
			b.Log(out.String())
		})
	}
}

// rank returns the q-quantile of ds by nearest rank (of 30 samples, p99 is
// the largest).
func rank(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
