package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/upstream/upstreamtest"
)

// runAsync runs the harness's async workers, as serve does, until the test
// ends (before the store closes: cleanups run last-registered first).
func (h *apiHarness) runAsync() {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.app.jobs.Run(ctx); close(done) }()
	h.t.Cleanup(func() { cancel(); <-done })
}

const asyncBody = `{"request":{"model":"sonar","messages":[{"role":"user","content":"What is the capital of France?"}],"max_tokens":50}}`

// pollAsync GETs a job until its status is want (or FAILED/COMPLETED when
// want is another final status), and returns it.
func (h *apiHarness) pollAsync(key, id, want string) map[string]any {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, job := h.do("GET", "/async/chat/completions/"+id, key, "")
		if code != 200 {
			h.t.Fatalf("GET job %s = %d %v", id, code, job)
		}
		st := job["status"]
		if st == want {
			return job
		}
		if st == "COMPLETED" || st == "FAILED" {
			h.t.Fatalf("job %s ended %s, want %s: %v", id, st, want, job)
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("job %s still %s after 30s, want %s", id, st, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAsyncChatCompletion(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		fake := upstreamtest.New(t, upstreamtest.Behaviour{Reply: "Paris is the capital of France.",
			Extra: map[string]any{"citations": []string{"https://example.org/paris"}}})
		h := newAPIHarnessWith(t, backend, withUpstreams(fake))
		h.runAsync()
		grp := h.group("async")
		keyID, key := h.key(grp, "async")

		created := h.must(200, "POST", "/async/chat/completions", key, asyncBody)
		id, _ := created["id"].(string)
		if !strings.HasPrefix(id, "async_") || created["model"] != "sonar" || created["created_at"] != float64(h.clock.Now().Unix()) {
			t.Fatalf("created = %v", created)
		}
		if st := created["status"]; st != "CREATED" && st != "IN_PROGRESS" && st != "COMPLETED" {
			t.Fatalf("status at creation = %v", st)
		}
		for _, k := range []string{"response", "error_message", "failed_at"} {
			if _, ok := created[k]; ok {
				t.Errorf("a new job has %s: %v", k, created)
			}
		}

		job := h.pollAsync(key, id, "COMPLETED")
		if job["started_at"] == nil || job["completed_at"] == nil || job["failed_at"] != nil || job["error_message"] != nil {
			t.Fatalf("completed job = %v", job)
		}
		resp, _ := job["response"].(map[string]any)
		if resp == nil || resp["object"] != "chat.completion" || resp["model"] != "sonar" {
			t.Fatalf("response = %v", job["response"])
		}
		msg := resp["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)
		if msg["role"] != "assistant" || msg["content"] != "Paris is the capital of France." {
			t.Fatalf("message = %v", msg)
		}
		if cits, _ := resp["citations"].([]any); len(cits) != 1 || resp["usage"] == nil {
			t.Fatalf("response lacks the upstream's citations or usage: %v", resp)
		}
		if got := fake.Requests(); len(got) != 1 || got[0]["model"] != "llama-alpha" || got[0]["max_tokens"] != float64(50) {
			t.Fatalf("upstream received %v", got)
		}

		// The alias serves the same job.
		if alias := h.must(200, "GET", "/v1/async/sonar/"+id, key, ""); alias["status"] != "COMPLETED" || alias["id"] != id {
			t.Fatalf("alias GET = %v", alias)
		}
		// The list holds summaries.
		list := h.must(200, "GET", "/async/chat/completions", key, "")
		reqs, _ := list["requests"].([]any)
		if len(reqs) != 1 {
			t.Fatalf("list = %v", list)
		}
		sum := reqs[0].(map[string]any)
		if sum["id"] != id || sum["status"] != "COMPLETED" || sum["completed_at"] == nil || sum["response"] != nil {
			t.Fatalf("summary = %v", sum)
		}
		if _, ok := list["next_token"]; ok {
			t.Fatalf("a one-page list has a next_token: %v", list)
		}

		// One usage record, metered to the submitting key, with the job's ID.
		recs := h.usage()
		if len(recs) != 1 {
			t.Fatalf("usage records = %v", recs)
		}
		r := recs[0]
		rid, _ := r["request_id"].(string)
		if r["endpoint"] != "async.chat.completions" || !strings.HasPrefix(rid, id+".") || r["key_id"] != keyID ||
			r["group_id"] != grp || r["org_id"] != h.orgID || r["outcome"] != "ok" {
			t.Fatalf("usage record = %v", r)
		}

		// The database holds the request as sent, and never the key.
		var stored string
		if err := h.st.DB().QueryRowContext(t.Context(), rebindPG(backend, `SELECT request FROM async_jobs WHERE id = ?`), id).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored != `{"model":"sonar","messages":[{"role":"user","content":"What is the capital of France?"}],"max_tokens":50}` {
			t.Fatalf("stored request = %s", stored)
		}
		var leaked int
		if err := h.st.DB().QueryRowContext(t.Context(), rebindPG(backend, `SELECT COUNT(*) FROM async_jobs WHERE
			request LIKE ? OR response LIKE ? OR key_id LIKE ?`), "%"+key[5:20]+"%", "%"+key[5:20]+"%", "%"+key[5:20]+"%").Scan(&leaked); err != nil || leaked != 0 {
			t.Fatalf("the key's secret is in async_jobs (%d rows, %v)", leaked, err)
		}
	})
}

// rebindPG numbers placeholders for PostgreSQL.
func rebindPG(backend, q string) string {
	if backend != "postgres" {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

func TestAsyncFailedJob(t *testing.T) {
	fake := upstreamtest.New(t, upstreamtest.Behaviour{FailStatus: 400})
	h := newAPIHarnessWith(t, "sqlite", withUpstreams(fake))
	h.runAsync()
	key := h.chatKey()
	id := h.must(200, "POST", "/v1/async/sonar", key, asyncBody)["id"].(string)
	job := h.pollAsync(key, id, "FAILED")
	if job["error_message"] != "The upstream rejected the request: fake upstream: status 400" ||
		job["failed_at"] == nil || job["completed_at"] != nil || job["response"] != nil {
		t.Fatalf("failed job = %v", job)
	}
	// Summaries carry no error message.
	sum := h.must(200, "GET", "/v1/async/sonar", key, "")["requests"].([]any)[0].(map[string]any)
	if sum["status"] != "FAILED" || sum["failed_at"] == nil || sum["error_message"] != nil {
		t.Fatalf("summary = %v", sum)
	}
	if recs := h.usage(); len(recs) != 1 || recs[0]["outcome"] != "error" || recs[0]["endpoint"] != "async.chat.completions" {
		t.Fatalf("usage records = %v", recs)
	}
}

func TestAsyncValidation(t *testing.T) {
	fake := upstreamtest.New(t, upstreamtest.Behaviour{})
	h := newAPIHarnessWith(t, "sqlite", withUpstreams(fake))
	h.runAsync()
	key := h.chatKey()
	tests := []struct {
		name  string
		body  string
		param string
		// same, when set, is a /chat/completions body that must fail with the
		// same message.
		same string
	}{
		{name: "no request", body: `{}`, param: "request"},
		{name: "null request", body: `{"request":null}`, param: "request"},
		{name: "request not an object", body: `{"request":"hi"}`, param: "request"},
		{name: "request an array", body: `{"request":[{"model":"sonar"}]}`, param: "request"},
		{name: "unknown model", body: `{"request":{"model":"gpt-9","messages":[{"role":"user","content":"hi"}]}}`,
			param: "request.model", same: `{"model":"gpt-9","messages":[{"role":"user","content":"hi"}]}`},
		{name: "no messages", body: `{"request":{"model":"sonar"}}`,
			param: "request.messages", same: `{"model":"sonar"}`},
		{name: "bad role", body: `{"request":{"model":"sonar","messages":[{"role":"robot","content":"hi"}]}}`,
			param: "request.messages[0].role", same: `{"model":"sonar","messages":[{"role":"robot","content":"hi"}]}`},
		{name: "bad temperature", body: `{"request":{"model":"sonar","temperature":5,"messages":[{"role":"user","content":"hi"}]}}`,
			param: "request.temperature", same: `{"model":"sonar","temperature":5,"messages":[{"role":"user","content":"hi"}]}`},
		{name: "stream", body: `{"request":{"model":"sonar","stream":true,"messages":[{"role":"user","content":"hi"}]}}`,
			param: "request.stream"},
		{name: "idempotency key not a string", body: `{"request":{"model":"sonar","messages":[{"role":"user","content":"hi"}]},"idempotency_key":42}`,
			param: "idempotency_key"},
		{name: "idempotency key too long", body: `{"request":{"model":"sonar","messages":[{"role":"user","content":"hi"}]},"idempotency_key":"` +
			strings.Repeat("k", 257) + `"}`, param: "idempotency_key"},
		{name: "not JSON", body: `{"request":`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := h.do("POST", "/async/chat/completions", key, tc.body)
			msg := errorOf(t, code, body)
			if code != 400 {
				t.Fatalf("%d %v, want 400", code, body)
			}
			if got := body["error"].(map[string]any)["param"]; tc.param != "" && got != tc.param {
				t.Errorf("param = %v, want %s (message %q)", got, tc.param, msg)
			}
			if tc.param == "request.stream" && !strings.Contains(msg, "stream") {
				t.Errorf("stream refusal does not say why: %q", msg)
			}
			if tc.same != "" {
				code, body := h.do("POST", "/chat/completions", key, tc.same)
				if want := errorOf(t, code, body); want != msg {
					t.Errorf("message %q, /chat/completions says %q", msg, want)
				}
			}
		})
	}
	if reqs := h.must(200, "GET", "/async/chat/completions", key, "")["requests"].([]any); len(reqs) != 0 {
		t.Fatalf("refused submissions were stored: %v", reqs)
	}
	if fake.Served() != 0 {
		t.Fatal("a refused submission reached the upstream")
	}
	for _, q := range []string{"limit=0", "limit=101", "limit=x", "next_token=bogus"} {
		code, body := h.do("GET", "/async/chat/completions?"+q, key, "")
		if code != 400 {
			t.Errorf("GET ?%s = %d %v, want 400", q, code, body)
		}
	}
	for _, path := range []string{"/async/chat/completions", "/v1/async/sonar/async_x"} {
		if code, _ := h.do("GET", path, "", ""); code != 401 {
			t.Errorf("GET %s without a key = %d, want 401", path, code)
		}
	}
}

// TestAsyncScopedToGroup: another group's key, in the org or in another
// org, sees nothing of a job.
func TestAsyncScopedToGroup(t *testing.T) {
	fake := upstreamtest.New(t, upstreamtest.Behaviour{})
	h := newAPIHarnessWith(t, "sqlite", withUpstreams(fake))
	h.runAsync()
	_, mine := h.key(h.group("mine"), "k")
	_, sibling := h.key(h.group("sibling"), "k")
	b, err := h.app.svc.CreateOrg(t.Context(), platform.SystemActor("test"), "Globex", "owner@globex.test")
	if err != nil {
		t.Fatal(err)
	}
	og := h.must(201, "POST", "/api/v1/groups", b.TokenSecret, `{"name":"theirs"}`)["id"].(string)
	foreign := h.must(201, "POST", "/api/v1/groups/"+og+"/keys", b.TokenSecret, `{"name":"k"}`)["key"].(string)

	id := h.must(200, "POST", "/async/chat/completions", mine, asyncBody)["id"].(string)
	h.pollAsync(mine, id, "COMPLETED")
	for name, key := range map[string]string{"sibling group": sibling, "another org": foreign} {
		for _, path := range []string{"/async/chat/completions/" + id, "/v1/async/sonar/" + id} {
			code, body := h.do("GET", path, key, "")
			if code != 404 || body["error"].(map[string]any)["type"] != "not_found_error" {
				t.Errorf("%s: GET %s = %d %v, want 404", name, path, code, body)
			}
		}
		if reqs := h.must(200, "GET", "/async/chat/completions", key, "")["requests"].([]any); len(reqs) != 0 {
			t.Errorf("%s lists %v", name, reqs)
		}
	}
	// A second key of the same group sees the job.
	grp := h.must(200, "GET", "/v1/key", mine, "")["group_id"].(string)
	_, peer := h.key(grp, "peer")
	if got := h.must(200, "GET", "/async/chat/completions/"+id, peer, ""); got["status"] != "COMPLETED" {
		t.Fatalf("same group's key: %v", got)
	}
}

func TestAsyncIdempotency(t *testing.T) {
	fake := upstreamtest.New(t, upstreamtest.Behaviour{})
	h := newAPIHarnessWith(t, "sqlite", withUpstreams(fake))
	h.runAsync()
	grp := h.group("app")
	_, k1 := h.key(grp, "one")
	_, k2 := h.key(grp, "two")
	_, other := h.key(h.group("other"), "k")
	withKey := func(k string) string {
		return `{"request":{"model":"sonar","messages":[{"role":"user","content":"hi"}]},"idempotency_key":"` + k + `"}`
	}

	// Concurrent submissions with one key make one job.
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		ids = map[string]int{}
	)
	for i := range 8 {
		wg.Go(func() {
			key := []string{k1, k2}[i%2] // keys of one group share idempotency keys
			code, body := h.do("POST", "/async/chat/completions", key, withKey("order-7"))
			mu.Lock()
			defer mu.Unlock()
			if code != 200 {
				t.Errorf("submission = %d %v", code, body)
				return
			}
			ids[body["id"].(string)]++
		})
	}
	wg.Wait()
	if len(ids) != 1 {
		t.Fatalf("one idempotency key made jobs %v", ids)
	}
	var id string
	for k := range ids {
		id = k
	}
	h.pollAsync(k1, id, "COMPLETED")
	again := h.must(200, "POST", "/async/chat/completions", k2, withKey("order-7"))
	if again["id"] != id || again["status"] != "COMPLETED" || again["response"] == nil {
		t.Fatalf("resubmission after completion = %v, want job %s as it stands", again, id)
	}
	if fake.Served() != 1 {
		t.Fatalf("upstream called %d times for one idempotency key", fake.Served())
	}
	if got := h.must(200, "POST", "/async/chat/completions", other, withKey("order-7"))["id"]; got == id {
		t.Fatal("another group's submission returned this group's job")
	}
	if got := h.must(200, "POST", "/async/chat/completions", k1, withKey("order-8"))["id"]; got == id {
		t.Fatal("another idempotency key returned the same job")
	}
	for _, body := range []string{asyncBody, strings.Replace(asyncBody, "}}", `},"idempotency_key":null}`, 1)} {
		a := h.must(200, "POST", "/async/chat/completions", k1, body)["id"]
		b := h.must(200, "POST", "/async/chat/completions", k1, body)["id"]
		if a == b {
			t.Fatalf("submissions without an idempotency key share job %v", a)
		}
	}
}

func TestAsyncExpiryAndPaging(t *testing.T) {
	fake := upstreamtest.New(t, upstreamtest.Behaviour{})
	h := newAPIHarnessWith(t, "sqlite", withUpstreams(fake))
	h.runAsync()
	key := h.chatKey()
	var ids []string
	for range 5 {
		ids = append(ids, h.must(200, "POST", "/async/chat/completions", key, asyncBody)["id"].(string))
		h.clock.Advance(time.Second)
	}
	seen := map[string]bool{}
	path := "/async/chat/completions?limit=2"
	for pages := 0; ; pages++ {
		page := h.must(200, "GET", path, key, "")
		for _, r := range page["requests"].([]any) {
			seen[r.(map[string]any)["id"].(string)] = true
		}
		tok, _ := page["next_token"].(string)
		if tok == "" {
			if pages != 2 {
				t.Fatalf("%d pages of 2 for 5 jobs", pages+1)
			}
			break
		}
		path = "/async/chat/completions?limit=2&next_token=" + tok
	}
	if len(seen) != 5 {
		t.Fatalf("pages held %d distinct jobs, want 5", len(seen))
	}
	newest := h.must(200, "GET", "/async/chat/completions?limit=1", key, "")["requests"].([]any)[0].(map[string]any)
	if newest["id"] != ids[4] {
		t.Fatalf("first listed = %v, want the newest job %s", newest["id"], ids[4])
	}
	for _, id := range ids {
		h.pollAsync(key, id, "COMPLETED")
	}

	// Seven days after submission, a job is gone.
	h.clock.Advance(7*24*time.Hour - 3*time.Second)
	code, body := h.do("GET", "/async/chat/completions/"+ids[0], key, "")
	if code != 404 || !strings.Contains(errorOf(t, code, body), "expired") {
		t.Fatalf("GET of an expired job = %d %v", code, body)
	}
	if got := h.must(200, "GET", "/async/chat/completions/"+ids[4], key, ""); got["status"] != "COMPLETED" {
		t.Fatalf("a job 2s from expiry: %v", got)
	}
	if reqs := h.must(200, "GET", "/async/chat/completions", key, "")["requests"].([]any); len(reqs) != 2 {
		t.Fatalf("list after expiry of 3 of 5 = %d jobs", len(reqs))
	}
}

// TestAsyncSurvivesKill is acceptance 4 of the issue: a job submitted before
// `kill -9` of the server completes after a restart on the same data. It
// builds the real binary and runs it as a child process.
func TestAsyncSurvivesKill(t *testing.T) {
	bin := buildTollgate(t)
	dir := t.TempDir()

	fake := upstreamtest.New(t, upstreamtest.Behaviour{Reply: "slow", Delay: 10 * time.Minute})
	cfg := filepath.Join(dir, "tollgate.yaml")
	if err := os.WriteFile(cfg, []byte(`listen: 127.0.0.1:0
data_dir: `+filepath.Join(dir, "data")+`
log: {level: info, format: json}
upstreams:
  - {name: fake, provider: openai, base_url: "`+fake.BaseURL()+`"}
routing: {retries: 0, backoff: 10ms}
models:
  - {id: sonar, kind: search, owned_by: tollgate, routes: [{upstream: fake, model: llama, weight: 1}]}
async: {workers: 2}
billing: {require_credits: false}
`), 0o600); err != nil {
		t.Fatal(err)
	}

	p := startProcess(t, bin, cfg)
	token := adminTokenRE.FindStringSubmatch(p.stdout.String())
	if token == nil {
		t.Fatalf("no admin token printed at first start:\n%s", p.stdout.String())
	}
	h := &apiHarness{t: t, url: p.url, client: &http.Client{Timeout: 10 * time.Second}}
	grp := h.must(201, "POST", "/api/v1/groups", token[1], `{"name":"batch"}`)["id"].(string)
	key := h.must(201, "POST", "/api/v1/groups/"+grp+"/keys", token[1], `{"name":"worker"}`)["key"].(string)
	submit := `{"request":{"model":"sonar","messages":[{"role":"user","content":"survive"}]},"idempotency_key":"nightly-1"}`
	id := h.must(200, "POST", "/async/chat/completions", key, submit)["id"].(string)
	h.pollAsync(key, id, "IN_PROGRESS")
	waitServed(t, fake, 1) // the upstream is working on it

	p.kill(t)
	fake.Set(upstreamtest.Behaviour{Reply: "Survived the crash."})

	p2 := startProcess(t, bin, cfg)
	if adminTokenRE.MatchString(p2.stdout.String()) {
		t.Fatal("the restart bootstrapped again")
	}
	h.url = p2.url
	// The dead process's claim must lapse first (the lease, 15s by default).
	h.pollAsyncFor(key, id, "COMPLETED", 60*time.Second)
	job := h.must(200, "GET", "/async/chat/completions/"+id, key, "")
	content := job["response"].(map[string]any)["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)["content"]
	if content != "Survived the crash." {
		t.Fatalf("response content = %v", content)
	}
	if again := h.must(200, "POST", "/async/chat/completions", key, submit); again["id"] != id || again["status"] != "COMPLETED" {
		t.Fatalf("resubmission with the idempotency key = %v, want job %s", again, id)
	}

	// A clean shutdown hands a running job back at once: after a restart it
	// runs without waiting for a lease to lapse.
	fake.Set(upstreamtest.Behaviour{Reply: "slow", Delay: 10 * time.Minute})
	id2 := h.must(200, "POST", "/async/chat/completions", key, asyncBody)["id"].(string)
	h.pollAsync(key, id2, "IN_PROGRESS")
	waitServed(t, fake, 3)
	p2.terminate(t)
	if !strings.Contains(p2.stderr.String(), `"msg":"async: interrupted by shutdown; the job is queued again","job_id":"`+id2+`"`) {
		t.Fatalf("the running job was not handed back at shutdown:\n%s", p2.stderr.String())
	}
	fake.Set(upstreamtest.Behaviour{Reply: "Resumed after a clean stop."})
	p3 := startProcess(t, bin, cfg)
	h.url = p3.url
	h.pollAsyncFor(key, id2, "COMPLETED", 10*time.Second)
	if n := fake.Served(); n != 4 {
		t.Errorf("upstream served %d requests, want 4 (two interrupted, two completed)", n)
	}
	p3.terminate(t)
}

// waitServed waits until the fake has received n requests.
func waitServed(t *testing.T, fake *upstreamtest.Server, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for fake.Served() < n {
		if time.Now().After(deadline) {
			t.Fatalf("the upstream received %d requests, want %d", fake.Served(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pollAsyncFor is pollAsync with its own deadline.
func (h *apiHarness) pollAsyncFor(key, id, want string, d time.Duration) {
	h.t.Helper()
	deadline := time.Now().Add(d)
	for {
		code, job := h.do("GET", "/async/chat/completions/"+id, key, "")
		if code == 200 && job["status"] == want {
			return
		}
		if code != 200 || job["status"] == "FAILED" || time.Now().After(deadline) {
			h.t.Fatalf("job %s: %d %v; want %s within %s", id, code, job, want, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// process is a tollgate serve child process.
type process struct {
	cmd            *exec.Cmd
	url            string
	stdout, stderr *syncBuffer
	done           chan error
}

func startProcess(t *testing.T, bin, cfg string) *process {
	t.Helper()
	p := &process{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(bin, "serve", "--config", cfg)
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := listeningRE.FindStringSubmatch(p.stdout.String()); m != nil {
			p.url = m[1]
			return p
		}
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("tollgate serve exited: %v\nstdout:\n%s\nstderr:\n%s", err, p.stdout.String(), p.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("tollgate serve did not listen within 20s\nstdout:\n%s\nstderr:\n%s", p.stdout.String(), p.stderr.String())
		}
	}
}

// kill sends SIGKILL: the process gets no chance to hand anything back.
func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

// terminate sends SIGTERM and expects a clean exit.
func (p *process) terminate(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("tollgate serve exited with %v after SIGTERM\nstderr:\n%s", err, p.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("tollgate serve did not stop within 30s of SIGTERM\nstderr:\n%s", p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), `"msg":"stopped"`) {
		t.Fatalf("no clean stop in the log:\n%s", p.stderr.String())
	}
}
