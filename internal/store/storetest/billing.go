package storetest

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/metering"
	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/pricing"
	"github.com/tollgate-dev/tollgate/internal/store"
)

// BillingStore is what the billing suite runs against: billing.Store, and
// the platform store to create the organizations, groups and keys that
// billing refers to.
type BillingStore interface {
	store.Store
	billing.Store
}

// BillingHarness is one fresh store handed to one billing subtest.
type BillingHarness struct {
	// Store is empty and migrated. The backend closes it in t.Cleanup.
	Store BillingStore
	// SetClock replaces the store's clock, as in Harness.
	SetClock func(now func() time.Time)
	// DB is the store's own database. The suite reads the ledger's entries
	// through it (no method returns them) to check that the books balance,
	// and checks that the ledger refuses edits.
	DB *sql.DB
	// Replica, when not nil, opens another store on the same database, as
	// another replica of Tollgate would, with the given clock. The suite
	// races replicas against each other; without it those tests skip.
	Replica func(t *testing.T, now func() time.Time) billing.Store
}

// RunBilling runs the billing suite. open must return a new, empty,
// migrated store on every call; the subtests of a group call it in
// parallel.
func RunBilling(t *testing.T, open func(t *testing.T) BillingHarness) {
	groups := []struct {
		name  string
		tests []billingTest
	}{
		{"Ledger", ledgerTests},
		{"Reserve", reserveTests},
		{"Usage", usageTests},
		{"Settings", settingsTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.fn(t, newBillingEnv(t, open(t)))
				})
			}
		})
	}
}

type billingTest struct {
	name string
	fn   func(t *testing.T, e *benv)
}

// benv is a billing subtest's store, clock and fixtures.
type benv struct {
	*env
	b       billing.Store
	replica func(t *testing.T, now func() time.Time) billing.Store
}

func newBillingEnv(t *testing.T, h BillingHarness) *benv {
	t.Helper()
	if h.Store == nil || h.DB == nil {
		t.Fatal("storetest: the billing harness must set Store and DB")
	}
	e := newEnv(t, Harness{Store: h.Store, SetClock: h.SetClock, DB: h.DB})
	return &benv{env: e, b: h.Store, replica: h.Replica}
}

// tenant is an organization with one group and one key in it.
type tenant struct {
	org   *platform.Org
	group *platform.Group
	key   *platform.APIKey
}

func (e *benv) tenant(name string) tenant {
	e.t.Helper()
	o := e.org(name)
	g := e.group(o.ID, name+" production")
	return tenant{o, g, e.key(o.ID, g.ID, name+" key")}
}

// usd is whole dollars in micros.
func usd(d int64) money.Micros { return money.Micros(d) * money.PerDollar }

// post posts a transaction that must succeed.
func (e *benv) post(orgID string, kind billing.Kind, amount money.Micros, ref string) *billing.Transaction {
	e.t.Helper()
	t, err := e.b.Post(e.ctx, &billing.Transaction{OrgID: orgID, Kind: kind, Amount: amount, Reference: ref,
		CreatedAt: e.clock.Now()}, alice)
	if err != nil {
		e.t.Fatalf("Post(%s %s): %v", kind, money.Decimal(amount), err)
	}
	return t
}

// account reads the account at the suite's clock.
func (e *benv) account(orgID string) *billing.Account {
	e.t.Helper()
	a, err := e.b.Account(e.ctx, orgID, e.clock.Now())
	if err != nil {
		e.t.Fatalf("Account(%s): %v", orgID, err)
	}
	return a
}

// record is a finished request of tn costing cost, started at at.
func (e *benv) record(tn tenant, model string, cost money.Micros, at time.Time) metering.Record {
	return e.recordFor(tn.org.ID, tn.group.ID, tn.key.ID, model, cost, at)
}

