package main

// Issue 3: "Each real client passes its compatibility tests against Tollgate
// by changing only its base URL and key". This runs the Node suite in
// compat/ (the Perplexity TS SDK, the openai npm package and the Vercel AI
// SDK's Perplexity provider, at the exact versions compat/package-lock.json
// pins) against a real Tollgate with fake upstreams. The Go client is
// covered by sdk_test.go.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/config"
	"github.com/tollgate-dev/tollgate/internal/upstream/upstreamtest"
)

const (
	compatReply    = "Tollgate answers every client in its own dialect."
	compatCitation = "https://example.org/dialects"
)

func TestCompatNodeClients(t *testing.T) {
	node, npm := compatTools(t)
	dir, err := filepath.Abs(filepath.Join("..", "..", "compat"))
	if err != nil {
		t.Fatal(err)
	}
	compatInstall(t, npm, dir)
	compatTrackSources(t, dir)

	good := upstreamtest.New(t, upstreamtest.Behaviour{Reply: compatReply,
		Extra: map[string]any{"citations": []string{compatCitation}}})
	limited := upstreamtest.New(t, upstreamtest.Behaviour{FailStatus: 429})
	broken := upstreamtest.New(t, upstreamtest.Behaviour{Reply: compatReply, FailMidStream: 3})
	h := newAPIHarnessWith(t, "sqlite", func(c *config.Config) {
		withUpstreams(good)(c)
		withRateLimitedModel(limited)(c)
		withExtraModel(brokenStreamModel, broken)(c)
	})
	key := h.chatKey()

	h.runAsync() // the async job workers, as serve runs them
	// The async endpoints are the Perplexity SDK's; the Node suite skips
	// those tests when the route is missing: say so plainly here too.
	if code, body := h.do("POST", "/async/chat/completions", key, `{}`); code == 404 {
		t.Logf("NOTE: POST /async/chat/completions answers 404 (%v); the Perplexity SDK's async tests are skipped", body)
	}

	env := append(os.Environ(),
		"TOLLGATE_URL="+h.url,
		"TOLLGATE_KEY="+key,
		"TOLLGATE_MODEL=sonar",
		"TOLLGATE_REPLY="+compatReply,
		"TOLLGATE_COMPLETION_TOKENS="+strconv.FormatInt(wordCount(compatReply), 10),
		"TOLLGATE_INVALID_MODEL=gpt-9",
		"TOLLGATE_CITATION="+compatCitation,
		"TOLLGATE_RATE_LIMITED_MODEL="+rateLimitedModel,
		"TOLLGATE_BROKEN_STREAM_MODEL="+brokenStreamModel,
		"TOLLGATE_BAD_KEY=pplx-"+strings.Repeat("0", 48),
		"TOLLGATE_GROUNDED_MODEL=sonar-pro", // no route here: the extractive engine answers from the bundled docs
		"NO_COLOR=1", "FORCE_COLOR=0",
	)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "--test-timeout=30000", "compat/")
	cmd.Dir = filepath.Dir(dir)
	cmd.Env = env
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	summary, skipped := nodeSummary(string(out))
	if err != nil {
		t.Fatalf("node --test compat/ failed after %s (%v):\n%s", time.Since(start).Round(time.Millisecond), err, out)
	}
	t.Logf("node --test compat/ in %s: %s", time.Since(start).Round(time.Millisecond), summary)
	if testing.Verbose() {
		t.Logf("node's report:\n%s", out)
	}
	// Every variable the suite reads is set, so a skipped test means a
	// missing endpoint (the async probe) or a broken suite.
	for _, s := range skipped {
		t.Errorf("skipped: %s", s)
	}
	if !strings.Contains(" "+summary, " pass ") || strings.Contains(summary+",", "pass 0,") {
		t.Fatalf("node ran no passing test:\n%s", out)
	}
}

// compatTrackSources stats every file of the suite: go test caches a
// passing result by the files the test touched, and node's reads are not
// the test's own, so without this an edited .mjs would not rerun it.
func compatTrackSources(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != dir && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			_, err = os.Stat(path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// compatTools finds node and npm; without them the suite is skipped, except
// in CI, where it must run.
func compatTools(t *testing.T) (node, npm string) {
	t.Helper()
	node, errNode := exec.LookPath("node")
	npm, errNpm := exec.LookPath("npm")
	if err := errors.Join(errNode, errNpm); err != nil {
		msg := "the real-client compatibility suite (compat/) needs Node.js 20+ and npm: " + err.Error()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg + " (install them to run it; with CI=true this is a failure)")
	}
	v, err := exec.Command(node, "--version").Output()
	if err != nil {
		t.Fatalf("node --version: %v", err)
	}
	var major int
	if _, err := fmt.Sscanf(strings.TrimSpace(string(v)), "v%d", &major); err != nil || major < 20 {
		t.Fatalf("compat/ needs Node.js 20 or later, found %s", v)
	}
	return node, npm
}

// compatInstall runs npm ci in dir when node_modules is missing or older
// than package.json or package-lock.json; otherwise it costs two stats.
// A lock directory keeps concurrent go test runs from installing at once.
func compatInstall(t *testing.T, npm, dir string) {
	t.Helper()
	if compatInstalled(t, dir) {
		return
	}
	lock := filepath.Join(dir, ".npm-ci.lock")
	deadline := time.Now().Add(5 * time.Minute)
	for {
		err := os.Mkdir(lock, 0o755)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) {
			t.Fatal(err)
		}
		if fi, err := os.Stat(lock); err == nil && time.Since(fi.ModTime()) > 10*time.Minute {
			os.Remove(lock) // left by a killed run
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is held by another run for over 5 minutes; remove it if no npm ci is running", lock)
		}
		time.Sleep(200 * time.Millisecond)
	}
	defer os.Remove(lock)
	if compatInstalled(t, dir) { // another run installed while we waited
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error")
	cmd.Dir = dir
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
	}
	t.Logf("npm ci in compat/ took %s", time.Since(start).Round(time.Millisecond))
}

// compatInstalled tells whether node_modules is up to date: npm writes
// node_modules/.package-lock.json on every install.
func compatInstalled(t *testing.T, dir string) bool {
	t.Helper()
	stamp, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json"))
	if err != nil {
		return false
	}
	for _, f := range []string{"package.json", "package-lock.json"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.ModTime().After(stamp.ModTime()) {
			return false
		}
	}
	return true
}

// nodeSummary reads the spec reporter's closing counts ("ℹ tests 21" …) and
// the skipped tests ("﹣ name (0.1ms) # reason").
func nodeSummary(out string) (summary string, skipped []string) {
	var counts []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "ℹ "); ok {
			for _, k := range []string{"tests ", "pass ", "fail ", "cancelled ", "skipped ", "todo "} {
				if strings.HasPrefix(rest, k) {
					counts = append(counts, rest)
				}
			}
		}
		if rest, ok := strings.CutPrefix(line, "﹣ "); ok && strings.Contains(rest, "# ") {
			skipped = append(skipped, rest)
		}
	}
	return strings.Join(counts, ", "), skipped
}
