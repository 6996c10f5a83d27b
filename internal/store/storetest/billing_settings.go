package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/pricing"
)

var settingsTests = []billingTest{
	{"UpdateSettings", testUpdateSettings},
	{"SetLimit", testSetLimit},
	{"LimitScopes", testLimitScopes},
	{"Caps", testCaps},
	{"Policy", testPolicy},
	{"Prices", testPrices},
}

func testUpdateSettings(t *testing.T, e *benv) {
	tn := e.tenant("Acme")
	e.clock.Advance(time.Minute)
	a, err := e.b.UpdateSettings(e.ctx, tn.org.ID, billing.Settings{CreditLimit: ptr(usd(3))}, bob)
	if err != nil {
		t.Fatalf("UpdateSettings: %v", err)
	}
	if a.CreditLimit != usd(3) || a.MonthlyGrant != 0 || !a.UpdatedAt.Equal(e.clock.Now()) {
		t.Fatalf("after setting the credit limit: %s", show(a))
	}
	a, err = e.b.UpdateSettings(e.ctx, tn.org.ID, billing.Settings{MonthlyGrant: ptr(usd(5))}, bob)
	if err != nil {
		t.Fatalf("UpdateSettings: %v", err)
	}
	if a.CreditLimit != usd(3) || a.MonthlyGrant != usd(5) {
		t.Fatalf("a nil setting changed: %s", show(a))
	}
	if _, err := e.b.UpdateSettings(e.ctx, tn.org.ID, billing.Settings{}, bob); err != nil {
		t.Fatalf("UpdateSettings with nothing: %v", err)
	}
	_, err = e.b.UpdateSettings(e.ctx, tn.org.ID, billing.Settings{CreditLimit: ptr(money.Micros(-1))}, bob)
	wantKind(t, "a negative credit limit", err, platform.KindInvalid)

	evs := e.audit(tn.org.ID, platform.AuditFilter{Action: "billing.settings_updated"})
	if len(evs) != 2 {
		t.Fatalf("%d billing.settings_updated events, want 2 (none for a change of nothing)", len(evs))
	}
	checkEvent(t, evs[0], wantEvent{OrgID: tn.org.ID, Actor: bob, Action: "billing.settings_updated", TargetType: "org",
		TargetID: tn.org.ID, At: e.clock.Now(), Details: map[string]string{"monthly_grant_micros": "5000000"}})
}

