package dashboard

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/governance"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// option is one choice of a select.
type option struct {
	Value, Label string
}

// expiryOptions are the lifetimes offered for a new key; Perplexity
// recommends rotating every 90 days.
var expiryOptions = []option{
	{"", "Never"}, {"7", "7 days"}, {"30", "30 days"}, {"90", "90 days (recommended rotation)"},
	{"180", "180 days"}, {"365", "1 year"},
}

type newKeyView struct {
	Group   *platform.Group
	Nonce   string
	Expiry  []option
	Default string
}

func (db *Dashboard) newKeyPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return db.showNewKey(w, r, c, http.StatusOK, nil)
}

func (db *Dashboard) showNewKey(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, f *form) error {
	if err := platform.Authorize(c.p.Role, platform.ActKeyManage); err != nil {
		return err
	}
	g, err := db.d.Gov.Group(r.Context(), c.p, r.PathValue("id"))
	if err != nil {
		return err
	}
	if g.Status != platform.GroupActive {
		return platform.Errorf(platform.KindConflict, "API group %q is %s; enable it before generating keys.", g.Name, g.Status)
	}
	v := &newKeyView{Group: g, Nonce: db.nonces.issue(c.sess, "key:"+g.ID), Expiry: expiryOptions}
	pv := db.view(r, c, "api", "Generate API key", v)
	if f != nil {
		pv.forms = map[string]*form{"new-key": f}
	}
	db.render(w, r, status, "key_new", pv)
	return nil
}

// secretView is the page that shows a new secret, once.
type secretView struct {
	// What is "API key" or "Admin token".
	What string
	// Verb says what happened to it: "created" (the default) or "rotated".
	Verb   string
	Name   string
	Secret string
	Hint   string
	// Back is where "Done" leads.
	Back      string
	BackLabel string
	ExpiresAt *time.Time
	// OldHint and OldUntil describe the key a rotation replaced.
	OldHint  string
	OldUntil *time.Time
	// SecretID and CopyID are the element ids of the secret and its copy
	// button (end-to-end tests find them by id).
	SecretID, CopyID string
	// Link is set when the secret is an invitation link.
	Link bool
}

