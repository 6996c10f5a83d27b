package api

import (
	"net/http"

	"github.com/tollgate-dev/tollgate/internal/catalog"
	"github.com/tollgate-dev/tollgate/internal/httpjson"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

type modelJSON struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

func toModel(m *catalog.Model) modelJSON {
	return modelJSON{ID: m.ID, Object: "model", Created: m.Created.Unix(), OwnedBy: m.OwnedBy}
}

func (d *Deps) listModels() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		out := struct {
			Object string      `json:"object"`
			Data   []modelJSON `json:"data"`
		}{Object: "list", Data: make([]modelJSON, 0, len(d.Chat.Catalog().List()))}
		for _, m := range d.Chat.Catalog().List() {
			out.Data = append(out.Data, toModel(m))
		}
		httpjson.Encode(w, http.StatusOK, out)
	})
}

func (d *Deps) getModel() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if m, ok := d.Chat.Catalog().Resolve(id); ok {
			httpjson.Encode(w, http.StatusOK, toModel(m))
			return
		}
		httpjson.Error(w, r, d.Log, platform.Errorf(platform.KindNotFound,
			"The model %q does not exist; GET /v1/models lists the models served here.", id))
	})
}

// currentKey describes the calling key, as OpenRouter's GET /api/v1/key
// does: a cheap way for a client to check that its key works.
func (d *Deps) currentKey() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k := KeyFrom(r.Context())
		httpjson.Encode(w, http.StatusOK, struct {
			Object  string `json:"object"`
			ID      string `json:"id"`
			Name    string `json:"name"`
			GroupID string `json:"group_id"`
			OrgID   string `json:"org_id"`
		}{"api_key", k.ID, k.Name, k.GroupID, k.OrgID})
	})
}

// generateAuthToken is Perplexity's POST /generate_auth_token: a key mints a
// sibling key in its own group.
func (d *Deps) generateAuthToken() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			TokenName *string `json:"token_name"`
		}
		if err := httpjson.Decode(w, r, &req, httpjson.DecodeOptions{MaxBytes: d.MaxBody, AllowEmpty: true}); err != nil {
			httpjson.Error(w, r, d.Log, err)
			return
		}
		name := ""
		if req.TokenName != nil {
			name = *req.TokenName
		}
		k, secret, err := d.Service.GenerateAuthToken(r.Context(), d.keyCaller(r), name)
		if err != nil {
			httpjson.Error(w, r, d.Log, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		httpjson.Encode(w, http.StatusOK, struct {
			AuthToken             string `json:"auth_token"`
			CreatedAtEpochSeconds int64  `json:"created_at_epoch_seconds"`
			TokenName             string `json:"token_name"`
		}{secret, k.CreatedAt.Unix(), k.Name})
	})
}

// revokeAuthToken is Perplexity's POST /revoke_auth_token.
func (d *Deps) revokeAuthToken() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			AuthToken *string `json:"auth_token"`
		}
		if err := httpjson.Decode(w, r, &req, httpjson.DecodeOptions{MaxBytes: d.MaxBody}); err != nil {
			httpjson.Error(w, r, d.Log, err)
			return
		}
		if req.AuthToken == nil || *req.AuthToken == "" {
			httpjson.Error(w, r, d.Log, platform.Invalid("auth_token", "auth_token is required"))
			return
		}
		if _, err := d.Service.RevokeAuthToken(r.Context(), d.keyCaller(r), *req.AuthToken); err != nil {
			httpjson.Error(w, r, d.Log, err)
			return
		}
		httpjson.Encode(w, http.StatusOK, struct {
			Success bool `json:"success"`
		}{true})
	})
}
