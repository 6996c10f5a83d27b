package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/metering"
	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/pricing"
	"github.com/tollgate-dev/tollgate/internal/store/sqlstore"
)

type txOut struct {
	ID                 string `json:"id"`
	Kind               string `json:"kind"`
	AmountMicros       int64  `json:"amount_micros"`
	BalanceAfterMicros int64  `json:"balance_after_micros"`
	Memo               string `json:"memo"`
}

type accountOut struct {
	BalanceMicros        int64 `json:"balance_micros"`
	AvailableMicros      int64 `json:"available_micros"`
	CreditLimitMicros    int64 `json:"credit_limit_micros"`
	LifetimeTopUpsMicros int64 `json:"lifetime_topups_micros"`
	MonthlyGrantMicros   int64 `json:"monthly_grant_micros"`
	Tier                 int   `json:"tier"`
}

// postToken creates an admin token of role through the API.
func postToken(t *testing.T, ts *testServer, role string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "POST", ts.URL+"/api/v1/admin-tokens",
		strings.NewReader(`{"name":"as `+role+`","role":"`+role+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+ts.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 201 {
		t.Fatalf("create %s token: %d %v", role, resp.StatusCode, err)
	}
	return out.Token
}

func TestBillingCommands(t *testing.T) {
	t.Parallel()
	ts := startServer(t)

	out := ts.must(t, "billing", "balance")
	if !strings.Contains(out, "Balance:") || !strings.Contains(out, "$0.00") {
		t.Errorf("billing balance on a new organization printed %q", out)
	}
	out = ts.must(t, "billing", "topup", "50", "--memo", "invoice 1", "--idempotency-key", "inv-1")
	if !regexp.MustCompile(`^Topped up \$50\.00 \(ltx_\S+\)\. Balance: \$50\.00\.\n$`).MatchString(out) {
		t.Errorf("billing topup printed %q", out)
	}
	first := regexp.MustCompile(`ltx_[a-z0-9]+`).FindString(out)
	again := mustJSON[txOut](t, ts, "billing", "topup", "50.000000", "--idempotency-key", "inv-1")
	if again.ID != first || again.BalanceAfterMicros != 50_000_000 {
		t.Errorf("replayed topup --json = %+v, want transaction %s and no second top-up", again, first)
	}
	if g := mustJSON[txOut](t, ts, "billing", "grant", "5", "--memo", "welcome"); g.Kind != "grant" || g.AmountMicros != 5_000_000 || g.Memo != "welcome" {
		t.Errorf("billing grant --json = %+v", g)
	}
	if out := ts.must(t, "billing", "refund", "10"); !strings.HasPrefix(out, "Refunded $10.00 (") || !strings.Contains(out, "Balance: $45.00.") {
		t.Errorf("billing refund printed %q", out)
	}
	if out := ts.must(t, "billing", "adjust", "--memo", "rounding", "--", "-1.25"); !strings.HasPrefix(out, "Adjusted by -$1.25 (") || !strings.Contains(out, "Balance: $43.75.") {
		t.Errorf("billing adjust -- -1.25 printed %q", out)
	}
	a := mustJSON[accountOut](t, ts, "billing", "balance")
	if a.BalanceMicros != 43_750_000 || a.LifetimeTopUpsMicros != 50_000_000 || a.Tier != 1 {
		t.Errorf("billing balance --json = %+v, want $43.75, $50 lifetime, tier 1", a)
	}
	out = ts.must(t, "billing", "balance")
	for _, want := range []string{"Balance:", "$43.75", "Tier:", "1 (lifetime top-ups $50.00; tier 2 at $250.00)", "Monthly grant:", "none"} {
		if !strings.Contains(out, want) {
			t.Errorf("billing balance printed %q, want it to mention %q", out, want)
		}
	}

	// Bad amounts never reach the server, and say how to write them.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"billing", "adjust", "-1.25"}, "billing adjust --memo WHY -- -1.25"},
		{[]string{"billing", "topup", "ten"}, "write it like 12.50"},
		{[]string{"billing", "topup", "1.0000001"}, "six decimals"},
		{[]string{"billing", "topup"}, "missing AMOUNT"},
		{[]string{"billing", "settings", "--credit-limit", "lots"}, "--credit-limit"},
	} {
		_, err := ts.tollgate(t, tt.args...)
		wantErr(t, err, tt.want)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("tollgate %s: %T, want a usageError", strings.Join(tt.args, " "), err)
		}
	}
	// The server's refusals come through with their reason.
	_, err := ts.tollgate(t, "billing", "topup", "0")
	wantErr(t, err, "more than zero")
	_, err = ts.tollgate(t, "billing", "refund", "1000")
	wantErr(t, err, "at most 43.75 dollars")
	viewer := postToken(t, ts, "viewer")
	asViewer := func(k string) string {
		if k == "TOLLGATE_ADMIN_TOKEN" {
			return viewer
		}
		return ts.getenv(k)
	}
	_, err = cli(t, asViewer, "billing", "topup", "5")
	wantErr(t, err, `your role "viewer" does not allow billing.manage`)
	if out, err := cli(t, asViewer, "billing", "balance"); err != nil || !strings.Contains(out, "$43.75") {
		t.Errorf("viewer billing balance = %q, %v", out, err)
	}

	// The ledger, newest first.
	out = ts.must(t, "billing", "ledger")
	if got := tableHeader(t, out); !slices.Equal(got, []string{"ID", "TIME", "KIND", "AMOUNT", "BALANCE", "DETAIL"}) {
		t.Errorf("ledger columns = %q", got)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 || !strings.Contains(lines[1], "adjustment") || !strings.Contains(lines[4], "topup") || !strings.Contains(lines[4], "invoice 1") {
		t.Errorf("ledger printed\n%s\nwant 4 transactions, newest first", out)
	}
	if txs := mustJSON[[]txOut](t, ts, "billing", "ledger", "--kind", "topup"); len(txs) != 1 || txs[0].ID != first {
		t.Errorf("ledger --kind topup --json = %+v", txs)
	}
	if txs := mustJSON[[]txOut](t, ts, "billing", "ledger", "--limit", "2"); len(txs) != 2 || txs[0].Kind != "adjustment" {
		t.Errorf("ledger --limit 2 --json = %+v", txs)
	}

	// Settings: show, change, show.
	if out := ts.must(t, "billing", "settings", "--credit-limit", "10", "--monthly-grant", "5"); !strings.Contains(out, "$10.00") || !strings.Contains(out, "$5.00") {
		t.Errorf("billing settings printed %q", out)
	}
	if a := mustJSON[accountOut](t, ts, "billing", "settings"); a.CreditLimitMicros != 10_000_000 || a.MonthlyGrantMicros != 5_000_000 {
		t.Errorf("billing settings --json = %+v", a)
	}
}

