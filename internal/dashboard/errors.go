package dashboard

import (
	"net/http"
	"strconv"
	"time"

	"github.com/tollgate-dev/tollgate/internal/httpjson"
	"github.com/tollgate-dev/tollgate/internal/platform"
)

// kinds is the dashboard's one table from error kind to HTTP status and the
// page's headline. Anything not in it is a 500 whose detail is logged with
// the request ID, never shown.
var kinds = map[platform.Kind]struct {
	status int
	title  string
}{
	platform.KindInvalid:         {http.StatusBadRequest, "That did not work"},
	platform.KindUnauthenticated: {http.StatusUnauthorized, "Please sign in"},
	platform.KindForbidden:       {http.StatusForbidden, "Not allowed"},
	platform.KindNotFound:        {http.StatusNotFound, "Not found"},
	platform.KindConflict:        {http.StatusConflict, "That conflicts with the current state"},
	platform.KindTooLarge:        {http.StatusRequestEntityTooLarge, "Too large"},
	platform.KindRateLimited:     {http.StatusTooManyRequests, "Too many attempts"},
	platform.KindPaymentRequired: {http.StatusPaymentRequired, "Payment required"},
	platform.KindUnavailable:     {http.StatusServiceUnavailable, "Temporarily unavailable"},
	platform.KindUpstream:        {http.StatusBadGateway, "A provider failed"},
	platform.KindInternal:        {http.StatusInternalServerError, "Something went wrong"},
}

// statusOf returns the HTTP status of err.
func statusOf(err error) int {
	if k, ok := kinds[platform.ErrorKind(err)]; ok {
		return k.status
	}
	return http.StatusInternalServerError
}

var (
	errCSRF = platform.Errorf(platform.KindForbidden,
		"This form has expired or did not come from this dashboard, so nothing was changed. Go back, reload the page and try again.")
	errCrossOrigin = platform.Errorf(platform.KindForbidden,
		"This request came from another site, so nothing was changed. Use the dashboard's own forms.")
	errNotFound = platform.Errorf(platform.KindNotFound, "There is no such page in the dashboard.")
)

// errorView is what the error page shows.
type errorView struct {
	Status    int
	Title     string
	Message   string
	RequestID string
}

// renderError answers with the error page: inside the app's frame when a
// member is signed in (c is set), on its own otherwise.
func (db *Dashboard) renderError(w http.ResponseWriter, r *http.Request, c *reqCtx, err error) {
	kind := platform.ErrorKind(err)
	k, ok := kinds[kind]
	if !ok {
		k = kinds[platform.KindInternal]
	}
	reqID := httpjson.RequestID(r.Context())
	if k.status >= 500 {
		db.d.Log.ErrorContext(r.Context(), "dashboard request failed", "method", r.Method, "path", r.URL.Path,
			"request_id", reqID, "err", err)
	}
	if ra := platform.ErrorRetryAfter(err); ra > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((ra+time.Second-1)/time.Second)))
	}
	ev := &errorView{Status: k.status, Title: k.title, Message: platform.ErrorMessage(err), RequestID: reqID}
	v := &view{Title: k.title, Data: ev}
	if c != nil {
		v = db.view(r, c, "", k.title, ev)
	}
	db.render(w, r, k.status, "error", v)
}

func (db *Dashboard) notFound(w http.ResponseWriter, r *http.Request) error { return errNotFound }
