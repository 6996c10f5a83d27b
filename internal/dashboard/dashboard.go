// Package dashboard serves Tollgate's web console under /dashboard/: sign-in,
// Settings → API (groups and keys, a key shown exactly once), usage charts,
// billing, limits, members, admin tokens and the audit log.
//
// Pages are rendered on the server with html/template; the one stylesheet,
// the one small script and the SVG charts are embedded, so the console works
// offline, paints without waiting for JavaScript and works without it. Every
// change is a POST carrying the session's CSRF token. Every read and every
// change goes through packages governance and billing with the signed-in
// member's principal: they decide what is allowed, and the pages only hide
// what platform.Can says the role cannot do, so role rules have one
// implementation.
package dashboard

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/governance"
)

// Mailer sends invitation links. Without one (no mail server configured)
// the dashboard shows the link once to the inviter, to pass on by hand.
type Mailer interface {
	SendInvitation(ctx context.Context, to, orgName, link string) error
}

// Provider is a further way to sign in (a magic link, OIDC). It is the seam
// for them; none is built in. A provider serves everything under
// /dashboard/sign-in/{Name}/ and, once it knows who signed in and has a
// session secret for them, calls Dashboard.StartSession to set the cookie
// and continue. The sign-in page shows a button per provider.
type Provider interface {
	// Name is the URL segment ("oidc", "magic-link").
	Name() string
	// Label is the button's text ("Continue with Okta").
	Label() string
	http.Handler
}

// Deps is what the dashboard needs.
type Deps struct {
	Gov      *governance.Service
	Billing  *billing.Service
	Sessions Sessions
	Log      *slog.Logger
	Now      func() time.Time
	// BasePath is the mount prefix Tollgate is served under ("" or
	// "/tollgate"); links and the cookie path include it.
	BasePath string
	// TrustProxy trusts X-Forwarded-For and X-Forwarded-Proto from the
	// proxy in front (the cookie is Secure when the proxy says https).
	TrustProxy bool
	// RotationGrace is the default grace period offered when rotating.
	RotationGrace time.Duration
	// TierRPM is the default requests-per-minute per usage tier and model
	// ("*" for the others), shown on the limits and billing pages.
	TierRPM map[string][]int64
	// Mailer, when set, mails invitation links.
	Mailer Mailer
	// Providers are further sign-in methods (see Provider).
	Providers []Provider
}

// Dashboard is the web console's handler set.
type Dashboard struct {
	d      Deps
	pages  *pages
	nonces *nonces
	cop    *http.CrossOriginProtection
}

// New returns the dashboard, its templates parsed.
func New(d Deps) (*Dashboard, error) {
	if d.Gov == nil || d.Billing == nil || d.Sessions == nil {
		return nil, fmt.Errorf("dashboard: governance, billing and sessions are required")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	now := d.Now
	d.Now = func() time.Time { return now().UTC() }
	d.BasePath = strings.TrimRight(d.BasePath, "/")
	if d.RotationGrace <= 0 {
		d.RotationGrace = 24 * time.Hour
	}
	db := &Dashboard{d: d, nonces: newNonces(d.Now)}
	var err error
	if db.pages, err = parsePages(d.BasePath); err != nil {
		return nil, err
	}
	// Browsers say where a form came from (Sec-Fetch-Site, Origin): a
	// cross-site POST is refused before any handler runs, on top of the
	// per-session CSRF token every form carries.
	db.cop = http.NewCrossOriginProtection()
	db.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		db.renderError(w, r, nil, errCrossOrigin)
	}))
	return db, nil
}

// path returns an absolute URL path under the mount prefix.
func (db *Dashboard) path(p string) string { return db.d.BasePath + p }
