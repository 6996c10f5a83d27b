package storetest

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

var ledgerTests = []billingTest{
	{"PostKinds", testPostKinds},
	{"PostByReference", testPostByReference},
	{"PostByReferenceConcurrent", testPostByReferenceConcurrent},
	{"Tiers", testTiers},
	{"Overflow", testOverflow},
	{"UnknownOrg", testBillingUnknownOrg},
	{"BooksBalance", testBooksBalance},
	{"AppendOnly", testLedgerAppendOnly},
	{"Paging", testLedgerPaging},
	{"MonthlyGrant", testMonthlyGrant},
	{"Statement", testStatement},
}

// testPostKinds posts each kind an operator may post, in sequence on one
// organization, and the ones that must be refused.
func testPostKinds(t *testing.T, e *benv) {
	tn := e.tenant("Acme")
	// A request in flight holds $3, which a refund must leave alone.
	h := e.hold(tn, usd(3))
	if err := e.b.Reserve(e.ctx, h, false); err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	tests := []struct {
		name        string
		kind        billing.Kind
		amount      money.Micros
		wantErr     platform.Kind // "" = success
		wantBalance money.Micros
	}{
		{"top-up", billing.KindTopUp, usd(20), "", usd(20)},
		{"grant", billing.KindGrant, usd(5), "", usd(25)},
		{"refund", billing.KindRefund, -usd(10), "", usd(15)},
		{"adjustment up", billing.KindAdjustment, 1_500_000, "", 16_500_000},
		{"adjustment down", billing.KindAdjustment, -500_000, "", usd(16)},
		{"refund of more than is free", billing.KindRefund, -usd(14), platform.KindConflict, usd(16)},
		{"adjustment below what is held", billing.KindAdjustment, -13_000_001, platform.KindConflict, usd(16)},
		{"refund of exactly what is free", billing.KindRefund, -usd(13), "", usd(3)},
		{"negative top-up", billing.KindTopUp, -usd(1), platform.KindInvalid, usd(3)},
		{"negative grant", billing.KindGrant, -usd(1), platform.KindInvalid, usd(3)},
		{"positive refund", billing.KindRefund, usd(1), platform.KindInvalid, usd(3)},
		{"zero adjustment", billing.KindAdjustment, 0, platform.KindInvalid, usd(3)},
		{"usage by hand", billing.KindUsage, -usd(1), platform.KindInvalid, usd(3)},
		{"grant expiry by hand", billing.KindGrantExpiry, -usd(1), platform.KindInvalid, usd(3)},
		{"unknown kind", billing.Kind("gift"), usd(1), platform.KindInvalid, usd(3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.clock.Advance(time.Minute)
			before := len(e.ledger(tn.org.ID, billing.LedgerFilter{}))
			got, err := e.b.Post(e.ctx, &billing.Transaction{OrgID: tn.org.ID, Kind: tt.kind, Amount: tt.amount,
				Memo: tt.name}, bob)
			if tt.wantErr != "" {
				wantKind(t, "Post "+tt.name, err, tt.wantErr)
				if n := len(e.ledger(tn.org.ID, billing.LedgerFilter{})); n != before {
					t.Fatalf("a refused post left %d transactions, want %d", n, before)
				}
			} else {
				if err != nil {
					t.Fatalf("Post %s: %v", tt.name, err)
				}
				want := &billing.Transaction{ID: got.ID, OrgID: tn.org.ID, Kind: tt.kind, Amount: tt.amount,
					BalanceAfter: tt.wantBalance, Memo: tt.name, CreatedBy: bob.ID, CreatedAt: e.clock.Now()}
				checkEqual(t, "posted transaction", got, want)
				if len(got.ID) < 5 || got.ID[:4] != "ltx_" {
					t.Errorf("transaction ID %q, want an ltx_ ID", got.ID)
				}
				checkEqual(t, "newest ledger transaction", e.ledger(tn.org.ID, billing.LedgerFilter{Limit: 1})[0], want)
				if c := e.countEvents(tn.org.ID, "billing.transaction_posted", got.ID); c != 1 {
					t.Errorf("%d billing.transaction_posted events for %s, want 1", c, got.ID)
				}
			}
			if a := e.account(tn.org.ID); a.Balance != tt.wantBalance || a.Held != usd(3) {
				t.Fatalf("balance %s held %s, want %s and 3", money.Decimal(a.Balance), money.Decimal(a.Held), money.Decimal(tt.wantBalance))
			}
		})
	}
	e.checkBooks(tn.org.ID)
}

