package admin

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// usageFixture settles requests of two groups and two models and returns
// the cost of each (group ID, model) and the total.
type usageFixture struct {
	at            time.Time
	grpA, grpB    string
	keyA, keyB    string
	cost          map[[2]string]money.Micros
	requests      map[[2]string]int64
	total         money.Micros
	lastRequestID string
}

func newUsageFixture(t *testing.T, s *billingServer) *usageFixture {
	t.Helper()
	f := &usageFixture{at: time.Now().UTC().Add(-time.Minute).Truncate(time.Second),
		cost: map[[2]string]money.Micros{}, requests: map[[2]string]int64{}}
	f.grpA, f.grpB = s.group("app-a"), s.group("app-b")
	f.keyA, f.keyB = s.key(f.grpA), s.key(f.grpB)
	s.must(201, "POST", "/api/v1/billing/topups", s.owner, `{"amount":"100"}`)
	for i, c := range []struct {
		grp, key, model string
		n               int
	}{{f.grpA, f.keyA, "sonar", 3}, {f.grpA, f.keyA, "sonar-pro", 2}, {f.grpB, f.keyB, "sonar", 1}} {
		for j := range c.n {
			id := fmt.Sprintf("req_fixture_%d_%d", i, j)
			r := settleOne(t, s.st, s.orgID, c.grp, c.key, c.model, id, f.at)
			f.cost[[2]string{c.grp, c.model}] += r.Cost.Total
			f.requests[[2]string{c.grp, c.model}]++
			f.total += r.Cost.Total
			f.lastRequestID = id
		}
	}
	return f
}

// groupCost is what a group's requests cost, every model.
func (f *usageFixture) groupCost(groupID string) money.Micros {
	var sum money.Micros
	for k, v := range f.cost {
		if k[0] == groupID {
			sum += v
		}
	}
	return sum
}

func TestStatementCSVMatchesJSON(t *testing.T) {
	billingBackends(t, func(t *testing.T, s *billingServer) {
		f := newUsageFixture(t, s)
		month := f.at.Format("2006-01")
		for _, tt := range []struct {
			name, query string
			group       string
		}{{"organization", "", ""}, {"group by name", "group=app-a", f.grpA}, {"group by ID", "group=" + f.grpB, f.grpB}} {
			t.Run(tt.name, func(t *testing.T) {
				js := s.must(200, "GET", "/api/v1/billing/statements/"+month+"?"+tt.query, s.owner, "")
				var want money.Micros
				for k, v := range f.cost {
					if tt.group == "" || k[0] == tt.group {
						want += v
					}
				}
				if got := money.Micros(js.num("usage_total_micros")); got != want || want == 0 {
					t.Errorf("usage_total_micros = %d, want %d (the settled costs)", got, want)
				}
				if got := js.str("usage_total_usd"); got != money.Format(want) {
					t.Errorf("usage_total_usd = %q, want %q", got, money.Format(want))
				}
				_, hasOpening := js.body["opening_balance_micros"]
				if hasOpening != (tt.group == "") || js.str("month") != month {
					t.Errorf("statement head = %s", js.raw)
				}

				q := "format=csv"
				if tt.query != "" {
					q = tt.query + "&" + q
				}
				r := s.do("GET", "/api/v1/billing/statements/"+month+"?"+q, s.owner, "", nil)
				if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") ||
					!strings.Contains(r.header.Get("Content-Disposition"), `filename="tollgate-statement-`+month) {
					t.Fatalf("CSV statement = %d %v %s", r.status, r.header, r.raw)
				}
				rows, err := csv.NewReader(bytes.NewReader(r.raw)).ReadAll()
				if err != nil {
					t.Fatalf("statement CSV does not parse: %v\n%s", err, r.raw)
				}
				if !slices.Equal(rows[0], statementCSVHeader) {
					t.Errorf("CSV header = %v", rows[0])
				}
				lines := oaList(js.body["lines"])
				if len(rows)-1 != len(lines) {
					t.Fatalf("%d CSV rows, %d JSON lines", len(rows)-1, len(lines))
				}
				var sum money.Micros
				for i, row := range rows[1:] {
					c, err := strconv.ParseInt(row[9], 10, 64)
					if err != nil {
						t.Fatalf("cost_micros %q: %v", row[9], err)
					}
					sum += money.Micros(c)
					line := lines[i].(map[string]any)
					if row[0] != month || row[1] != line["group_id"] || row[2] != line["model"] ||
						row[3] != fmt.Sprint(line["requests"]) || float64(c) != line["cost_micros"] || row[10] != line["cost_usd"] {
						t.Errorf("CSV row %v does not match JSON line %v", row, line)
					}
					if money.Micros(c) != f.cost[[2]string{row[1], row[2]}] {
						t.Errorf("CSV row %v: cost %d, settled %d", row, c, f.cost[[2]string{row[1], row[2]}])
					}
					if tt.group != "" && row[1] != tt.group {
						t.Errorf("group statement has a row of %s", row[1])
					}
				}
				if sum != want {
					t.Errorf("CSV cost_micros sum to %d, JSON total %d", sum, want)
				}
			})
		}
		// The closing balance is the account's balance.
		js := s.must(200, "GET", "/api/v1/billing/statements/"+month, s.owner, "")
		if got, bal := money.Micros(js.num("closing_balance_micros")), s.balance(); got != bal || bal != 100*money.PerDollar-f.total {
			t.Errorf("closing balance %d, account balance %d, want %d", got, bal, 100*money.PerDollar-f.total)
		}
		for _, bad := range []struct {
			path string
			want int
		}{{"2026-13", 404}, {"2026-1", 404}, {"november", 404}, {month + "?group=nope", 404}, {month + "?format=pdf", 400}} {
			if r := s.do("GET", "/api/v1/billing/statements/"+bad.path, s.owner, "", nil); r.status != bad.want {
				t.Errorf("statement %s = %d %s, want %d", bad.path, r.status, r.raw, bad.want)
			}
		}
	})
}