// settleUsage writes finished requests into a running server's SQLite
// database, as its meter would, and returns their total cost.
func settleUsage(t *testing.T, ts *testServer, orgID, groupID, keyID string, n int) money.Micros {
	t.Helper()
	st, err := sqlstore.Open(t.Context(), filepath.Join(ts.DataDir, "tollgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var total money.Micros
	at := time.Now().UTC().Add(-time.Minute)
	for i := range n {
		model := []string{"sonar", "sonar-pro"}[i%2]
		var price *pricing.Price
		for _, p := range pricing.Defaults() {
			if p.Model == model {
				price = p
			}
		}
		cost, err := pricing.Compute(price, pricing.Usage{PromptTokens: int64(100 * (i + 1)), CompletionTokens: 50, Requests: 1})
		if err != nil {
			t.Fatal(err)
		}
		r := metering.Record{RequestID: fmt.Sprintf("req_cli_%d", i), OrgID: orgID, GroupID: groupID, KeyID: keyID,
			Endpoint: "chat.completions", Model: model, ServedBy: model, PromptTokens: 100 * (i + 1), CompletionTokens: 50,
			TotalTokens: 100*(i+1) + 50, Cost: cost, Status: 200, Outcome: metering.OutcomeOK, Attempts: 1, StartedAt: at,
			Latency: 80 * time.Millisecond}
		if _, err := st.Settle(t.Context(), []*billing.Settlement{{Record: r}}); err != nil {
			t.Fatal(err)
		}
		total += cost.Total
	}
	return total
}

func TestUsageCommand(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	if out := ts.must(t, "usage"); !strings.HasPrefix(out, "No usage from ") {
		t.Errorf("usage with no traffic printed %q", out)
	}
	g := mustJSON[groupOut](t, ts, "groups", "create", "my-app")
	k := mustJSON[keyOut](t, ts, "keys", "create", "--group", g.ID, "--name", "ci")
	org := mustJSON[map[string]any](t, ts, "billing", "balance")["org_id"].(string)
	ts.must(t, "billing", "topup", "20")
	total := settleUsage(t, ts, org, g.ID, k.ID, 4)

	type report struct {
		Granularity string `json:"granularity"`
		Data        []struct {
			Model      string `json:"model"`
			GroupID    string `json:"group_id"`
			Requests   int64  `json:"requests"`
			CostMicros int64  `json:"cost_micros"`
		} `json:"data"`
	}
	r := mustJSON[report](t, ts, "usage", "--group", "my-app", "--by", "group,model")
	var sum money.Micros
	var requests int64
	for _, row := range r.Data {
		sum += money.Micros(row.CostMicros)
		requests += row.Requests
		if row.GroupID != g.ID || row.Model == "" {
			t.Errorf("row %+v: want group %s and a model", row, g.ID)
		}
	}
	if r.Granularity != "day" || len(r.Data) != 2 || sum != total || requests != 4 {
		t.Errorf("usage --json = %+v; want 2 day rows of 4 requests costing %d", r, total)
	}

	out := ts.must(t, "usage", "--by", "model")
	if got := tableHeader(t, out); !slices.Equal(got, []string{"START", "MODEL", "REQUESTS", "ERRORS", "PROMPT TOKENS",
		"COMPLETION TOKENS", "REASONING TOKENS", "SEARCHES", "COST"}) {
		t.Errorf("usage --by model columns = %q", got)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[3], "TOTAL") || !strings.Contains(lines[3], dollars(int64(total))) {
		t.Errorf("usage --by model printed\n%s\nwant two rows and a total of %s", out, dollars(int64(total)))
	}

	out = ts.must(t, "usage", "--csv", "--granularity", "hour", "--from", "2d")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) < 2 || rows[0][0] != "start" {
		t.Fatalf("usage --csv printed %q (%v)", out, err)
	}
	var csvSum int64
	for _, row := range rows[1:] {
		n, err := strconv.ParseInt(row[11], 10, 64)
		if err != nil {
			t.Fatalf("cost_micros %q: %v", row[11], err)
		}
		csvSum += n
	}
	if csvSum != int64(total) {
		t.Errorf("usage --csv costs sum to %d, want %d", csvSum, total)
	}

	rec := mustJSON[map[string]any](t, ts, "usage", "record", "req_cli_1")
	if rec["request_id"] != "req_cli_1" || rec["model"] != "sonar-pro" {
		t.Errorf("usage record --json = %v", rec)
	}
	if out := ts.must(t, "usage", "record", "req_cli_1"); !strings.Contains(out, "sonar-pro") || !strings.Contains(out, "Cost:") {
		t.Errorf("usage record printed %q", out)
	}
	_, err = ts.tollgate(t, "usage", "record", "req_nope")
	wantErr(t, err, "no usage record")
	_, err = ts.tollgate(t, "usage", "--granularity", "week")
	wantErr(t, err, "granularity must be minute, hour or day")
	_, err = ts.tollgate(t, "usage", "--from", "last tuesday")
	wantErr(t, err, "--from", "RFC 3339")
	_, err = ts.tollgate(t, "usage", "--csv", "--json")
	wantErr(t, err, "pick one")

	// The month's statement agrees with the usage.
	month := time.Now().UTC().Format("2006-01")
	out = ts.must(t, "billing", "statement", month, "--csv")
	rows, err = csv.NewReader(bytes.NewReader([]byte(out))).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("statement --csv printed %q (%v), want a header and two lines", out, err)
	}
	var stSum int64
	for _, row := range rows[1:] {
		n, _ := strconv.ParseInt(row[9], 10, 64)
		stSum += n
	}
	st := mustJSON[map[string]any](t, ts, "billing", "statement", month, "--group", "my-app")
	if stSum != int64(total) || int64(st["usage_total_micros"].(float64)) != int64(total) {
		t.Errorf("statement: CSV sums to %d, JSON total %v, want %d", stSum, st["usage_total_micros"], total)
	}
	if out := ts.must(t, "billing", "statement", month); !strings.Contains(out, "Statement "+month) || !strings.Contains(out, "Usage total:") {
		t.Errorf("billing statement printed %q", out)
	}
	_, err = ts.tollgate(t, "billing", "statement", "November")
	wantErr(t, err, "YYYY-MM")
}

