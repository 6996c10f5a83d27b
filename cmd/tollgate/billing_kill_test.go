package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/store/sqlstore"
	"github.com/tollgate-dev/tollgate/internal/upstream/upstreamtest"
)

// buildTollgate builds the real binary for tests that run it as a child
// process.
func buildTollgate(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the tollgate binary")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH to build the binary")
	}
	bin := filepath.Join(t.TempDir(), "tollgate")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestUsageSurvivesKill is acceptance 4: under load, the server is killed
// with SIGKILL and restarted; every request whose client received a final
// answer has exactly one usage record and one ledger debit.
func TestUsageSurvivesKill(t *testing.T) {
	bin := buildTollgate(t)
	dir := t.TempDir()
	fake := upstreamtest.New(t, upstreamtest.Behaviour{Reply: "one two three four five six", ChunkDelay: time.Millisecond})
	cfg := filepath.Join(dir, "tollgate.yaml")
	if err := os.WriteFile(cfg, []byte(`listen: 127.0.0.1:0
data_dir: `+filepath.Join(dir, "data")+`
log: {level: info, format: json}
upstreams:
  - {name: fake, provider: openai, base_url: "`+fake.BaseURL()+`"}
routing: {retries: 0, backoff: 10ms}
models:
  - {id: sonar, kind: search, owned_by: tollgate, routes: [{upstream: fake, model: llama, weight: 1}]}
limits: {tier_rpm: {"*": [0, 0, 0, 0, 0, 0]}}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProcess(t, bin, cfg)
	token := adminTokenRE.FindStringSubmatch(p.stdout.String())
	if token == nil {
		t.Fatalf("no admin token printed at first start:\n%s", p.stdout.String())
	}
	h := &apiHarness{t: t, url: p.url, client: &http.Client{Timeout: 10 * time.Second}}
	grp := h.must(201, "POST", "/api/v1/groups", token[1], `{"name":"load"}`)["id"].(string)
	key := h.must(201, "POST", "/api/v1/groups/"+grp+"/keys", token[1], `{"name":"load"}`)["key"].(string)
	h.must(201, "POST", "/api/v1/billing/topups", token[1], `{"amount":"1000"}`)

	f := &fleet{t: t, replicas: []*replica{{url: p.url}}, client: &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	var (
		mu      sync.Mutex
		finals  []string
		sent    atomic.Int64
		stopped atomic.Bool
	)
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := 0; !stopped.Load(); i++ {
				sent.Add(1)
				a := f.chat(context.Background(), 0, key, chatBody("sonar", (w+i)%2 == 0, 0))
				if a.final {
					mu.Lock()
					finals = append(finals, a.requestID)
					mu.Unlock()
				}
				if a.status != 200 && stopped.Load() {
					return
				}
			}
		})
	}
	// Kill in the thick of it.
	deadline := time.Now().Add(20 * time.Second)
	for fake.Served() < 300 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	p.kill(t)
	stopped.Store(true)
	wg.Wait()
	f.client.CloseIdleConnections()
	if len(finals) < 100 {
		t.Fatalf("only %d answers before the kill; the load did not run", len(finals))
	}

	p2 := startProcess(t, bin, cfg)
	p2.terminate(t)

	st, err := sqlstore.Open(context.Background(), filepath.Join(dir, "data", "tollgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	orgs, err := st.ListOrgs(context.Background())
	if err != nil || len(orgs) != 1 {
		t.Fatalf("orgs = %v, %v", orgs, err)
	}
	org := orgs[0].ID
	for _, id := range finals {
		if _, err := st.UsageRecord(context.Background(), org, id); err != nil {
			t.Fatalf("request %s got a final answer but has no usage record: %v", id, err)
		}
	}
	// One debit per recorded request, never two.
	debited := map[string]int{}
	before := ""
	for {
		txs, err := st.Ledger(context.Background(), org, billing.LedgerFilter{Kind: billing.KindUsage, Before: before, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, tx := range txs {
			debited[tx.RequestID]++
			before = tx.ID
		}
		if len(txs) < 1000 {
			break
		}
	}
	for id, n := range debited {
		if n != 1 {
			t.Fatalf("request %s debited %d times", id, n)
		}
		if _, err := st.UsageRecord(context.Background(), org, id); err != nil {
			t.Fatalf("request %s debited without a usage record: %v", id, err)
		}
	}
	for _, id := range finals {
		if debited[id] != 1 {
			t.Fatalf("request %s answered but debited %d times", id, debited[id])
		}
	}
	t.Logf("%d requests sent, %d answered before the kill, %d recorded", sent.Load(), len(finals), len(debited))
}