func testSetLimit(t *testing.T, e *benv) {
	tn := e.tenant("Acme")
	sc := groupScope(tn)
	e.clock.Advance(time.Minute)
	l, err := e.b.SetLimit(e.ctx, &billing.Limit{OrgID: tn.org.ID, Scope: sc, RPM: 60, TPM: 10_000}, alice)
	if err != nil {
		t.Fatalf("SetLimit: %v", err)
	}
	want := &billing.Limit{OrgID: tn.org.ID, Scope: sc, RPM: 60, TPM: 10_000, UpdatedAt: e.clock.Now()}
	checkEqual(t, "the limit set", l, want)
	checkEqual(t, "the limits listed", e.limits(tn.org.ID, &sc), []*billing.Limit{want})

	// Setting again replaces every field.
	e.clock.Advance(time.Minute)
	if _, err := e.b.SetLimit(e.ctx, &billing.Limit{OrgID: tn.org.ID, Scope: sc, Concurrency: 4}, alice); err != nil {
		t.Fatalf("SetLimit: %v", err)
	}
	checkEqual(t, "the replaced limit", e.limits(tn.org.ID, &sc),
		[]*billing.Limit{{OrgID: tn.org.ID, Scope: sc, Concurrency: 4, UpdatedAt: e.clock.Now()}})

	// All zero deletes it.
	zero, err := e.b.SetLimit(e.ctx, &billing.Limit{OrgID: tn.org.ID, Scope: sc}, bob)
	if err != nil {
		t.Fatalf("SetLimit of zeros: %v", err)
	}
	if zero.RPM != 0 || zero.TPM != 0 || zero.Concurrency != 0 || zero.Scope != sc {
		t.Fatalf("SetLimit of zeros returned %s", show(zero))
	}
	checkEqual(t, "limits after clearing", e.limits(tn.org.ID, nil), []*billing.Limit{})
	if _, err := e.b.SetLimit(e.ctx, &billing.Limit{OrgID: tn.org.ID, Scope: sc}, bob); err != nil {
		t.Fatalf("clearing a limit that is not set: %v", err)
	}
	if n := e.countEvents(tn.org.ID, "billing.limit_set", tn.group.ID); n != 2 {
		t.Errorf("%d billing.limit_set events, want 2", n)
	}
	if n := e.countEvents(tn.org.ID, "billing.limit_deleted", tn.group.ID); n != 1 {
		t.Errorf("%d billing.limit_deleted events, want 1", n)
	}

	_, err = e.b.SetLimit(e.ctx, &billing.Limit{OrgID: tn.org.ID, Scope: sc, RPM: -1}, alice)
	wantKind(t, "a negative limit", err, platform.KindInvalid)
	_, err = e.b.SetLimit(e.ctx, &billing.Limit{OrgID: tn.org.ID, Scope: sc, TPM: billing.MaxTPM + 1}, alice)
	wantKind(t, "an absurd limit", err, platform.KindInvalid)
	_, err = e.b.SetLimit(e.ctx, &billing.Limit{OrgID: tn.org.ID, Scope: billing.Scope{Kind: "team", ID: "x"}, RPM: 1}, alice)
	wantKind(t, "an unknown scope", err, platform.KindInvalid)
}

func (e *benv) limits(orgID string, sc *billing.Scope) []*billing.Limit {
	e.t.Helper()
	got, err := e.b.ListLimits(e.ctx, orgID, sc)
	if err != nil {
		e.t.Fatalf("ListLimits: %v", err)
	}
	return got
}

// testLimitScopes: limits and caps apply only to the organization's own
// scopes.
func testLimitScopes(t *testing.T, e *benv) {
	acme, other := e.tenant("Acme"), e.tenant("Initech")
	deleted := e.group(acme.org.ID, "Gone")
	if err := e.s.DeleteGroup(e.ctx, acme.org.ID, deleted.ID, alice); err != nil {
		t.Fatalf("DeleteGroup: %v", err)
	}
	tests := []struct {
		name  string
		scope billing.Scope
		ok    bool
	}{
		{"own organization", orgScope(acme), true},
		{"own group", groupScope(acme), true},
		{"own key", keyScope(acme), true},
		{"another organization", orgScope(other), false},
		{"another organization's group", groupScope(other), false},
		{"another organization's key", keyScope(other), false},
		{"a deleted group", billing.Scope{Kind: billing.ScopeGroup, ID: deleted.ID}, false},
		{"a group that never was", billing.Scope{Kind: billing.ScopeGroup, ID: "grp_nope"}, false},
		{"a key ID as a group", billing.Scope{Kind: billing.ScopeGroup, ID: acme.key.ID}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errLimit := e.b.SetLimit(e.ctx, &billing.Limit{OrgID: acme.org.ID, Scope: tt.scope, Model: "sonar", RPM: 5}, alice)
			_, errCap := e.b.SetCap(e.ctx, &billing.Cap{OrgID: acme.org.ID, Scope: tt.scope, Monthly: usd(1)}, alice)
			for _, err := range []error{errLimit, errCap} {
				if tt.ok && err != nil {
					t.Fatalf("setting on %s: %v", tt.scope, err)
				}
				if !tt.ok {
					wantNotFound(t, "setting on "+tt.scope.String(), err)
				}
			}
		})
	}
	if n := len(e.limits(acme.org.ID, nil)); n != 3 {
		t.Errorf("%d limits stored, want 3", n)
	}
	if n := len(e.limits(other.org.ID, nil)); n != 0 {
		t.Errorf("the other organization has %d limits, want 0", n)
	}
	_, err := e.b.SetLimit(e.ctx, &billing.Limit{OrgID: "org_nope", Scope: billing.Scope{Kind: billing.ScopeOrg, ID: "org_nope"}, RPM: 1}, alice)
	wantNotFound(t, "a limit on an organization that does not exist", err)
}

