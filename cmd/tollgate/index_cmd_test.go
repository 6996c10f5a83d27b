package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/admin"
	"github.com/tollgate-dev/tollgate/internal/auth"
	"github.com/tollgate-dev/tollgate/internal/governance"
	"github.com/tollgate-dev/tollgate/internal/indexing"
	"github.com/tollgate-dev/tollgate/internal/keys"
	"github.com/tollgate-dev/tollgate/internal/platform"
	"github.com/tollgate-dev/tollgate/internal/search/local"
	"github.com/tollgate-dev/tollgate/internal/store/sqlstore"
)

// indexCLI runs the CLI against a data directory and returns stdout and stderr.
func indexCLI(t *testing.T, dataDir string, args ...string) (string, string, error) {
	t.Helper()
	getenv := func(k string) string {
		if k == "TOLLGATE_DATA_DIR" {
			return dataDir
		}
		return ""
	}
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), args, getenv, strings.NewReader(""), &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func indexJSON[T any](t *testing.T, dataDir string, args ...string) T {
	t.Helper()
	out, stderr, err := indexCLI(t, dataDir, append(args, "--json")...)
	if err != nil {
		t.Fatalf("tollgate %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
	}
	var v T
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("tollgate %s --json: %v\n%s", strings.Join(args, " "), err, out)
	}
	return v
}

type cliResult struct {
	Source, ID, URL, Title, Status, Error string
}

func TestIndexCommands(t *testing.T) {
	data := t.TempDir()
	docs := t.TempDir()
	md := filepath.Join(docs, "rotate.md")
	html := filepath.Join(docs, "okapi.html")
	if err := os.WriteFile(md, []byte("# Rotating keys\n\nRun `tollgate keys rotate` to rotate a key; the old secret works during the grace period.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(html, []byte(`<html><head><title>Okapi</title></head><body><nav>menu</nav><main><p>The okapi is a forest giraffe of the Congo.</p></main></body></html>`), 0o644); err != nil {
		t.Fatal(err)
	}

	out, stderr, err := indexCLI(t, data, "index", "add", md, html)
	if err != nil {
		t.Fatalf("index add: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "2 added") || strings.Count(stderr, "added") != 2 || !strings.Contains(stderr, "(Rotating keys)") {
		t.Errorf("stdout %q, stderr %q", out, stderr)
	}

	again := indexJSON[[]cliResult](t, data, "index", "add", md, html)
	if len(again) != 2 || again[0].Status != "unchanged" || again[1].Status != "unchanged" {
		t.Errorf("re-add: %+v", again)
	}

	list := indexJSON[[]map[string]any](t, data, "index", "list")
	if len(list) != 2 {
		t.Fatalf("list: %v", list)
	}
	titles := map[string]bool{}
	for _, d := range list {
		titles[d["title"].(string)] = true
		if !strings.HasPrefix(d["id"].(string), "doc_") || !strings.HasPrefix(d["url"].(string), "file://") {
			t.Errorf("document %v", d)
		}
	}
	if !titles["Rotating keys"] || !titles["Okapi"] {
		t.Errorf("titles %v", titles)
	}

	hits := indexJSON[[]map[string]any](t, data, "index", "search", "how", "do", "I", "rotate", "a", "key")
	if len(hits) == 0 || hits[0]["title"] != "Rotating keys" {
		t.Errorf("search: %v", hits)
	}
	if out, _, err := indexCLI(t, data, "index", "search", "okapi"); err != nil || !strings.Contains(out, "1. Okapi") {
		t.Errorf("search table: %q, %v", out, err)
	}

	stats := indexJSON[map[string]any](t, data, "index", "stats")
	if stats["documents"] != 2.0 || stats["passages"].(float64) < 2 {
		t.Errorf("stats %v", stats)
	}

	var htmlURL string
	for _, d := range list {
		if d["title"] == "Okapi" {
			htmlURL = d["url"].(string)
		}
	}
	rm := indexJSON[map[string][]string](t, data, "index", "rm", htmlURL)
	if len(rm["removed"]) != 1 {
		t.Errorf("rm: %v", rm)
	}
	if _, _, err := indexCLI(t, data, "index", "rm", htmlURL); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("second rm: %v", err)
	}
	if stats := indexJSON[map[string]any](t, data, "index", "stats"); stats["documents"] != 1.0 {
		t.Errorf("stats after rm %v", stats)
	}

	// A failed source is reported and makes the command fail.
	_, stderr, err = indexCLI(t, data, "index", "add", filepath.Join(docs, "missing.md"))
	if err == nil || !strings.Contains(stderr, "failed") {
		t.Errorf("add of a missing file: %v, stderr %q", err, stderr)
	}
}

func TestIndexCrawlCommand(t *testing.T) {
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pages := map[string]string{
			"/":  `<h1>Home</h1><p>The tapir sanctuary.</p><a href="/a">a</a>`,
			"/a": `<h1>A</h1><p>Tapirs have a short trunk.</p><a href="/b">b</a>`,
			"/b": `<h1>B</h1><p>Too deep for depth 1.</p>`,
		}
		body, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "<html><head><title>%s</title></head><body><main>%s</main></body></html>", r.URL.Path, body)
	}))
	t.Cleanup(site.Close)
	data := t.TempDir()

	out, stderr, err := indexCLI(t, data, "index", "crawl", site.URL+"/", "--depth", "1", "--max-pages", "10", "--delay", "1ms", "--allow-private")
	if err != nil {
		t.Fatalf("crawl: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "2 added") || strings.Count(stderr, "added") != 2 {
		t.Errorf("stdout %q, stderr %q", out, stderr)
	}
	rep := indexJSON[struct {
		Counts  map[string]int
		Results []cliResult
	}](t, data, "index", "crawl", site.URL+"/", "--depth", "2", "--delay", "1ms", "--allow-private")
	if rep.Counts["unchanged"] != 2 || rep.Counts["added"] != 1 {
		t.Errorf("second crawl %+v", rep)
	}

	// Without --allow-private a loopback site is refused.
	if _, _, err := indexCLI(t, t.TempDir(), "index", "crawl", site.URL+"/", "--delay", "1ms"); err == nil || !strings.Contains(err.Error(), "private") {
		t.Errorf("crawl of loopback without --allow-private: %v", err)
	}
}

