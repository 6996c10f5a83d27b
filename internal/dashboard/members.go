package dashboard

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/tollgate-dev/tollgate/internal/platform"
)

type memberRow struct {
	M   *platform.Membership
	You bool
	// Invited says the member has not accepted their invitation yet.
	Invited bool
	// CanEdit says whether to offer role changes and removal: the role
	// table says the caller may manage this member (owners only by
	// owners), and it is not the caller (who would lock themselves out).
	CanEdit bool
}

type membersView struct {
	Members     []memberRow
	Invitations []*Invitation
	InvitedBy   map[string]string
	// Grantable are the roles the caller may hand out.
	Grantable []platform.Role
	Nonce     string
	Mailer    bool
}

// grantable lists the roles role may grant, by the same rule the services
// apply.
func grantable(role platform.Role) []platform.Role {
	var out []platform.Role
	for _, r := range platform.Roles {
		if role.MayGrant(r) == nil {
			out = append(out, r)
		}
	}
	return out
}

func (db *Dashboard) membersPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return db.showMembers(w, r, c, http.StatusOK, nil)
}

func (db *Dashboard) showMembers(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, f *form) error {
	ctx := r.Context()
	ms, err := db.d.Gov.Members(ctx, c.p)
	if err != nil {
		return err
	}
	v := &membersView{InvitedBy: map[string]string{}, Mailer: db.d.Mailer != nil}
	manage := platform.Can(c.p.Role, platform.ActMemberManage)
	if v.Invitations, err = db.d.Sessions.Invitations(ctx, c.p); err != nil {
		return err
	}
	pending := map[string]bool{}
	for _, inv := range v.Invitations {
		pending[strings.ToLower(inv.Email)] = true
	}
	for _, m := range ms {
		you := m.UserID == c.sess.UserID
		v.InvitedBy[m.UserID] = m.Email
		ok := manage && !you && (m.Role != platform.RoleOwner || platform.Can(c.p.Role, platform.ActOwnerManage))
		v.Members = append(v.Members, memberRow{M: m, You: you, CanEdit: ok, Invited: pending[strings.ToLower(m.Email)]})
	}
	if manage {
		v.Grantable = grantable(c.p.Role)
		v.Nonce = db.nonces.issue(c.sess, "invite")
	}
	pv := db.view(r, c, "members", "Members", v)
	if f != nil {
		pv.forms = map[string]*form{"invite": f}
	}
	db.render(w, r, status, "members", pv)
	return nil
}

// invite adds a member and gives the inviter the one-time link (or mails
// it, when a Mailer is configured). The link carries the token in its
// query string: access logs record paths only.
func (db *Dashboard) invite(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := platform.Authorize(c.p.Role, platform.ActMemberManage); err != nil {
		return err
	}
	if err := db.nonces.consume(c.sess, "invite", r.PostForm.Get("nonce")); err != nil {
		return err
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	inv, token, err := db.d.Sessions.Invite(r.Context(), c.p, email, strings.TrimSpace(r.PostForm.Get("name")),
		platform.Role(r.PostForm.Get("role")))
	if err != nil {
		switch {
		case platform.ErrorKind(err) == platform.KindForbidden && platform.Can(c.p.Role, platform.ActMemberManage):
			// The caller may invite, but not with that role.
			err = &platform.Error{Kind: platform.KindForbidden, Param: "role", Message: platform.ErrorMessage(err)}
			return db.showMembers(w, r, c, http.StatusForbidden, failed(r, err, nil))
		case formError(err):
			return db.showMembers(w, r, c, statusOf(err), failed(r, err, nil))
		}
		return err
	}
	link := db.absolute(r, "/dashboard/invite?token="+url.QueryEscape(token))
	if db.d.Mailer != nil {
		org := c.orgName
		if o, err := db.d.Gov.Org(r.Context(), c.p); err == nil {
			org = o.Name
		}
		if err := db.d.Mailer.SendInvitation(r.Context(), inv.Email, org, link); err == nil {
			return db.seeOther(w, r, "/dashboard/members", "invitation-sent")
		}
		db.d.Log.WarnContext(r.Context(), "dashboard: mailing an invitation failed; showing the link instead", "invitation", inv.ID)
	}
	exp := inv.ExpiresAt
	db.showSecret(w, r, c, &secretView{What: "Invitation link", Name: inv.Email, Secret: link, Link: true,
		Back: "/dashboard/members", BackLabel: "back to members", ExpiresAt: &exp,
		SecretID: "invite-link", CopyID: "copy-invite-link"})
	return nil
}

// absolute returns the URL of a dashboard path as the browser reaches it.
func (db *Dashboard) absolute(r *http.Request, p string) string {
	scheme := "http"
	if db.secureRequest(r) {
		scheme = "https"
	}
	host := r.Host
	if fh := strings.TrimSpace(r.Header.Get("X-Forwarded-Host")); db.d.TrustProxy && fh != "" {
		host, _, _ = strings.Cut(fh, ",")
	}
	return scheme + "://" + strings.TrimSpace(host) + db.path(p)
}

func (db *Dashboard) setRole(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if _, err := db.d.Gov.SetMemberRole(r.Context(), c.p, r.PathValue("user_id"), platform.Role(r.PostForm.Get("role"))); err != nil {
		return err
	}
	return db.seeOther(w, r, "/dashboard/members", "role-changed")
}

func (db *Dashboard) removeMemberPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := platform.Authorize(c.p.Role, platform.ActMemberManage); err != nil {
		return err
	}
	ms, err := db.d.Gov.Members(r.Context(), c.p)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.UserID == r.PathValue("user_id") {
			db.render(w, r, http.StatusOK, "member_remove", db.view(r, c, "members", "Remove member", m))
			return nil
		}
	}
	return platform.Errorf(platform.KindNotFound, "There is no such member in your organization.")
}

func (db *Dashboard) removeMember(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := db.d.Gov.RemoveMember(r.Context(), c.p, r.PathValue("user_id")); err != nil {
		return err
	}
	return db.seeOther(w, r, "/dashboard/members", "member-removed")
}

func (db *Dashboard) revokeInvitation(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := db.d.Sessions.RevokeInvitation(r.Context(), c.p, r.PathValue("id")); err != nil {
		return err
	}
	return db.seeOther(w, r, "/dashboard/members", "invitation-revoked")
}