// testPostByReference: a reference posts once per organization; a retry
// gets the first transaction back.
func testPostByReference(t *testing.T, e *benv) {
	acme, initech := e.tenant("Acme"), e.tenant("Initech")
	first := e.post(acme.org.ID, billing.KindTopUp, usd(10), "manual:abc")
	e.clock.Advance(time.Minute)
	again, err := e.b.Post(e.ctx, &billing.Transaction{OrgID: acme.org.ID, Kind: billing.KindTopUp, Amount: usd(10),
		Reference: "manual:abc"}, bob)
	if err != nil {
		t.Fatalf("Post again: %v", err)
	}
	checkEqual(t, "the retried post", again, first)
	other := e.post(initech.org.ID, billing.KindTopUp, usd(7), "manual:abc")
	if other.ID == first.ID {
		t.Fatalf("another organization's post with the same reference returned the first one")
	}
	if a := e.account(acme.org.ID); a.Balance != usd(10) || a.LifetimeTopUps != usd(10) {
		t.Fatalf("after a retried top-up: balance %s lifetime %s, want 10 and 10", money.Decimal(a.Balance), money.Decimal(a.LifetimeTopUps))
	}
	if c := len(e.audit(acme.org.ID, platform.AuditFilter{Action: "billing.transaction_posted"})); c != 1 {
		t.Errorf("%d billing.transaction_posted events, want 1 (a retry is not a second post)", c)
	}
	e.checkBooks(acme.org.ID, initech.org.ID)
}

func testPostByReferenceConcurrent(t *testing.T, e *benv) {
	const n = 8
	tn := e.tenant("Acme")
	for round := range rounds {
		ref := fmt.Sprintf("manual:round-%d", round)
		got := make([]*billing.Transaction, n)
		errs := make([]error, n)
		var fns []func()
		for i := range n {
			fns = append(fns, func() {
				got[i], errs[i] = e.b.Post(e.ctx, &billing.Transaction{OrgID: tn.org.ID, Kind: billing.KindTopUp,
					Amount: usd(1), Reference: ref}, alice)
			})
		}
		race(fns...)
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("round %d: Post: %v", round, errs[i])
			}
			if got[i].ID != got[0].ID {
				t.Fatalf("round %d: concurrent posts with one reference made %s and %s", round, got[0].ID, got[i].ID)
			}
		}
	}
	if a := e.account(tn.org.ID); a.Balance != usd(rounds) {
		t.Fatalf("balance %s after %d rounds of racing one-dollar top-ups, want %d", money.Decimal(a.Balance), rounds, rounds)
	}
	e.checkBooks(tn.org.ID)
}

// testTiers: top-ups lift the tier at Perplexity's thresholds; refunds
// lower neither the lifetime purchases nor the tier.
func testTiers(t *testing.T, e *benv) {
	tn := e.tenant("Acme")
	steps := []struct {
		kind         billing.Kind
		amount       money.Micros
		wantLifetime money.Micros
		wantTier     int
	}{
		{billing.KindTopUp, usd(30), usd(30), 0},
		{billing.KindGrant, usd(100), usd(30), 0}, // grants are not purchases
		{billing.KindTopUp, usd(20), usd(50), 1},
		{billing.KindRefund, -usd(40), usd(50), 1},
		{billing.KindAdjustment, -usd(100), usd(50), 1},
		{billing.KindTopUp, usd(199), usd(249), 1},
		{billing.KindTopUp, 1_000_000, usd(250), 2},
		{billing.KindTopUp, usd(750), usd(1000), 4},
		{billing.KindRefund, -usd(900), usd(1000), 4},
		{billing.KindTopUp, usd(4000), usd(5000), 5},
	}
	for i, s := range steps {
		e.post(tn.org.ID, s.kind, s.amount, "")
		a := e.account(tn.org.ID)
		if a.LifetimeTopUps != s.wantLifetime || a.Tier != s.wantTier {
			t.Fatalf("step %d (%s %s): lifetime %s tier %d, want %s and %d", i, s.kind, money.Decimal(s.amount),
				money.Decimal(a.LifetimeTopUps), a.Tier, money.Decimal(s.wantLifetime), s.wantTier)
		}
	}
	e.checkBooks(tn.org.ID)
}