func TestUsageQuery(t *testing.T) {
	billingBackends(t, func(t *testing.T, s *billingServer) {
		f := newUsageFixture(t, s)
		r := s.must(200, "GET", "/api/v1/usage?by=group", s.owner, "")
		if r.str("granularity") != "day" || fmt.Sprint(r.body["by"]) != "[group]" || !strings.HasSuffix(r.str("from"), "T00:00:00Z") {
			t.Errorf("usage head = %s", r.raw)
		}
		got := map[string]money.Micros{}
		var requests int64
		for _, row := range r.list() {
			got[row["group_id"].(string)] += money.Micros(row["cost_micros"].(float64))
			requests += int64(row["requests"].(float64))
			if row["cost_usd"] != money.Format(money.Micros(row["cost_micros"].(float64))) {
				t.Errorf("row %v: cost_usd does not match cost_micros", row)
			}
		}
		if requests != 6 || got[f.grpA] != f.groupCost(f.grpA) || got[f.grpB] != f.groupCost(f.grpB) {
			t.Errorf("usage by group = %v over %d requests, want %v over 6", got, requests, f.cost)
		}

		// By name, by the hour, as CSV: the same money.
		q := url.Values{"group": {"app-a"}, "granularity": {"hour"}, "by": {"key,model"}, "format": {"csv"},
			"from": {f.at.Add(-2 * time.Hour).Format(time.RFC3339)}, "to": {f.at.Add(time.Hour).Format(time.RFC3339)}}
		c := s.do("GET", "/api/v1/usage?"+q.Encode(), s.owner, "", nil)
		rows, err := csv.NewReader(bytes.NewReader(c.raw)).ReadAll()
		if c.status != 200 || err != nil {
			t.Fatalf("usage CSV = %d %v %s", c.status, err, c.raw)
		}
		if !slices.Equal(rows[0], usageCSVHeader) {
			t.Errorf("CSV header = %v", rows[0])
		}
		var sum money.Micros
		for _, row := range rows[1:] {
			if row[1] != "" || row[2] != f.keyA || row[3] == "" {
				t.Errorf("CSV row %v: want no group column, key %s and a model", row, f.keyA)
			}
			n, _ := strconv.ParseInt(row[11], 10, 64)
			sum += money.Micros(n)
		}
		if want := f.groupCost(f.grpA); sum != want || len(rows) != 3 {
			t.Errorf("CSV of group app-a sums to %d, want %d", sum, want)
		}

		// The raw record, while retained; 404 once pruned, when the rollups
		// still count it.
		rec := s.must(200, "GET", "/api/v1/usage/records/"+f.lastRequestID, s.owner, "")
		if rec.str("request_id") != f.lastRequestID || rec.str("group_id") != f.grpB {
			t.Errorf("usage record = %s", rec.raw)
		}
		other, err := s.gov.CreateOrg(t.Context(), platform.SystemActor("test"), "Other", "o@example.com")
		if err != nil {
			t.Fatal(err)
		}
		s.must(404, "GET", "/api/v1/usage/records/"+f.lastRequestID, other.TokenSecret, "")
		if _, err := s.st.PruneUsage(t.Context(), time.Now().Add(time.Hour), f.at.Add(-48*time.Hour)); err != nil {
			t.Fatal(err)
		}
		gone := s.must(404, "GET", "/api/v1/usage/records/"+f.lastRequestID, s.owner, "")
		if !strings.Contains(gone.message(), "pruned") {
			t.Errorf("404 of a pruned record says %q", gone.message())
		}
		if after := s.must(200, "GET", "/api/v1/usage", s.owner, ""); len(after.list()) == 0 {
			t.Error("usage after pruning raw records is empty; the day rollups should still count them")
		}
	})
}

