package admin

// Handler tests of usage, billing, caps and limits: a real server over
// loopback, on a real store (SQLite, and PostgreSQL when one is reachable).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/auth"
	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/governance"
	"github.com/tollgate-dev/tollgate/internal/keys"
	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/store/pgtest"
	"github.com/tollgate-dev/tollgate/internal/store/sqlstore"
)

// billingServer is the management API on a real store, served over
// loopback, with an organization and its owner token.
type billingServer struct {
	t     *testing.T
	url   string
	st    *sqlstore.Store
	gov   *governance.Service
	orgID string
	owner string
}

func newBillingServer(t *testing.T, backend string) *billingServer {
	t.Helper()
	ctx := t.Context()
	target := filepath.Join(t.TempDir(), "tollgate.db")
	if backend == "postgres" {
		target = pgtest.URL(t)
	}
	st, err := sqlstore.Open(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Now().UTC() }
	gov := governance.New(st, governance.Config{RotationGrace: time.Hour}, nil, now)
	boot, err := gov.CreateOrg(ctx, platform.SystemActor("test"), "Acme", "owner@example.com")
	if err != nil {
		t.Fatal(err)
	}
	mux := oaMux(&Deps{Service: gov, Billing: billing.NewService(st, nil, now),
		Auth: auth.NewAdminAuthenticator(st, keys.DefaultAdminPrefix, keys.DefaultKeyPrefix, now),
		Log:  slog.New(slog.DiscardHandler), Now: now, MaxBody: 1 << 20})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &billingServer{t: t, url: srv.URL, st: st, gov: gov, orgID: boot.Org.ID, owner: boot.TokenSecret}
}

// billingBackends runs fn on SQLite and on PostgreSQL.
func billingBackends(t *testing.T, fn func(t *testing.T, s *billingServer)) {
	for _, b := range []string{"sqlite", "postgres"} {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			fn(t, newBillingServer(t, b))
		})
	}
}

type reply struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// param is the error's param, or "".
func (r reply) param() string {
	e, _ := r.body["error"].(map[string]any)
	p, _ := e["param"].(string)
	return p
}

