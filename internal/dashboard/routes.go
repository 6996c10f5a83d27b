package dashboard

import "net/http"

// Register adds the dashboard's whole surface to mux. "/" redirects to the
// dashboard; everything else lives under /dashboard/. Every change is a
// POST; no GET changes anything.
func (db *Dashboard) Register(mux *http.ServeMux) {
	mux.Handle("GET /{$}", db.redirect("/dashboard/"))
	mux.Handle("GET /dashboard", db.redirect("/dashboard/"))
	mux.Handle("GET /dashboard/static/{file}", db.static())

	// Signing in and accepting an invitation need no session.
	mux.Handle("GET /dashboard/sign-in", db.public(db.signInPage))
	mux.Handle("POST /dashboard/sign-in", db.public(db.signIn))
	mux.Handle("GET /dashboard/invite", db.public(db.invitePage))
	mux.Handle("POST /dashboard/invite", db.public(db.acceptInvite))
	for _, p := range db.d.Providers {
		mux.Handle("/dashboard/sign-in/"+p.Name()+"/", db.secure(db.cop.Handler(p)))
	}
	mux.Handle("POST /dashboard/sign-out", db.authed(db.signOut))

	mux.Handle("GET /dashboard/{$}", db.authed(db.home))

	// Settings → API: groups and their keys.
	mux.Handle("GET /dashboard/settings/api", db.authed(db.groupsPage))
	mux.Handle("POST /dashboard/settings/api/groups", db.authed(db.createGroup))
	mux.Handle("GET /dashboard/groups/{id}", db.authed(db.groupPage))
	mux.Handle("POST /dashboard/groups/{id}/update", db.authed(db.updateGroup))
	mux.Handle("POST /dashboard/groups/{id}/status", db.authed(db.setGroupStatus))
	mux.Handle("GET /dashboard/groups/{id}/keys/new", db.authed(db.newKeyPage))
	mux.Handle("POST /dashboard/groups/{id}/keys", db.authed(db.createKey))
	mux.Handle("GET /dashboard/keys/{id}/revoke", db.authed(db.revokeKeyPage))
	mux.Handle("POST /dashboard/keys/{id}/revoke", db.authed(db.revokeKey))
	mux.Handle("GET /dashboard/keys/{id}/rotate", db.authed(db.rotateKeyPage))
	mux.Handle("POST /dashboard/keys/{id}/rotate", db.authed(db.rotateKey))

	// Usage, from the rollups.
	mux.Handle("GET /dashboard/usage", db.authed(db.usagePage))
	mux.Handle("GET /dashboard/usage/export", db.authed(db.usageCSV))

	// Billing.
	mux.Handle("GET /dashboard/billing", db.authed(db.billingPage))
	mux.Handle("POST /dashboard/billing/credits", db.authed(db.postCredits))
	mux.Handle("GET /dashboard/billing/statements/{month}", db.authed(db.statement))
	mux.Handle("POST /dashboard/billing/caps", db.authed(db.setCap))
	mux.Handle("POST /dashboard/billing/caps/remove", db.authed(db.removeCap))

	// Rate limits.
	mux.Handle("GET /dashboard/limits", db.authed(db.limitsPage))
	mux.Handle("POST /dashboard/limits", db.authed(db.setLimit))

	// Members and invitations.
	mux.Handle("GET /dashboard/members", db.authed(db.membersPage))
	mux.Handle("POST /dashboard/members/invite", db.authed(db.invite))
	mux.Handle("POST /dashboard/members/{user_id}/role", db.authed(db.setRole))
	mux.Handle("GET /dashboard/members/{user_id}/remove", db.authed(db.removeMemberPage))
	mux.Handle("POST /dashboard/members/{user_id}/remove", db.authed(db.removeMember))
	mux.Handle("POST /dashboard/invitations/{id}/revoke", db.authed(db.revokeInvitation))

	// Admin tokens.
	mux.Handle("GET /dashboard/admin-tokens", db.authed(db.tokensPage))
	mux.Handle("POST /dashboard/admin-tokens", db.authed(db.createToken))
	mux.Handle("GET /dashboard/admin-tokens/{id}/revoke", db.authed(db.revokeTokenPage))
	mux.Handle("POST /dashboard/admin-tokens/{id}/revoke", db.authed(db.revokeToken))

	// Audit log.
	mux.Handle("GET /dashboard/audit", db.authed(db.auditPage))

	// Anything else under /dashboard/ is a rendered 404, not the API's JSON.
	mux.Handle("/dashboard/", db.public(db.notFound))
}