// testCaps sets, lists and deletes caps, with the month's spend.
func testCaps(t *testing.T, e *benv) {
	tn := e.tenant("Acme")
	now := e.clock.Now()
	e.settle(e.record(tn, "sonar", 700, now), e.record(tn, "sonar", 50, now.AddDate(0, -1, 0)))
	h := e.hold(tn, 30)
	if err := e.b.Reserve(e.ctx, h, false); err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	e.clock.Advance(time.Minute)
	c, err := e.b.SetCap(e.ctx, &billing.Cap{OrgID: tn.org.ID, Scope: groupScope(tn), Monthly: usd(5)}, bob)
	if err != nil {
		t.Fatalf("SetCap: %v", err)
	}
	want := &billing.Cap{OrgID: tn.org.ID, Scope: groupScope(tn), Monthly: usd(5), Spent: 700, HeldNow: 30, UpdatedAt: e.clock.Now()}
	checkEqual(t, "the cap set (with this month's spend)", c, want)
	e.setCap(tn.org.ID, keyScope(tn), usd(1))
	e.setCap(tn.org.ID, orgScope(tn), usd(9))
	caps, err := e.b.ListCaps(e.ctx, tn.org.ID, now)
	if err != nil {
		t.Fatalf("ListCaps: %v", err)
	}
	var scopes []string
	for _, c := range caps {
		scopes = append(scopes, c.Scope.String())
		if c.Spent != 700 || c.HeldNow != 30 {
			t.Errorf("cap %s: spent %d held %d, want 700 and 30", c.Scope, c.Spent, c.HeldNow)
		}
	}
	checkEqual(t, "caps, outermost first", scopes, []string{orgScope(tn).String(), groupScope(tn).String(), keyScope(tn).String()})
	last, err := e.b.ListCaps(e.ctx, tn.org.ID, now.AddDate(0, -1, 0))
	if err != nil {
		t.Fatalf("ListCaps: %v", err)
	}
	if len(last) != 3 || last[0].Spent != 50 || last[0].HeldNow != 0 {
		t.Errorf("caps with last month's spend: %s", show(last))
	}

	if err := e.b.DeleteCap(e.ctx, tn.org.ID, keyScope(tn), bob); err != nil {
		t.Fatalf("DeleteCap: %v", err)
	}
	wantNotFound(t, "deleting a deleted cap", e.b.DeleteCap(e.ctx, tn.org.ID, keyScope(tn), bob))
	other := e.tenant("Initech")
	wantNotFound(t, "deleting another organization's cap", e.b.DeleteCap(e.ctx, other.org.ID, groupScope(tn), bob))
	_, err = e.b.SetCap(e.ctx, &billing.Cap{OrgID: tn.org.ID, Scope: groupScope(tn), Monthly: -1}, bob)
	wantKind(t, "a negative cap", err, platform.KindInvalid)
	_, err = e.b.SetCap(e.ctx, &billing.Cap{OrgID: tn.org.ID, Scope: groupScope(tn), Monthly: money.Max + 1}, bob)
	wantKind(t, "an absurd cap", err, platform.KindInvalid)

	if n := e.countEvents(tn.org.ID, "billing.cap_set", tn.group.ID); n != 1 {
		t.Errorf("%d billing.cap_set events on the group, want 1", n)
	}
	evs := e.audit(tn.org.ID, platform.AuditFilter{Action: "billing.cap_deleted"})
	if len(evs) != 1 {
		t.Fatalf("%d billing.cap_deleted events, want 1", len(evs))
	}
	checkEvent(t, evs[0], wantEvent{OrgID: tn.org.ID, Actor: bob, Action: "billing.cap_deleted", TargetType: "key",
		TargetID: tn.key.ID, At: e.clock.Now()})
}