func (r reply) message() string {
	e, _ := r.body["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}

func (r reply) str(name string) string { s, _ := r.body[name].(string); return s }

func (r reply) num(name string) int64 { f, _ := r.body[name].(float64); return int64(f) }

func (r reply) list() []map[string]any {
	var out []map[string]any
	for _, it := range oaList(r.body["data"]) {
		out = append(out, it.(map[string]any))
	}
	return out
}

// do sends a request; body is "" (none) or JSON text. hdr may be nil.
func (s *billingServer) do(method, path, token, body string, hdr http.Header) reply {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(s.t.Context(), method, s.url+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	r := reply{status: resp.StatusCode, header: resp.Header, raw: raw}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			s.t.Fatalf("%s %s: not a JSON object: %s", method, path, raw)
		}
	}
	return r
}

// must sends a request that must answer want.
func (s *billingServer) must(want int, method, path, token, body string) reply {
	s.t.Helper()
	r := s.do(method, path, token, body, nil)
	if r.status != want {
		s.t.Fatalf("%s %s %s = %d %s, want %d", method, path, body, r.status, r.raw, want)
	}
	return r
}

func (s *billingServer) token(role platform.Role) string {
	s.t.Helper()
	return s.must(201, "POST", "/api/v1/admin-tokens", s.owner, fmt.Sprintf(`{"name":"as %s","role":%q}`, role, role)).str("token")
}

func (s *billingServer) group(name string) string {
	s.t.Helper()
	return s.must(201, "POST", "/api/v1/groups", s.owner, fmt.Sprintf(`{"name":%q}`, name)).str("id")
}

func (s *billingServer) key(groupID string) string {
	s.t.Helper()
	return s.must(201, "POST", "/api/v1/groups/"+groupID+"/keys", s.owner, `{"name":"k"}`).str("id")
}

func (s *billingServer) balance() money.Micros {
	s.t.Helper()
	return money.Micros(s.must(200, "GET", "/api/v1/billing/balance", s.owner, "").num("balance_micros"))
}

func TestBillingRoleChecks(t *testing.T) {
	billingBackends(t, func(t *testing.T, s *billingServer) {
		grp := s.group("app")
		tok := map[platform.Role]string{platform.RoleOwner: s.owner}
		for _, r := range platform.Roles[1:] {
			tok[r] = s.token(r)
		}
		tests := []struct {
			role         platform.Role
			method, path string
			body         string
			want         int
		}{
			{platform.RoleViewer, "POST", "/api/v1/billing/topups", `{"amount":"10"}`, 403},
			{platform.RoleMember, "POST", "/api/v1/billing/topups", `{"amount":"10"}`, 403},
			{platform.RoleViewer, "POST", "/api/v1/billing/grants", `{"amount":"10"}`, 403},
			{platform.RoleMember, "POST", "/api/v1/billing/refunds", `{"amount":"1"}`, 403},
			{platform.RoleViewer, "POST", "/api/v1/billing/adjustments", `{"amount":"-1"}`, 403},
			{platform.RoleViewer, "PATCH", "/api/v1/billing/settings", `{"credit_limit":"1000"}`, 403},
			{platform.RoleViewer, "PUT", "/api/v1/billing/caps/group/app", `{"monthly_cap":"1"}`, 403},
			{platform.RoleMember, "DELETE", "/api/v1/billing/caps/group/app", "", 403},
			{platform.RoleBilling, "PUT", "/api/v1/limits/group/app", `{"rpm":1,"tpm":0,"concurrency":0}`, 403},
			{platform.RoleMember, "GET", "/api/v1/billing/balance", "", 403},
			{platform.RoleMember, "GET", "/api/v1/billing/ledger", "", 403},
			{platform.RoleViewer, "GET", "/api/v1/billing/balance", "", 200},
			{platform.RoleMember, "GET", "/api/v1/usage", "", 200},
			{platform.RoleViewer, "GET", "/api/v1/prices", "", 200},
			{platform.RoleBilling, "POST", "/api/v1/billing/topups", `{"amount":"10"}`, 201},
			{platform.RoleAdmin, "POST", "/api/v1/billing/topups", `{"amount_micros":2500000}`, 201},
			{platform.RoleBilling, "PUT", "/api/v1/billing/caps/group/app", `{"monthly_cap":"3"}`, 200},
			{platform.RoleAdmin, "PUT", "/api/v1/limits/group/" + grp, `{"rpm":5,"tpm":0,"concurrency":0}`, 200},
		}
		for _, tt := range tests {
			r := s.do(tt.method, tt.path, tok[tt.role], tt.body, nil)
			if r.status != tt.want {
				t.Errorf("%s: %s %s = %d %s, want %d", tt.role, tt.method, tt.path, r.status, r.raw, tt.want)
			}
			if tt.want == 403 && !strings.Contains(r.message(), `your role "`+string(tt.role)+`"`) {
				t.Errorf("%s: %s %s: 403 message %q does not name the role", tt.role, tt.method, tt.path, r.message())
			}
		}
		// Only the two allowed top-ups moved money.
		if got, want := s.balance(), money.Micros(12_500_000); got != want {
			t.Errorf("balance = %d, want %d", got, want)
		}
	})
}

func TestBillingBadAmounts(t *testing.T) {
	billingBackends(t, func(t *testing.T, s *billingServer) {
		s.must(201, "POST", "/api/v1/billing/topups", s.owner, `{"amount":"20"}`)
		tests := []struct {
			name, path, body, param, says string
		}{
			{"negative decimal", "topups", `{"amount":"-5"}`, "amount", "negative"},
			{"negative micros", "grants", `{"amount_micros":-5}`, "amount_micros", "negative"},
			{"zero", "topups", `{"amount":"0"}`, "amount", "more than zero"},
			{"zero micros", "refunds", `{"amount_micros":0}`, "amount_micros", "more than zero"},
			{"zero adjustment", "adjustments", `{"amount":"0.000000"}`, "amount", "zero"},
			{"seven decimals", "topups", `{"amount":"1.0000001"}`, "amount", "six decimals"},
			{"both fields", "topups", `{"amount":"1","amount_micros":1000000}`, "amount_micros", "not both"},
			{"neither field", "topups", `{"memo":"x"}`, "amount_micros", "amount"},
			{"absurd decimal", "topups", `{"amount":"1000000001"}`, "amount", "largest"},
			{"absurd micros", "grants", `{"amount_micros":1000000000000001}`, "amount_micros", "largest"},
			{"beyond int64", "topups", `{"amount_micros":9223372036854775808}`, "amount_micros", "out of range"},
			{"absurd negative adjustment", "adjustments", `{"amount":"-1000000000.000001"}`, "amount", "largest"},
			{"not a number", "topups", `{"amount":"ten"}`, "amount", "not a dollar amount"},
			{"number as decimal field", "topups", `{"amount":12.5}`, "amount", "string"},
			{"string as micros", "topups", `{"amount_micros":"12"}`, "amount_micros", "not a string"},
			{"fraction as micros", "topups", `{"amount_micros":12.5}`, "amount_micros", "whole number"},
			{"exponent as decimal", "topups", `{"amount":"1e9"}`, "amount", "not a dollar amount"},
			{"boolean", "topups", `{"amount_micros":true}`, "amount_micros", "integer"},
			{"long memo", "grants", `{"amount":"1","memo":"` + strings.Repeat("m", 501) + `"}`, "memo", "500"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := s.do("POST", "/api/v1/billing/"+tt.path, s.owner, tt.body, nil)
				if r.status != 400 {
					t.Fatalf("POST %s %s = %d %s, want 400", tt.path, tt.body, r.status, r.raw)
				}
				if r.param() != tt.param || !strings.Contains(r.message(), tt.says) {
					t.Errorf("POST %s %s: param %q, message %q; want param %q and a message saying %q",
						tt.path, tt.body, r.param(), r.message(), tt.param, tt.says)
				}
			})
		}
		for _, tt := range []struct{ path, body, param string }{
			{"PATCH /api/v1/billing/settings", `{"credit_limit":"-1"}`, "credit_limit"},
			{"PATCH /api/v1/billing/settings", `{"monthly_grant_micros":1000000000000001}`, "monthly_grant_micros"},
			{"PATCH /api/v1/billing/settings", `{"monthly_grant":"5","monthly_grant_micros":5000000}`, "monthly_grant_micros"},
			{"PUT /api/v1/billing/caps/org/" + s.orgID, `{"monthly_cap":"-25"}`, "monthly_cap"},
			{"PUT /api/v1/billing/caps/org/" + s.orgID, `{"monthly_cap_micros":1000000000000001}`, "monthly_cap_micros"},
			{"PUT /api/v1/billing/caps/org/" + s.orgID, `{}`, "monthly_cap_micros"},
			{"PUT /api/v1/limits/org/" + s.orgID, `{"rpm":-1,"tpm":0,"concurrency":0}`, "rpm"},
			{"PUT /api/v1/limits/org/" + s.orgID, `{"rpm":1,"tpm":100000000001,"concurrency":0}`, "tpm"},
		} {
			method, path, _ := strings.Cut(tt.path, " ")
			r := s.do(method, path, s.owner, tt.body, nil)
			if r.status != 400 || r.param() != tt.param {
				t.Errorf("%s %s = %d %s, want 400 naming %s", tt.path, tt.body, r.status, r.raw, tt.param)
			}
		}
		// None of it moved money or changed a setting.
		if got := s.balance(); got != 20*money.PerDollar {
			t.Errorf("balance after refused requests = %d, want 20 dollars", got)
		}
		a := s.must(200, "GET", "/api/v1/billing/balance", s.owner, "")
		if a.num("credit_limit_micros") != 0 || a.num("monthly_grant_micros") != 0 {
			t.Errorf("settings changed by refused requests: %s", a.raw)
		}
		if caps := s.must(200, "GET", "/api/v1/billing/caps", s.owner, "").list(); len(caps) != 0 {
			t.Errorf("caps set by refused requests: %v", caps)
		}
		// The edge: the largest amount is accepted, one micro-dollar more is not.
		s.must(400, "POST", "/api/v1/billing/grants", s.owner, fmt.Sprintf(`{"amount_micros":%d}`, money.Max+1))
		s.must(201, "POST", "/api/v1/billing/grants", s.owner, fmt.Sprintf(`{"amount_micros":%d}`, money.Max))
		if got, want := s.balance(), money.Max+20*money.PerDollar; got != want {
			t.Errorf("balance after the largest grant = %d, want %d", got, want)
		}
	})
}

