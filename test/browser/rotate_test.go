package browser

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestRotateKey rotates a key from the group's page: the new key is shown
// once, and the old one keeps working for the grace period chosen (an hour)
// but stops at once when a rotation is given no grace.
func TestRotateKey(t *testing.T) {
	requireBrowser(t)
	t.Parallel()
	s := startServer(t)
	grp := s.apiJSON(t, 201, "POST", "/api/v1/groups", `{"name":"mobile-app"}`)["id"].(string)
	created := s.apiJSON(t, 201, "POST", "/api/v1/groups/"+grp+"/keys", `{"name":"ios"}`)
	oldID, oldKey := created["id"].(string), created["key"].(string)

	b := newBrowser(t, s.URL, "owner", 1280, 900)
	b.secret("old key", oldKey)
	if st := b.signIn(s.OwnerEmail, s.OwnerPassword); st != 200 {
		t.Fatalf("signing in led to a %d page", st)
	}
	rotate := func(keyID, graceLabel string) string {
		t.Helper()
		b.navigate("/dashboard/groups/" + grp)
		b.click("#rotate-" + keyID)
		b.step("choose the grace period", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
			const s = document.getElementById("grace");
			const o = [...s.options].find(o => o.text.startsWith(%q));
			if (!o) throw new Error("no grace period " + %q);
			s.value = o.value;
		})()`, graceLabel, graceLabel)))
		if st := b.click("#confirm-rotate"); st != 201 {
			t.Fatalf("rotating answered %d, want 201", st)
		}
		k := value(b, "read the new key", chromedp.Value(chromedp.ID("new-key-secret")))
		if !keyRE.MatchString(k) {
			t.Fatalf("#new-key-secret does not hold an API key (%d characters)", len(k))
		}
		b.forbid(fmt.Sprintf("key from rotation %d", len(b.forbidden)), k)
		return k
	}

	newKey := rotate(oldID, "1 hour")
	if newKey == oldKey {
		t.Fatal("rotation showed the old key")
	}
	if h := b.text("#secret-page-title"); h != "API key rotated" {
		t.Errorf("the page showing the rotated key is titled %q, want \"API key rotated\"", h)
	}
	// The paragraph about the replaced key stands clear of the key's field.
	gap := value(b, "measure", chromedp.Evaluate[float64](`document.getElementById("replaced-key").getBoundingClientRect().top -
		document.querySelector(".secret-row").getBoundingClientRect().bottom`))
	if gap < 12 {
		t.Errorf("the paragraph about the replaced key is %gpx below the key's field, want at least 12", gap)
	}
	b.screenshot("key-rotated")
	for _, k := range []struct{ name, key string }{{"old", oldKey}, {"new", newKey}} {
		if code := s.whoami(t, k.key); code != 200 {
			t.Errorf("the %s key during the grace period: GET /v1/key = %d, want 200", k.name, code)
		}
	}
	b.navigate("/dashboard/groups/" + grp)
	if st := b.text(fmt.Sprintf("[data-key-id=%q] [data-testid=key-status]", oldID)); st != "rotating" {
		t.Errorf("the rotated key's status reads %q, want rotating", st)
	}

	// Rotating the new key with no grace stops it at once.
	var newID string
	for _, k := range s.keys(t, grp) {
		m := k.(map[string]any)
		if m["status"] == "active" {
			newID = m["id"].(string)
		}
	}
	if newID == "" {
		t.Fatal("no active key after the rotation")
	}
	newest := rotate(newID, "None")
	if code := s.whoami(t, newKey); code != 401 {
		t.Errorf("a key rotated with no grace period: GET /v1/key = %d, want 401", code)
	}
	if code := s.whoami(t, newest); code != 200 {
		t.Errorf("the newest key: GET /v1/key = %d, want 200", code)
	}
	if strings.Contains(s.logs(), newKey) || strings.Contains(s.logs(), newest) {
		t.Error("the server's log contains a key made by rotation")
	}
}

// whoami calls GET /v1/key with key and returns the status.
func (s *server) whoami(t *testing.T, key string) int {
	t.Helper()
	req, err := http.NewRequest("GET", s.URL+"/v1/key", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatalf("GET /v1/key: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
