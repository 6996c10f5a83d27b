package storetest

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

var reserveTests = []billingTest{
	{"Refusals", testReserveRefusals},
	{"CreditLimit", testReserveCreditLimit},
	{"SettleReleasesHold", testSettleReleasesHold},
	{"ReleaseAndExpire", testReleaseAndExpire},
	{"DuplicateRequest", testReserveDuplicate},
	{"RaceGroupCap", func(t *testing.T, e *benv) { testReserveRace(t, e, 1, capRace) }},
	{"RaceCredits", func(t *testing.T, e *benv) { testReserveRace(t, e, 1, creditRace) }},
	{"RaceGroupCapReplicas", func(t *testing.T, e *benv) { testReserveRace(t, e, 3, capRace) }},
	{"RaceCreditsReplicas", func(t *testing.T, e *benv) { testReserveRace(t, e, 3, creditRace) }},
}

// testReserveRefusals: a hold that does not fit is refused, says why, and
// writes nothing.
func testReserveRefusals(t *testing.T, e *benv) {
	tn := e.tenant("Acme")
	e.post(tn.org.ID, billing.KindTopUp, usd(10), "")
	// $1 already spent this month by the group's key, $0.50 held.
	e.settle(e.record(tn, "sonar", usd(1), e.clock.Now()))
	inFlight := e.hold(tn, 500_000)
	if err := e.b.Reserve(e.ctx, inFlight, true); err != nil {
		t.Fatalf("Reserve: %v", err)
	}

	tests := []struct {
		name           string
		caps           map[billing.Scope]money.Micros
		amount         money.Micros
		requireCredits bool
		want           []string // the refusal's telling parts; nil = admitted
	}{
		{"credits", nil, 8_500_001, true,
			[]string{"Organization " + tn.org.ID + " is out of credits", "up to $8.500001", "only $8.5 is available", "Top up"}},
		{"credits exactly", nil, 8_500_000, true, nil},
		{"credits not required", nil, usd(50), false, nil},
		{"org cap", map[billing.Scope]money.Micros{orgScope(tn): usd(2)}, 500_001, true,
			[]string{"Organization " + tn.org.ID + " has reached its monthly spend cap of $2", "only $0.5 is available", "Raise the cap"}},
		{"org cap exactly", map[billing.Scope]money.Micros{orgScope(tn): usd(2)}, 500_000, true, nil},
		{"group cap", map[billing.Scope]money.Micros{groupScope(tn): 1_600_000}, 200_000, false,
			[]string{"Group " + tn.group.ID + " has reached its monthly spend cap of $1.6", "only $0.1 is available"}},
		{"key cap", map[billing.Scope]money.Micros{keyScope(tn): usd(1)}, 1, false,
			[]string{"Key " + tn.key.ID + " has reached its monthly spend cap of $1", "only $0 is available"}},
		{"zero cap", map[billing.Scope]money.Micros{groupScope(tn): 0}, 0, false, []string{"Group " + tn.group.ID}},
		{"a cap above the amount alone", map[billing.Scope]money.Micros{keyScope(tn): 100}, 101, false, []string{"Key " + tn.key.ID}},
		{"outermost scope first", map[billing.Scope]money.Micros{keyScope(tn): usd(1), groupScope(tn): usd(1), orgScope(tn): usd(1)}, 1, false,
			[]string{"Organization " + tn.org.ID}},
		{"group before key", map[billing.Scope]money.Micros{keyScope(tn): usd(1), groupScope(tn): usd(1)}, 1, false,
			[]string{"Group " + tn.group.ID}},
		{"credits before caps", map[billing.Scope]money.Micros{orgScope(tn): usd(1)}, usd(9), true,
			[]string{"out of credits"}},
		{"caps with room", map[billing.Scope]money.Micros{keyScope(tn): usd(3), groupScope(tn): usd(3), orgScope(tn): usd(3)}, usd(1), true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, spendBefore := e.account(tn.org.ID), e.spend(tn)
			for sc, c := range tt.caps {
				e.setCap(tn.org.ID, sc, c)
			}
			h := e.hold(tn, tt.amount)
			err := e.b.Reserve(e.ctx, h, tt.requireCredits)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Reserve: %v", err)
				}
				if a := e.account(tn.org.ID); a.Held != before.Held+tt.amount {
					t.Fatalf("held %s after a hold of %s, want %s", money.Decimal(a.Held), money.Decimal(tt.amount), money.Decimal(before.Held+tt.amount))
				}
				if err := e.b.ReleaseHold(e.ctx, h.RequestID); err != nil {
					t.Fatalf("ReleaseHold: %v", err)
				}
			} else {
				wantRefusal(t, "Reserve", err, tt.want...)
			}
			checkEqual(t, "the account after", e.account(tn.org.ID), before)
			checkEqual(t, "the spend after", e.spend(tn), spendBefore)
			e.checkBooks(tn.org.ID)

			// Nothing of a refused hold is left: its request ID is free.
			for sc := range tt.caps {
				if err := e.b.DeleteCap(e.ctx, tn.org.ID, sc, alice); err != nil {
					t.Fatalf("DeleteCap: %v", err)
				}
			}
			if err := e.b.Reserve(e.ctx, h, false); err != nil {
				t.Fatalf("Reserve the same request without caps: %v", err)
			}
			if err := e.b.ReleaseHold(e.ctx, h.RequestID); err != nil {
				t.Fatalf("ReleaseHold: %v", err)
			}
		})
	}
}