func TestBillingIdempotentTopUp(t *testing.T) {
	billingBackends(t, func(t *testing.T, s *billingServer) {
		key := http.Header{"Idempotency-Key": {"order-1234"}}
		first := s.do("POST", "/api/v1/billing/topups", s.owner, `{"amount":"12.50","memo":"order 1234"}`, key)
		if first.status != 201 || first.num("amount_micros") != 12_500_000 || first.str("amount_usd") != "12.500000" ||
			first.num("balance_after_micros") != 12_500_000 || !strings.HasPrefix(first.str("id"), "ltx_") {
			t.Fatalf("top-up = %d %s", first.status, first.raw)
		}
		// Retries, some at once, post nothing more and return the first.
		var wg sync.WaitGroup
		ids := make([]string, 8)
		for i := range ids {
			wg.Go(func() {
				r := s.do("POST", "/api/v1/billing/topups", s.owner, `{"amount_micros":12500000}`, key)
				if r.status == 201 {
					ids[i] = r.str("id")
				} else {
					ids[i] = fmt.Sprintf("status %d: %s", r.status, r.raw)
				}
			})
		}
		wg.Wait()
		for _, id := range ids {
			if id != first.str("id") {
				t.Errorf("replayed top-up answered %s, want the first transaction %s", id, first.str("id"))
			}
		}
		if got := s.balance(); got != 12_500_000 {
			t.Errorf("balance after retries = %d, want 12500000 (one top-up)", got)
		}
		// The same key for another amount is a conflict, not a silent replay.
		r := s.do("POST", "/api/v1/billing/topups", s.owner, `{"amount":"125"}`, key)
		if r.status != 409 || !strings.Contains(r.message(), "order-1234") {
			t.Errorf("reused key with another amount = %d %s, want 409 naming the key", r.status, r.raw)
		}
		// Another key posts again.
		s.do("POST", "/api/v1/billing/topups", s.owner, `{"amount":"12.50"}`, http.Header{"Idempotency-Key": {"order-1235"}})
		ledger := s.must(200, "GET", "/api/v1/billing/ledger?kind=topup", s.owner, "").list()
		if len(ledger) != 2 {
			t.Errorf("%d top-ups in the ledger, want 2", len(ledger))
		}
		a := s.must(200, "GET", "/api/v1/billing/balance", s.owner, "")
		if a.num("balance_micros") != 25_000_000 || a.num("lifetime_topups_micros") != 25_000_000 || a.num("tier") != 0 ||
			a.num("next_tier_at_micros") != 50_000_000 {
			t.Errorf("account = %s", a.raw)
		}
		// A key too long for the service names the header.
		long := http.Header{"Idempotency-Key": {strings.Repeat("k", 201)}}
		if r := s.do("POST", "/api/v1/billing/topups", s.owner, `{"amount":"1"}`, long); r.status != 400 || r.param() != "Idempotency-Key" {
			t.Errorf("long idempotency key = %d %s, want 400 naming Idempotency-Key", r.status, r.raw)
		}
	})
}