func (e *benv) recordFor(orgID, groupID, keyID, model string, cost money.Micros, at time.Time) metering.Record {
	id := fmt.Sprintf("req_%016x", rand.Uint64())
	return metering.Record{
		RequestID: id, OrgID: orgID, GroupID: groupID, KeyID: keyID, Endpoint: "chat.completions",
		Model: model, ServedBy: model, Deployment: "fake-" + model, Stream: true,
		PromptTokens: 100, CompletionTokens: 20, ReasoningTokens: 3, TotalTokens: 123, CitationTokens: 4,
		SearchQueries: 1, ContextSize: pricing.ContextMedium,
		Cost:   pricing.Cost{PriceID: "price_test", Input: cost / 2, Output: cost - cost/2, Total: cost},
		Status: 200, Outcome: metering.OutcomeOK, Attempts: 1, StartedAt: at,
		Latency: 1500 * time.Millisecond, TTFT: 250 * time.Millisecond,
	}
}

// settle settles records (without holds) that must all be new.
func (e *benv) settle(recs ...metering.Record) {
	e.t.Helper()
	batch := make([]*billing.Settlement, len(recs))
	for i := range recs {
		batch[i] = &billing.Settlement{Record: recs[i]}
	}
	fresh, err := e.b.Settle(e.ctx, batch)
	if err != nil {
		e.t.Fatalf("Settle(%d records): %v", len(recs), err)
	}
	for i, n := range fresh {
		if !n {
			e.t.Fatalf("Settle: record %d (%s) was not new", i, recs[i].RequestID)
		}
	}
}

// hold is a reservation of amount for a new request of tn.
func (e *benv) hold(tn tenant, amount money.Micros) *billing.Hold {
	now := e.clock.Now()
	return &billing.Hold{RequestID: fmt.Sprintf("req_%016x", rand.Uint64()), OrgID: tn.org.ID, GroupID: tn.group.ID,
		KeyID: tn.key.ID, Model: "sonar", Amount: amount, Month: billing.MonthOf(now), CreatedAt: now,
		ExpiresAt: now.Add(10 * time.Minute)}
}

func (e *benv) setCap(orgID string, sc billing.Scope, monthly money.Micros) {
	e.t.Helper()
	if _, err := e.b.SetCap(e.ctx, &billing.Cap{OrgID: orgID, Scope: sc, Monthly: monthly}, alice); err != nil {
		e.t.Fatalf("SetCap(%s, %s): %v", sc, money.Decimal(monthly), err)
	}
}

// capOf returns the cap on sc this month, with its spend.
func (e *benv) capOf(orgID string, sc billing.Scope) *billing.Cap {
	e.t.Helper()
	caps, err := e.b.ListCaps(e.ctx, orgID, e.clock.Now())
	if err != nil {
		e.t.Fatalf("ListCaps: %v", err)
	}
	for _, c := range caps {
		if c.Scope == sc {
			return c
		}
	}
	e.t.Fatalf("no cap on %s in %s", sc, show(caps))
	return nil
}

func orgScope(tn tenant) billing.Scope { return billing.Scope{Kind: billing.ScopeOrg, ID: tn.org.ID} }
func groupScope(tn tenant) billing.Scope {
	return billing.Scope{Kind: billing.ScopeGroup, ID: tn.group.ID}
}
func keyScope(tn tenant) billing.Scope { return billing.Scope{Kind: billing.ScopeKey, ID: tn.key.ID} }

// wantRefusal fails unless err is a payment_required refusal whose message
// contains each of parts.
func wantRefusal(t *testing.T, what string, err error, parts ...string) {
	t.Helper()
	wantKind(t, what, err, platform.KindPaymentRequired)
	msg := platform.ErrorMessage(err)
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Fatalf("%s: refusal %q does not say %q", what, msg, p)
		}
	}
}

