package sqlstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/governance"
	"github.com/tollgate-dev/tollgate/internal/store/pgtest"
	"github.com/tollgate-dev/tollgate/internal/usagegen"
)

// TestHourRollups: hour rollups agree with the minute rollups they
// summarise, hour by hour, key by key; and migration 00005 gives a
// database that had only minute rollups the same hour rollups Settle
// would have written.
func TestHourRollups(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			url := filepath.Join(t.TempDir(), "tollgate.db")
			if backend == "postgres" {
				pgtest.AdminURL(t)
				url = pgtest.URL(t)
			}
			s := openStore(t, url)
			ctx := context.Background()
			end := time.Date(2026, 11, 26, 14, 37, 21, 0, time.UTC)
			now := func() time.Time { return end }
			s.Now = now
			gov := governance.New(s, governance.Config{}, nil, now)
			bs := billing.NewService(s, nil, now)
			ten, err := usagegen.NewTenant(ctx, gov, bs, 2, 2)
			if err != nil {
				t.Fatal(err)
			}
			res, err := usagegen.Generate(ctx, s, usagegen.Config{OrgID: ten.Org.ID, Keys: ten.Keys, Records: 3000,
				End: end, Span: 50 * time.Hour, Batch: 500, Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			ranges := []struct {
				name     string
				from, to time.Time
			}{
				{"everything", time.Time{}, time.Time{}},
				{"whole hours", end.Truncate(time.Hour).Add(-24 * time.Hour), end.Truncate(time.Hour)},
				{"to now", end.Truncate(time.Hour).Add(-23 * time.Hour), end},
				{"cut at both ends", end.Add(-30*time.Hour - 17*time.Minute), end.Add(-2*time.Hour - 41*time.Minute)},
				{"inside one hour", end.Add(-5*time.Hour - 50*time.Minute), end.Add(-5*time.Hour - 20*time.Minute)},
				{"across one hour's end", end.Add(-3*time.Hour - 10*time.Minute), end.Add(-2*time.Hour - 55*time.Minute)},
				{"from a cut hour on", end.Add(-40*time.Hour - 1*time.Minute), time.Time{}},
				{"up to a cut hour", time.Time{}, end.Add(-7*time.Hour - 29*time.Minute)},
			}
			// hourly reads every range by the hour, split by key and model.
			hourly := func() map[string][]billing.UsageRow {
				out := map[string][]billing.UsageRow{}
				for _, r := range ranges {
					rows, err := s.Usage(ctx, billing.UsageQuery{OrgID: ten.Org.ID, Granularity: billing.Hour,
						From: r.from, To: r.to, By: []string{"key", "model"}})
					if err != nil {
						t.Fatalf("%s: %v", r.name, err)
					}
					out[r.name] = rows
				}
				return out
			}
			before := hourly()
			for _, r := range ranges {
				// The same range by the minute, summed by hour here.
				minutes, err := s.Usage(ctx, billing.UsageQuery{OrgID: ten.Org.ID, Granularity: billing.Minute,
					From: r.from, To: r.to, By: []string{"key", "model"}})
				if err != nil {
					t.Fatal(err)
				}
				want := map[string]billing.UsageRow{}
				for _, m := range minutes {
					id := fmt.Sprint(m.Start.Truncate(time.Hour).Unix(), m.KeyID, m.Model)
					w := want[id]
					w.Requests += m.Requests
					w.Errors += m.Errors
					w.PromptTokens += m.PromptTokens
					w.Cost += m.Cost
					want[id] = w
				}
				got := before[r.name]
				if len(got) != len(want) || len(got) == 0 {
					t.Errorf("%s: %d hourly rows, %d hours of minutes", r.name, len(got), len(want))
				}
				var total int64
				for _, g := range got {
					w := want[fmt.Sprint(g.Start.Unix(), g.KeyID, g.Model)]
					if g.Requests != w.Requests || g.Errors != w.Errors || g.PromptTokens != w.PromptTokens || g.Cost != w.Cost {
						t.Errorf("%s, %s %s %s: hourly %+v, minutes %+v", r.name, g.Start, g.KeyID, g.Model, g, w)
					}
					total += g.Requests
				}
				// The generator's tally is by the hour: it says what a range
				// of whole hours (or one ending after the last request) holds.
				whole := r.from.Truncate(time.Hour).Equal(r.from) && (r.to.Truncate(time.Hour).Equal(r.to) || r.to.Equal(end))
				if tally := res.Sum(usagegen.Filter{From: r.from, To: r.to}).Requests; whole && total != tally {
					t.Errorf("%s: %d requests hourly, the tally %d", r.name, total, tally)
				}
			}

			// A database from before migration 00005: usage, no hour rollups.
			db := s.DB()
			if _, err := db.ExecContext(ctx, `DELETE FROM usage_rollups WHERE granularity = 'hour'`); err != nil {
				t.Fatal(err)
			}
			if rows, _ := s.Usage(ctx, billing.UsageQuery{OrgID: ten.Org.ID, Granularity: billing.Hour}); len(rows) != 0 {
				t.Fatalf("hourly usage without hour rollups: %d rows; the test cannot tell a backfill from none", len(rows))
			}
			if _, err := db.ExecContext(ctx, `DELETE FROM goose_db_version WHERE version_id = 5`); err != nil {
				t.Fatal(err)
			}
			n, err := s.Migrate(ctx, nil)
			if err != nil || n != 1 {
				t.Fatalf("Migrate applied %d, %v; want migration 5 again", n, err)
			}
			after := hourly()
			for _, r := range ranges {
				if !reflect.DeepEqual(after[r.name], before[r.name]) {
					t.Errorf("%s: after the backfill %d rows differ from the %d Settle wrote", r.name, len(after[r.name]),
						len(before[r.name]))
				}
			}
		})
	}
}