// testPolicy: admission sees the org's, group's and key's limits for the
// model and their caps with this month's spend.
func testPolicy(t *testing.T, e *benv) {
	tn := e.tenant("Acme")
	g2 := e.group(tn.org.ID, "Staging")
	k2 := e.key(tn.org.ID, g2.ID, "staging")
	k3 := e.key(tn.org.ID, tn.group.ID, "second")
	set := func(sc billing.Scope, model string, rpm, tpm, conc int64) billing.Limit {
		t.Helper()
		l, err := e.b.SetLimit(e.ctx, &billing.Limit{OrgID: tn.org.ID, Scope: sc, Model: model, RPM: rpm, TPM: tpm, Concurrency: conc}, alice)
		if err != nil {
			t.Fatalf("SetLimit: %v", err)
		}
		return *l
	}
	orgAll := set(orgScope(tn), "", 100, 0, 0)
	orgSonar := set(orgScope(tn), "sonar", 0, 1000, 0)
	set(orgScope(tn), "sonar-pro", 5, 0, 0)
	groupAll := set(groupScope(tn), "", 50, 0, 0)
	set(billing.Scope{Kind: billing.ScopeGroup, ID: g2.ID}, "", 7, 0, 0)
	keySonar := set(keyScope(tn), "sonar", 0, 0, 2)
	set(billing.Scope{Kind: billing.ScopeKey, ID: k2.ID}, "", 3, 0, 0)
	set(billing.Scope{Kind: billing.ScopeKey, ID: k3.ID}, "", 9, 0, 0)
	e.setCap(tn.org.ID, orgScope(tn), usd(10))
	e.setCap(tn.org.ID, groupScope(tn), usd(5))
	e.setCap(tn.org.ID, billing.Scope{Kind: billing.ScopeKey, ID: k2.ID}, usd(1))
	e.post(tn.org.ID, billing.KindTopUp, usd(20), "")
	e.settle(e.record(tn, "sonar", 500_000, e.clock.Now()))
	if err := e.b.Reserve(e.ctx, e.hold(tn, 200_000), true); err != nil {
		t.Fatalf("Reserve: %v", err)
	}

	p, err := e.b.Policy(e.ctx, tn.org.ID, tn.group.ID, tn.key.ID, "sonar", e.clock.Now())
	if err != nil {
		t.Fatalf("Policy: %v", err)
	}
	checkEqual(t, "limits that apply to the key and sonar", p.Limits, []billing.Limit{orgAll, orgSonar, groupAll, keySonar})
	if len(p.Caps) != 2 || p.Caps[0].Scope != orgScope(tn) || p.Caps[1].Scope != groupScope(tn) {
		t.Fatalf("caps: %s; want the org's and the group's", show(p.Caps))
	}
	for _, c := range p.Caps {
		if c.Spent != 500_000 || c.HeldNow != 200_000 {
			t.Errorf("cap %s: spent %d held %d, want 500000 and 200000", c.Scope, c.Spent, c.HeldNow)
		}
	}
	if p.Account.Balance != usd(20)-500_000 || p.Account.Held != 200_000 || p.Account.OrgID != tn.org.ID {
		t.Errorf("account: %s", show(p.Account))
	}

	// Another group's key and model see their own rows; no key or group,
	// only the organization's.
	p, err = e.b.Policy(e.ctx, tn.org.ID, g2.ID, k2.ID, "sonar-pro", e.clock.Now())
	if err != nil {
		t.Fatalf("Policy: %v", err)
	}
	var got []string
	for _, l := range p.Limits {
		got = append(got, l.Scope.String()+"/"+l.Model)
	}
	checkEqual(t, "limits of the staging key and sonar-pro", got, []string{
		"org:" + tn.org.ID + "/", "org:" + tn.org.ID + "/sonar-pro", "group:" + g2.ID + "/", "key:" + k2.ID + "/"})
	if len(p.Caps) != 2 || p.Caps[1].Scope.ID != k2.ID || p.Caps[1].Spent != 0 {
		t.Errorf("caps of the staging key: %s", show(p.Caps))
	}
	p, err = e.b.Policy(e.ctx, tn.org.ID, "", "", "sonar-deep-research", e.clock.Now())
	if err != nil {
		t.Fatalf("Policy: %v", err)
	}
	if len(p.Limits) != 1 || len(p.Caps) != 1 {
		t.Errorf("the organization alone: %s", show(p))
	}
	// A limit changed applies to the next read.
	set(orgScope(tn), "", 1, 0, 0)
	p, err = e.b.Policy(e.ctx, tn.org.ID, tn.group.ID, tn.key.ID, "sonar", e.clock.Now())
	if err != nil || p.Limits[0].RPM != 1 {
		t.Fatalf("Policy after a change: %v, %s", err, show(p))
	}
}

