package dashboard

import "net/http"

// Pages still to come answer "not found" until they are built.

func (db *Dashboard) usagePage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return errNotFound
}
func (db *Dashboard) usageCSV(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return errNotFound
}
func (db *Dashboard) billingPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return errNotFound
}
func (db *Dashboard) postCredits(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return errNotFound
}
func (db *Dashboard) statement(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return errNotFound
}
func (db *Dashboard) setCap(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return errNotFound
}
func (db *Dashboard) removeCap(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return errNotFound
}
func (db *Dashboard) limitsPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return errNotFound
}
func (db *Dashboard) setLimit(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return errNotFound
}
func (db *Dashboard) membersPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return errNotFound
}
func (db *Dashboard) invite(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return errNotFound
}
func (db *Dashboard) setRole(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return errNotFound
}
func (db *Dashboard) removeMemberPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return errNotFound
}
func (db *Dashboard) removeMember(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return errNotFound
}
func (db *Dashboard) revokeInvitation(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return errNotFound
}
func (db *Dashboard) tokensPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return errNotFound
}
func (db *Dashboard) createToken(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return errNotFound
}
func (db *Dashboard) revokeTokenPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return errNotFound
}
func (db *Dashboard) revokeToken(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return errNotFound
}
func (db *Dashboard) auditPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return errNotFound
}
