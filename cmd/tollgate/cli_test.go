package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers:
// the server goroutine writes while the test polls.
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

// testServer is a Tollgate server run in-process by startServer.
type testServer struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:43121.
	URL string
	// AdminToken is the owner admin token printed at first start.
	AdminToken string
	// DataDir holds the server's SQLite database.
	DataDir string
	// Stdout and Stderr are what the server printed so far.
	Stdout, Stderr *syncBuffer
}

var (
	listeningRE  = regexp.MustCompile(`Tollgate listening on (http://\S+)`)
	adminTokenRE = regexp.MustCompile(`(?m)^\s*Admin token:\s+(\S+)\s*$`)
)

// startServer runs `tollgate serve` in-process on a free port with a fresh
// SQLite data directory, waits until /readyz answers 200, and stops the
// server (waiting for run to return) when the test ends.
func startServer(t *testing.T) *testServer {
	t.Helper()
	return startServerEnv(t, nil)
}

// startServerEnv is startServer with extra environment variables for the
// server (e.g. TOLLGATE_ROTATION_GRACE); TOLLGATE_LOG_LEVEL defaults to warn.
func startServerEnv(t *testing.T, env map[string]string) *testServer {
	t.Helper()
	dir := t.TempDir()
	vars := map[string]string{"TOLLGATE_LOG_LEVEL": "warn"}
	for k, v := range env {
		vars[k] = v
	}
	getenv := func(k string) string { return vars[k] }

	ts := &testServer{DataDir: dir, Stdout: &syncBuffer{}, Stderr: &syncBuffer{}}
	// Registered after t.TempDir, so this cleanup runs first: the server
	// stops before its data directory is removed.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--data-dir", dir, "--listen", "127.0.0.1:0"},
			getenv, strings.NewReader(""), ts.Stdout, ts.Stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("serve returned %v\nstderr:\n%s", err, ts.Stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Errorf("serve did not return within 30s of cancellation\nstderr:\n%s", ts.Stderr.String())
		}
	})

	deadline := time.Now().Add(20 * time.Second)
	for ts.URL == "" {
		if m := listeningRE.FindStringSubmatch(ts.Stdout.String()); m != nil {
			ts.URL = m[1]
			break
		}
		select {
		case err := <-done:
			done <- err // let the cleanup see it too
			t.Fatalf("serve exited before listening: %v\nstdout:\n%s\nstderr:\n%s", err, ts.Stdout.String(), ts.Stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not print its address within 20s\nstdout:\n%s\nstderr:\n%s", ts.Stdout.String(), ts.Stderr.String())
		}
	}
	m := adminTokenRE.FindStringSubmatch(ts.Stdout.String())
	if m == nil {
		t.Fatalf("serve did not print an admin token at first start\nstdout:\n%s", ts.Stdout.String())
	}
	ts.AdminToken = m[1]

	for {
		resp, err := http.Get(ts.URL + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return ts
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /readyz never answered 200 (last error %v)\nstderr:\n%s", err, ts.Stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// getenv returns the environment a CLI command sees when talking to ts.
func (ts *testServer) getenv(k string) string {
	switch k {
	case "TOLLGATE_URL":
		return ts.URL
	case "TOLLGATE_ADMIN_TOKEN":
		return ts.AdminToken
	}
	return ""
}

// bearerGet sends GET url with Authorization: Bearer token, like curl, and
// returns the status and body.
func bearerGet(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestStartServer(t *testing.T) {
	ts := startServer(t)
	if !strings.HasPrefix(ts.AdminToken, "tgadm-") {
		t.Errorf("admin token = %q, want prefix tgadm-", ts.AdminToken)
	}
	if got, body := bearerGet(t, ts.URL+"/api/v1/org", ts.AdminToken); got != http.StatusOK {
		t.Errorf("GET /api/v1/org with the bootstrap token = %d %s, want 200", got, body)
	}
	if got, _ := bearerGet(t, ts.URL+"/api/v1/org", "tgadm-wrong"); got != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/org with a wrong token = %d, want 401", got)
	}
}