// While another process (here: this one) holds the index, the commands say
// why they cannot open it and what to do.
func TestIndexCommandsWhileServerHoldsIndex(t *testing.T) {
	data := t.TempDir()
	ix, err := local.Open(filepath.Join(data, "index"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ix.Close() })
	_, _, err = indexCLI(t, data, "index", "stats")
	wantErr(t, err, "the server is running and holds the index", "--url", "stop")
}

// With --url the commands go through the management API, so they work
// while a server holds the index.
func TestIndexCommandsRemote(t *testing.T) {
	ctx := t.Context()
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "tollgate.db"))
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
	data := t.TempDir()
	ix, err := local.Open(filepath.Join(data, "index"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ix.Close() })
	mux := http.NewServeMux()
	admin.Register(mux, &admin.Deps{Service: gov, Log: slog.New(slog.DiscardHandler), Now: now, MaxBody: 1 << 20,
		Auth:  auth.NewAdminAuthenticator(st, keys.DefaultAdminPrefix, keys.DefaultKeyPrefix, now),
		Index: indexing.New(ix, indexing.Options{})})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	md := filepath.Join(t.TempDir(), "wombat.md")
	if err := os.WriteFile(md, []byte("# Wombats\n\nWombats leave cube-shaped droppings.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	remote := func(args ...string) []string {
		return append(args, "--url", srv.URL, "--token", boot.TokenSecret)
	}
	if got := indexJSON[[]cliResult](t, data, remote("index", "add", md)...); len(got) != 1 || got[0].Status != "added" {
		t.Fatalf("remote add %+v", got)
	}
	if got := indexJSON[[]cliResult](t, data, remote("index", "add", md)...); got[0].Status != "unchanged" {
		t.Errorf("remote re-add %+v", got)
	}
	list := indexJSON[[]map[string]any](t, data, remote("index", "list")...)
	if len(list) != 1 || list[0]["title"] != "Wombats" {
		t.Fatalf("remote list %v", list)
	}
	if hits := indexJSON[[]map[string]any](t, data, remote("index", "search", "cube droppings")...); len(hits) != 1 {
		t.Errorf("remote search %v", hits)
	}
	indexJSON[map[string]any](t, data, remote("index", "rm", list[0]["url"].(string))...)
	if stats := indexJSON[map[string]any](t, data, remote("index", "stats")...); stats["documents"] != 0.0 {
		t.Errorf("remote stats after rm %v", stats)
	}
	if _, _, err := indexCLI(t, data, remote("index", "crawl", "https://example.com/")...); err == nil {
		t.Errorf("remote crawl succeeded")
	}
}
