package sqlstore_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/metering"
	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/pricing"
	"github.com/tollgate-dev/tollgate/internal/store/pgtest"
	"github.com/tollgate-dev/tollgate/internal/store/sqlstore"
	"github.com/tollgate-dev/tollgate/internal/store/storetest"
)

// billingPool bounds each pool of the billing suite: its races open three
// pools per subtest, and parallel subtests must stay under PostgreSQL's
// max_connections (100 by default).
const billingPool = 5

// billingHarness hands s to the billing suite; replicas are more stores
// opened on url.
func billingHarness(s *sqlstore.Store, url string) storetest.BillingHarness {
	s.DB().SetMaxOpenConns(billingPool)
	return storetest.BillingHarness{
		Store:    s,
		SetClock: func(now func() time.Time) { s.Now = now },
		DB:       s.DB(),
		Replica: func(t *testing.T, now func() time.Time) billing.Store {
			r := openStore(t, url)
			r.DB().SetMaxOpenConns(billingPool)
			r.Now = now
			return r
		},
	}
}

// openBench opens and migrates a store for a benchmark.
func openBench(b *testing.B, url string) *sqlstore.Store {
	b.Helper()
	s, err := sqlstore.Open(b.Context(), url)
	if err != nil {
		b.Fatalf("Open: %v", err)
	}
	b.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(b.Context(), nil); err != nil {
		b.Fatalf("Migrate: %v", err)
	}
	return s
}

// BenchmarkSettle measures usage ingestion: batches of finished requests,
// each with a hold to release, settled in one transaction per batch.
// Placing the holds is not timed. The records/s metric is the one to
// compare.
func BenchmarkSettle(b *testing.B) {
	backends := []struct {
		name string
		url  func(b *testing.B) string
	}{
		{"sqlite", func(b *testing.B) string { return filepath.Join(b.TempDir(), "tollgate.db") }},
		{"postgres", func(b *testing.B) string { pgtest.AdminURL(b); return pgtest.URL(b) }},
	}
	for _, be := range backends {
		for _, size := range []int{1, 100} {
			b.Run(fmt.Sprintf("%s/batch=%d", be.name, size), func(b *testing.B) {
				benchSettle(b, openBench(b, be.url(b)), size)
			})
		}
	}
}

func benchSettle(b *testing.B, s *sqlstore.Store, size int) {
	ctx := b.Context()
	by := platform.SystemActor("bench")
	now := time.Now().UTC().Truncate(time.Microsecond)
	org := &platform.Org{ID: platform.NewID(platform.PrefixOrg), Name: "Bench", CreatedAt: now}
	group := &platform.Group{ID: platform.NewID(platform.PrefixGroup), OrgID: org.ID, Name: "bench",
		Status: platform.GroupActive, CreatedAt: now, UpdatedAt: now}
	var keys []string
	if err := s.CreateOrg(ctx, org, by); err != nil {
		b.Fatal(err)
	}
	if err := s.CreateGroup(ctx, group, by); err != nil {
		b.Fatal(err)
	}
	for i := range 4 {
		k := &platform.APIKey{ID: platform.NewID(platform.PrefixKey), OrgID: org.ID, GroupID: group.ID,
			Name: fmt.Sprint("bench ", i), Hash: []byte(platform.NewID("hash")), Hint: "pplx-…", CreatedBy: "bench", CreatedAt: now}
		if err := s.CreateKey(ctx, k, by); err != nil {
			b.Fatal(err)
		}
		keys = append(keys, k.ID)
	}
	if _, err := s.Post(ctx, &billing.Transaction{OrgID: org.ID, Kind: billing.KindTopUp, Amount: money.Max}, by); err != nil {
		b.Fatal(err)
	}

	seq := 0
	records := 0
	for b.Loop() {
		b.StopTimer()
		batch := make([]*billing.Settlement, size)
		for i := range batch {
			seq++
			at := now.Add(time.Duration(seq) * 100 * time.Millisecond)
			h := &billing.Hold{RequestID: fmt.Sprintf("req_bench_%d", seq), OrgID: org.ID, GroupID: group.ID,
				KeyID: keys[seq%len(keys)], Model: "sonar", Amount: 20_000, CreatedAt: at}
			if err := s.Reserve(ctx, h, true); err != nil {
				b.Fatal(err)
			}
			batch[i] = &billing.Settlement{Held: h.Amount, Record: metering.Record{
				RequestID: h.RequestID, OrgID: org.ID, GroupID: group.ID, KeyID: h.KeyID, Endpoint: "chat.completions",
				Model: []string{"sonar", "sonar-pro"}[seq%2], ServedBy: "sonar", Deployment: "bench", PromptTokens: 812,
				CompletionTokens: 240, TotalTokens: 1052, ContextSize: pricing.ContextLow,
				Cost:   pricing.Cost{PriceID: "price_list_sonar", Input: 812, Output: 240, Request: 5000, Total: 6052},
				Status: 200, Outcome: metering.OutcomeOK, Attempts: 1, StartedAt: at, Latency: 900 * time.Millisecond,
			}}
		}
		b.StartTimer()
		fresh, err := s.Settle(ctx, batch)
		if err != nil {
			b.Fatal(err)
		}
		if len(fresh) != size || !fresh[0] {
			b.Fatalf("Settle returned %v", fresh)
		}
		records += size
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}
