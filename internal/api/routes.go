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

	// Async chat completions; a key sees only its own API group's jobs.
	createAsync, listAsync, getAsync := d.RequireKey(d.createAsync()), d.RequireKey(d.listAsync()), d.RequireKey(d.getAsync())
	mux.Handle("POST /async/chat/completions", createAsync)
	mux.Handle("GET /async/chat/completions", listAsync)
	mux.Handle("GET /async/chat/completions/{api_request}", getAsync)
	mux.Handle("POST /v1/async/sonar", createAsync)
	mux.Handle("GET /v1/async/sonar", listAsync)
	mux.Handle("GET /v1/async/sonar/{api_request}", getAsync)

	mux.Handle("GET /v1/key", d.RequireKey(d.currentKey()))
	mux.Handle("POST /generate_auth_token", d.RequireKey(d.generateAuthToken()))
	mux.Handle("POST /revoke_auth_token", d.RequireKey(d.revokeAuthToken()))
}