// testOverflow: amounts near the int64 limit are refused, never wrapped.
func testOverflow(t *testing.T, e *benv) {
	tn := e.tenant("Acme")
	huge := money.Micros(math.MaxInt64 - 10)
	e.post(tn.org.ID, billing.KindTopUp, huge, "")
	refused := []struct {
		name   string
		kind   billing.Kind
		amount money.Micros
	}{
		{"balance overflow", billing.KindTopUp, 11},
		{"grant overflow", billing.KindGrant, 100},
		{"adjustment overflow", billing.KindAdjustment, math.MaxInt64},
		{"the smallest int64", billing.KindAdjustment, math.MinInt64},
	}
	for _, r := range refused {
		_, err := e.b.Post(e.ctx, &billing.Transaction{OrgID: tn.org.ID, Kind: r.kind, Amount: r.amount}, alice)
		wantKind(t, r.name, err, platform.KindInvalid)
	}
	// The balance may take 10 more; the lifetime purchases then may not.
	e.post(tn.org.ID, billing.KindRefund, -5, "")
	_, err := e.b.Post(e.ctx, &billing.Transaction{OrgID: tn.org.ID, Kind: billing.KindTopUp, Amount: 12}, alice)
	wantKind(t, "lifetime purchases overflow", err, platform.KindInvalid)
	e.post(tn.org.ID, billing.KindGrant, 15, "")
	a := e.account(tn.org.ID)
	if a.Balance != math.MaxInt64 || a.LifetimeTopUps != huge || a.Tier != 5 {
		t.Fatalf("after the refused posts: %s", show(a))
	}
	// Available saturates instead of wrapping past the credit limit.
	if _, err := e.b.UpdateSettings(e.ctx, tn.org.ID, billing.Settings{CreditLimit: ptr(money.Max)}, alice); err != nil {
		t.Fatalf("UpdateSettings: %v", err)
	}
	if err := e.b.Reserve(e.ctx, e.hold(tn, usd(1)), true); err != nil {
		t.Fatalf("Reserve with a balance near the limit and a credit limit: %v", err)
	}
	if a := e.account(tn.org.ID); a.Balance != math.MaxInt64 || a.Held != usd(1) {
		t.Fatalf("after the hold: %s", show(a))
	}
	// Operator-typed settings are bounded.
	_, err = e.b.UpdateSettings(e.ctx, tn.org.ID, billing.Settings{MonthlyGrant: ptr(money.Max + 1)}, alice)
	wantKind(t, "an absurd monthly grant", err, platform.KindInvalid)
	err = e.b.Reserve(e.ctx, e.hold(tn, money.Max+1), false)
	wantKind(t, "an absurd hold", err, platform.KindInvalid)
}

// testBillingUnknownOrg: billing of an organization that does not exist
// is not found, and creates nothing.
func testBillingUnknownOrg(t *testing.T, e *benv) {
	const ghost = "org_ghost"
	now := e.clock.Now()
	_, err := e.b.Account(e.ctx, ghost, now)
	wantNotFound(t, "Account", err)
	_, err = e.b.Post(e.ctx, &billing.Transaction{OrgID: ghost, Kind: billing.KindTopUp, Amount: usd(1)}, alice)
	wantNotFound(t, "Post", err)
	_, err = e.b.UpdateSettings(e.ctx, ghost, billing.Settings{CreditLimit: ptr(usd(1))}, alice)
	wantNotFound(t, "UpdateSettings", err)
	err = e.b.Reserve(e.ctx, &billing.Hold{RequestID: "req_ghost", OrgID: ghost, Amount: 1}, false)
	wantNotFound(t, "Reserve", err)
	_, err = e.b.Policy(e.ctx, ghost, "", "", "sonar", now)
	wantNotFound(t, "Policy", err)
	_, err = e.b.Statement(e.ctx, ghost, "", now)
	wantNotFound(t, "Statement", err)

	// An organization with no billing yet reads as zero.
	tn := e.tenant("Acme")
	checkEqual(t, "a new organization's account", e.account(tn.org.ID), &billing.Account{OrgID: tn.org.ID})
}