func TestUsageQueryValidation(t *testing.T) {
	s := newBillingServer(t, "sqlite")
	now := time.Now().UTC()
	ts := func(t time.Time) string { return url.QueryEscape(t.Format(time.RFC3339)) }
	tests := []struct {
		name, query, param string
	}{
		{"unknown granularity", "granularity=week", "granularity"},
		{"from after to", "from=" + ts(now) + "&to=" + ts(now.Add(-time.Hour)), "from"},
		{"from equals to", "from=" + ts(now) + "&to=" + ts(now), "from"},
		{"too many buckets", "granularity=minute&from=" + ts(now.Add(-60*24*time.Hour)), "granularity"},
		{"unknown split", "by=group,colour", "by"},
		{"bad from", "from=yesterday", "from"},
		{"bad to", "to=2026-13-01T00:00:00Z", "to"},
		{"bad format", "format=xlsx", "format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do("GET", "/api/v1/usage?"+tt.query, s.owner, "", nil)
			if r.status != 400 || r.param() != tt.param {
				t.Errorf("usage?%s = %d %s, want 400 naming %s", tt.query, r.status, r.raw, tt.param)
			}
		})
	}
	// A minute-by-minute query of a day is fine (1440 buckets).
	s.must(200, "GET", "/api/v1/usage?granularity=minute&from="+ts(now.Add(-24*time.Hour)), s.owner, "")
	if r := s.do("GET", "/api/v1/usage?group=nope", s.owner, "", nil); r.status != 404 || !strings.Contains(r.message(), `"nope"`) {
		t.Errorf("usage of an unknown group name = %d %s, want 404 naming it", r.status, r.raw)
	}
}

