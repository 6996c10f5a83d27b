package dashboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/platform"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages holds one parsed template set per page and the embedded assets.
type pages struct {
	tmpl   map[string]*template.Template
	assets map[string]asset
}

type asset struct {
	body    []byte
	ctype   string
	version string // content hash, for cache busting
}

func parsePages(base string) (*pages, error) {
	p := &pages{tmpl: map[string]*template.Template{}, assets: map[string]asset{}}
	files, err := fs.Glob(staticFS, "static/*")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		b, err := staticFS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		ctype := map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
			".svg": "image/svg+xml"}[path.Ext(f)]
		p.assets[path.Base(f)] = asset{body: b, ctype: ctype, version: hex.EncodeToString(sum[:6])}
	}
	funcs := templateFuncs(base, p.assets)
	common, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/_*.html")
	if err != nil {
		return nil, fmt.Errorf("dashboard templates: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		name := path.Base(n)
		if strings.HasPrefix(name, "_") {
			continue
		}
		t, err := template.Must(common.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("dashboard template %s: %w", name, err)
		}
		p.tmpl[strings.TrimSuffix(name, ".html")] = t
	}
	return p, nil
}

// view is what every page template gets.
type view struct {
	Title string
	// Nav names the active navigation entry.
	Nav     string
	Sess    *Session
	CSRF    string
	OrgName string
	// Notice is a one-line confirmation of the last change ("Key revoked").
	Notice string
	Now    time.Time
	Data   any
	forms  map[string]*form
}

// Can reports whether the signed-in member's role allows action; pages use
// it to hide controls. The services enforce the very same table.
func (v *view) Can(action string) bool {
	return v.Sess != nil && platform.Can(v.Sess.Role, platform.Action(action))
}

// Form returns the named form's values and errors (empty when the page
// is shown fresh).
func (v *view) Form(name string) *form {
	if f := v.forms[name]; f != nil {
		return f
	}
	return &form{}
}

// form is a submitted form re-shown with its errors.
type form struct {
	Values url.Values
	errors map[string]string
	// Error is the message that belongs to no single field.
	Error string
}

// Get returns a submitted value, to refill the field.
func (f *form) Get(name string) string { return f.Values.Get(name) }

// Err returns the error message of a field.
func (f *form) Err(name string) string { return f.errors[name] }

// HasErr reports whether the form failed.
func (f *form) HasErr() bool { return f.Error != "" || len(f.errors) > 0 }

// failed builds the re-shown form of a refused submission: an invalid
// field's message goes next to it (fields maps a service's parameter name
// to the form's field name when they differ); anything else on top.
func failed(r *http.Request, err error, fields map[string]string) *form {
	f := &form{Values: r.PostForm, errors: map[string]string{}}
	param := platform.ErrorParam(err)
	if alias, ok := fields[param]; ok {
		param = alias
	}
	kind := platform.ErrorKind(err)
	if (kind == platform.KindInvalid || kind == platform.KindForbidden) && param != "" && r.PostForm.Has(param) {
		f.errors[param] = platform.ErrorMessage(err)
	} else {
		f.Error = platform.ErrorMessage(err)
	}
	return f
}

// render writes a page with status. Rendering goes to a buffer first so a
// template error becomes a clean 500 instead of half a page.
func (db *Dashboard) render(w http.ResponseWriter, r *http.Request, status int, page string, v *view) {
	t := db.pages.tmpl[page]
	if t == nil {
		db.d.Log.ErrorContext(r.Context(), "dashboard: no such page template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if v.Now.IsZero() {
		v.Now = db.d.Now()
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, page+".html", v); err != nil {
		db.d.Log.ErrorContext(r.Context(), "dashboard: render failed", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// secure sets the headers every dashboard response carries: nothing may
// frame it, run inline script or style, or load from elsewhere, and no
// page (they carry CSRF tokens and, once, secrets) is cached.
func (db *Dashboard) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if !strings.HasPrefix(r.URL.Path, "/dashboard/static/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// static serves the embedded stylesheet and script. A request naming the
// current version may be cached for good: the URL changes with the file.
func (db *Dashboard) static() http.Handler {
	return db.secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := db.pages.assets[r.PathValue("file")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if r.URL.Query().Get("v") == a.version {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		w.Header().Set("ETag", `"`+a.version+`"`)
		if r.Header.Get("If-None-Match") == `"`+a.version+`"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", a.ctype)
		_, _ = w.Write(a.body)
	}))
}

// redirect answers with a redirect to a dashboard path.
func (db *Dashboard) redirect(to string) http.Handler {
	return db.secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, db.path(to), http.StatusFound)
	}))
}

// seeOther sends the browser to a page after a change (POST, redirect,
// GET), so reloading the page never repeats the change. notice is a code
// from notices, never free text.
func (db *Dashboard) seeOther(w http.ResponseWriter, r *http.Request, to, notice string) error {
	if notice != "" {
		sep := "?"
		if strings.Contains(to, "?") {
			sep = "&"
		}
		to += sep + "done=" + url.QueryEscape(notice)
	}
	http.Redirect(w, r, db.path(to), http.StatusSeeOther)
	return nil
}

// notices are the confirmations a redirect may ask a page to show; the
// query names one, so nobody can make a page say something else.
var notices = map[string]string{
	"group-created":      "API group created.",
	"group-updated":      "API group updated.",
	"group-disabled":     "API group disabled: its keys are refused until you enable it again.",
	"group-enabled":      "API group enabled.",
	"key-revoked":        "API key revoked. Requests with it are refused from now on.",
	"credits-posted":     "Credits posted to the balance.",
	"cap-set":            "Spend cap saved.",
	"cap-removed":        "Spend cap removed.",
	"limit-saved":        "Rate limit saved.",
	"role-changed":       "Role changed.",
	"member-removed":     "Member removed.",
	"invitation-revoked": "Invitation revoked.",
	"invitation-sent":    "Invitation sent by email.",
	"token-revoked":      "Admin token revoked.",
	"signed-out":         "You are signed out.",
	"welcome":            "Welcome! Your password is set and you are signed in.",
}

func notice(r *http.Request) string { return notices[r.URL.Query().Get("done")] }