// testBooksBalance runs a mixed workload over two organizations and checks
// the books from the tables.
func testBooksBalance(t *testing.T, e *benv) {
	acme, initech := e.tenant("Acme"), e.tenant("Initech")
	for _, tn := range []tenant{acme, initech} {
		if _, err := e.b.UpdateSettings(e.ctx, tn.org.ID, billing.Settings{MonthlyGrant: ptr(usd(5)), CreditLimit: ptr(usd(2))}, alice); err != nil {
			t.Fatalf("UpdateSettings: %v", err)
		}
		e.post(tn.org.ID, billing.KindTopUp, usd(50), "")
	}
	for day := range 45 { // into the next month, so a grant expires
		now := e.clock.Advance(24 * time.Hour)
		for _, tn := range []tenant{acme, initech} {
			h := e.hold(tn, 300_000)
			if err := e.b.Reserve(e.ctx, h, true); err != nil {
				t.Fatalf("day %d: Reserve: %v", day, err)
			}
			rec := e.record(tn, "sonar", money.Micros(100_000+day*1_000), now)
			rec.RequestID = h.RequestID
			other := e.record(tn, "sonar-pro", 0, now) // free, unheld
			if _, err := e.b.Settle(e.ctx, []*billing.Settlement{{Record: rec, Held: h.Amount}, {Record: other}}); err != nil {
				t.Fatalf("day %d: Settle: %v", day, err)
			}
			if day%10 == 3 {
				e.post(tn.org.ID, billing.KindRefund, -usd(1), "")
				e.post(tn.org.ID, billing.KindAdjustment, 123_456, "")
			}
			// A hold left in flight.
			if err := e.b.Reserve(e.ctx, e.hold(tn, 7_000), false); err != nil {
				t.Fatalf("day %d: Reserve: %v", day, err)
			}
		}
	}
	e.checkBooks(acme.org.ID, initech.org.ID)
	for _, tn := range []tenant{acme, initech} {
		l := e.ledger(tn.org.ID, billing.LedgerFilter{})
		kinds := map[billing.Kind]int{}
		var sum money.Micros
		for _, x := range l {
			kinds[x.Kind]++
			sum += x.Amount
		}
		if kinds[billing.KindGrant] != 2 || kinds[billing.KindGrantExpiry] != 1 || kinds[billing.KindUsage] != 45 {
			t.Errorf("ledger kinds %v, want 2 grants, 1 grant expiry and 45 usage debits", kinds)
		}
		a := e.account(tn.org.ID)
		if sum != a.Balance || l[0].BalanceAfter != a.Balance {
			t.Errorf("ledger sums to %d and ends at %d, balance %d", sum, l[0].BalanceAfter, a.Balance)
		}
	}
}

// testLedgerAppendOnly edits the ledger behind the store's back: the
// database itself must refuse.
func testLedgerAppendOnly(t *testing.T, e *benv) {
	tn := e.tenant("Acme")
	e.post(tn.org.ID, billing.KindTopUp, usd(5), "")
	before := e.ledger(tn.org.ID, billing.LedgerFilter{})
	for _, q := range []string{
		`UPDATE ledger_transactions SET amount = 0`,
		`DELETE FROM ledger_transactions`,
		`UPDATE ledger_entries SET amount = 0`,
		`DELETE FROM ledger_entries`,
		`TRUNCATE ledger_entries`,
		`TRUNCATE ledger_transactions`,
	} {
		if _, err := e.db.ExecContext(e.ctx, q); err == nil {
			t.Errorf("%s: no error; the ledger must be append-only", q)
		}
	}
	checkEqual(t, "the ledger after refused edits", e.ledger(tn.org.ID, billing.LedgerFilter{}), before)
	e.checkBooks(tn.org.ID)
}

