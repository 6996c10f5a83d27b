package admin

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/metering"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/pricing"
	"github.com/tollgate-dev/tollgate/internal/store/sqlstore"
)

// oaOrg is what the contract test set up that the billing part uses.
type oaOrg struct {
	id, owner  string
	tokens     map[platform.Role]string
	group, key string
}

// settleOne writes one finished request through the real store, as the
// gateway's meter would, and returns its usage record.
func settleOne(t *testing.T, st *sqlstore.Store, orgID, groupID, keyID, model, requestID string, at time.Time) metering.Record {
	t.Helper()
	var price *pricing.Price
	for _, p := range pricing.Defaults() {
		if p.Model == model {
			price = p
		}
	}
	if price == nil {
		t.Fatalf("no default price for %s", model)
	}
	u := pricing.Usage{PromptTokens: 1200, CompletionTokens: 340, ContextSize: pricing.ContextLow, Requests: 1}
	cost, err := pricing.Compute(price, u)
	if err != nil {
		t.Fatal(err)
	}
	r := metering.Record{RequestID: requestID, OrgID: orgID, GroupID: groupID, KeyID: keyID, Endpoint: "chat.completions",
		Model: model, ServedBy: model, Deployment: "fake", PromptTokens: 1200, CompletionTokens: 340, TotalTokens: 1540,
		ContextSize: pricing.ContextLow, Cost: cost, Status: 200, Outcome: metering.OutcomeOK, Attempts: 1,
		StartedAt: at, Latency: 120 * time.Millisecond}
	if _, err := st.Settle(t.Context(), []*billing.Settlement{{Record: r}}); err != nil {
		t.Fatal(err)
	}
	return r
}

