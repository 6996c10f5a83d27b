package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/config"
	"github.com/tollgate-dev/tollgate/internal/metering"
	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/store/pgtest"
	"github.com/tollgate-dev/tollgate/internal/store/sqlstore"
	"github.com/tollgate-dev/tollgate/internal/tokens"
	"github.com/tollgate-dev/tollgate/internal/upstream/upstreamtest"
)

// replica is one Tollgate serving a shared store.
type replica struct {
	url string
	st  *sqlstore.Store
	app *app
}

// fleet is one organization served by one or more replicas that share a
// database (and, for the Redis backend, one Redis).
type fleet struct {
	t        *testing.T
	replicas []*replica
	orgID    string
	owner    platform.Principal
	client   *http.Client
}

func testRedisURL() string {
	if u := os.Getenv("TOLLGATE_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// newFleet starts n replicas on backend ("sqlite": one file; "postgres": one
// fresh database) with real time, credits required and the tier defaults
// off unless edit says otherwise.
func newFleet(t *testing.T, backend string, n int, edit func(*config.Config)) *fleet {
	t.Helper()
	ctx := context.Background()
	c := config.Default()
	c.Limits.TierRPM = map[string][]int64{"*": {0, 0, 0, 0, 0, 0}}
	if edit != nil {
		edit(&c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	target := ""
	switch backend {
	case "sqlite":
		target = t.TempDir() + "/tollgate.db"
	case "postgres":
		target = pgtest.URL(t)
	}
	f := &fleet{t: t, client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}}
	t.Cleanup(f.client.CloseIdleConnections)
	now := func() time.Time { return time.Now().UTC() }
	for i := range n {
		st, err := sqlstore.Open(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		// Three replicas and other packages' tests share one PostgreSQL
		// (max_connections 100): keep each pool small.
		st.DB().SetMaxOpenConns(6)
		if i == 0 {
			if _, err := st.Migrate(ctx, nil); err != nil {
				t.Fatal(err)
			}
		}
		rc := c
		rc.DataDir = t.TempDir() // each replica keeps its own local search index
		a, err := newApp(rc, st, slog.New(slog.DiscardHandler), now)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(a.handler)
		t.Cleanup(srv.Close)
		t.Cleanup(a.close)
		f.replicas = append(f.replicas, &replica{url: srv.URL, st: st, app: a})
	}
	b, err := f.replicas[0].app.svc.CreateOrg(ctx, platform.SystemActor("test"), "Acme", "owner@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	f.orgID = b.Org.ID
	f.owner = platform.Principal{OrgID: b.Org.ID, Role: platform.RoleOwner, Actor: platform.SystemActor("test")}
	return f
}

func (f *fleet) st() *sqlstore.Store { return f.replicas[0].st }

// key creates a group (or reuses it by name) and a key in it.
func (f *fleet) key(group string) (groupID, keyID, secret string) {
	f.t.Helper()
	ctx := context.Background()
	svc := f.replicas[0].app.svc
	var g *platform.Group
	gs, err := svc.Groups(ctx, f.owner)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, x := range gs {
		if x.Name == group {
			g = x
		}
	}
	if g == nil {
		if g, err = svc.CreateGroup(ctx, f.owner, group, ""); err != nil {
			f.t.Fatal(err)
		}
	}
	k, secret, err := svc.CreateKey(ctx, f.owner, g.ID, "k", nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return g.ID, k.ID, secret
}

func (f *fleet) topUp(m money.Micros) {
	f.t.Helper()
	if _, err := f.st().Post(context.Background(), &billing.Transaction{OrgID: f.orgID, Kind: billing.KindTopUp,
		Amount: m, Reference: fmt.Sprintf("test-%d", time.Now().UnixNano())}, f.owner.Actor); err != nil {
		f.t.Fatal(err)
	}
}

// answer is what a client got back.
type answer struct {
	status    int
	requestID string
	cost      money.Micros // usage.cost.total_cost of the final answer
	final     bool         // the client received a complete answer
	header    http.Header
	body      string
}

// chat sends one request to replica i and reads the whole answer.
func (f *fleet) chat(ctx context.Context, i int, key, body string) answer {
	req, _ := http.NewRequestWithContext(ctx, "POST", f.replicas[i%len(f.replicas)].url+"/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		return answer{status: -1, body: err.Error()}
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, requestID: resp.Header.Get("X-Request-ID"), header: resp.Header}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		a.body = string(b)
		return a
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return a
		}
		a.body = string(b)
		a.cost, a.final = costOf(b)
		return a
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var last []byte
	for sc.Scan() {
		d, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if d == "[DONE]" {
			a.cost, a.final = costOf(last)
			return a
		}
		last = []byte(d)
	}
	return a
}

// costOf reads usage.cost.total_cost exactly: as a decimal string, never
// through a float.
func costOf(b []byte) (money.Micros, bool) {
	var v struct {
		Usage struct {
			Cost struct {
				Total json.Number `json:"total_cost"`
			} `json:"cost"`
		} `json:"usage"`
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if dec.Decode(&v) != nil || v.Usage.Cost.Total == "" {
		return 0, false
	}
	m, err := money.Parse(v.Usage.Cost.Total.String())
	return m, err == nil
}

func chatBody(model string, stream bool, maxTokens int) string {
	b := `{"model":"` + model + `","messages":[{"role":"user","content":"What is the answer?"}]`
	if maxTokens > 0 {
		b += fmt.Sprintf(`,"max_tokens":%d`, maxTokens)
	}
	if stream {
		b += `,"stream":true`
	}
	return b + "}"
}

func routeAll(fake *upstreamtest.Server) func(*config.Config) {
	return func(c *config.Config) {
		c.Routing.Backoff = 5 * time.Millisecond
		c.Routing.StreamKeepAlive = 5 * time.Second
		c.Upstreams = append(c.Upstreams, config.UpstreamConfig{Name: "fake", Provider: "openai", BaseURL: fake.BaseURL()})
		for i := range c.Models {
			c.Models[i].Routes = []config.RouteConfig{{Upstream: "fake", Model: "llama", Weight: 1}}
		}
	}
}

// usageTotals sums the rollups of the organization split by dim.
func (f *fleet) usageTotals(dim string) map[string]money.Micros {
	f.t.Helper()
	rows, err := f.st().Usage(context.Background(), billing.UsageQuery{OrgID: f.orgID, Granularity: billing.Day,
		From: time.Now().Add(-48 * time.Hour), To: time.Now().Add(48 * time.Hour), By: []string{dim}})
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]money.Micros{}
	for _, r := range rows {
		out[map[string]string{"key": r.KeyID, "group": r.GroupID, "model": r.Model}[dim]] += r.Cost
	}
	return out
}

// ledgerDebits sums the usage debits of the organization, and counts them.
func (f *fleet) ledgerDebits() (money.Micros, int) {
	f.t.Helper()
	var sum money.Micros
	n := 0
	before := ""
	for {
		txs, err := f.st().Ledger(context.Background(), f.orgID, billing.LedgerFilter{Kind: billing.KindUsage, Before: before, Limit: 500})
		if err != nil {
			f.t.Fatal(err)
		}
		for _, tx := range txs {
			sum -= tx.Amount
			n++
			before = tx.ID
		}
		if len(txs) < 500 {
			return sum, n
		}
	}
}

// TestMeteringIsExact is acceptance 1: requests with known token counts,
// streaming and not, some aborted by the client; the rollups by key, group
// and model, the ledger's debits, the balance and the costs the clients
// were told all agree to the micro-dollar.
func TestMeteringIsExact(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		fake := upstreamtest.New(t, upstreamtest.Behaviour{Reply: "The answer is forty-two, as computed long ago."})
		slow := upstreamtest.New(t, upstreamtest.Behaviour{Reply: strings.Repeat("word ", 300), ChunkDelay: 10 * time.Millisecond})
		f := newFleet(t, backend, 1, func(c *config.Config) {
			routeAll(fake)(c)
			c.Upstreams = append(c.Upstreams, config.UpstreamConfig{Name: "slow", Provider: "openai", BaseURL: slow.BaseURL()})
			for i := range c.Models {
				if c.Models[i].ID == "sonar-reasoning-pro" {
					c.Models[i].Routes = []config.RouteConfig{{Upstream: "slow", Model: "llama", Weight: 1}}
				}
			}
		})
		const start = 20 * money.PerDollar
		f.topUp(start)
		type keyRef struct{ group, id, secret string }
		var keys []keyRef
		for _, g := range []string{"alpha", "beta"} {
			gid, kid, s := f.key(g)
			keys = append(keys, keyRef{gid, kid, s})
		}
		wantKey, wantGroup, wantModel := map[string]money.Micros{}, map[string]money.Micros{}, map[string]money.Micros{}
		add := func(k keyRef, model string, c money.Micros) {
			wantKey[k.id] += c
			wantGroup[k.group] += c
			wantModel[model] += c
		}
		ctx := context.Background()
		models := []string{"sonar", "sonar-pro"}
		var told money.Micros
		for i := range 24 {
			k, model, stream := keys[i%2], models[(i/2)%2], i%3 == 0
			a := f.chat(ctx, 0, k.secret, chatBody(model, stream, 0))
			if a.status != 200 || !a.final || a.cost <= 0 {
				t.Fatalf("request %d: %d final=%v cost=%d %s", i, a.status, a.final, a.cost, a.body)
			}
			told += a.cost
			add(k, model, a.cost)
		}
		// Client-aborted streams: billed for what was streamed, and the
		// record says what it cost.
		for i := range 3 {
			k := keys[i%2]
			cctx, cancel := context.WithCancel(ctx)
			req, _ := http.NewRequestWithContext(cctx, "POST", f.replicas[0].url+"/chat/completions",
				strings.NewReader(chatBody("sonar-reasoning-pro", true, 0)))
			req.Header.Set("Authorization", "Bearer "+k.secret)
			resp, err := f.client.Do(req)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("aborted stream %d: %v %v", i, resp, err)
			}
			rid := resp.Header.Get("X-Request-ID")
			sc := bufio.NewScanner(resp.Body)
			for chunks := 0; chunks < 4 && sc.Scan(); {
				if strings.HasPrefix(sc.Text(), "data: ") {
					chunks++
				}
			}
			cancel()
			resp.Body.Close()
			rec := waitRecord(t, f.st(), f.orgID, rid)
			if rec.Outcome != "aborted" || rec.CompletionTokens < 3 || rec.CompletionTokens > 200 || rec.Cost.Total <= 0 {
				t.Fatalf("aborted record = %+v", rec)
			}
			add(k, "sonar-reasoning-pro", rec.Cost.Total)
			told += rec.Cost.Total
		}
		for dim, want := range map[string]map[string]money.Micros{"key": wantKey, "group": wantGroup, "model": wantModel} {
			got := f.usageTotals(dim)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("rollup by %s = %v, want %v", dim, got, want)
			}
		}
		debits, n := f.ledgerDebits()
		if debits != told || n != 27 {
			t.Errorf("ledger: %d debits totalling %d, want 27 totalling %d", n, debits, told)
		}
		acct, err := f.st().Account(ctx, f.orgID, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if acct.Balance != start-told || acct.Held != 0 {
			t.Errorf("balance %d held %d, want %d and 0", acct.Balance, acct.Held, start-told)
		}
	})
}

func waitRecord(t *testing.T, st *sqlstore.Store, orgID, requestID string) *metering.Record {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		rec, err := st.UsageRecord(context.Background(), orgID, requestID)
		if err == nil {
			return rec
		}
		if platform.ErrorKind(err) != platform.KindNotFound || time.Now().After(deadline) {
			t.Fatalf("usage record %s: %v", requestID, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// capFixture prices one request exactly: the upstream reports no usage,
// so Tollgate counts the prompt (as it estimated it) and the completion,
// and max_tokens is the completion's length, so the hold equals the cost.
func capFixture(t *testing.T) (fake *upstreamtest.Server, maxTokens int, cost money.Micros) {
	reply := strings.TrimSpace(strings.Repeat("ok ", 20))
	fake = upstreamtest.New(t, upstreamtest.Behaviour{Reply: reply, NoUsage: true})
	tc := tokens.New()
	maxTokens = tc.Count(reply)
	prompt := tc.CountChat([]tokens.Message{{Role: "user", Text: "What is the answer?"}})
	// sonar: $1/1M in, $1/1M out, $5 per 1K requests (low context).
	cost = money.Micros(prompt) + money.Micros(maxTokens) + 5_000
	return fake, maxTokens, cost
}

// TestSpendCapHolds is acceptance 2: 200 concurrent requests against a
// group cap that covers 37 of them never spend past the cap, and exactly
// 37 are served in all (none refused falsely once reservations settle), on
// one replica and on three sharing PostgreSQL and Redis.
func TestSpendCapHolds(t *testing.T) {
	for _, tc := range []struct {
		name     string
		backend  string
		replicas int
	}{{"sqlite", "sqlite", 1}, {"postgres-1", "postgres", 1}, {"postgres-3-redis", "postgres", 3}} {
		t.Run(tc.name, func(t *testing.T) {
			fake, maxTokens, cost := capFixture(t)
			f := newFleet(t, tc.backend, tc.replicas, func(c *config.Config) {
				routeAll(fake)(c)
				if tc.replicas > 1 {
					c.Limits.Backend, c.Redis.URL = "redis", testRedisURL()
				}
			})
			f.topUp(100 * money.PerDollar)
			gid, _, key := f.key("capped")
			const fits = 37
			capAmount := fits*cost + cost/2
			if _, err := f.st().SetCap(context.Background(), &billing.Cap{OrgID: f.orgID,
				Scope: billing.Scope{Kind: billing.ScopeGroup, ID: gid}, Monthly: capAmount}, f.owner.Actor); err != nil {
				t.Fatal(err)
			}
			body := chatBody("sonar", false, maxTokens)
			var (
				mu       sync.Mutex
				served   int
				refused  int
				toldCost money.Micros
			)
			var wg sync.WaitGroup
			for i := range 200 {
				wg.Go(func() {
					a := f.chat(context.Background(), i, key, body)
					mu.Lock()
					defer mu.Unlock()
					switch a.status {
					case 200:
						served++
						toldCost += a.cost
					case 402:
						refused++
						if !strings.Contains(a.body, "monthly spend cap") {
							t.Errorf("402 body = %s", a.body)
						}
					default:
						t.Errorf("status %d: %s", a.status, a.body)
					}
				})
			}
			wg.Wait()
			if served > fits || toldCost != money.Micros(served)*cost {
				t.Fatalf("served %d (cost %d) of 200; the cap allows %d", served, toldCost, fits)
			}
			// Once every reservation has settled, whatever room is left is
			// usable: keep asking until refused.
			for served < fits+5 {
				a := f.chat(context.Background(), served, key, body)
				if a.status != 200 {
					break
				}
				served++
			}
			spent, _ := f.ledgerDebits()
			if served != fits || spent != fits*cost || spent > capAmount {
				t.Fatalf("served %d spending %d; want exactly %d spending %d under the cap %d (%d refused in the burst)",
					served, spent, fits, fits*cost, capAmount, refused)
			}
			caps, err := f.st().ListCaps(context.Background(), f.orgID, billing.MonthOf(time.Now()))
			if err != nil || len(caps) != 1 || caps[0].Spent != spent || caps[0].HeldNow != 0 {
				t.Fatalf("caps = %+v, %v", caps, err)
			}
		})
	}
}

// TestRateLimitIsExact is acceptance 3: a key limited to L requests per
// minute gets exactly L of a 3L concurrent burst through, on one replica
// and across three sharing Redis; the refused ones carry the headers and
// are not billed.
func TestRateLimitIsExact(t *testing.T) {
	for _, tc := range []struct {
		name     string
		backend  string
		replicas int
	}{{"local", "sqlite", 1}, {"redis-3", "postgres", 3}} {
		t.Run(tc.name, func(t *testing.T) {
			fake := upstreamtest.New(t, upstreamtest.Behaviour{Reply: "fine"})
			f := newFleet(t, tc.backend, tc.replicas, func(c *config.Config) {
				routeAll(fake)(c)
				if tc.replicas > 1 {
					c.Limits.Backend, c.Redis.URL = "redis", testRedisURL()
				}
			})
			f.topUp(10 * money.PerDollar)
			_, kid, key := f.key("limited")
			const L = 10
			if _, err := f.st().SetLimit(context.Background(), &billing.Limit{OrgID: f.orgID,
				Scope: billing.Scope{Kind: billing.ScopeKey, ID: kid}, RPM: L}, f.owner.Actor); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			codes := map[int]int{}
			var limited []answer
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range 3 * L {
				wg.Go(func() {
					<-start
					a := f.chat(context.Background(), i, key, chatBody("sonar", i%2 == 0, 0))
					mu.Lock()
					codes[a.status]++
					if a.status == 429 {
						limited = append(limited, a)
					}
					mu.Unlock()
				})
			}
			close(start)
			wg.Wait()
			if codes[200] != L || codes[429] != 2*L {
				t.Fatalf("statuses = %v; want exactly %d × 200 and %d × 429", codes, L, 2*L)
			}
			a := limited[0]
			if a.header.Get("Retry-After") == "" || a.header.Get("X-Ratelimit-Limit-Requests") != fmt.Sprint(L) ||
				a.header.Get("X-Ratelimit-Remaining-Requests") != "0" || a.header.Get("X-Ratelimit-Reset-Requests") == "" ||
				!strings.Contains(a.body, `"type":"rate_limit_error"`) || !strings.Contains(a.body, "requests per minute") {
				t.Fatalf("429 = %v %s", a.header, a.body)
			}
			if _, n := f.ledgerDebits(); n != L {
				t.Fatalf("%d usage debits, want %d: a refused request is not billed", n, L)
			}
		})
	}
}

// TestOutOfCreditsIs402 checks the prepaid rule and that a top-up applies
// to the very next request.
func TestOutOfCreditsIs402(t *testing.T) {
	fake := upstreamtest.New(t, upstreamtest.Behaviour{Reply: "fine"})
	f := newFleet(t, "sqlite", 1, routeAll(fake))
	_, _, key := f.key("app")
	a := f.chat(context.Background(), 0, key, chatBody("sonar", false, 0))
	if a.status != 402 || !strings.Contains(a.body, "out of credits") || !strings.Contains(a.body, "tollgate billing topup") ||
		!strings.Contains(a.body, `"type":"insufficient_quota"`) {
		t.Fatalf("no credits: %d %s", a.status, a.body)
	}
	if fake.Served() != 0 {
		t.Fatal("the upstream was called for a request that could not be paid")
	}
	resp, err := f.client.Get(f.replicas[0].url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), `tollgate_admission_refusals_total{reason="payment"} 1`) {
		t.Fatalf("/metrics does not count the refusal:\n%s", metrics)
	}
	f.topUp(money.PerDollar)
	if a := f.chat(context.Background(), 0, key, chatBody("sonar", false, 0)); a.status != 200 || a.cost <= 0 {
		t.Fatalf("after a top-up: %d %s", a.status, a.body)
	}
}