// TestLedgerPages walks the ledger page by page and finds every
// transaction exactly once, newest first.
func TestLedgerPages(t *testing.T) {
	billingBackends(t, func(t *testing.T, s *billingServer) {
		const n = 7
		for i := range n {
			s.must(201, "POST", "/api/v1/billing/grants", s.owner, fmt.Sprintf(`{"amount_micros":%d}`, i+1))
		}
		var seen []int64
		path := "/api/v1/billing/ledger?limit=3"
		for range n {
			r := s.must(200, "GET", path, s.owner, "")
			for _, tx := range r.list() {
				seen = append(seen, int64(tx["amount_micros"].(float64)))
			}
			if r.body["has_more"] != true {
				if _, ok := r.body["next_cursor"]; ok {
					t.Errorf("last page has a next_cursor: %s", r.raw)
				}
				break
			}
			path = "/api/v1/billing/ledger?limit=3&before=" + r.str("next_cursor")
		}
		want := []int64{7, 6, 5, 4, 3, 2, 1}
		if fmt.Sprint(seen) != fmt.Sprint(want) {
			t.Errorf("ledger pages = %v, want %v", seen, want)
		}
		for _, q := range []string{"limit=501", "limit=x", "kind=gift", "from=yesterday", "from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z"} {
			if r := s.do("GET", "/api/v1/billing/ledger?"+q, s.owner, "", nil); r.status != 400 || r.param() == "" {
				t.Errorf("ledger?%s = %d %s, want 400 naming the parameter", q, r.status, r.raw)
			}
		}
	})
}

// TestBillingRoutesWithoutService checks a server wired without billing
// answers its routes with 503, not a panic.
func TestBillingRoutesWithoutService(t *testing.T) {
	s := newBillingServer(t, "sqlite")
	now := func() time.Time { return time.Now().UTC() }
	mux := oaMux(&Deps{Service: s.gov, Auth: auth.NewAdminAuthenticator(s.st, keys.DefaultAdminPrefix, keys.DefaultKeyPrefix, now),
		Log: slog.New(slog.DiscardHandler), Now: now})
	req := httptest.NewRequest("GET", "/api/v1/billing/balance", nil)
	req.Header.Set("Authorization", "Bearer "+s.owner)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code != 503 || !bytes.Contains(rec.Body.Bytes(), []byte("billing is not enabled")) {
		t.Errorf("GET /billing/balance without billing = %d %s, want 503", rec.Code, rec.Body)
	}
}