func TestCapsAndLimitsRoundTrip(t *testing.T) {
	billingBackends(t, func(t *testing.T, s *billingServer) {
		grp := s.group("my-app")
		key := s.key(grp)
		other, err := s.gov.CreateOrg(t.Context(), platform.SystemActor("test"), "Other", "o@example.com")
		if err != nil {
			t.Fatal(err)
		}
		theirs := s.must(201, "POST", "/api/v1/groups", other.TokenSecret, `{"name":"theirs"}`).str("id")

		// Caps: set by name, replace, list, delete.
		c := s.must(200, "PUT", "/api/v1/billing/caps/group/my-app", s.owner, `{"monthly_cap":"25"}`)
		if c.str("scope") != "group" || c.str("scope_id") != grp || c.num("monthly_cap_micros") != 25_000_000 ||
			c.num("remaining_micros") != 25_000_000 || c.num("spent_micros") != 0 {
			t.Errorf("cap = %s", c.raw)
		}
		s.must(200, "PUT", "/api/v1/billing/caps/group/"+grp, s.owner, `{"monthly_cap_micros":30000000}`)
		s.must(200, "PUT", "/api/v1/billing/caps/key/"+key, s.owner, `{"monthly_cap":"0"}`)
		s.must(200, "PUT", "/api/v1/billing/caps/org/"+s.orgID, s.owner, `{"monthly_cap":"1000"}`)
		caps := s.must(200, "GET", "/api/v1/billing/caps", s.owner, "").list()
		var got []string
		for _, c := range caps {
			got = append(got, fmt.Sprintf("%s:%s=%v", c["scope"], c["scope_id"], c["monthly_cap_micros"]))
		}
		want := []string{"org:" + s.orgID + "=1e+09", "group:" + grp + "=3e+07", "key:" + key + "=0"}
		if !slices.Equal(got, want) {
			t.Errorf("caps = %v, want %v", got, want)
		}
		s.must(204, "DELETE", "/api/v1/billing/caps/group/my-app", s.owner, "")
		if r := s.must(404, "DELETE", "/api/v1/billing/caps/group/my-app", s.owner, ""); !strings.Contains(r.message(), "no spend cap") {
			t.Errorf("second delete: %s", r.raw)
		}
		if n := len(s.must(200, "GET", "/api/v1/billing/caps", s.owner, "").list()); n != 2 {
			t.Errorf("%d caps after delete, want 2", n)
		}
		for _, p := range []string{"group/" + theirs, "org/" + other.Org.ID, "key/key_nope", "group/nope", "planet/earth"} {
			s.must(404, "PUT", "/api/v1/billing/caps/"+p, s.owner, `{"monthly_cap":"1"}`)
			s.must(404, "PUT", "/api/v1/limits/"+p, s.owner, `{"rpm":1,"tpm":0,"concurrency":0}`)
		}

		// Limits: all-models and per-model, list per scope, delete with zeros.
		l := s.must(200, "PUT", "/api/v1/limits/key/"+key, s.owner, `{"model":"sonar","rpm":100,"tpm":50000,"concurrency":4}`)
		if l.str("scope_id") != key || l.str("model") != "sonar" || l.num("rpm") != 100 || l.num("tpm") != 50000 || l.num("concurrency") != 4 {
			t.Errorf("limit = %s", l.raw)
		}
		s.must(200, "PUT", "/api/v1/limits/key/"+key, s.owner, `{"rpm":10,"tpm":0,"concurrency":0}`)
		s.must(200, "PUT", "/api/v1/limits/group/my-app", s.owner, `{"rpm":1000,"tpm":0,"concurrency":20}`)
		listed := func(query string) []string {
			var out []string
			for _, l := range s.must(200, "GET", "/api/v1/limits"+query, s.owner, "").list() {
				out = append(out, fmt.Sprintf("%s:%v:%v", l["scope"], l["model"], l["rpm"]))
			}
			return out
		}
		if got, want := listed(""), []string{"group:<nil>:1000", "key:<nil>:10", "key:sonar:100"}; !slices.Equal(got, want) {
			t.Errorf("limits = %v, want %v", got, want)
		}
		if got, want := listed("?scope=key&scope_id="+key), []string{"key:<nil>:10", "key:sonar:100"}; !slices.Equal(got, want) {
			t.Errorf("key limits = %v, want %v", got, want)
		}
		if got, want := listed("?scope=group&scope_id=my-app"), []string{"group:<nil>:1000"}; !slices.Equal(got, want) {
			t.Errorf("group limits by name = %v, want %v", got, want)
		}
		d := s.must(200, "PUT", "/api/v1/limits/key/"+key, s.owner, `{"model":"sonar","rpm":0,"tpm":0,"concurrency":0}`)
		if d.body["deleted"] != true {
			t.Errorf("all-zero PUT = %s, want deleted", d.raw)
		}
		if got, want := listed("?scope=key&scope_id="+key), []string{"key:<nil>:10"}; !slices.Equal(got, want) {
			t.Errorf("key limits after delete = %v, want %v", got, want)
		}
		for _, tt := range []struct{ body, param string }{
			{`{"rpm":1}`, "tpm"},
			{`{"tpm":1,"concurrency":1}`, "rpm"},
			{`{"rpm":1,"tpm":1,"concurrency":1000001}`, "concurrency"},
			{`{"model":"` + strings.Repeat("m", 201) + `","rpm":1,"tpm":1,"concurrency":1}`, "model"},
		} {
			if r := s.do("PUT", "/api/v1/limits/key/"+key, s.owner, tt.body, nil); r.status != 400 || r.param() != tt.param {
				t.Errorf("PUT limit %s = %d %s, want 400 naming %s", tt.body, r.status, r.raw, tt.param)
			}
		}
		for _, q := range []string{"scope_id=" + key, "scope=key", "scope=planet&scope_id=x"} {
			if r := s.do("GET", "/api/v1/limits?"+q, s.owner, "", nil); r.status != 400 {
				t.Errorf("limits?%s = %d %s, want 400", q, r.status, r.raw)
			}
		}
		// Nothing of the other organization's is visible.
		if n := len(s.must(200, "GET", "/api/v1/limits", other.TokenSecret, "").list()); n != 0 {
			t.Errorf("the other organization sees %d limits", n)
		}
	})
}
