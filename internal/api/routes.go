package api

import "net/http"

// Register adds the inference API's whole surface to mux.
func Register(mux *http.ServeMux, d *Deps) {
	// Perplexity serves the model list without authentication.
	mux.Handle("GET /models", d.listModels())
	mux.Handle("GET /v1/models", d.listModels())
	mux.Handle("GET /v1/models/{id}", d.getModel())

	chat := d.RequireKey(d.chatCompletions())
	mux.Handle("POST /chat/completions", chat)
	mux.Handle("POST /v1/chat/completions", chat)
	mux.Handle("POST /v1/sonar", chat)

	mux.Handle("GET /v1/key", d.RequireKey(d.currentKey()))
	mux.Handle("POST /generate_auth_token", d.RequireKey(d.generateAuthToken()))
	mux.Handle("POST /revoke_auth_token", d.RequireKey(d.revokeAuthToken()))
}