// spend returns the current month's spent and held of tn's org, group and
// key, read from the table (caps report it only for capped scopes).
func (e *benv) spend(tn tenant) map[string][2]money.Micros {
	e.t.Helper()
	month := billing.MonthOf(e.clock.Now()).UnixMicro()
	rows, err := e.db.QueryContext(e.ctx, `SELECT scope_kind, scope_id, month, spent, held FROM billing_spend`)
	if err != nil {
		e.t.Fatalf("read spend: %v", err)
	}
	defer rows.Close()
	out := map[string][2]money.Micros{}
	for rows.Next() {
		var (
			sc        billing.Scope
			m         int64
			spent, hd int64
		)
		if err := rows.Scan(&sc.Kind, &sc.ID, &m, &spent, &hd); err != nil {
			e.t.Fatalf("scan spend: %v", err)
		}
		if m == month && (sc == orgScope(tn) || sc == groupScope(tn) || sc == keyScope(tn)) {
			out[sc.String()] = [2]money.Micros{money.Micros(spent), money.Micros(hd)}
		}
	}
	if err := rows.Err(); err != nil {
		e.t.Fatalf("read spend: %v", err)
	}
	return out
}

// testReserveCreditLimit: a credit limit lets the balance go below zero,
// that far and no further.
func testReserveCreditLimit(t *testing.T, e *benv) {
	tn := e.tenant("Acme")
	if err := e.b.Reserve(e.ctx, e.hold(tn, 1), true); err == nil {
		t.Fatal("Reserve with no credits succeeded")
	}
	if _, err := e.b.UpdateSettings(e.ctx, tn.org.ID, billing.Settings{CreditLimit: ptr(usd(2))}, alice); err != nil {
		t.Fatalf("UpdateSettings: %v", err)
	}
	h := e.hold(tn, usd(2))
	if err := e.b.Reserve(e.ctx, h, true); err != nil {
		t.Fatalf("Reserve within the credit limit: %v", err)
	}
	rec := e.record(tn, "sonar", 1_500_000, e.clock.Now())
	rec.RequestID = h.RequestID
	if _, err := e.b.Settle(e.ctx, []*billing.Settlement{{Record: rec, Held: h.Amount}}); err != nil {
		t.Fatalf("Settle: %v", err)
	}
	if a := e.account(tn.org.ID); a.Balance != -1_500_000 || a.Held != 0 || a.Available() != 500_000 {
		t.Fatalf("after settling on credit: %s", show(a))
	}
	wantRefusal(t, "beyond the credit limit", e.b.Reserve(e.ctx, e.hold(tn, 500_001), true), "only $0.5 is available")
	// Usage already happened is debited even past the limit.
	e.settle(e.record(tn, "sonar", usd(3), e.clock.Now()))
	a := e.account(tn.org.ID)
	if a.Balance != -4_500_000 {
		t.Fatalf("balance %s, want -4.5", money.Decimal(a.Balance))
	}
	wantRefusal(t, "far below zero", e.b.Reserve(e.ctx, e.hold(tn, 0), true), "only $0 is available")
	e.checkBooks(tn.org.ID)
}

