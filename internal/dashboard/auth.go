package dashboard

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/middleware"
	"github.com/tollgate-dev/tollgate/internal/password"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// CookieName is the session cookie. It holds the session secret only; the
// session itself lives in the database.
const CookieName = "tollgate_session"

// maxForm bounds a form body; no dashboard form comes near it.
const maxForm = 64 << 10

// reqCtx is a signed-in request: the session and the principal every
// service call is made with.
type reqCtx struct {
	sess    *Session
	secret  string
	p       platform.Principal
	orgName string
}

// handler is a signed-in page or form: it returns an error that the
// wrapper renders as the error page.
type handler func(w http.ResponseWriter, r *http.Request, c *reqCtx) error

// public wraps a page that needs no session (sign-in, invitations).
func (db *Dashboard) public(h func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return db.secure(db.cop.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if err := r.ParseForm(); err != nil {
				db.renderError(w, r, nil, platform.Errorf(platform.KindInvalid, "The form could not be read."))
				return
			}
		}
		if err := h(w, r); err != nil {
			db.renderError(w, r, nil, err)
		}
	})))
}

// authed wraps a page or form for signed-in members. Without a live
// session a page redirects to sign-in (and back afterwards). A POST must
// carry the session's CSRF token, or nothing runs.
func (db *Dashboard) authed(h handler) http.Handler {
	return db.secure(db.cop.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := db.signedIn(r)
		if err != nil {
			if platform.ErrorKind(err) != platform.KindUnauthenticated {
				db.renderError(w, r, nil, err)
				return
			}
			if _, cerr := r.Cookie(CookieName); cerr == nil {
				db.clearCookie(w, r)
			}
			to := "/dashboard/sign-in"
			if r.Method == http.MethodGet {
				to += "?next=" + url.QueryEscape(r.URL.Path+querySuffix(r.URL.RawQuery))
			}
			http.Redirect(w, r, db.path(to), http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if err := r.ParseForm(); err != nil {
				db.renderError(w, r, c, platform.Errorf(platform.KindInvalid, "The form could not be read."))
				return
			}
			if !db.d.Sessions.CheckCSRF(c.sess, r.PostForm.Get("csrf_token")) {
				db.renderError(w, r, c, errCSRF)
				return
			}
		}
		if err := h(w, r, c); err != nil {
			db.renderError(w, r, c, err)
		}
	})))
}

func querySuffix(q string) string {
	if q == "" {
		return ""
	}
	return "?" + q
}

// signedIn resolves the session cookie.
func (db *Dashboard) signedIn(r *http.Request) (*reqCtx, error) {
	ck, err := r.Cookie(CookieName)
	if err != nil || ck.Value == "" {
		return nil, platform.Errorf(platform.KindUnauthenticated, "not signed in")
	}
	sess, err := db.d.Sessions.Resolve(r.Context(), ck.Value)
	if err != nil {
		return nil, err
	}
	ip := middleware.ClientIP(r, db.d.TrustProxy)
	return &reqCtx{sess: sess, secret: ck.Value, p: sess.Principal(ip)}, nil
}

// secureRequest reports whether the browser reached us over TLS, directly
// or (when the proxy is trusted) through a proxy that says so.
func (db *Dashboard) secureRequest(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	return db.d.TrustProxy && strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https")
}

func (db *Dashboard) cookiePath() string { return db.d.BasePath + "/" }

// StartSession sets the session cookie for secret and sends the browser on
// to next (a dashboard path; anything else goes to the dashboard's home).
// Sign-in providers (see Provider) call it once they have a session.
func (db *Dashboard) StartSession(w http.ResponseWriter, r *http.Request, secret string, expires time.Time, next string) {
	// Max-Age, not Expires: the browser's clock may be wrong.
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: secret, Path: db.cookiePath(),
		MaxAge: max(int(expires.Sub(db.d.Now())/time.Second), 1), HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: db.secureRequest(r)})
	http.Redirect(w, r, db.path(safeNext(next)), http.StatusSeeOther)
}

func (db *Dashboard) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: db.cookiePath(), MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: db.secureRequest(r)})
}

// safeNext keeps a post-sign-in destination only when it is a path of this
// dashboard: never another site ("//evil", "https://…", "/\evil").
func safeNext(next string) string {
	const home = "/dashboard/"
	if !strings.HasPrefix(next, home) || strings.ContainsAny(next, "\\\r\n\t") || strings.Contains(next, "//") ||
		strings.Contains(next, "/../") || strings.HasSuffix(next, "/..") {
		return home
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return home
	}
	if strings.HasPrefix(u.Path, "/dashboard/sign-in") || strings.HasPrefix(u.Path, "/dashboard/static/") {
		return home
	}
	return next
}

// signInView is what the sign-in page shows.
type signInView struct {
	Next      string
	Providers []Provider
}

func (db *Dashboard) signInPage(w http.ResponseWriter, r *http.Request) error {
	next := safeNext(r.URL.Query().Get("next"))
	if _, err := db.signedIn(r); err == nil {
		http.Redirect(w, r, db.path(next), http.StatusSeeOther)
		return nil
	}
	db.render(w, r, http.StatusOK, "sign_in", &view{Title: "Sign in", Notice: notice(r),
		Data: &signInView{Next: next, Providers: db.d.Providers}})
	return nil
}