func TestLimitsAndCapsCommands(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	g := mustJSON[groupOut](t, ts, "groups", "create", "my-app")
	k := mustJSON[keyOut](t, ts, "keys", "create", "--group", g.ID, "--name", "ci")

	if out := ts.must(t, "limits"); !strings.Contains(out, "No rate limits set") {
		t.Errorf("limits with none set printed %q", out)
	}
	out := ts.must(t, "limits", "set", "key", k.ID, "--rpm", "100", "--tpm", "50000", "--concurrency", "4", "--model", "sonar")
	if want := "Set the rate limit of key " + k.ID + " for model sonar: 100 requests/min, 50000 tokens/min, 4 in flight.\n"; out != want {
		t.Errorf("limits set printed %q, want %q", out, want)
	}
	type limitOut struct {
		Scope       string `json:"scope"`
		ScopeID     string `json:"scope_id"`
		Model       string `json:"model"`
		RPM         int64  `json:"rpm"`
		TPM         int64  `json:"tpm"`
		Concurrency int64  `json:"concurrency"`
	}
	// A flag left out keeps its value.
	l := mustJSON[limitOut](t, ts, "limits", "set", "key", k.ID, "--rpm", "200", "--model", "sonar")
	if l.RPM != 200 || l.TPM != 50000 || l.Concurrency != 4 {
		t.Errorf("limits set --rpm 200 = %+v, want tpm and concurrency kept", l)
	}
	if l := mustJSON[limitOut](t, ts, "limits", "set", "group", "my-app", "--rpm", "1000"); l.ScopeID != g.ID || l.Model != "" {
		t.Errorf("limits set group my-app = %+v, want group %s, every model", l, g.ID)
	}
	out = ts.must(t, "limits")
	if got := tableHeader(t, out); !slices.Equal(got, []string{"SCOPE", "ID", "MODEL", "RPM", "TPM", "CONCURRENCY", "UPDATED"}) {
		t.Errorf("limits columns = %q", got)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || !strings.Contains(lines[1], g.ID) ||
		!strings.Contains(lines[1], "*") || !strings.Contains(lines[2], "sonar") {
		t.Errorf("limits printed\n%s", out)
	}
	if ls := mustJSON[[]limitOut](t, ts, "limits", "--scope", "group", "--id", "my-app"); len(ls) != 1 || ls[0].RPM != 1000 {
		t.Errorf("limits --scope group --id my-app = %+v", ls)
	}
	if out := ts.must(t, "limits", "delete", "key", k.ID, "--model", "sonar"); !strings.Contains(out, "Removed the rate limit") {
		t.Errorf("limits delete printed %q", out)
	}
	if ls := mustJSON[[]limitOut](t, ts, "limits"); len(ls) != 1 || ls[0].Scope != "group" {
		t.Errorf("limits after delete = %+v", ls)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"limits", "set", "key", k.ID}, "nothing to set"},
		{[]string{"limits", "set", "planet", "x", "--rpm", "1"}, "use org, group or key"},
		{[]string{"limits", "set", "key", "--rpm", "1"}, "missing arguments"},
		{[]string{"billing", "caps", "set", "group", "my-app"}, "missing arguments"},
		{[]string{"billing", "caps", "set", "group", "my-app", "-5"}, "unknown shorthand"},
	} {
		_, err := ts.tollgate(t, tt.args...)
		wantErr(t, err, tt.want)
	}
	_, err := ts.tollgate(t, "limits", "set", "key", k.ID, "--rpm", "-1")
	wantErr(t, err, "rpm must not be negative")
	_, err = ts.tollgate(t, "limits", "set", "group", "nope", "--rpm", "1")
	wantErr(t, err, `no group "nope"`)

	// Spend caps.
	if out := ts.must(t, "billing", "caps", "set", "group", "my-app", "25"); out != "Capped group "+g.ID+" at $25.00 a month ($0.00 spent this month).\n" {
		t.Errorf("caps set printed %q", out)
	}
	ts.must(t, "billing", "caps", "set", "org", "100")
	type capOut struct {
		Scope            string `json:"scope"`
		MonthlyCapMicros int64  `json:"monthly_cap_micros"`
		RemainingMicros  int64  `json:"remaining_micros"`
	}
	if cs := mustJSON[[]capOut](t, ts, "billing", "caps"); len(cs) != 2 || cs[0].Scope != "org" || cs[0].MonthlyCapMicros != 100_000_000 ||
		cs[1].RemainingMicros != 25_000_000 {
		t.Errorf("billing caps --json = %+v", cs)
	}
	out = ts.must(t, "billing", "caps")
	if got := tableHeader(t, out); !slices.Equal(got, []string{"SCOPE", "ID", "MONTHLY CAP", "SPENT", "HELD", "REMAINING"}) {
		t.Errorf("caps columns = %q", got)
	}
	ts.must(t, "billing", "caps", "delete", "group", "my-app")
	_, err = ts.tollgate(t, "billing", "caps", "delete", "group", "my-app")
	wantErr(t, err, "no spend cap")
	if cs := mustJSON[[]capOut](t, ts, "billing", "caps"); len(cs) != 1 {
		t.Errorf("caps after delete = %+v", cs)
	}

	// Prices.
	out = ts.must(t, "prices")
	if h := tableHeader(t, out); len(h) < 3 || h[0] != "MODEL" || !strings.Contains(out, "sonar-pro") || !strings.Contains(out, "$15.00") {
		t.Errorf("prices printed\n%s", out)
	}
	ps := mustJSON[[]map[string]any](t, ts, "prices")
	if len(ps) < len(pricing.Defaults()) || ps[0]["in_effect"] != true {
		t.Errorf("prices --json = %v", ps)
	}
}

func TestDollars(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "$0.00"}, {12_500_000, "$12.50"}, {5_420, "$0.00542"}, {1, "$0.000001"}, {-1_250_000, "-$1.25"}, {int64(money.Max), "$1000000000.00"},
	}
	for _, tt := range tests {
		if got := dollars(tt.in); got != tt.want {
			t.Errorf("dollars(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"", time.Time{}},
		{"2026-11-01T08:00:00Z", time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)},
		{"2026-11-01", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{"7d", now.Add(-7 * 24 * time.Hour)},
		{"90m", now.Add(-90 * time.Minute)},
	}
	for _, tt := range tests {
		got, err := parseWhen("from", tt.in, now)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("parseWhen(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"yesterday", "-3d", "1.5d", "2026-11"} {
		if _, err := parseWhen("from", in, now); err == nil {
			t.Errorf("parseWhen(%q) succeeded, want an error", in)
		}
	}
}
