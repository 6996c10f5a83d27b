package dashboard

import (
	"net/http"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/platform"
)

type tokenRow struct {
	T         *platform.AdminToken
	Status    string
	CanRevoke bool
}

type tokensView struct {
	Tokens    []tokenRow
	Grantable []platform.Role
	Expiry    []option
	Nonce     string
}

func (db *Dashboard) tokensPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return db.showTokens(w, r, c, http.StatusOK, nil)
}

func (db *Dashboard) showTokens(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, f *form) error {
	ts, err := db.d.Gov.AdminTokens(r.Context(), c.p)
	if err != nil {
		return err
	}
	now := db.d.Now()
	manage := platform.Can(c.p.Role, platform.ActAdminTokenManage)
	v := &tokensView{Expiry: expiryOptions}
	for _, t := range ts {
		st := "active"
		switch {
		case t.RevokedAt != nil:
			st = "revoked"
		case !t.Usable(now):
			st = "expired"
		}
		v.Tokens = append(v.Tokens, tokenRow{T: t, Status: st,
			CanRevoke: manage && st == "active" && c.p.Role.MayGrant(t.Role) == nil})
	}
	if manage {
		v.Grantable = grantable(c.p.Role)
		v.Nonce = db.nonces.issue(c.sess, "token")
	}
	pv := db.view(r, c, "tokens", "Admin tokens", v)
	if f != nil {
		pv.forms = map[string]*form{"token": f}
	}
	db.render(w, r, status, "tokens", pv)
	return nil
}

func (db *Dashboard) createToken(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := platform.Authorize(c.p.Role, platform.ActAdminTokenManage); err != nil {
		return err
	}
	if err := db.nonces.consume(c.sess, "token", r.PostForm.Get("nonce")); err != nil {
		return err
	}
	t, secret, err := db.newToken(r, c)
	if err != nil {
		if platform.ErrorKind(err) == platform.KindForbidden && platform.Can(c.p.Role, platform.ActAdminTokenManage) {
			// The caller may create tokens, but not with that role.
			err = &platform.Error{Kind: platform.KindForbidden, Param: "role", Message: platform.ErrorMessage(err)}
		} else if !formError(err) {
			return err
		}
		return db.showTokens(w, r, c, statusOf(err), failed(r, err, map[string]string{"expires_at": "expires_in_days"}))
	}
	db.showSecret(w, r, c, &secretView{What: "Admin token", Name: t.Name, Secret: secret, Hint: t.Hint,
		Back: "/dashboard/admin-tokens", BackLabel: "back to admin tokens", ExpiresAt: t.ExpiresAt,
		SecretID: "new-token-secret", CopyID: "copy-token"})
	return nil
}

func (db *Dashboard) newToken(r *http.Request, c *reqCtx) (*platform.AdminToken, string, error) {
	days, err := formInt(r, "expires_in_days", 0, 3650)
	if err != nil {
		return nil, "", err
	}
	var expires *time.Time
	if days > 0 {
		t := db.d.Now().Add(time.Duration(days) * 24 * time.Hour)
		expires = &t
	}
	return db.d.Gov.CreateAdminToken(r.Context(), c.p, strings.TrimSpace(r.PostForm.Get("name")),
		platform.Role(r.PostForm.Get("role")), expires)
}

func (db *Dashboard) revokeTokenPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := platform.Authorize(c.p.Role, platform.ActAdminTokenManage); err != nil {
		return err
	}
	ts, err := db.d.Gov.AdminTokens(r.Context(), c.p)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if t.ID == r.PathValue("id") {
			db.render(w, r, http.StatusOK, "token_revoke", db.view(r, c, "tokens", "Revoke admin token", t))
			return nil
		}
	}
	return platform.Errorf(platform.KindNotFound, "There is no such admin token in your organization.")
}

func (db *Dashboard) revokeToken(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if _, err := db.d.Gov.RevokeAdminToken(r.Context(), c.p, r.PathValue("id")); err != nil {
		return err
	}
	return db.seeOther(w, r, "/dashboard/admin-tokens", "token-revoked")
}