// testSettleReleasesHold: settling releases the hold's own amount (not
// what the settlement claims was held) and counts the real cost.
func testSettleReleasesHold(t *testing.T, e *benv) {
	tn := e.tenant("Acme")
	e.post(tn.org.ID, billing.KindTopUp, usd(1), "")
	h := e.hold(tn, 50_000)
	if err := e.b.Reserve(e.ctx, h, true); err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	other := e.hold(tn, 7_000)
	if err := e.b.Reserve(e.ctx, other, true); err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	rec := e.record(tn, "sonar", 20_000, e.clock.Now())
	rec.RequestID = h.RequestID
	if _, err := e.b.Settle(e.ctx, []*billing.Settlement{{Record: rec, Held: 999}}); err != nil {
		t.Fatalf("Settle: %v", err)
	}
	a := e.account(tn.org.ID)
	if a.Balance != usd(1)-20_000 || a.Held != 7_000 {
		t.Fatalf("after settling: balance %s held %s, want 0.98 and 0.007", money.Decimal(a.Balance), money.Decimal(a.Held))
	}
	want := [2]money.Micros{20_000, 7_000}
	checkEqual(t, "spend", e.spend(tn), map[string][2]money.Micros{
		orgScope(tn).String(): want, groupScope(tn).String(): want, keyScope(tn).String(): want})
	e.checkBooks(tn.org.ID)
}

// testReleaseAndExpire: ReleaseHold and ExpireHolds give a hold's amount
// back, once.
func testReleaseAndExpire(t *testing.T, e *benv) {
	tn := e.tenant("Acme")
	now := e.clock.Now()
	short, long, released := e.hold(tn, 1_000), e.hold(tn, 20_000), e.hold(tn, 300_000)
	short.ExpiresAt, long.ExpiresAt = now.Add(time.Minute), now.Add(time.Hour)
	for _, h := range []*billing.Hold{short, long, released} {
		if err := e.b.Reserve(e.ctx, h, false); err != nil {
			t.Fatalf("Reserve: %v", err)
		}
	}
	for range 2 {
		if err := e.b.ReleaseHold(e.ctx, released.RequestID); err != nil {
			t.Fatalf("ReleaseHold: %v", err)
		}
	}
	if err := e.b.ReleaseHold(e.ctx, "req_never_held"); err != nil {
		t.Fatalf("ReleaseHold of an unknown request: %v", err)
	}
	if a := e.account(tn.org.ID); a.Held != 21_000 {
		t.Fatalf("held %d after releasing a hold twice, want 21000", a.Held)
	}
	for _, step := range []struct {
		at       time.Time
		want     int
		wantHeld money.Micros
	}{
		{now.Add(time.Minute), 0, 21_000}, // expires_at < now, strictly
		{now.Add(2 * time.Minute), 1, 20_000},
		{now.Add(2 * time.Minute), 0, 20_000},
		{now.Add(2 * time.Hour), 1, 0},
	} {
		n, err := e.b.ExpireHolds(e.ctx, step.at)
		if err != nil {
			t.Fatalf("ExpireHolds: %v", err)
		}
		if a := e.account(tn.org.ID); n != step.want || a.Held != step.wantHeld {
			t.Fatalf("ExpireHolds(%s): %d expired, held %d; want %d and %d", step.at, n, a.Held, step.want, step.wantHeld)
		}
		e.checkBooks(tn.org.ID)
	}
	// A request settled after its hold expired is billed all the same.
	rec := e.record(tn, "sonar", 900, now)
	rec.RequestID = short.RequestID
	e.settle(rec)
	if a := e.account(tn.org.ID); a.Balance != -900 || a.Held != 0 {
		t.Fatalf("after a late settlement: %s", show(a))
	}
	e.checkBooks(tn.org.ID)
}

