package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/money"
)

// testMonthlyGrant: the grant is credited once per month on first use, and
// what is left of it at the month's end expires.
func testMonthlyGrant(t *testing.T, e *benv) {
	tn := e.tenant("Acme")
	march := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	at := func(month time.Month, day int) time.Time { return time.Date(2026, month, day, 9, 0, 0, 0, time.UTC) }
	if _, err := e.b.UpdateSettings(e.ctx, tn.org.ID, billing.Settings{MonthlyGrant: ptr(usd(5))}, bob); err != nil {
		t.Fatalf("UpdateSettings: %v", err)
	}
	step := func(name string, now time.Time, wantBalance, wantRemaining money.Micros, wantKinds ...string) {
		t.Helper()
		a, err := e.b.Account(e.ctx, tn.org.ID, now)
		if err != nil {
			t.Fatalf("%s: Account: %v", name, err)
		}
		if a.Balance != wantBalance || a.GrantRemaining != wantRemaining {
			t.Fatalf("%s: balance %s, grant remaining %s; want %s and %s", name, money.Decimal(a.Balance),
				money.Decimal(a.GrantRemaining), money.Decimal(wantBalance), money.Decimal(wantRemaining))
		}
		if !a.GrantMonth.Equal(billing.MonthOf(now)) && a.MonthlyGrant > 0 {
			t.Fatalf("%s: grant month %s, want %s", name, a.GrantMonth, billing.MonthOf(now))
		}
		var got []string
		for _, x := range e.ledger(tn.org.ID, billing.LedgerFilter{}) {
			if x.Kind == billing.KindGrant || x.Kind == billing.KindGrantExpiry {
				got = append(got, fmt.Sprintf("%s %s", x.Kind, money.Decimal(x.Amount)))
			}
		}
		slices.Reverse(got)
		if len(wantKinds) == 0 {
			wantKinds = nil
		}
		checkEqual(t, name+": grants in the ledger, oldest first", got, wantKinds)
	}

	step("first read in March", march, usd(5), usd(5), "grant 5")
	step("second read in March", at(3, 25), usd(5), usd(5), "grant 5")
	e.settle(e.record(tn, "sonar", usd(2), at(3, 26)))
	step("after $2 of use", at(3, 27), usd(3), usd(3), "grant 5")

	// Policy grants too: April's first request expires March's $3.
	p, err := e.b.Policy(e.ctx, tn.org.ID, tn.group.ID, tn.key.ID, "sonar", at(4, 2))
	if err != nil {
		t.Fatalf("Policy: %v", err)
	}
	if p.Account.Balance != usd(5) || p.Account.GrantRemaining != usd(5) {
		t.Fatalf("Policy in April: %s", show(p.Account))
	}
	step("April", at(4, 3), usd(5), usd(5), "grant 5", "grant_expiry -3", "grant 5")

	// Purchases do not expire: only what is left of the grant does.
	e.clock.Advance(33 * 24 * time.Hour) // April 3
	e.post(tn.org.ID, billing.KindTopUp, usd(10), "")
	e.settle(e.record(tn, "sonar", usd(1), at(4, 20)))
	step("after a top-up and $1 of use", at(4, 21), usd(14), usd(4), "grant 5", "grant_expiry -3", "grant 5")

	// Reserve grants as of the hold's creation: May.
	h := e.hold(tn, usd(1))
	h.CreatedAt, h.Month = at(5, 1), billing.MonthOf(at(5, 1))
	if err := e.b.Reserve(e.ctx, h, true); err != nil {
		t.Fatalf("Reserve in May: %v", err)
	}
	if err := e.b.ReleaseHold(e.ctx, h.RequestID); err != nil {
		t.Fatalf("ReleaseHold: %v", err)
	}
	step("May", at(5, 2), usd(15), usd(5), "grant 5", "grant_expiry -3", "grant 5", "grant_expiry -4", "grant 5")

	// Use beyond the grant: nothing is left to expire in June.
	e.settle(e.record(tn, "sonar", usd(6), at(5, 3)))
	step("June", at(6, 1), usd(14), usd(5), "grant 5", "grant_expiry -3", "grant 5", "grant_expiry -4", "grant 5", "grant 5")

	// An expiry never takes more than the balance: after a refund leaves
	// $2 of June's $5 grant, $2 expires.
	if _, err := e.b.Post(e.ctx, &billing.Transaction{OrgID: tn.org.ID, Kind: billing.KindRefund, Amount: -usd(12),
		CreatedAt: at(6, 2)}, bob); err != nil {
		t.Fatalf("Post refund: %v", err)
	}
	step("July", at(7, 1), usd(5), usd(5), "grant 5", "grant_expiry -3", "grant 5", "grant_expiry -4", "grant 5", "grant 5",
		"grant_expiry -2", "grant 5")

	// Stopping the grant expires what is left and grants nothing more.
	if _, err := e.b.UpdateSettings(e.ctx, tn.org.ID, billing.Settings{MonthlyGrant: ptr(money.Micros(0))}, bob); err != nil {
		t.Fatalf("UpdateSettings: %v", err)
	}
	step("August", at(8, 1), 0, 0, "grant 5", "grant_expiry -3", "grant 5", "grant_expiry -4", "grant 5", "grant 5",
		"grant_expiry -2", "grant 5", "grant_expiry -5")
	step("September", at(9, 1), 0, 0, "grant 5", "grant_expiry -3", "grant 5", "grant_expiry -4", "grant 5", "grant 5",
		"grant_expiry -2", "grant 5", "grant_expiry -5")
	e.checkBooks(tn.org.ID)
}