func (db *Dashboard) signIn(w http.ResponseWriter, r *http.Request) error {
	next := safeNext(r.PostForm.Get("next"))
	email, pw := strings.TrimSpace(r.PostForm.Get("email")), r.PostForm.Get("password")
	ip := middleware.ClientIP(r, db.d.TrustProxy)
	var err error
	if email == "" || pw == "" {
		err = platform.Errorf(platform.KindInvalid, "Enter your email and password.")
	}
	var (
		secret string
		sess   *Session
	)
	if err == nil {
		secret, sess, err = db.d.Sessions.Login(r.Context(), email, pw, ip)
	}
	if err != nil {
		status := statusOf(err)
		if status >= 500 {
			return err
		}
		if ra := platform.ErrorRetryAfter(err); ra > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((ra+time.Second-1)/time.Second)))
		}
		f := &form{Values: url.Values{"email": {email}}, Error: platform.ErrorMessage(err)}
		db.render(w, r, status, "sign_in", &view{Title: "Sign in", forms: map[string]*form{"sign-in": f},
			Data: &signInView{Next: next, Providers: db.d.Providers}})
		return nil
	}
	// A session already in this browser ends: one browser, one session.
	if old, cerr := r.Cookie(CookieName); cerr == nil && old.Value != "" {
		_ = db.d.Sessions.Logout(r.Context(), old.Value)
	}
	db.StartSession(w, r, secret, sess.ExpiresAt, next)
	return nil
}

func (db *Dashboard) signOut(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := db.d.Sessions.Logout(r.Context(), c.secret); err != nil && platform.ErrorKind(err) != platform.KindUnauthenticated {
		return err
	}
	db.clearCookie(w, r)
	http.Redirect(w, r, db.path("/dashboard/sign-in?done=signed-out"), http.StatusSeeOther)
	return nil
}

// inviteView is what the invitation page shows.
type inviteView struct {
	Token   string
	Email   string
	OrgName string
	Role    platform.Role
	// HasPassword says the account exists: it accepts with its password.
	HasPassword bool
	MinLength   int
}

func newInviteView(token string, inv *Invitation) *inviteView {
	return &inviteView{Token: token, Email: inv.Email, OrgName: inv.OrgName, Role: inv.Role,
		HasPassword: inv.HasPassword, MinLength: password.MinLength}
}

// The invitation token travels in the query string, not the path: access
// logs record paths, and the token is a secret.
func (db *Dashboard) invitePage(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("token")
	inv, err := db.lookupInvitation(r, token)
	if err != nil {
		return err
	}
	db.render(w, r, http.StatusOK, "invite_accept", &view{Title: "Join your team", Data: newInviteView(token, inv)})
	return nil
}

func (db *Dashboard) lookupInvitation(r *http.Request, token string) (*Invitation, error) {
	if token == "" {
		return nil, errBadInvite
	}
	inv, err := db.d.Sessions.LookupInvitation(r.Context(), token)
	if err != nil {
		if platform.ErrorKind(err) == platform.KindNotFound {
			return nil, errBadInvite
		}
		return nil, err
	}
	return inv, nil
}

var errBadInvite = platform.Errorf(platform.KindNotFound,
	"This invitation link is not valid: it may have expired, been revoked or been used already. Ask whoever invited you for a new one.")

func (db *Dashboard) acceptInvite(w http.ResponseWriter, r *http.Request) error {
	token := r.PostForm.Get("token")
	inv, err := db.lookupInvitation(r, token)
	if err != nil {
		return err
	}
	pw, confirm := r.PostForm.Get("password"), r.PostForm.Get("password_confirm")
	var secret string
	var sess *Session
	if !inv.HasPassword && pw != confirm {
		err = platform.Invalid("password_confirm", "The two passwords do not match.")
	} else {
		secret, sess, err = db.d.Sessions.AcceptInvitation(r.Context(), token, pw, middleware.ClientIP(r, db.d.TrustProxy))
	}
	if err != nil {
		if statusOf(err) >= 500 || platform.ErrorKind(err) == platform.KindNotFound {
			return err
		}
		f := failed(r, err, nil)
		f.Values = url.Values{} // never echo a password back
		db.render(w, r, statusOf(err), "invite_accept", &view{Title: "Join your team", forms: map[string]*form{"invite": f},
			Data: newInviteView(token, inv)})
		return nil
	}
	db.StartSession(w, r, secret, sess.ExpiresAt, "/dashboard/?done=welcome")
	return nil
}

// view builds the data of a signed-in page.
func (db *Dashboard) view(r *http.Request, c *reqCtx, nav, title string, data any) *view {
	if c.orgName == "" {
		if o, err := db.d.Gov.Org(r.Context(), c.p); err == nil {
			c.orgName = o.Name
		}
	}
	return &view{Title: title, Nav: nav, Sess: c.sess, CSRF: c.sess.CSRFToken, OrgName: c.orgName,
		Notice: notice(r), Data: data, Now: db.d.Now()}
}

func (db *Dashboard) home(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	to := "/dashboard/settings/api"
	if n := r.URL.Query().Get("done"); n != "" {
		to += "?done=" + url.QueryEscape(n)
	}
	http.Redirect(w, r, db.path(to), http.StatusFound)
	return nil
}