// testLedgerPaging pages and filters the ledger.
func testLedgerPaging(t *testing.T, e *benv) {
	acme, other := e.tenant("Acme"), e.tenant("Initech")
	g2 := e.group(acme.org.ID, "Staging")
	k2 := e.key(acme.org.ID, g2.ID, "staging")
	e.post(other.org.ID, billing.KindTopUp, usd(1), "")
	e.post(acme.org.ID, billing.KindTopUp, usd(100), "")
	var all []string
	for i := range 12 {
		at := e.clock.Advance(time.Hour)
		if i%4 == 0 {
			e.post(acme.org.ID, billing.KindGrant, usd(1), "")
			continue
		}
		rec := e.record(acme, "sonar", money.Micros(1000+i), at)
		if i%2 == 1 {
			rec = e.recordFor(acme.org.ID, g2.ID, k2.ID, "sonar", money.Micros(1000+i), at)
		}
		rec.Latency = 0
		// Two requests ending at the same instant: the ID breaks the tie.
		twin := rec
		twin.RequestID += "-twin"
		e.settle(rec, twin)
	}
	full := e.ledger(acme.org.ID, billing.LedgerFilter{})
	for i := 1; i < len(full); i++ {
		a, b := full[i-1], full[i]
		if a.CreatedAt.Before(b.CreatedAt) || (a.CreatedAt.Equal(b.CreatedAt) && a.ID <= b.ID) {
			t.Fatalf("ledger not newest first at %d: %s %s then %s %s", i, a.CreatedAt, a.ID, b.CreatedAt, b.ID)
		}
	}
	for _, x := range full {
		all = append(all, x.ID)
	}
	if len(all) != 1+3+2*9 {
		t.Fatalf("ledger has %d transactions, want 22", len(all))
	}
	for _, size := range []int{1, 3, 5, 22, 50} {
		var got []string
		before := ""
		for range 100 {
			page := e.ledger(acme.org.ID, billing.LedgerFilter{Before: before, Limit: size})
			for _, x := range page {
				got = append(got, x.ID)
			}
			if len(page) < size {
				break
			}
			before = page[len(page)-1].ID
		}
		checkEqual(t, fmt.Sprintf("IDs over pages of %d", size), got, all)
	}

	count := func(f billing.LedgerFilter, keep func(*billing.Transaction) bool) {
		t.Helper()
		var want []string
		for _, x := range full {
			if keep(x) {
				want = append(want, x.ID)
			}
		}
		var got []string
		for _, x := range e.ledger(acme.org.ID, f) {
			got = append(got, x.ID)
		}
		checkEqual(t, fmt.Sprintf("ledger filtered by %+v", f), got, want)
	}
	count(billing.LedgerFilter{Kind: billing.KindGrant}, func(x *billing.Transaction) bool { return x.Kind == billing.KindGrant })
	count(billing.LedgerFilter{GroupID: g2.ID}, func(x *billing.Transaction) bool { return x.GroupID == g2.ID })
	from, to := start.Add(3*time.Hour), start.Add(7*time.Hour)
	count(billing.LedgerFilter{From: from, To: to}, func(x *billing.Transaction) bool {
		return !x.CreatedAt.Before(from) && x.CreatedAt.Before(to)
	})
	count(billing.LedgerFilter{Kind: billing.KindUsage, GroupID: acme.group.ID, From: from}, func(x *billing.Transaction) bool {
		return x.Kind == billing.KindUsage && x.GroupID == acme.group.ID && !x.CreatedAt.Before(from)
	})

	_, err := e.b.Ledger(e.ctx, acme.org.ID, billing.LedgerFilter{Before: "ltx_unknown"})
	wantKind(t, "an unknown cursor", err, platform.KindInvalid)
	otherTxn := e.ledger(other.org.ID, billing.LedgerFilter{})[0]
	_, err = e.b.Ledger(e.ctx, acme.org.ID, billing.LedgerFilter{Before: otherTxn.ID})
	wantKind(t, "another organization's cursor", err, platform.KindInvalid)

	usage := e.ledger(acme.org.ID, billing.LedgerFilter{Kind: billing.KindUsage, Limit: 1})[0]
	if usage.RequestID == "" || usage.KeyID == "" || usage.Model != "sonar" || usage.CreatedBy != "system" || usage.Amount >= 0 {
		t.Errorf("a usage transaction: %s", show(usage))
	}
}
