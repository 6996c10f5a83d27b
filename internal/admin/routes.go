package admin

import (
	_ "embed"
	"net/http"

	"github.com/tollgate-dev/tollgate/internal/billing"
	"github.com/tollgate-dev/tollgate/internal/httpjson"
)

//go:embed openapi.json
var openapiDoc []byte

// OpenAPI returns the OpenAPI 3.1 document of the management API.
func OpenAPI() []byte { return openapiDoc }

// Register adds the management API's whole surface to mux.
func Register(mux *http.ServeMux, d *Deps) {
	mux.HandleFunc("GET /api/v1/openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openapiDoc)
	})

	mux.Handle("GET /api/v1/org", d.authed(d.getOrg))
	mux.Handle("PATCH /api/v1/org", d.authed(d.updateOrg))
	mux.Handle("GET /api/v1/roles", d.authed(d.listRoles))

	mux.Handle("GET /api/v1/members", d.authed(d.listMembers))
	mux.Handle("POST /api/v1/members", d.authed(d.addMember))
	mux.Handle("PATCH /api/v1/members/{user_id}", d.authed(d.updateMember))
	mux.Handle("DELETE /api/v1/members/{user_id}", d.authed(d.removeMember))

	mux.Handle("GET /api/v1/groups", d.authed(d.listGroups))
	mux.Handle("POST /api/v1/groups", d.authed(d.createGroup))
	mux.Handle("GET /api/v1/groups/{id}", d.authed(d.getGroup))
	mux.Handle("PATCH /api/v1/groups/{id}", d.authed(d.updateGroup))
	mux.Handle("DELETE /api/v1/groups/{id}", d.authed(d.deleteGroup))
	mux.Handle("GET /api/v1/groups/{id}/keys", d.authed(d.listKeys))
	mux.Handle("POST /api/v1/groups/{id}/keys", d.authed(d.createKey))

	mux.Handle("GET /api/v1/keys", d.authed(d.listKeys))
	mux.Handle("GET /api/v1/keys/{id}", d.authed(d.getKey))
	mux.Handle("PATCH /api/v1/keys/{id}", d.authed(d.renameKey))
	mux.Handle("POST /api/v1/keys/{id}/revoke", d.authed(d.revokeKey))
	mux.Handle("POST /api/v1/keys/{id}/rotate", d.authed(d.rotateKey))

	mux.Handle("GET /api/v1/admin-tokens", d.authed(d.listTokens))
	mux.Handle("POST /api/v1/admin-tokens", d.authed(d.createToken))
	mux.Handle("POST /api/v1/admin-tokens/{id}/revoke", d.authed(d.revokeToken))

	mux.Handle("GET /api/v1/audit", d.authed(d.listAudit))

	mux.Handle("GET /api/v1/usage", d.authed(d.getUsage))
	mux.Handle("GET /api/v1/usage/records/{request_id}", d.authed(d.getUsageRecord))

	mux.Handle("GET /api/v1/billing/balance", d.authed(d.getBalance))
	mux.Handle("PATCH /api/v1/billing/settings", d.authed(d.updateBillingSettings))
	mux.Handle("GET /api/v1/billing/ledger", d.authed(d.listLedger))
	mux.Handle("POST /api/v1/billing/topups", d.authed(d.postTransaction(billing.KindTopUp)))
	mux.Handle("POST /api/v1/billing/grants", d.authed(d.postTransaction(billing.KindGrant)))
	mux.Handle("POST /api/v1/billing/refunds", d.authed(d.postTransaction(billing.KindRefund)))
	mux.Handle("POST /api/v1/billing/adjustments", d.authed(d.postTransaction(billing.KindAdjustment)))
	mux.Handle("GET /api/v1/billing/statements/{month}", d.authed(d.getStatement))
	mux.Handle("GET /api/v1/billing/caps", d.authed(d.listCaps))
	mux.Handle("PUT /api/v1/billing/caps/{scope}/{scope_id}", d.authed(d.setCap))
	mux.Handle("DELETE /api/v1/billing/caps/{scope}/{scope_id}", d.authed(d.deleteCap))

	mux.Handle("GET /api/v1/limits", d.authed(d.listLimits))
	mux.Handle("PUT /api/v1/limits/{scope}/{scope_id}", d.authed(d.setLimit))

	mux.Handle("GET /api/v1/prices", d.authed(d.listPrices))

	mux.Handle("GET /api/v1/index/documents", d.authed(d.listIndexDocuments))
	mux.Handle("POST /api/v1/index/documents", d.authed(d.addIndexDocument))
	mux.Handle("DELETE /api/v1/index/documents/{id}", d.authed(d.deleteIndexDocument))
	mux.Handle("GET /api/v1/index/stats", d.authed(d.getIndexStats))
	mux.Handle("GET /api/v1/index/search", d.authed(d.searchIndex))

	// Anything else under /api/v1 gets a JSON 404, not the mux's text one.
	mux.Handle("/api/v1/", httpjson.NotFound(d.Log))
}