// oaBillingContract drives the usage, billing, caps, limits and prices
// operations through their documented statuses.
func oaBillingContract(t *testing.T, c *oaClient, st *sqlstore.Store, o oaOrg) {
	t.Helper()
	owner := o.owner
	billingRole := o.tokens[platform.RoleBilling]
	viewer := o.tokens[platform.RoleViewer]
	now := time.Now().UTC()
	for _, p := range pricing.Defaults() {
		if _, err := st.AddPrice(t.Context(), p, platform.SystemActor("test")); err != nil {
			t.Fatal(err)
		}
	}

	// Money in.
	idem := http.Header{"Idempotency-Key": {"contract-topup-1"}}
	top := c.sendWith(billingRole, "POST", "/api/v1/billing/topups", idem, map[string]any{"amount": "50", "memo": "invoice 1"}, 201)
	again := c.sendWith(billingRole, "POST", "/api/v1/billing/topups", idem, map[string]any{"amount_micros": 50_000_000}, 201)
	if again.str(t, "id") != top.str(t, "id") {
		t.Errorf("a replayed top-up posted %s, want the first transaction %s", again.str(t, "id"), top.str(t, "id"))
	}
	c.sendWith(billingRole, "POST", "/api/v1/billing/topups", idem, map[string]any{"amount": "60"}, 409)
	c.send(owner, "POST", "/api/v1/billing/topups", map[string]any{"amount": "-5"}, 400)
	grantKey := http.Header{"Idempotency-Key": {"contract-grant-1"}}
	c.sendWith(owner, "POST", "/api/v1/billing/grants", grantKey, map[string]any{"amount": "5"}, 201)
	c.sendWith(owner, "POST", "/api/v1/billing/grants", grantKey, map[string]any{"amount": "6"}, 409)
	c.send(owner, "POST", "/api/v1/billing/grants", map[string]any{}, 400)
	c.send(owner, "POST", "/api/v1/billing/refunds", map[string]any{"amount": "1.25"}, 201)
	c.send(owner, "POST", "/api/v1/billing/refunds", map[string]any{"amount": "1000"}, 409)
	c.send(owner, "POST", "/api/v1/billing/refunds", map[string]any{"amount": "0"}, 400)
	c.send(owner, "POST", "/api/v1/billing/adjustments", map[string]any{"amount": "-0.25", "memo": "rounding"}, 201)
	c.send(owner, "POST", "/api/v1/billing/adjustments", map[string]any{"amount_micros": -1_000_000_000}, 409)
	c.send(owner, "POST", "/api/v1/billing/adjustments", map[string]any{"amount": "0.1234567"}, 400)

	bal := c.send(viewer, "GET", "/api/v1/billing/balance", nil, 200)
	if got := bal.body["balance_micros"]; got != float64(53_500_000) {
		t.Errorf("balance_micros = %v after +50 +5 -1.25 -0.25, want 53500000", got)
	}
	c.send(owner, "PATCH", "/api/v1/billing/settings", map[string]any{"credit_limit": "10", "monthly_grant_micros": 0}, 200)
	c.send(owner, "PATCH", "/api/v1/billing/settings", map[string]any{}, 400)

	rec := settleOne(t, st, o.id, o.group, o.key, "sonar", "req_contract_1", now.Add(-time.Minute))

	c.send(viewer, "GET", "/api/v1/billing/ledger", nil, 200)
	page := c.send(viewer, "GET", "/api/v1/billing/ledger?limit=2", nil, 200)
	if page.body["has_more"] != true {
		t.Errorf("ledger page of 2 of 5 transactions: has_more = %v", page.body["has_more"])
	} else {
		c.send(viewer, "GET", "/api/v1/billing/ledger?limit=2&before="+page.str(t, "next_cursor"), nil, 200)
	}
	c.send(viewer, "GET", "/api/v1/billing/ledger?kind=usage&group=prod", nil, 200)
	c.send(viewer, "GET", "/api/v1/billing/ledger?limit=0", nil, 400)
	c.send(viewer, "GET", "/api/v1/billing/ledger?group=no-such-group", nil, 404)

	// Usage.
	c.send(viewer, "GET", "/api/v1/usage", nil, 200)
	c.send(viewer, "GET", "/api/v1/usage?by=group,key,model&granularity=hour&group=prod", nil, 200)
	c.send(viewer, "GET", "/api/v1/usage?format=csv&by=model", nil, 200)
	c.send(viewer, "GET", "/api/v1/usage?granularity=week", nil, 400)
	c.send(viewer, "GET", "/api/v1/usage?group=no-such-group", nil, 404)
	got := c.send(viewer, "GET", "/api/v1/usage/records/"+rec.RequestID, nil, 200)
	if got.str(t, "request_id") != rec.RequestID {
		t.Errorf("usage record = %s", got.raw)
	}

	// Statements.
	month := now.Format("2006-01")
	c.send(viewer, "GET", "/api/v1/billing/statements/"+month, nil, 200)
	c.send(viewer, "GET", "/api/v1/billing/statements/"+month+"?group=prod&format=csv", nil, 200)
	c.send(viewer, "GET", "/api/v1/billing/statements/"+month+"?format=xml", nil, 400)
	c.send(viewer, "GET", "/api/v1/billing/statements/"+month+"?group=no-such-group", nil, 404)

	// Caps.
	c.send(billingRole, "PUT", "/api/v1/billing/caps/group/prod", map[string]any{"monthly_cap": "25"}, 200)
	c.send(billingRole, "PUT", "/api/v1/billing/caps/org/"+o.id, map[string]any{"monthly_cap_micros": 100_000_000}, 200)
	c.send(billingRole, "PUT", "/api/v1/billing/caps/key/"+o.key, map[string]any{"monthly_cap_micros": 0}, 200)
	c.send(billingRole, "PUT", "/api/v1/billing/caps/group/prod", map[string]any{"monthly_cap": "1", "monthly_cap_micros": 1}, 400)
	caps := c.send(viewer, "GET", "/api/v1/billing/caps", nil, 200).list(t)
	if len(caps) != 3 || caps[0]["scope"] != "org" || caps[1]["scope_id"] != o.group {
		t.Errorf("caps = %v, want org, group %s (resolved from its name) and key", caps, o.group)
	}
	c.send(billingRole, "DELETE", "/api/v1/billing/caps/key/"+o.key, nil, 204)

	// Limits.
	c.send(owner, "PUT", "/api/v1/limits/group/prod", map[string]any{"model": "sonar", "rpm": 100, "tpm": 50000, "concurrency": 4}, 200)
	c.send(owner, "PUT", "/api/v1/limits/key/"+o.key, map[string]any{"rpm": 10, "tpm": 0, "concurrency": 0}, 200)
	c.send(owner, "PUT", "/api/v1/limits/key/"+o.key, map[string]any{"rpm": -1, "tpm": 0, "concurrency": 0}, 400)
	c.send(viewer, "GET", "/api/v1/limits", nil, 200)
	c.send(viewer, "GET", "/api/v1/limits?"+url.Values{"scope": {"group"}, "scope_id": {"prod"}}.Encode(), nil, 200)
	c.send(viewer, "GET", "/api/v1/limits?scope=planet&scope_id=earth", nil, 400)
	c.send(viewer, "GET", "/api/v1/limits?scope=group&scope_id=no-such-group", nil, 404)

	prices := c.send(viewer, "GET", "/api/v1/prices", nil, 200).list(t)
	if len(prices) != len(pricing.Defaults()) {
		t.Errorf("%d prices, want the %d defaults", len(prices), len(pricing.Defaults()))
	}
	for _, p := range prices {
		if p["in_effect"] != true || !strings.HasPrefix(p["id"].(string), "price_") {
			t.Errorf("price %v: want in effect", p)
		}
	}
}