func (db *Dashboard) createKey(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	groupID := r.PathValue("id")
	// A role that may not do this is told so before its nonce is spent.
	if err := platform.Authorize(c.p.Role, platform.ActKeyManage); err != nil {
		return err
	}
	if err := db.nonces.consume(c.sess, "key:"+groupID, r.PostForm.Get("nonce")); err != nil {
		return err
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	var expires *time.Time
	days, err := formInt(r, "expires_in_days", 0, 3650)
	if err == nil && days > 0 {
		t := db.d.Now().Add(time.Duration(days) * 24 * time.Hour)
		expires = &t
	}
	if err == nil {
		var k *platform.APIKey
		var secret string
		k, secret, err = db.d.Gov.CreateKey(r.Context(), c.p, groupID, name, expires)
		if err == nil {
			db.showSecret(w, r, c, &secretView{What: "API key", Name: k.Name, Secret: secret, Hint: k.Hint,
				Back: "/dashboard/groups/" + groupID, BackLabel: "back to the group's keys", ExpiresAt: k.ExpiresAt})
			return nil
		}
	}
	if !formError(err) {
		return err
	}
	return db.showNewKey(w, r, c, statusOf(err), failed(r, err, map[string]string{"expires_at": "expires_in_days"}))
}

// showSecret renders a secret in the answer to the POST that created it:
// never in a URL, a redirect, a cookie or a log line, and never cached.
func (db *Dashboard) showSecret(w http.ResponseWriter, r *http.Request, c *reqCtx, v *secretView) {
	if v.SecretID == "" {
		v.SecretID, v.CopyID = "new-key-secret", "copy-key"
	}
	if v.Verb == "" {
		v.Verb = "created"
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	db.render(w, r, http.StatusCreated, "secret", db.view(r, c, navOf(v.Back), v.What+" "+v.Verb, v))
}

func navOf(back string) string {
	switch {
	case strings.HasPrefix(back, "/dashboard/admin-tokens"):
		return "tokens"
	case strings.HasPrefix(back, "/dashboard/members"):
		return "members"
	}
	return "api"
}

// formInt reads an optional integer field in [lo, hi].
func formInt(r *http.Request, name string, lo, hi int64) (int64, error) {
	v := strings.TrimSpace(r.PostForm.Get(name))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, platform.Invalid(name, "Enter a whole number from %d to %d.", lo, hi)
	}
	return n, nil
}

type keyActionView struct {
	Key    *platform.APIKey
	Status platform.KeyStatus
	Group  *platform.Group
	Nonce  string
	Grace  []option
}

func (db *Dashboard) keyAction(r *http.Request, c *reqCtx) (*keyActionView, error) {
	if err := platform.Authorize(c.p.Role, platform.ActKeyManage); err != nil {
		return nil, err
	}
	k, err := db.d.Gov.Key(r.Context(), c.p, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	g, err := db.d.Gov.Group(r.Context(), c.p, k.GroupID)
	if err != nil {
		return nil, err
	}
	return &keyActionView{Key: k, Status: k.Status(db.d.Now()), Group: g}, nil
}

func (db *Dashboard) revokeKeyPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	v, err := db.keyAction(r, c)
	if err != nil {
		return err
	}
	if v.Status == platform.KeyRevoked {
		return platform.Errorf(platform.KindConflict, "API key %q is already revoked.", v.Key.Name)
	}
	db.render(w, r, http.StatusOK, "key_revoke", db.view(r, c, "api", "Revoke API key", v))
	return nil
}

func (db *Dashboard) revokeKey(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	k, err := db.d.Gov.RevokeKey(r.Context(), c.p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return db.seeOther(w, r, "/dashboard/groups/"+k.GroupID, "key-revoked")
}

// graceOptions are the grace periods offered when rotating, the
// configured default first.
func (db *Dashboard) graceOptions() []option {
	def := db.d.RotationGrace
	opts := []option{{strconv.FormatInt(int64(def/time.Second), 10), humanDuration(def) + " (default)"}}
	for _, d := range []time.Duration{0, time.Hour, 24 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour} {
		if d != def {
			label := humanDuration(d)
			if d == 0 {
				label = "None: stop the old key now"
			}
			opts = append(opts, option{strconv.FormatInt(int64(d/time.Second), 10), label})
		}
	}
	return opts
}

func humanDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "none"
	case d%(24*time.Hour) == 0:
		return plural(int(d/(24*time.Hour)), "day")
	case d%time.Hour == 0:
		return plural(int(d/time.Hour), "hour")
	case d%time.Minute == 0:
		return plural(int(d/time.Minute), "minute")
	}
	return d.String()
}

func (db *Dashboard) rotateKeyPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return db.showRotate(w, r, c, http.StatusOK, nil)
}

func (db *Dashboard) showRotate(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, f *form) error {
	v, err := db.keyAction(r, c)
	if err != nil {
		return err
	}
	if v.Status != platform.KeyActive {
		return platform.Errorf(platform.KindConflict, "API key %q is %s; only an active key can be rotated.", v.Key.Name, v.Status)
	}
	v.Nonce, v.Grace = db.nonces.issue(c.sess, "rotate:"+v.Key.ID), db.graceOptions()
	pv := db.view(r, c, "api", "Rotate API key", v)
	if f != nil {
		pv.forms = map[string]*form{"rotate": f}
	}
	db.render(w, r, status, "key_rotate", pv)
	return nil
}

func (db *Dashboard) rotateKey(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id := r.PathValue("id")
	if err := platform.Authorize(c.p.Role, platform.ActKeyManage); err != nil {
		return err
	}
	if err := db.nonces.consume(c.sess, "rotate:"+id, r.PostForm.Get("nonce")); err != nil {
		return err
	}
	secs, err := formInt(r, "grace_seconds", 0, int64(365*24*3600))
	if err == nil {
		grace := time.Duration(secs) * time.Second
		var rot *governance.Rotation
		if rot, err = db.d.Gov.RotateKey(r.Context(), c.p, id, &grace); err == nil {
			db.showSecret(w, r, c, &secretView{What: "API key", Verb: "rotated", Name: rot.New.Name, Secret: rot.Secret, Hint: rot.New.Hint,
				Back: "/dashboard/groups/" + rot.New.GroupID, BackLabel: "back to the group's keys", ExpiresAt: rot.New.ExpiresAt,
				OldHint: rot.Old.Hint, OldUntil: rot.Old.ExpiresAt})
			return nil
		}
	}
	if !formError(err) {
		return err
	}
	return db.showRotate(w, r, c, statusOf(err), failed(r, err, map[string]string{"grace_period_seconds": "grace_seconds"}))
}
