package browser

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer collects a child process's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is a running `tollgate serve` child process with a fresh SQLite
// data directory and one organization, made offline before it started.
type server struct {
	URL           string
	DataDir       string
	OrgID         string
	AdminToken    string
	OwnerEmail    string
	OwnerPassword string

	bin            string
	stdout, stderr *syncBuffer
	cmd            *exec.Cmd
	done           chan error
	http           *http.Client
}

var listeningRE = regexp.MustCompile(`Tollgate listening on (http://\S+)`)

const ownerEmail = "owner@acme.test"

// startServer creates an organization with `tollgate admin create-org`,
// starts `tollgate serve` on a free loopback port with debug logging (so
// the log that must never hold a secret says as much as it can), and adds
// $1,000 of credits through the management API. The server is stopped with
// SIGTERM when the test ends; a data race it reported fails the test.
func startServer(t *testing.T) *server {
	t.Helper()
	s := &server{bin: tollgateBinary(t), DataDir: filepath.Join(t.TempDir(), "data"), OwnerEmail: ownerEmail,
		stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan error, 1),
		http: &http.Client{Timeout: 20 * time.Second}}

	var org struct {
		OrgID      string `json:"org_id"`
		AdminToken string `json:"admin_token"`
		Password   string `json:"owner_password"`
	}
	out := s.cli(t, "", "admin", "create-org", "--json", "--name", "Acme Robotics", "--owner-email", ownerEmail)
	if err := json.Unmarshal([]byte(out), &org); err != nil || org.AdminToken == "" || org.Password == "" {
		t.Fatalf("admin create-org printed no organization (%v)", err)
	}
	s.OrgID, s.AdminToken, s.OwnerPassword = org.OrgID, org.AdminToken, org.Password

	cfg := filepath.Join(t.TempDir(), "tollgate.yaml")
	if err := os.WriteFile(cfg, []byte("listen: 127.0.0.1:0\ndata_dir: "+s.DataDir+"\nlog: {level: debug, format: json}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(s.bin, "serve", "--config", cfg)
	s.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() { s.stop(t) })
	deadline := time.Now().Add(20 * time.Second)
	for s.URL == "" {
		if m := listeningRE.FindStringSubmatch(s.stdout.String()); m != nil {
			s.URL = m[1]
			break
		}
		select {
		case err := <-s.done:
			s.done <- err
			t.Fatalf("tollgate serve exited: %v\n%s", err, s.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("tollgate serve did not listen within 20s\n%s", s.stderr.String())
		}
	}
	s.apiJSON(t, 201, "POST", "/api/v1/billing/topups", `{"amount":"1000","memo":"browser tests"}`)
	return s
}

// stop ends the server with SIGTERM and checks it stopped cleanly and
// without a data race.
func (s *server) stop(t *testing.T) {
	if s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		t.Errorf("tollgate serve did not stop within 20s of SIGTERM")
	}
	if strings.Contains(s.stderr.String(), "WARNING: DATA RACE") {
		t.Errorf("the server reported a data race:\n%s", s.stderr.String())
	}
}

// logs is everything the server printed so far.
func (s *server) logs() string { return s.stdout.String() + s.stderr.String() }

// cli runs an offline tollgate command against the server's data directory
// and returns its standard output; stdin is fed to it.
func (s *server) cli(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(s.bin, append(args, "--data-dir", s.DataDir)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TOLLGATE_LOG_LEVEL=warn"}
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tollgate %s: %v\n%s", args[0]+" "+args[1], err, stderr.String())
	}
	return stdout.String()
}

// api calls the management API with the owner's admin token and returns
// the status and the raw body.
func (s *server) api(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.AdminToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, b
}

// apiJSON is api that expects status want and a JSON object back.
func (s *server) apiJSON(t *testing.T, want int, method, path, body string) map[string]any {
	t.Helper()
	code, b := s.api(t, method, path, body)
	if code != want {
		t.Fatalf("%s %s = %d, want %d: %s", method, path, code, want, b)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: not a JSON object: %v", method, path, err)
	}
	return out
}

// chat sends one non-streamed /chat/completions request with key and
// returns the status and the decoded body.
func (s *server) chat(t *testing.T, key, question string) (int, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"model": "sonar", "messages": []map[string]string{{"role": "user", "content": question}}})
	req, err := http.NewRequest("POST", s.URL+"/chat/completions", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatalf("POST /chat/completions: %v", err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

// answer is the text of a chat completion's first choice.
func answer(body map[string]any) string {
	choices, _ := body["choices"].([]any)
	if len(choices) == 0 {
		return ""
	}
	c, _ := choices[0].(map[string]any)
	msg, _ := c["message"].(map[string]any)
	text, _ := msg["content"].(string)
	return text
}
