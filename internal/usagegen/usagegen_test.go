package usagegen_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/governance"
	"github.com/tollgate-dev/tollgate/internal/store/pgtest"
	"github.com/tollgate-dev/tollgate/internal/store/sqlstore"
	"github.com/tollgate-dev/tollgate/internal/usagegen"
)

// TestGenerateMatchesRollups settles generated usage through the real
// store and reads it back from the rollups by hour and by day, whole and
// filtered: every report must equal the generator's own tally, and the
// ledger must have debited exactly the tallied cost.
func TestGenerateMatchesRollups(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			url := filepath.Join(t.TempDir(), "tollgate.db")
			if backend == "postgres" {
				pgtest.AdminURL(t)
				url = pgtest.URL(t)
			}
			ctx := context.Background()
			st, err := sqlstore.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			if _, err := st.Migrate(ctx, nil); err != nil {
				t.Fatal(err)
			}
			end := time.Date(2026, 11, 26, 12, 34, 56, 0, time.UTC)
			now := func() time.Time { return end }
			gov := governance.New(st, governance.Config{}, nil, now)
			bs := billing.NewService(st, nil, now)
			ten, err := usagegen.NewTenant(ctx, gov, bs, 3, 2)
			if err != nil {
				t.Fatal(err)
			}
			before, err := bs.Balance(ctx, ten.Principal)
			if err != nil {
				t.Fatal(err)
			}
			const n = 5000
			res, err := usagegen.Generate(ctx, st, usagegen.Config{OrgID: ten.Org.ID, Keys: ten.Keys, Records: n,
				End: end, Span: 3 * 24 * time.Hour, Batch: 700, Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			if res.Settled != n {
				t.Fatalf("settled %d of %d", res.Settled, n)
			}
			// Settling the same requests again adds nothing.
			again, err := usagegen.Generate(ctx, st, usagegen.Config{OrgID: ten.Org.ID, Keys: ten.Keys, Records: n,
				End: end, Span: 3 * 24 * time.Hour, Batch: 700, Seed: 7})
			if err != nil || again.Settled != 0 {
				t.Fatalf("second run settled %d, %v; want 0", again.Settled, err)
			}
			all := res.Sum(usagegen.Filter{})
			if all.Requests != n || all.Errors == 0 || all.Cost <= 0 {
				t.Fatalf("tally %+v", all)
			}
			after, err := bs.Balance(ctx, ten.Principal)
			if err != nil {
				t.Fatal(err)
			}
			if got := before.Balance - after.Balance; got != all.Cost {
				t.Errorf("ledger debited %d, tally costs %d", got, all.Cost)
			}

			day := 24 * time.Hour
			dayFrom := end.Truncate(day).Add(-2 * day)
			hourFrom := end.Truncate(time.Hour).Add(-23 * time.Hour)
			tests := []struct {
				name string
				q    billing.UsageQuery
				f    usagegen.Filter
			}{
				{"days", billing.UsageQuery{Granularity: billing.Day, From: dayFrom, To: end},
					usagegen.Filter{From: dayFrom, To: end}},
				{"hours", billing.UsageQuery{Granularity: billing.Hour, From: hourFrom, To: end},
					usagegen.Filter{From: hourFrom, To: end}},
				{"group by day", billing.UsageQuery{Granularity: billing.Day, From: dayFrom, To: end, GroupID: ten.Groups[1].ID},
					usagegen.Filter{From: dayFrom, To: end, GroupID: ten.Groups[1].ID}},
				{"key by hour", billing.UsageQuery{Granularity: billing.Hour, From: hourFrom, To: end, KeyID: ten.Keys[0].ID},
					usagegen.Filter{From: hourFrom, To: end, KeyID: ten.Keys[0].ID}},
				{"model by day", billing.UsageQuery{Granularity: billing.Day, From: dayFrom, To: end, Model: "sonar-pro"},
					usagegen.Filter{From: dayFrom, To: end, Model: "sonar-pro"}},
			}
			for _, tc := range tests {
				rows, err := bs.Usage(ctx, ten.Principal, tc.q)
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				var got usagegen.Totals
				for _, u := range rows {
					got.Requests += u.Requests
					got.Errors += u.Errors
					got.PromptTokens += u.PromptTokens
					got.CompletionTokens += u.CompletionTokens
					got.ReasoningTokens += u.ReasoningTokens
					got.CitationTokens += u.CitationTokens
					got.SearchQueries += u.SearchQueries
					got.Cost += u.Cost
				}
				if want := res.Sum(tc.f); got != want || want.Requests == 0 {
					t.Errorf("%s: rollups say %+v, the tally %+v", tc.name, got, want)
				}
			}
			// Split by key, the rollups agree key by key.
			rows, err := bs.Usage(ctx, ten.Principal, billing.UsageQuery{Granularity: billing.Day, From: dayFrom, To: end,
				By: []string{"key"}})
			if err != nil {
				t.Fatal(err)
			}
			byKey := map[string]int64{}
			for _, u := range rows {
				byKey[u.KeyID] += u.Requests
			}
			want := res.SumBy(usagegen.Filter{From: dayFrom, To: end}, "key")
			if len(byKey) != len(want) {
				t.Errorf("%d keys in the rollups, %d in the tally", len(byKey), len(want))
			}
			for k, w := range want {
				if byKey[k] != w.Requests {
					t.Errorf("key %s: %d requests in the rollups, %d in the tally", k, byKey[k], w.Requests)
				}
			}
		})
	}
}