// testStatement checks a month's numbers against what was posted and used.
func testStatement(t *testing.T, e *benv) {
	tn := e.tenant("Acme")
	g2 := e.group(tn.org.ID, "Staging")
	k2 := e.key(tn.org.ID, g2.ID, "staging")
	day := func(month time.Month, d int) time.Time { return time.Date(2026, month, d, 10, 0, 0, 0, time.UTC) }

	e.clock.Advance(-24 * time.Hour) // February 28
	e.post(tn.org.ID, billing.KindTopUp, usd(40), "")
	e.clock.Advance(48 * time.Hour) // March 2
	e.post(tn.org.ID, billing.KindTopUp, usd(100), "")
	e.settle(e.record(tn, "sonar", 1000, day(3, 5)), e.record(tn, "sonar", 1000, day(3, 6)),
		e.record(tn, "sonar", 1000, day(3, 31).Add(13*time.Hour+58*time.Minute)))
	e.settle(e.recordFor(tn.org.ID, g2.ID, k2.ID, "sonar-pro", 5000, day(3, 7)),
		e.recordFor(tn.org.ID, g2.ID, k2.ID, "sonar-pro", 5000, day(3, 8)))
	e.settle(e.record(tn, "sonar", 1000, day(2, 27)), e.record(tn, "sonar", 1000, day(4, 1)))
	e.clock.Advance(24 * time.Hour)
	e.post(tn.org.ID, billing.KindRefund, -usd(10), "")
	e.post(tn.org.ID, billing.KindAdjustment, 42, "")

	got, err := e.b.Statement(e.ctx, tn.org.ID, "", day(3, 15))
	if err != nil {
		t.Fatalf("Statement: %v", err)
	}
	opening := usd(40) - 1000
	line := func(groupID, model string, n int64, cost money.Micros) billing.StatementLine {
		return billing.StatementLine{GroupID: groupID, Model: model, Requests: n, PromptTokens: 100 * n,
			CompletionTokens: 20 * n, ReasoningTokens: 3 * n, CitationTokens: 4 * n, SearchQueries: n, Cost: cost}
	}
	lines := []billing.StatementLine{line(tn.group.ID, "sonar", 3, 3000), line(g2.ID, "sonar-pro", 2, 10000)}
	slices.SortFunc(lines, func(a, b billing.StatementLine) int {
		if a.GroupID < b.GroupID {
			return -1
		}
		return 1
	})
	want := &billing.Statement{OrgID: tn.org.ID, Month: billing.MonthOf(day(3, 1)), Opening: opening,
		Closing: opening + usd(100) - 13000 - usd(10) + 42,
		ByKind: map[billing.Kind]money.Micros{billing.KindTopUp: usd(100), billing.KindUsage: -13000,
			billing.KindRefund: -usd(10), billing.KindAdjustment: 42},
		Lines: lines, Total: 13000}
	checkEqual(t, "March statement", got, want)

	april, err := e.b.Statement(e.ctx, tn.org.ID, "", day(4, 20))
	if err != nil {
		t.Fatalf("Statement: %v", err)
	}
	if april.Opening != want.Closing || april.Closing != want.Closing-1000 || len(april.Lines) != 1 || april.Total != 1000 {
		t.Errorf("April statement: %s", show(april))
	}

	group, err := e.b.Statement(e.ctx, tn.org.ID, g2.ID, day(3, 1))
	if err != nil {
		t.Fatalf("Statement of a group: %v", err)
	}
	checkEqual(t, "March statement of a group", group, &billing.Statement{OrgID: tn.org.ID, GroupID: g2.ID,
		Month: billing.MonthOf(day(3, 1)), ByKind: map[billing.Kind]money.Micros{billing.KindUsage: -10000},
		Lines: []billing.StatementLine{line(g2.ID, "sonar-pro", 2, 10000)}, Total: 10000})

	empty, err := e.b.Statement(e.ctx, tn.org.ID, "", day(1, 1))
	if err != nil {
		t.Fatalf("Statement: %v", err)
	}
	checkEqual(t, "a month before anything", empty, &billing.Statement{OrgID: tn.org.ID, Month: billing.MonthOf(day(1, 1)),
		ByKind: map[billing.Kind]money.Micros{}, Lines: []billing.StatementLine{}})
}
