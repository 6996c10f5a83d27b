package dashboard_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/dashboard"
	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

var creditKeyRE = regexp.MustCompile(`name="idempotency_key" value="([^"]+)"`)

func TestBillingCreditsCapsAndStatements(t *testing.T) {
	h := newHarness(t)
	email, pw := h.member(platform.RoleBilling)
	b := h.browser()
	b.signIn(email, pw)

	p := b.must(http.StatusOK, "/dashboard/billing")
	contains(t, "billing", p.body, `id="balance">$0.00<`, `id="tier">Tier 0<`, `id="credits-form"`, `id="cap-form"`)

	// A top-up posts once, even when the form is submitted twice.
	form := url.Values{"csrf_token": {b.csrf()}, "idempotency_key": {b.field(creditKeyRE)}, "kind": {"topup"},
		"amount": {"60.50"}, "memo": {"invoice 7"}}
	for i := 0; i < 2; i++ {
		if p := b.post("/dashboard/billing/credits", form); p.status != http.StatusSeeOther {
			t.Fatalf("top-up %d = %d:\n%s", i, p.status, p.body)
		}
	}
	acct := must(h.bill.Balance(t.Context(), h.owner))
	if acct.Balance != 60_500_000 || acct.Tier != 1 {
		t.Fatalf("balance %s tier %d after a double-submitted $60.50 top-up", money.Format(acct.Balance), acct.Tier)
	}
	// The same key with another amount is refused, not passed off.
	form.Set("amount", "5")
	if p := b.post("/dashboard/billing/credits", form); p.status != http.StatusConflict {
		t.Fatalf("reused key for another amount = %d", p.status)
	}
	p = b.submit("/dashboard/billing", "/dashboard/billing/credits", url.Values{"kind": {"grant"}, "amount": {"12.345.6"}})
	if p.status != http.StatusBadRequest {
		t.Fatalf("bad amount = %d", p.status)
	}
	contains(t, "bad amount", p.body, `id="credit-amount-error"`)

	p = b.must(http.StatusOK, "/dashboard/billing?done=credits-posted")
	contains(t, "after top-up", p.body, `id="balance">$60.50<`, `id="tier">Tier 1<`, "invoice 7", "+$60.50", "Credits posted")

	// A cap on a group shows this month's spend against it.
	g := h.group("prod")
	k, _ := h.key(g, "web")
	h.settle(g, k, "sonar", 2_500_000, h.clock.Now().Add(-time.Hour))
	p = b.submit("/dashboard/billing", "/dashboard/billing/caps", url.Values{"scope": {"group:" + g}, "monthly_cap": {"10"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("set cap = %d:\n%s", p.status, p.body)
	}
	p = b.must(http.StatusOK, "/dashboard/billing")
	contains(t, "caps", p.body, `data-scope="group:`+g+`"`, `max="10.000000" value="2.500000"`, "$7.50")
	p = b.submit("/dashboard/billing", "/dashboard/billing/caps", url.Values{"scope": {"group:grp_nope"}, "monthly_cap": {"10"}})
	if p.status != http.StatusBadRequest {
		t.Fatalf("cap on a foreign group = %d", p.status)
	}
	contains(t, "foreign cap", p.body, `id="cap-scope-error"`)

	// The ledger filters by kind and pages.
	p = b.must(http.StatusOK, "/dashboard/billing?kind=usage")
	contains(t, "usage ledger", p.body, "<code>sonar</code>")
	lacks(t, "usage ledger", p.body, "invoice 7")

	// Statements download as CSV and JSON.
	month := h.clock.Now().Format("2006-01")
	p = b.must(http.StatusOK, "/dashboard/billing/statements/"+month+"?format=csv")
	if !strings.HasPrefix(p.header.Get("Content-Type"), "text/csv") || !strings.Contains(p.body, month+","+g+",sonar,1,") {
		t.Fatalf("CSV statement %q:\n%s", p.header.Get("Content-Type"), p.body)
	}
	p = b.must(http.StatusOK, "/dashboard/billing/statements/"+month+"?format=json")
	var st billing.Statement
	if err := json.Unmarshal([]byte(p.body), &st); err != nil || st.Total != 2_500_000 || st.Closing != 58_000_000 {
		t.Fatalf("JSON statement total %d closing %d (%v):\n%s", st.Total, st.Closing, err, p.body)
	}

	// Removing the cap.
	p = b.submit("/dashboard/billing", "/dashboard/billing/caps/remove", url.Values{"scope": {"group:" + g}})
	if p.status != http.StatusSeeOther || len(must(h.bill.Caps(t.Context(), h.owner))) != 0 {
		t.Fatalf("remove cap = %d", p.status)
	}
}

func TestLimitsShowConsumption(t *testing.T) {
	h := newHarness(t)
	g := h.group("prod")
	k, _ := h.key(g, "web")
	b := h.browser()
	b.signIn(h.email, h.passwd)
	p := b.submit("/dashboard/limits", "/dashboard/limits", url.Values{"scope": {"group:" + g}, "rpm": {"60"}, "tpm": {"-1"}, "concurrency": {"0"}})
	if p.status != http.StatusBadRequest {
		t.Fatalf("negative TPM = %d", p.status)
	}
	contains(t, "bad limit", p.body, `id="limit-tpm-error"`)
	p = b.submit("/dashboard/limits", "/dashboard/limits", url.Values{"scope": {"group:" + g}, "model": {"sonar"}, "rpm": {"60"}, "tpm": {"10000"}, "concurrency": {"4"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("set limit = %d:\n%s", p.status, p.body)
	}
	// Two requests in the last whole minute count against it.
	last := h.clock.Now().Truncate(time.Minute).Add(-time.Minute)
	h.settle(g, k, "sonar", 1000, last.Add(time.Second), last.Add(2*time.Second))
	p = b.must(http.StatusOK, "/dashboard/limits")
	row := regexp.MustCompile(`(?s)<tr data-scope="group:` + g + `">.*?</tr>`).FindString(p.body)
	contains(t, "limit row", row, "<code>sonar</code>", ">60<", "10,000", "2 req", "of 60", "300 tokens")
	contains(t, "tier defaults", p.body, `id="tier-defaults"`, "50 RPM")
}

// TestBillingTierDefaultsAndBalance checks the tier table's Default RPM
// column with and without limits.tier_rpm, and that a balance with a
// fraction of a cent is shown to the cent with its exact value in a
// tooltip.
func TestBillingTierDefaultsAndBalance(t *testing.T) {
	tests := []struct {
		name         string
		tierRPM      map[string][]int64
		want, unwant []string
	}{
		{"configured", map[string][]int64{"*": {50, 150, 500, 1000, 4000, 4000}, "sonar-deep-research": {5, 10, 20, 40, 60, 0}},
			[]string{`<span class="num">5</span> <span class="muted">sonar-deep-research</span>`,
				`<span class="num">150</span> <span class="muted">other models</span>`,
				`<span class="num">no limit</span> <span class="muted">sonar-deep-research</span>`,
				"replace these defaults"},
			[]string{"No default RPM is configured"}},
		{"without other models", map[string][]int64{"search": {3000, 3000, 3000, 3000, 3000, 3000}},
			[]string{`<span class="num">3,000</span> <span class="muted">search</span>`,
				`<span class="num">no limit</span> <span class="muted">other models</span>`},
			[]string{"No default RPM is configured"}},
		{"none", nil,
			[]string{"No default RPM is configured", `<td data-label="Default RPM"><span class="muted">—</span></td>`},
			[]string{`class="rpm-list"`, "replace these defaults"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarnessWith(t, "", false, func(d *dashboard.Deps) { d.TierRPM = tt.tierRPM })
			must(h.bill.Post(t.Context(), h.owner, billing.PostRequest{Kind: billing.KindTopUp, Amount: 1_000_000_000}))
			g := h.group("prod")
			k, _ := h.key(g, "web")
			h.settle(g, k, "sonar", 5_096, h.clock.Now().Add(-time.Minute))
			b := h.browserIn(t)
			b.signIn(h.email, h.passwd)
			p := b.must(http.StatusOK, "/dashboard/billing")
			contains(t, "billing", p.body, tt.want...)
			lacks(t, "billing", p.body, tt.unwant...)
			// $999.994904: to the cent, exactly in the tooltip; the usage
			// line itself keeps its fraction of a cent.
			contains(t, "balance", p.body,
				`id="balance"><span class="rounded" title="$999.994904 exactly">$999.99</span><`,
				`<td class="num" data-label="Balance after"><span class="rounded" title="$999.994904 exactly">$999.99</span></td>`,
				"−$0.005096")
			lacks(t, "balance", p.body, `id="balance">$999.994904<`)
		})
	}
}