// checkBooks checks, from the tables themselves, the invariants no method
// can show: every ledger transaction has exactly two entries, one on the
// organization's account for its amount and one on its kind's
// counter-account, summing to zero; each organization's balance is the sum
// of its entries; held is the sum of its holds; and each spend row's held
// is the sum of the holds of its scope and month.
func (e *benv) checkBooks(orgIDs ...string) {
	e.t.Helper()
	type txn struct {
		org, kind      string
		amount         int64
		entries        int
		sum, orgAmount int64
		counter        string
	}
	txns := map[string]*txn{}
	rows, err := e.db.QueryContext(e.ctx, `SELECT t.id, t.org_id, t.kind, t.amount, e.account, e.amount
		FROM ledger_transactions t LEFT JOIN ledger_entries e ON e.txn_id = t.id`)
	if err != nil {
		e.t.Fatalf("read ledger: %v", err)
	}
	defer rows.Close()
	entrySums := map[string]int64{}
	for rows.Next() {
		var (
			id, org, kind string
			amount        int64
			account       sql.NullString
			entry         sql.NullInt64
		)
		if err := rows.Scan(&id, &org, &kind, &amount, &account, &entry); err != nil {
			e.t.Fatalf("scan ledger: %v", err)
		}
		x := txns[id]
		if x == nil {
			x = &txn{org: org, kind: kind, amount: amount}
			txns[id] = x
		}
		if !account.Valid {
			continue
		}
		x.entries++
		x.sum += entry.Int64
		entrySums[account.String] += entry.Int64
		if account.String == billing.OrgAccount(org) {
			x.orgAmount = entry.Int64
		} else {
			x.counter = account.String
		}
	}
	if err := rows.Err(); err != nil {
		e.t.Fatalf("read ledger: %v", err)
	}
	for id, x := range txns {
		if x.entries != 2 || x.sum != 0 || x.orgAmount != x.amount || x.counter != billing.CounterAccount(billing.Kind(x.kind)) {
			e.t.Fatalf("transaction %s (%s %d of %s): %d entries summing to %d, %d on the org's account, counter-account %q; want 2 entries summing to 0, the amount on the org's account and the rest on %s",
				id, x.kind, x.amount, x.org, x.entries, x.sum, x.orgAmount, x.counter, billing.CounterAccount(billing.Kind(x.kind)))
		}
	}

	holds := map[string]int64{}
	scopeHolds := map[string]int64{}
	hrows, err := e.db.QueryContext(e.ctx, `SELECT org_id, group_id, key_id, month, amount FROM billing_holds`)
	if err != nil {
		e.t.Fatalf("read holds: %v", err)
	}
	defer hrows.Close()
	for hrows.Next() {
		var (
			org, group, key string
			month, amount   int64
		)
		if err := hrows.Scan(&org, &group, &key, &month, &amount); err != nil {
			e.t.Fatalf("scan hold: %v", err)
		}
		holds[org] += amount
		for _, sc := range []string{"org:" + org, "group:" + group, "key:" + key} {
			scopeHolds[fmt.Sprintf("%s@%d", sc, month)] += amount
		}
	}
	srows, err := e.db.QueryContext(e.ctx, `SELECT scope_kind, scope_id, month, held FROM billing_spend`)
	if err != nil {
		e.t.Fatalf("read spend: %v", err)
	}
	defer srows.Close()
	for srows.Next() {
		var (
			kind, id    string
			month, held int64
		)
		if err := srows.Scan(&kind, &id, &month, &held); err != nil {
			e.t.Fatalf("scan spend: %v", err)
		}
		if k := fmt.Sprintf("%s:%s@%d", kind, id, month); held != scopeHolds[k] {
			e.t.Fatalf("spend of %s: held %d, but its holds sum to %d", k, held, scopeHolds[k])
		}
	}

	for _, orgID := range orgIDs {
		a := e.account(orgID)
		if got := entrySums[billing.OrgAccount(orgID)]; got != int64(a.Balance) {
			e.t.Fatalf("org %s: balance %d, but its ledger entries sum to %d", orgID, a.Balance, got)
		}
		if got := holds[orgID]; got != int64(a.Held) {
			e.t.Fatalf("org %s: held %d, but its holds sum to %d", orgID, a.Held, got)
		}
	}
}

// ledger lists an organization's whole ledger, newest first.
func (e *benv) ledger(orgID string, f billing.LedgerFilter) []*billing.Transaction {
	e.t.Helper()
	if f.Limit == 0 {
		f.Limit = 1000
	}
	got, err := e.b.Ledger(e.ctx, orgID, f)
	if err != nil {
		e.t.Fatalf("Ledger(%+v): %v", f, err)
	}
	return got
}

// amounts lists the kinds and amounts of txns, for comparisons.
func amounts(txns []*billing.Transaction) []string {
	out := make([]string, len(txns))
	for i, t := range txns {
		out[i] = fmt.Sprintf("%s %s", t.Kind, money.Decimal(t.Amount))
	}
	return out
}