// testPrices: the price book keeps every version; a version is never
// replaced.
func testPrices(t *testing.T, e *benv) {
	e.clock.Advance(time.Minute)
	defaults := pricing.Defaults()
	for _, p := range defaults {
		got, err := e.b.AddPrice(e.ctx, p, system)
		if err != nil {
			t.Fatalf("AddPrice(%s): %v", p.ID, err)
		}
		checkEqual(t, "the added price", got, p)
	}
	// The app adds the defaults at every start: each is a conflict.
	for _, p := range defaults {
		_, err := e.b.AddPrice(e.ctx, p, system)
		wantDuplicate(t, "adding "+p.ID+" again", err)
	}
	again := *defaults[0]
	again.ID = ""
	_, err := e.b.AddPrice(e.ctx, &again, system)
	wantDuplicate(t, "a second version at the same time", err)

	later := *defaults[0]
	later.ID, later.EffectiveFrom, later.InputPer1M = "", later.EffectiveFrom.Add(24*time.Hour), 2*money.PerDollar
	later.RequestPer1K = map[pricing.ContextSize]money.Micros{pricing.ContextHigh: 20 * money.PerDollar, pricing.ContextLow: 0}
	added, err := e.b.AddPrice(e.ctx, &later, alice)
	if err != nil {
		t.Fatalf("AddPrice of a later version: %v", err)
	}
	if !strings.HasPrefix(added.ID, "price_") {
		t.Errorf("a new price got ID %q", added.ID)
	}
	// A fee of zero is the same as no fee: it reads back absent.
	checkEqual(t, "the later version's fees", added.RequestPer1K,
		map[pricing.ContextSize]money.Micros{pricing.ContextHigh: 20 * money.PerDollar})
	bad := *defaults[0]
	bad.ID, bad.EffectiveFrom, bad.OutputPer1M = "", bad.EffectiveFrom.Add(48*time.Hour), -1
	_, err = e.b.AddPrice(e.ctx, &bad, alice)
	wantKind(t, "a negative price", err, platform.KindInvalid)

	got, err := e.b.ListPrices(e.ctx)
	if err != nil {
		t.Fatalf("ListPrices: %v", err)
	}
	want := append(slices.Clone(defaults), added)
	slices.SortStableFunc(want, func(a, b *pricing.Price) int {
		if c := strings.Compare(a.Model, b.Model); c != 0 {
			return c
		}
		return a.EffectiveFrom.Compare(b.EffectiveFrom)
	})
	checkEqual(t, "the price book", got, want)
	book, err := pricing.NewBook(got)
	if err != nil {
		t.Fatalf("NewBook: %v", err)
	}
	if p := book.At(later.Model, later.EffectiveFrom.Add(-time.Second)); p == nil || p.ID != defaults[0].ID {
		t.Errorf("the price before the change: %v", p)
	}

	evs := e.audit("", platform.AuditFilter{Action: "billing.price_added"})
	if len(evs) != len(defaults)+1 {
		t.Errorf("%d billing.price_added events, want %d", len(evs), len(defaults)+1)
	}
}
