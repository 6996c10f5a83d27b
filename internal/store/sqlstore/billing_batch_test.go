package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/store/pgtest"
)

// TestReserveBatch: every hold of a batch is judged as Reserve would judge
// it alone, in order, and a refused one leaves no trace.
func TestReserveBatch(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			url := filepath.Join(t.TempDir(), "tollgate.db")
			if backend == "postgres" {
				pgtest.AdminURL(t)
				url = pgtest.URL(t)
			}
			s := openStore(t, url)
			ctx := context.Background()
			by := platform.SystemActor("test")
			now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
			org := &platform.Org{ID: platform.NewID(platform.PrefixOrg), Name: "Acme", CreatedAt: now}
			if err := s.CreateOrg(ctx, org, by); err != nil {
				t.Fatal(err)
			}
			grp := &platform.Group{ID: platform.NewID(platform.PrefixGroup), OrgID: org.ID, Name: "app",
				Status: platform.GroupActive, CreatedAt: now, UpdatedAt: now}
			if err := s.CreateGroup(ctx, grp, by); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Post(ctx, &billing.Transaction{OrgID: org.ID, Kind: billing.KindTopUp, Amount: 100}, by); err != nil {
				t.Fatal(err)
			}
			if _, err := s.SetCap(ctx, &billing.Cap{OrgID: org.ID, Scope: billing.Scope{Kind: billing.ScopeGroup, ID: grp.ID},
				Monthly: 50}, by); err != nil {
				t.Fatal(err)
			}
			hold := func(id string, amount money.Micros) *billing.Hold {
				return &billing.Hold{RequestID: id, OrgID: org.ID, GroupID: grp.ID, Amount: amount, CreatedAt: now,
					ExpiresAt: now.Add(time.Hour)}
			}
			errs, err := s.ReserveBatch(ctx, []*billing.Hold{
				hold("r1", 30), // fits
				hold("r2", 30), // the group cap (50) has 20 left
				hold("r1", 5),  // the same request again
				hold("", 5),    // invalid
				hold("r3", 20), // exactly fills the cap
				{RequestID: "r4", OrgID: "org_nope", Amount: 1, CreatedAt: now}, // no such organization
			}, true)
			if err != nil {
				t.Fatal(err)
			}
			want := []platform.Kind{"", platform.KindPaymentRequired, platform.KindConflict, platform.KindInvalid, "", platform.KindNotFound}
			for i, k := range want {
				if (k == "") != (errs[i] == nil) || (k != "" && platform.ErrorKind(errs[i]) != k) {
					t.Errorf("hold %d: %v, want kind %q", i, errs[i], k)
				}
			}
			a, err := s.Account(ctx, org.ID, now)
			if err != nil || a.Held != 50 {
				t.Fatalf("account = %+v, %v; want 50 held (r1 + r3)", a, err)
			}
			caps, err := s.ListCaps(ctx, org.ID, billing.MonthOf(now))
			if err != nil || len(caps) != 1 || caps[0].HeldNow != 50 {
				t.Fatalf("caps = %+v, %v", caps, err)
			}
			for _, id := range []string{"r1", "r3"} {
				if err := s.ReleaseHold(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
			if a, _ := s.Account(ctx, org.ID, now); a.Held != 0 {
				t.Fatalf("held after releasing = %d", a.Held)
			}
		})
	}
}