// testReserveDuplicate: a request ID holds once.
func testReserveDuplicate(t *testing.T, e *benv) {
	tn := e.tenant("Acme")
	h := e.hold(tn, 1_000)
	if err := e.b.Reserve(e.ctx, h, false); err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	wantKind(t, "a second hold for one request", e.b.Reserve(e.ctx, h, false), platform.KindConflict)
	if a := e.account(tn.org.ID); a.Held != 1_000 {
		t.Fatalf("held %d, want 1000", a.Held)
	}
	e.checkBooks(tn.org.ID)
}

// raceKind says what limits the race's admissions.
type raceKind int

const (
	capRace    raceKind = iota // a group cap; credits are plenty
	creditRace                 // the organization's credits; no cap
)

// testReserveRace: 200 requests race to reserve and settle against a cap
// (or credits) that covers only some. Each costs exactly its hold, so the
// number admitted must be exactly what the cap allows: never more (the cap
// holds), never fewer (no false refusal). With replicas > 1 the requests
// spread over that many stores on one database.
func testReserveRace(t *testing.T, e *benv, replicas int, kind raceKind) {
	const (
		n    = 200
		cost = 13_000
	)
	stores := []billing.Store{e.b}
	for range replicas - 1 {
		if e.replica == nil {
			t.Skip("the harness opens no replicas")
		}
		stores = append(stores, e.replica(t, e.clock.Now))
	}
	tn := e.tenant("Acme")
	second := e.key(tn.org.ID, tn.group.ID, "second") // two keys share the group's cap
	limit := money.Micros(1_000_000)
	switch kind {
	case capRace:
		e.post(tn.org.ID, billing.KindTopUp, usd(100), "")
		e.setCap(tn.org.ID, groupScope(tn), limit)
	case creditRace:
		limit = 500_000
		e.post(tn.org.ID, billing.KindTopUp, limit, "")
	}
	allowed := int(limit / cost)

	var (
		admitted atomic.Int64
		errs     = make([]error, n)
		fns      []func()
	)
	for i := range n {
		s := stores[i%len(stores)]
		key := tn.key.ID
		if i%2 == 1 {
			key = second.ID
		}
		fns = append(fns, func() {
			h := e.hold(tn, cost)
			h.KeyID = key
			if err := s.Reserve(e.ctx, h, true); err != nil {
				if platform.ErrorKind(err) != platform.KindPaymentRequired {
					errs[i] = fmt.Errorf("Reserve: %w", err)
				}
				return
			}
			admitted.Add(1)
			rec := e.recordFor(tn.org.ID, tn.group.ID, key, "sonar", cost, h.CreatedAt)
			rec.RequestID = h.RequestID
			fresh, err := s.Settle(e.ctx, []*billing.Settlement{{Record: rec, Held: cost}})
			if err != nil || len(fresh) != 1 || !fresh[0] {
				errs[i] = fmt.Errorf("Settle: %v, new %v", err, fresh)
			}
		})
	}
	race(fns...)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if got := int(admitted.Load()); got != allowed {
		t.Fatalf("%d of %d requests admitted, want exactly %d (%s / %s)", got, n, allowed, money.Decimal(limit), money.Decimal(cost))
	}
	spent := money.Micros(allowed * cost)
	a := e.account(tn.org.ID)
	if a.Held != 0 || a.Balance != map[raceKind]money.Micros{capRace: usd(100), creditRace: limit}[kind]-spent {
		t.Fatalf("account after the race: %s", show(a))
	}
	if kind == capRace {
		c := e.capOf(tn.org.ID, groupScope(tn))
		if c.Spent != spent || c.HeldNow != 0 || c.Spent > c.Monthly {
			t.Fatalf("group cap after the race: %s", show(c))
		}
	}
	if got := len(e.ledger(tn.org.ID, billing.LedgerFilter{Kind: billing.KindUsage})); got != allowed {
		t.Fatalf("%d usage debits, want %d", got, allowed)
	}
	e.checkBooks(tn.org.ID)
}
