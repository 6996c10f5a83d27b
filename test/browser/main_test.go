package browser

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// The binary under test and the browser are found once for all tests.
var (
	chromium string // path of the Chromium binary; "" when there is none

	buildOnce sync.Once
	buildDir  string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	flag.Parse()
	chromium = findChromium()
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// findChromium returns TOLLGATE_CHROMIUM, or the first Chromium or Chrome
// on PATH.
func findChromium() string {
	if p := os.Getenv("TOLLGATE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless_shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// requireBrowser skips the test when it cannot run here (no Chromium, or
// -short), except under CI=true, where a missing browser is a failure: the
// dashboard's acceptance tests must run in CI.
func requireBrowser(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests start Chromium and the tollgate binary; skipped with -short")
	}
	if chromium != "" {
		if fi, err := os.Stat(chromium); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			t.Fatalf("TOLLGATE_CHROMIUM or PATH names %s, which is not an executable file", chromium)
		}
		return
	}
	msg := "Chromium not found: install Debian's chromium (apt-get install chromium) or set TOLLGATE_CHROMIUM to a Chromium or Chrome binary"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + "; CI=true, so the dashboard's browser tests must run")
	}
	t.Skip(msg + "; the dashboard's browser tests are SKIPPED")
}

// tollgateBinary builds cmd/tollgate once (with the race detector when the
// tests have it) and returns its path.
func tollgateBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("no go tool on PATH to build the tollgate binary: %w", err)
			return
		}
		if buildDir, buildErr = os.MkdirTemp("", "tollgate-browser-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "tollgate")
		args := []string{"build", "-o", binPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "github.com/tollgate-dev/tollgate/cmd/tollgate")
		if out, err := exec.Command(goTool, args...).CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}
